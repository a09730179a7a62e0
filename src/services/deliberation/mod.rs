//! 议事 deliberation: topics residents or staff raise (`topics`), the meeting that takes them
//! up, the residents' vote (`votes`; `ballots`: one ballot per account, changeable while the vote is
//! open; totals public once it closes, who voted for what for staff only), and the decision,
//! published as a 三务公开 notice.
//!
//! Who is who: staff are the community's admins and dispatchers (and deployment admins); a
//! resident, for raising and voting, is an account linked to an active resident record of the
//! community; reading is for staff and holders of the `resident` role. Anyone outside the
//! community gets 404 on everything; other members (volunteers, grid workers) 403.
//!
//! May use: `notices` (publishing the decision), `registry` (residents, communities).

pub mod ballots;
pub mod topics;
pub mod votes;
