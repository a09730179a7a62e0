//! 调解 mediation: staff open a case between residents and named outsiders with a mediator (a
//! staff member or a volunteer of the community); the mediator or staff record its sessions and
//! close it with its outcome, whose follow-up date becomes a visit for the grid worker of each
//! resident party. A case is confidential: only its parties (through the account linked to
//! their resident record), its mediator and the community's staff read it, every read is
//! audited, and anyone else gets 404. Reports count cases by kind and outcome, never more.
//!
//! May use: `registry` (communities, residents), `visits` (the follow-up visit). Nothing uses
//! mediation.

pub mod cases;
pub mod report;
pub mod sessions;
