//! The three rates (三率) of DESIGN §3: 响应率 (responded within `respond_by`), 解决率
//! (resolved), 满意率 (satisfied among rated), with median and p90 times.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One request as the rates see it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub created_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Completed or closed after completion, and not rated unsolved.
    pub resolved: bool,
    pub cancelled: bool,
    /// Not responded to yet, and its `respond_by` has not passed: neither on time nor late yet.
    pub pending_response: bool,
    /// Closed at triage as a duplicate or not the station's: not counted at all.
    pub discarded: bool,
    pub rating: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rates {
    /// Requests placed in the period (duplicates and not-ours excluded).
    pub total: u64,
    pub cancelled: u64,
    /// The denominator of the resolution rate: total less cancelled.
    pub counted: u64,
    /// Counted, but not yet due for a response: left out of the response rate.
    pub awaiting_response: u64,
    pub responded_on_time: u64,
    pub resolved: u64,
    pub rated: u64,
    pub satisfied: u64,
    pub response_rate: Option<f64>,
    pub resolution_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
    /// Minutes from placing to the first response.
    pub response_minutes: Spread,
    /// Minutes from placing to completion.
    pub resolution_minutes: Spread,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn spread(mut v: Vec<f64>) -> Spread {
    v.sort_by(f64::total_cmp);
    Spread {
        median: percentile(&v, 0.5),
        p90: percentile(&v, 0.9),
    }
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

pub fn rates<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>, satisfied_from: i64) -> Rates {
    let mut r = Rates::default();
    let mut response = Vec::new();
    let mut resolution = Vec::new();
    for o in outcomes {
        if o.discarded {
            continue;
        }
        r.total += 1;
        if let Some(at) = o.responded_at {
            response.push((at - o.created_at).num_seconds() as f64 / 60.0);
        }
        if let Some(at) = o.completed_at {
            resolution.push((at - o.created_at).num_seconds() as f64 / 60.0);
        }
        if let Some(x) = o.rating {
            r.rated += 1;
            if x >= satisfied_from {
                r.satisfied += 1;
            }
        }
        if o.cancelled {
            r.cancelled += 1;
            continue;
        }
        r.counted += 1;
        if o.pending_response {
            r.awaiting_response += 1;
        }
        if o.responded_at.is_some_and(|at| at <= o.respond_by) {
            r.responded_on_time += 1;
        }
        if o.resolved {
            r.resolved += 1;
        }
    }
    r.response_rate = ratio(r.responded_on_time, r.counted - r.awaiting_response);
    r.resolution_rate = ratio(r.resolved, r.counted);
    r.satisfaction_rate = ratio(r.satisfied, r.rated);
    r.response_minutes = spread(response);
    r.resolution_minutes = spread(resolution);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn at(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap() + Duration::minutes(min)
    }

    fn o(responded: Option<i64>, completed: Option<i64>, rating: Option<i64>) -> Outcome {
        Outcome {
            created_at: at(0),
            respond_by: at(60),
            responded_at: responded.map(at),
            completed_at: completed.map(at),
            resolved: completed.is_some(),
            cancelled: false,
            pending_response: false,
            discarded: false,
            rating,
        }
    }

    #[test]
    fn counts_each_rate_with_its_own_denominator() {
        let mut cancelled = o(None, None, None);
        cancelled.cancelled = true;
        let mut duplicate = o(None, None, None);
        duplicate.discarded = true;
        let mut waiting = o(None, None, None);
        waiting.pending_response = true;
        let all = [
            o(Some(10), Some(100), Some(5)),
            o(Some(90), Some(300), Some(2)),
            o(Some(30), None, None),
            o(None, None, None),
            cancelled,
            duplicate,
            waiting,
        ];
        let r = rates(&all, 4);
        assert_eq!((r.total, r.cancelled, r.counted), (6, 1, 5));
        assert_eq!((r.responded_on_time, r.awaiting_response), (2, 1));
        // Not yet due: out of the response rate, but not resolved either.
        assert_eq!(r.response_rate, Some(0.5));
        assert_eq!(r.resolution_rate, Some(0.4));
        assert_eq!((r.rated, r.satisfied), (2, 1));
        assert_eq!(r.satisfaction_rate, Some(0.5));
        assert_eq!(r.response_minutes.median, Some(30.0));
        assert_eq!(r.response_minutes.p90, Some(90.0));
        assert_eq!(r.resolution_minutes.median, Some(100.0));
    }

    #[test]
    fn empty_groups_have_no_rates() {
        let r = rates(&[], 4);
        assert_eq!(r.response_rate, None);
        assert_eq!(r.response_minutes, Spread::default());
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(5.0));
        assert_eq!(percentile(&v, 0.9), Some(9.0));
        assert_eq!(percentile(&[7.0], 0.9), Some(7.0));
    }
}
