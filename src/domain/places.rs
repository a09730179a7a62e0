//! Places with a capacity and a waiting list that moves up in order: the rules that
//! mobilisation slots (and, later, activity enrolments) share. Storage applies them under the
//! lock of the place's row, so the counts they see are the true ones.

use super::string_enum;

string_enum!(PlaceStatus {
    Confirmed => "confirmed",
    Waiting => "waiting",
    Withdrawn => "withdrawn",
    Removed => "removed",
});

/// The counters of one set of places, as read under its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Places {
    pub capacity: i64,
    pub confirmed: i64,
    /// The queue number the next waiting entry gets (numbers only grow: order is arrival).
    pub next_queue_no: i64,
}

/// Where a new entry goes: a confirmed place while there is room, else the end of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Confirmed,
    Waiting { queue_no: i64 },
}

impl Places {
    pub fn place(self) -> Placement {
        if self.confirmed < self.capacity {
            Placement::Confirmed
        } else {
            Placement::Waiting {
                queue_no: self.next_queue_no,
            }
        }
    }
}

impl PlaceStatus {
    /// Still holds (or waits for) a place.
    pub fn is_live(self) -> bool {
        matches!(self, PlaceStatus::Confirmed | PlaceStatus::Waiting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmed_up_to_capacity_then_waiting_in_arrival_order() {
        let p = |confirmed, next| Places {
            capacity: 2,
            confirmed,
            next_queue_no: next,
        };
        assert_eq!(p(0, 1).place(), Placement::Confirmed);
        assert_eq!(p(1, 1).place(), Placement::Confirmed);
        assert_eq!(p(2, 1).place(), Placement::Waiting { queue_no: 1 });
        assert_eq!(p(2, 7).place(), Placement::Waiting { queue_no: 7 });
        assert!(PlaceStatus::Waiting.is_live());
        assert!(!PlaceStatus::Withdrawn.is_live());
    }
}
