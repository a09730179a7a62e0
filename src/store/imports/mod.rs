//! Imports: the records of one spreadsheet written all or nothing, in one transaction, with
//! one audit entry that counts them.
//!
//! May use: `registry` (the resident and volunteer rows and their link tables), `accounts`
//! (a volunteer's new account and role), `audit`.

pub mod residents;
pub mod volunteers;
