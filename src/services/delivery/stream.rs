//! What a live stream sends next: the user's notifications after its position, oldest first.
//!
//! Notification ids increase with time (UUIDv7), but two relays (two instances) may commit
//! notifications of one user out of id order: the smaller id can become visible after the
//! larger one was sent. So a stream reads again a short window back from what it sent last
//! (`LOOKBACK`) and skips what it remembers sending; a notification committed late within the
//! window is sent late rather than never. Resuming (`Last-Event-ID`) reads strictly after the
//! id given, so it never repeats what the client has.

use std::collections::VecDeque;

use chrono::Utc;
use uuid::Uuid;

use crate::services::ServiceResult;
use crate::services::delivery::inbox::{self, Notification};
use crate::state::AppState;

/// How late a notification may become visible and still be sent: far longer than a hand-over
/// transaction takes.
const LOOKBACK_MS: u64 = 10_000;
/// Ids remembered within the window; past this many, the window shrinks to what is remembered.
const REMEMBERED: usize = 256;
pub const PAGE: i64 = 100;

/// Where a stream is in its user's inbox.
#[derive(Debug)]
pub struct Position {
    /// Nothing at or before this is sent: the start.
    floor: Option<Uuid>,
    /// The greatest id sent.
    last: Option<Uuid>,
    /// Ids sent within the window, oldest first.
    recent: VecDeque<Uuid>,
}

/// The smallest UUIDv7 of millisecond `ms`: ids at or after `ms` compare greater (PostgreSQL and
/// SQLite compare them as bytes, like `Uuid`).
fn floor_at(ms: u64) -> Uuid {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    Uuid::from_bytes(b)
}

fn millis_of(id: Uuid) -> u64 {
    let b = id.as_bytes();
    u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]])
}

impl Position {
    /// After `id` (the client's `Last-Event-ID`); from now when `None`.
    pub fn after(id: Option<Uuid>) -> Self {
        let floor = id.unwrap_or_else(|| floor_at(Utc::now().timestamp_millis().max(0) as u64));
        Self {
            floor: Some(floor),
            last: None,
            recent: VecDeque::new(),
        }
    }

    /// The stream's `id:`: the greatest id sent, so that resuming from it never repeats.
    pub fn last(&self) -> Option<Uuid> {
        self.last.or(self.floor)
    }

    fn read_from(&self) -> Option<Uuid> {
        let back = self
            .last
            .map(|l| floor_at(millis_of(l).saturating_sub(LOOKBACK_MS)));
        self.floor.max(back)
    }

    fn sent(&mut self, id: Uuid) {
        self.last = self.last.max(Some(id));
        self.recent.push_back(id);
        let oldest_kept = millis_of(self.last.unwrap_or(id)).saturating_sub(LOOKBACK_MS);
        while let Some(&front) = self.recent.front() {
            if self.recent.len() > REMEMBERED {
                // Forgotten: never read back that far again.
                self.floor = self.floor.max(Some(front));
            } else if millis_of(front) >= oldest_kept {
                break;
            }
            self.recent.pop_front();
        }
    }
}

/// The next notifications to send (oldest first, at most about a page), and whether more may
/// be waiting.
pub async fn next(
    ctx: &AppState,
    user_id: Uuid,
    pos: &mut Position,
) -> ServiceResult<(Vec<Notification>, bool)> {
    let mut from = pos.read_from();
    loop {
        let page = inbox::since(ctx, user_id, from, PAGE).await?;
        let full = page.len() as i64 == PAGE;
        from = page.last().map(|n| n.id).or(from);
        let new: Vec<Notification> = page
            .into_iter()
            .filter(|n| !pos.recent.contains(&n.id))
            .collect();
        for n in &new {
            pos.sent(n.id);
        }
        if !new.is_empty() || !full {
            return Ok((new, full));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plus(id: Uuid, n: usize) -> Uuid {
        Uuid::from_u128(id.as_u128() + n as u128)
    }

    fn id_at(ms: u64, n: u8) -> Uuid {
        let mut b = *floor_at(ms).as_bytes();
        b[15] = n;
        Uuid::from_bytes(b)
    }

    #[test]
    fn the_window_reaches_back_from_the_last_id_sent_but_never_before_the_start() {
        let start = id_at(1_000_000, 0);
        let mut p = Position::after(Some(start));
        assert_eq!(p.read_from(), Some(start));
        assert_eq!(p.last(), Some(start));
        p.sent(id_at(1_005_000, 1));
        assert_eq!(p.read_from(), Some(start), "5 s back is before the start");
        p.sent(id_at(1_030_000, 2));
        assert_eq!(p.read_from(), Some(floor_at(1_020_000)));
        assert_eq!(p.recent, [id_at(1_030_000, 2)], "older ids are forgotten");
        // A late one (smaller id) is remembered; the stream's id stays the greatest.
        p.sent(id_at(1_025_000, 3));
        assert_eq!(p.last(), Some(id_at(1_030_000, 2)));
        assert!(p.recent.contains(&id_at(1_025_000, 3)));
    }

    #[test]
    fn past_what_it_remembers_the_window_shrinks() {
        let mut p = Position::after(None);
        let t = millis_of(p.floor.unwrap()) + 1;
        for i in 0..(REMEMBERED + 10) {
            p.sent(plus(id_at(t, 0), i));
        }
        assert_eq!(p.recent.len(), REMEMBERED);
        assert_eq!(p.read_from(), Some(plus(id_at(t, 0), 9)));
    }
}
