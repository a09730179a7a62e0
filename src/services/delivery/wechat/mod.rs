//! WeChat subscription messages (订阅消息): `plan` turns an event into one queued message per
//! person told who has a WeChat identity in an app serving the community, when the community's
//! policy maps the event kind to a template; `sender` sends what is due, retrying with back-off;
//! `messages` shows staff what became of them.

pub mod messages;
pub mod plan;
pub mod sender;
