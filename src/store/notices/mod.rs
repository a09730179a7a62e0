//! 三务公开 notices: the notices with their versions, and the sweep that announces those
//! published for later once their time comes. Every change writes its outbox row (`notice.*`)
//! in its own transaction.
//!
//! May use: `registry` (communities, found by their code for the public board).

pub mod notice_rows;
