//! The dispatch score (DESIGN §4): a weighted sum of terms in 0..=1, every term kept so that a
//! dispatcher can see why one volunteer ranked above another.

use serde::Serialize;

use super::policy::ScoreWeights;

/// What the score knows of one candidate for one request.
#[derive(Debug, Clone, Default)]
pub struct Features {
    /// Metres between the volunteer and the request, when both have coordinates.
    pub distance_m: Option<f64>,
    /// The volunteer's home grid is the request's grid (used when there are no coordinates).
    pub same_grid: bool,
    pub active_load: i64,
    pub max_concurrent: i64,
    pub offers_made: i64,
    pub offers_accepted: i64,
    pub rating_sum: i64,
    pub rating_count: i64,
    /// Minutes served this month, and the community's median.
    pub month_minutes: i64,
    pub median_month_minutes: i64,
    /// Served this resident before and was rated well.
    pub continuity: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Term {
    /// 0..=1, higher is better.
    pub value: f64,
    pub weight: f64,
    /// `value × weight`: this term's share of the score.
    pub points: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    pub total: f64,
    pub distance: Term,
    pub load: Term,
    pub continuity: Term,
    pub reliability: Term,
    pub rating: Term,
    pub fairness: Term,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
}

/// A volunteer one kilometre away scores half of one at the door.
const HALF_DISTANCE_M: f64 = 1000.0;
/// Without coordinates: the same grid is about as good as 1 km, the same community 4 km.
const SAME_GRID: f64 = 0.5;
const SAME_COMMUNITY: f64 = 0.2;
/// Smoothing priors: a newcomer is taken to accept 80 % of offers and to be rated 4 of 5,
/// as if from this many earlier answers.
const ACCEPT_PRIOR: f64 = 0.8;
const ACCEPT_PRIOR_WEIGHT: f64 = 5.0;
const RATING_PRIOR: f64 = 4.0;
const RATING_PRIOR_WEIGHT: f64 = 3.0;
/// Below this many minutes the community median is too small to compare against.
const MIN_MEDIAN_MINUTES: f64 = 60.0;

/// Smoothed acceptance rate: (accepted + prior) / (offers + weight).
pub fn reliability(offers_made: i64, offers_accepted: i64) -> f64 {
    (offers_accepted as f64 + ACCEPT_PRIOR * ACCEPT_PRIOR_WEIGHT)
        / (offers_made as f64 + ACCEPT_PRIOR_WEIGHT)
}

/// Smoothed mean rating on the 1–5 scale.
pub fn smoothed_rating(rating_sum: i64, rating_count: i64) -> f64 {
    (rating_sum as f64 + RATING_PRIOR * RATING_PRIOR_WEIGHT)
        / (rating_count as f64 + RATING_PRIOR_WEIGHT)
}

fn clamp01(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

pub fn score(f: &Features, w: &ScoreWeights) -> Breakdown {
    let distance = match f.distance_m {
        Some(d) => 1.0 / (1.0 + d.max(0.0) / HALF_DISTANCE_M),
        None if f.same_grid => SAME_GRID,
        None => SAME_COMMUNITY,
    };
    let load = 1.0 - f.active_load as f64 / f.max_concurrent.max(1) as f64;
    let continuity = if f.continuity { 1.0 } else { 0.0 };
    let reliability = reliability(f.offers_made, f.offers_accepted);
    let rating = (smoothed_rating(f.rating_sum, f.rating_count) - 1.0) / 4.0;
    // At the median half a point; nothing served this month a full point; twice the median none.
    let ratio = f.month_minutes as f64 / (f.median_month_minutes as f64).max(MIN_MEDIAN_MINUTES);
    let fairness = 1.0 - ratio / 2.0;
    let term = |value: f64, weight: f64| {
        let value = clamp01(value);
        Term {
            value,
            weight,
            points: value * weight,
        }
    };
    let b = Breakdown {
        distance: term(distance, w.distance),
        load: term(load, w.load),
        continuity: term(continuity, w.continuity),
        reliability: term(reliability, w.reliability),
        rating: term(rating, w.rating),
        fairness: term(fairness, w.fairness),
        distance_m: f.distance_m.map(|d| d.round()),
        total: 0.0,
    };
    Breakdown {
        total: b.distance.points
            + b.load.points
            + b.continuity.points
            + b.reliability.points
            + b.rating.points
            + b.fairness.points,
        ..b
    }
}

/// Great-circle distance in metres (haversine); plenty for a district.
pub fn distance_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    const R: f64 = 6_371_000.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R * a.sqrt().asin()
}

/// Map cells for the nearby search: about 220 m north–south, 190 m east–west at 30°N.
pub const CELLS_PER_DEGREE: f64 = 500.0;

pub fn cell(lat: f64, lng: f64) -> (i64, i64) {
    (
        (lat * CELLS_PER_DEGREE).floor() as i64,
        (lng * CELLS_PER_DEGREE).floor() as i64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Features {
        Features {
            max_concurrent: 2,
            median_month_minutes: 600,
            ..Features::default()
        }
    }

    #[test]
    fn every_term_is_between_zero_and_one_and_the_total_is_their_weighted_sum() {
        let w = ScoreWeights::default();
        let b = score(
            &Features {
                distance_m: Some(500.0),
                active_load: 1,
                continuity: true,
                offers_made: 10,
                offers_accepted: 9,
                rating_sum: 45,
                rating_count: 10,
                month_minutes: 300,
                ..base()
            },
            &w,
        );
        for t in [
            b.distance,
            b.load,
            b.continuity,
            b.reliability,
            b.rating,
            b.fairness,
        ] {
            assert!((0.0..=1.0).contains(&t.value));
            assert!((t.points - t.value * t.weight).abs() < 1e-12);
        }
        let sum = b.distance.points
            + b.load.points
            + b.continuity.points
            + b.reliability.points
            + b.rating.points
            + b.fairness.points;
        assert!((b.total - sum).abs() < 1e-12);
        assert!((b.distance.value - 2.0 / 3.0).abs() < 1e-9);
        assert!((b.load.value - 0.5).abs() < 1e-9);
        assert!((b.fairness.value - 0.75).abs() < 1e-9);
    }

    #[test]
    fn nearer_idler_better_rated_volunteers_score_higher() {
        let w = ScoreWeights::default();
        let near = score(
            &Features {
                distance_m: Some(200.0),
                ..base()
            },
            &w,
        );
        let far = score(
            &Features {
                distance_m: Some(3000.0),
                ..base()
            },
            &w,
        );
        assert!(near.total > far.total);
        let busy = score(
            &Features {
                active_load: 2,
                ..base()
            },
            &w,
        );
        assert!(busy.total < score(&base(), &w).total);
        let grid = score(
            &Features {
                same_grid: true,
                ..base()
            },
            &w,
        );
        assert!(grid.distance.value > score(&base(), &w).distance.value);
        // Smoothing: one 1-star rating does not sink a newcomer below the floor.
        assert!(smoothed_rating(1, 1) > 3.0);
        assert!((reliability(0, 0) - 0.8).abs() < 1e-12);
        assert!(reliability(20, 2) < 0.4);
    }

    #[test]
    fn distance_and_cells() {
        let d = distance_m(39.9, 116.4, 39.9, 116.41);
        assert!((d - 853.0).abs() < 5.0, "{d}");
        assert_eq!(cell(39.9001, 116.4001), (19950, 58200));
        assert_eq!(cell(-0.001, -0.001), (-1, -1));
    }
}
