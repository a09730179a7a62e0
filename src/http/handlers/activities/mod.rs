//! Activity routes (一小): activities and their sessions, guardians and pick-up people,
//! enrolments, and the sign-in, sign-out and attendance of sessions.

pub mod guardians;
pub mod plans;
pub mod sessions;
