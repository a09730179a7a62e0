//! 三务公开 notices: staff write drafts, publish them (now or from a later time), correct them
//! as new versions and unpublish them with a reason; anyone reads the published ones on the
//! community's public board, without signing in.
//!
//! May use: `registry` (communities and their staff). Used by `deliberation` (a decision is
//! published as a notice: [`staff::publish_now`]), never the other way.

pub mod public;
pub mod staff;
