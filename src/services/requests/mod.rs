//! Requests (有呼必应): help requests from 点单 to 评单, the dispatch engine, offers, the
//! reports on them and the hours they credit.
//!
//! May use: `registry`, `accounts`, `domain`, `store`. Not `visits` (visits use requests).

pub mod dispatch;
pub mod help_requests;
pub mod offers;
pub mod reports;
