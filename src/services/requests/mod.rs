//! Requests (有呼必应): help requests from 点单 to 评单, the dispatch engine, offers, the
//! reports on them and the hours they credit.
//!
//! A help request is `placing` (点单), then `actions` (triage to rating) that each take one step
//! of the `lifecycle`; `access` says who stands how to a request, `view` what they see of it,
//! `listing` which requests they find. `dispatch` ranks and offers, `offers` holds the answers
//! and a dispatcher's picks, `batch` assigns a queue at once.
//!
//! May use: `registry`, `accounts`, `domain`, `store`. Not `visits` (visits use requests).

pub mod access;
pub mod actions;
pub mod batch;
pub mod dispatch;
pub mod lifecycle;
pub mod listing;
pub mod offers;
pub mod placing;
pub mod reports;
pub mod view;
