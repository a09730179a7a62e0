//! 议事 deliberation: topics with their meeting, the vote's options and the residents' ballots.
//! Every transition is one conditional update (on the states it may leave) with its outbox row
//! (`topic.*`) in one transaction; a ballot's write takes the topic's row first, so ballots and
//! the vote's close are ordered and no ballot lands after the close.
//!
//! May use: `notices` (the decision's notice is written in the notice's transaction, through
//! [`crate::store::TxWrites`]), and reads `users`, `role_grants` and `residents` (`registry`,
//! `accounts`).

pub mod ballots;
pub mod topics;
