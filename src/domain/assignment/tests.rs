//! The assignment's properties, on generated problems and on hand-made ones.

use super::*;
use pathfinding::kuhn_munkres::kuhn_munkres_min;
use proptest::prelude::*;

fn problem(rows: &[&[Option<f64>]], capacity: &[u32]) -> Problem {
    let volunteers = capacity.len();
    let scores = rows.iter().flat_map(|row| row.iter().copied()).collect();
    Problem::new(rows.len(), volunteers, scores, capacity.to_vec()).unwrap()
}

/// Total in integer units, the currency in which `solve` is exactly optimal.
fn total_units(p: &Problem, a: &Assignment) -> i64 {
    a.iter()
        .enumerate()
        .filter_map(|(r, v)| p.score(r, (*v)?))
        .map(units)
        .sum()
}

/// Exhaustive optimum in integer units: every request → {None, each volunteer} mapping
/// that respects eligibility and capacity.
fn brute_force(p: &Problem) -> i64 {
    fn go(p: &Problem, r: usize, left: &mut [usize]) -> i64 {
        if r == p.requests {
            return 0;
        }
        let mut best = go(p, r + 1, left); // request r unassigned
        for v in 0..p.volunteers {
            let Some(s) = p.score(r, v) else { continue };
            if left[v] == 0 {
                continue;
            }
            left[v] -= 1;
            best = best.max(units(s) + go(p, r + 1, left));
            left[v] += 1;
        }
        best
    }
    let mut left: Vec<usize> = (0..p.volunteers).map(|v| p.cap(v)).collect();
    go(p, 0, &mut left)
}

#[test]
fn capacity_two_is_used_twice() {
    let p = problem(&[&[Some(0.5), Some(0.1)], &[Some(0.7), None]], &[2, 1]);
    let a = solve(&p);
    assert_eq!(a, vec![Some(0), Some(0)]);
    assert!(is_feasible(&p, &a));
    assert!((total(&p, &a) - 1.2).abs() < 1e-12);
}

#[test]
fn capacity_is_respected() {
    // Both want volunteer 0, who can take only one; the better total wins.
    let p = problem(&[&[Some(0.9), Some(0.2)], &[Some(0.8), Some(0.6)]], &[1, 1]);
    assert_eq!(solve(&p), vec![Some(0), Some(1)]);
    let one = problem(&[&[Some(0.9)], &[Some(0.8)]], &[1]);
    assert_eq!(solve(&one), vec![Some(0), None]);
}

#[test]
fn greedy_is_suboptimal_where_solve_is_optimal() {
    // Greedy gives request 0 its favourite (0.9) and leaves request 1 with nobody;
    // optimal gives request 0 its second choice so both are served: 0.8 + 0.85.
    let p = problem(&[&[Some(0.9), Some(0.8)], &[Some(0.85), None]], &[1, 1]);
    let g = greedy(&p);
    let s = solve(&p);
    assert_eq!(g, vec![Some(0), None]);
    assert_eq!(s, vec![Some(1), Some(0)]);
    assert!(is_feasible(&p, &g) && is_feasible(&p, &s));
    assert!((total(&p, &g) - 0.9).abs() < 1e-12);
    assert!((total(&p, &s) - 1.65).abs() < 1e-12);
}

#[test]
fn all_ineligible_or_no_capacity_leaves_everyone_unassigned() {
    let none = problem(&[&[None, None], &[None, None], &[None, None]], &[1, 2]);
    assert_eq!(solve(&none), vec![None; 3]);
    assert_eq!(greedy(&none), vec![None; 3]);
    let full = problem(&[&[Some(0.5), Some(0.9)], &[Some(1.0), None]], &[0, 0]);
    assert_eq!(solve(&full), vec![None; 2]);
    assert_eq!(greedy(&full), vec![None; 2]);
}

#[test]
fn empty_problems() {
    let p = Problem::new(0, 0, vec![], vec![]).unwrap();
    assert_eq!(solve(&p), Vec::<Option<usize>>::new());
    assert_eq!(greedy(&p), Vec::<Option<usize>>::new());
    assert_eq!(total(&p, &vec![]), 0.0);
    let no_requests = Problem::new(0, 3, vec![], vec![1, 1, 1]).unwrap();
    assert!(solve(&no_requests).is_empty());
    let no_volunteers = Problem::new(3, 0, vec![], vec![]).unwrap();
    assert_eq!(solve(&no_volunteers), vec![None; 3]);
    assert_eq!(greedy(&no_volunteers), vec![None; 3]);
}

#[test]
fn more_requests_than_capacity() {
    let p = problem(&[&[Some(0.3)], &[Some(0.9)], &[None], &[Some(0.6)]], &[2]);
    assert_eq!(solve(&p), vec![None, Some(0), None, Some(0)]);
}

#[test]
fn zero_scores_are_assignable_and_negative_scores_are_not_taken() {
    let p = problem(&[&[Some(0.0)], &[Some(-0.5)]], &[2]);
    assert_eq!(solve(&p), vec![Some(0), None]);
    assert_eq!(greedy(&p), vec![Some(0), None]);
    // Still eligible, so assigning it is feasible, just worse.
    assert!(is_feasible(&p, &vec![Some(0), Some(0)]));
}

#[test]
fn matrix_has_columns_only_for_useful_capacity() {
    // v0: capacity 5 but only 2 requests → 2 columns; v1: capacity 0 → none;
    // v2: eligible for nothing → none; v3: capacity 1 → 1 column.
    let p = problem(
        &[
            &[Some(0.5), Some(0.5), None, None],
            &[Some(0.25), Some(0.5), None, Some(1.0)],
        ],
        &[5, 0, 3, 1],
    );
    let wm = p.weight_matrix();
    assert_eq!(wm.column_volunteer, vec![Some(0), Some(0), Some(3)]);
    assert_eq!(wm.matrix.rows, 2);
    assert_eq!(wm.matrix[(1, 1)], 250_000);
    assert_eq!(wm.matrix[(0, 2)], 0);
    // Fewer useful columns than requests → padding.
    let q = problem(&[&[Some(0.5)], &[Some(0.5)], &[Some(0.5)]], &[1]);
    assert_eq!(
        q.weight_matrix().column_volunteer,
        vec![Some(0), None, None]
    );
}

#[test]
fn new_rejects_malformed_input() {
    assert_eq!(
        Problem::new(2, 2, vec![None; 3], vec![1, 1]),
        Err(ProblemError::ScoresLength {
            expected: 4,
            actual: 3
        })
    );
    assert_eq!(
        Problem::new(1, 2, vec![None; 2], vec![1]),
        Err(ProblemError::CapacityLength {
            expected: 2,
            actual: 1
        })
    );
    assert_eq!(
        Problem::new(2, 2, vec![None, None, None, Some(f64::NAN)], vec![1, 1]),
        Err(ProblemError::BadScore {
            request: 1,
            volunteer: 1
        })
    );
    assert!(Problem::new(1, 1, vec![Some(f64::INFINITY)], vec![1]).is_err());
    assert!(Problem::new(1, 1, vec![Some(2e6)], vec![1]).is_err());
    assert!(matches!(
        Problem::new(usize::MAX, 2, vec![], vec![1, 1]),
        Err(ProblemError::TooLarge { .. })
    ));
}

#[test]
fn hand_built_malformed_problem_does_not_panic() {
    let p = Problem {
        requests: 3,
        volunteers: 2,
        scores: vec![Some(0.5), Some(f64::NAN), Some(1e300)],
        capacity: vec![1],
    };
    let a = solve(&p);
    assert!(is_feasible(&p, &a));
    // The absurd score is clamped, not rejected, and still wins volunteer 0.
    assert_eq!(a, vec![None, Some(0), None]);
    assert!(is_feasible(&p, &greedy(&p)));
    assert!(!is_feasible(&p, &vec![Some(1), None, None]));
    assert!(!is_feasible(&p, &vec![Some(0)]));
    assert!(!is_feasible(&p, &vec![Some(7), None, None]));
}

/// What every cell of the expanded problem must be, straight from the definition.
fn expected_cell(p: &Problem, column_volunteer: &[Option<usize>], r: usize, c: usize) -> i64 {
    column_volunteer[c].map_or(0, |v| p.weight(r, v).unwrap_or(0))
}

/// The compact view that `solve` uses and the materialised `weight_matrix` agree with
/// each other and with the definition, cell by cell, and solve to the same optimum
/// (maximising, and minimising through `neg`).
fn check_view_matches_matrix(p: &Problem) {
    let e = p.expanded();
    let wm = p.weight_matrix();
    assert_eq!(e.column_volunteer, wm.column_volunteer);
    assert_eq!(Weights::rows(&e), wm.matrix.rows);
    assert_eq!(Weights::columns(&e), wm.matrix.columns);
    for r in 0..wm.matrix.rows {
        for c in 0..wm.matrix.columns {
            let expected = expected_cell(p, &wm.column_volunteer, r, c);
            assert_eq!(e.at(r, c), expected, "view cell ({r}, {c})");
            assert_eq!(wm.matrix[(r, c)], expected, "matrix cell ({r}, {c})");
        }
    }
    if wm.matrix.rows > 0 {
        assert_eq!(kuhn_munkres(&e).0, kuhn_munkres(&wm.matrix).0);
        assert_eq!(kuhn_munkres_min(&e).0, kuhn_munkres_min(&wm.matrix).0);
    }
}

#[test]
fn view_matches_matrix_on_hand_built_problems() {
    // Padding, a volunteer with capacity beyond the batch, one without capacity, one
    // eligible for nothing, a negative and a zero score.
    check_view_matches_matrix(&problem(
        &[
            &[Some(0.5), Some(0.5), None, Some(-0.25)],
            &[Some(0.25), Some(0.5), None, Some(1.0)],
            &[Some(0.0), None, None, None],
        ],
        &[5, 0, 3, 1],
    ));
    check_view_matches_matrix(&problem(&[&[Some(0.5)], &[Some(0.5)], &[Some(0.5)]], &[1]));
    // Malformed: short scores and capacities, NaN and an absurd score.
    check_view_matches_matrix(&Problem {
        requests: 3,
        volunteers: 2,
        scores: vec![Some(0.5), Some(f64::NAN), Some(1e300)],
        capacity: vec![1],
    });
    check_view_matches_matrix(&Problem::new(0, 2, vec![], vec![1, 1]).unwrap());
    check_view_matches_matrix(&Problem::new(2, 0, vec![], vec![]).unwrap());
}

/// The rounding that `units` must reproduce exactly.
fn units_reference(score: f64) -> i64 {
    (score.clamp(-MAX_SCORE, MAX_SCORE) * SCALE).round() as i64
}

#[test]
fn units_rounds_like_f64_round() {
    let half_below = 0.5 - f64::EPSILON / 4.0; // the largest f64 below 0.5
    for x in [
        0.0,
        -0.0,
        0.5,
        -0.5,
        1.5,
        2.5,
        -2.5,
        half_below,
        -half_below,
        1.0 - f64::EPSILON / 2.0,
        4_503_599_627_370_495.5,
        1e12 - 0.5,
        -1e12 + 0.5,
        123_456.5,
        123_456.499_999_999_99,
    ] {
        let score = x / SCALE;
        assert_eq!(units(score), units_reference(score), "score {score:e}");
        // Scores whose scaled value lands exactly on x.
        if let Some(s) = [score, score.next_up(), score.next_down()]
            .into_iter()
            .find(|s| s * SCALE == x)
        {
            assert_eq!(units(s), units_reference(s), "score {s:e}");
        }
    }
    for s in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e300,
        -1e300,
        MAX_SCORE,
        -MAX_SCORE,
        f64::MIN_POSITIVE,
        5e-7,
        -5e-7,
        4.999_999_999_999_999e-7,
        1.5e-6,
        2.5e-6,
    ] {
        assert_eq!(units(s), units_reference(s), "score {s:e}");
    }
}

fn instance() -> impl Strategy<Value = Problem> {
    (1usize..=5, 1usize..=4).prop_flat_map(|(requests, volunteers)| {
        (
            prop::collection::vec(
                prop::option::weighted(0.7, 0u32..=1000),
                requests * volunteers,
            ),
            prop::collection::vec(0u32..=2, volunteers),
        )
            .prop_map(move |(cells, capacity)| {
                let scores = cells
                    .into_iter()
                    .map(|c| c.map(|k| f64::from(k) / 1000.0))
                    .collect();
                Problem::new(requests, volunteers, scores, capacity).unwrap()
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn units_matches_f64_round(s in any::<f64>(), k in -2_000_000_000_000i64..=2_000_000_000_000) {
        prop_assert_eq!(units(s), units_reference(s));
        // Exact halves and their neighbours, where rounding is decided.
        let half = (k as f64 + 0.5) / SCALE;
        for s in [half, half.next_up(), half.next_down()] {
            prop_assert_eq!(units(s), units_reference(s), "score {:e}", s);
        }
    }

    #[test]
    fn view_matches_matrix(p in instance()) {
        check_view_matches_matrix(&p);
    }

    #[test]
    fn solve_is_optimal_and_greedy_never_beats_it(p in instance()) {
        let s = solve(&p);
        prop_assert!(is_feasible(&p, &s), "infeasible {s:?}");
        let best = brute_force(&p);
        prop_assert_eq!(total_units(&p, &s), best);
        let g = greedy(&p);
        prop_assert!(is_feasible(&p, &g), "greedy infeasible {g:?}");
        prop_assert!(total_units(&p, &g) <= best);
    }
}
