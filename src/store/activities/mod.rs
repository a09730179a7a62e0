//! Activity storage (一小): the activities with their sessions (`plans`), guardians and the
//! people allowed to pick a child up (`guardians`), enrolments with their waiting list
//! (`enrolments`), and each child's sign-in and sign-out at a session with the overdue pick-up
//! alert (`attendance`).
//!
//! May use: `registry` (residents, volunteers), `records` (the pending hours a held session gives).

pub mod attendance;
pub mod enrolments;
pub mod guardians;
pub mod plans;
