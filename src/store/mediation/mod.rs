//! 调解 mediation: the cases with their parties, the sessions held, the outcome that closes a
//! case with the follow-up visits it brings, and the counts for reports. Every change writes
//! its outbox row (`mediation.*`, ids and outcome only: a case is confidential) in its own
//! transaction.
//!
//! May use: `registry` (residents, users and their grants, read), `visits` (a follow-up visit
//! is inserted through `VisitExec`, in the closing transaction).

pub mod cases;
