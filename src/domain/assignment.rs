//! Batch assignment of help requests to volunteers, optimal under load caps.
//!
//! Dispatching requests one at a time (each to its best free volunteer) is greedy: an early
//! request can take the only volunteer a later request could use, even when it had an almost
//! as good alternative. When a batch of requests is waiting, we would rather maximise the
//! *total* dispatch score of the batch, subject to eligibility and to how many more requests
//! each volunteer may take. That is a weighted bipartite matching with capacities, which we
//! reduce to a plain rectangular assignment problem and hand to the Hungarian algorithm of
//! the `pathfinding` crate ([`kuhn_munkres`]), so the result is provably optimal rather than
//! "usually good".
//!
//! The reduction ([`Problem::weight_matrix`]):
//!
//! - Scores are scaled to integers ([`SCALE`] units per score point, rounded), because the
//!   Hungarian algorithm needs exact arithmetic to terminate and to be optimal: with floats,
//!   rounding in its label updates can make it loop or stop early. The optimum is therefore
//!   exact in integer units (1e-6 of a score point).
//! - A volunteer who may take `c` more requests becomes `min(c, requests)` identical columns;
//!   using a column uses one unit of capacity. Volunteers with no capacity or no eligible
//!   request get no column at all, to keep the matrix (and the O(rows² × columns) solve) small.
//! - An ineligible pair gets weight 0, the same as leaving the request unassigned, and a
//!   request matched to such a cell (or to a padding column) *is* left unassigned. The solver
//!   must match every row, so when there are fewer volunteer columns than requests, padding
//!   columns of weight 0 are added. Because every real weight is ≥ 0, any partial assignment
//!   extends to a full matching of the same weight and every full matching restricts to a
//!   feasible partial assignment of the same weight, so both optima coincide.
//! - Negative scores should not occur; if they do, such a pair is never worth taking (leaving
//!   the request unassigned is always feasible and scores 0), so it is treated as ineligible
//!   by [`solve`] and [`greedy`].

use std::hint::select_unpredictable;
use std::iter::repeat_n;

use pathfinding::kuhn_munkres::{Weights, kuhn_munkres};
use pathfinding::matrix::Matrix;

/// Integer units per score point. Scores are rounded to this resolution before solving;
/// 1e-6 is far below any meaningful difference between two dispatch scores.
pub const SCALE: f64 = 1_000_000.0;

/// Largest accepted score magnitude. It keeps every scaled weight (≤ 1e12) and every sum the
/// solver forms over up to a million rows inside `i64`, so the solver can never overflow.
pub const MAX_SCORE: f64 = 1_000_000.0;

/// The bits that stand for a missing cell while building the compact matrix: any negative
/// score is ineligible.
const INELIGIBLE: u64 = (-1.0f64).to_bits();

/// A batch: `requests` rows × `volunteers` columns. `scores[r * volunteers + v]` is the
/// dispatch score of volunteer v for request r (higher is better, finite, typically 0..=1),
/// or None when v is not eligible for r. `capacity[v]` is how many more requests v may take.
///
/// Build it with [`Problem::new`], which checks the shape. The fields are public for
/// convenience; the functions of this module never panic on a malformed value (missing
/// cells count as ineligible, missing capacities as 0, non-finite scores as ineligible).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub requests: usize,
    pub volunteers: usize,
    pub scores: Vec<Option<f64>>,
    pub capacity: Vec<u32>,
}

/// For each request, the volunteer index it gets, or None if it stays unassigned.
pub type Assignment = Vec<Option<usize>>;

/// Why a [`Problem`] could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProblemError {
    #[error("{requests} requests × {volunteers} volunteers does not fit in memory")]
    TooLarge { requests: usize, volunteers: usize },
    #[error("expected {expected} scores (requests × volunteers), got {actual}")]
    ScoresLength { expected: usize, actual: usize },
    #[error("expected {expected} capacities (one per volunteer), got {actual}")]
    CapacityLength { expected: usize, actual: usize },
    #[error(
        "score of volunteer {volunteer} for request {request} is not finite or exceeds {MAX_SCORE} in magnitude"
    )]
    BadScore { request: usize, volunteer: usize },
}

/// The integer assignment problem that [`solve`] actually hands to the Hungarian algorithm.
#[derive(Debug, Clone)]
pub struct WeightMatrix {
    /// One row per request, one column per unit of volunteer capacity (then padding);
    /// entries are scaled scores, 0 for ineligible cells and padding.
    pub matrix: Matrix<i64>,
    /// For each column, the volunteer it is a unit of capacity of, or None for padding.
    pub column_volunteer: Vec<Option<usize>>,
}

impl Problem {
    /// Checks that `scores` has `requests × volunteers` cells, `capacity` one entry per
    /// volunteer, and that every score is finite and at most [`MAX_SCORE`] in magnitude.
    pub fn new(
        requests: usize,
        volunteers: usize,
        scores: Vec<Option<f64>>,
        capacity: Vec<u32>,
    ) -> Result<Self, ProblemError> {
        let expected = requests
            .checked_mul(volunteers)
            .ok_or(ProblemError::TooLarge {
                requests,
                volunteers,
            })?;
        if scores.len() != expected {
            return Err(ProblemError::ScoresLength {
                expected,
                actual: scores.len(),
            });
        }
        if capacity.len() != volunteers {
            return Err(ProblemError::CapacityLength {
                expected: volunteers,
                actual: capacity.len(),
            });
        }
        if let Some(i) = scores
            .iter()
            .position(|s| s.is_some_and(|s| !s.is_finite() || s.abs() > MAX_SCORE))
        {
            return Err(ProblemError::BadScore {
                request: i / volunteers,
                volunteer: i % volunteers,
            });
        }
        Ok(Self {
            requests,
            volunteers,
            scores,
            capacity,
        })
    }

    /// The score of volunteer `v` for request `r` if `v` is eligible (a finite score), else
    /// None. Out-of-range indices and missing cells are ineligible rather than a panic.
    fn score(&self, r: usize, v: usize) -> Option<f64> {
        if r >= self.requests || v >= self.volunteers {
            return None;
        }
        let i = r.checked_mul(self.volunteers)?.checked_add(v)?;
        self.scores
            .get(i)
            .copied()
            .flatten()
            .filter(|s| s.is_finite())
    }

    /// The integer weight of a pair worth taking: eligible and not negative. Negative pairs
    /// are never worth taking (unassigned scores 0), so they count as ineligible here.
    fn weight(&self, r: usize, v: usize) -> Option<i64> {
        self.score(r, v).filter(|&s| s >= 0.0).map(units)
    }

    /// How many more requests `v` may take (0 when the entry is missing).
    fn cap(&self, v: usize) -> usize {
        self.capacity
            .get(v)
            .map_or(0, |&c| usize::try_from(c).unwrap_or(usize::MAX))
    }

    /// The expanded integer matrix that [`solve`] solves (see the module docs), exposed so a
    /// benchmark can time a plain assignment solve of exactly the same matrix, and so tests
    /// can inspect it. [`solve`] itself never materialises it: it reads the same cells
    /// through a compact view.
    ///
    /// It has `requests` rows and at least `requests` columns (the solver requires
    /// rows ≤ columns), unless there are no requests at all.
    pub fn weight_matrix(&self) -> WeightMatrix {
        let e = self.expanded();
        let columns = e.slot.len();
        let mut data = Vec::with_capacity(e.rows * columns);
        for row in e.compact.chunks_exact(e.stride).take(e.rows) {
            data.extend(e.slot.iter().map(|&j| row[j]));
        }
        let matrix = Matrix::from_vec(e.rows, columns, data)
            .expect("rows × columns cells, and columns ≥ rows so no row is empty");
        WeightMatrix {
            matrix,
            column_volunteer: e.column_volunteer,
        }
    }

    /// The expanded problem of [`Problem::weight_matrix`] as a view over a compact matrix
    /// with one cell per (request, volunteer with capacity) instead of one per unit of
    /// capacity. Built in a single pass over `scores`, in row order.
    fn expanded(&self) -> Expanded {
        let n = self.requests;
        // (volunteer, copies) for every volunteer who may take something; compact column j
        // is volunteer `with_capacity[j].0`.
        let with_capacity: Vec<(usize, usize)> = (0..self.volunteers)
            .filter_map(|v| {
                let copies = self.cap(v).min(n);
                (copies > 0).then_some((v, copies))
            })
            .collect();
        // The last compact column stays 0: padding columns read it.
        let stride = with_capacity.len() + 1;
        let mut compact = vec![0i64; n * stride];
        // Whether compact column j is eligible for anything (if not, it gets no column).
        let mut useful = vec![false; with_capacity.len()];
        if !with_capacity.is_empty() {
            // Two steps per row, neither with a branch on the data: whether a cell is
            // eligible follows no pattern a CPU could predict, and a mispredicted branch per
            // cell cost about half of the build (some 9 ms on 1000 × 2000).
            // First each cell's score as raw bits, with a conditional move, into a buffer that
            // stays in L1 and keeps the compiler from turning that integer select back into a
            // float one (which x86-64 can only do with a branch); then, from those bits, the
            // weights and eligibility, with a conditional move again.
            let mut bits = vec![INELIGIBLE; with_capacity.len()];
            let len = self.scores.len();
            for (r, out) in compact.chunks_exact_mut(stride).enumerate() {
                // Missing cells (a hand-built, too short `scores`) are ineligible.
                let start = r.saturating_mul(self.volunteers).min(len);
                let end = start.saturating_add(self.volunteers).min(len);
                let row = &self.scores[start..end];
                for (&(v, _), b) in with_capacity.iter().zip(&mut bits) {
                    let cell = row.get(v).unwrap_or(&None);
                    let score = cell.map_or(INELIGIBLE, f64::to_bits);
                    *b = select_unpredictable(cell.is_some(), score, INELIGIBLE);
                }
                for ((&b, cell), u) in bits.iter().zip(out).zip(&mut useful) {
                    let s = f64::from_bits(b);
                    // The rule of `Problem::weight`: finite and not negative (NaN fails both).
                    let eligible = (s >= 0.0) & s.is_finite();
                    *cell = select_unpredictable(eligible, units(s), 0);
                    *u |= eligible;
                }
            }
        }

        let mut slot = Vec::new();
        let mut column_volunteer = Vec::new();
        for (j, &(v, copies)) in with_capacity.iter().enumerate() {
            if useful[j] {
                slot.extend(repeat_n(j, copies));
                column_volunteer.extend(repeat_n(Some(v), copies));
            }
        }
        let padding = n.saturating_sub(column_volunteer.len());
        slot.extend(repeat_n(stride - 1, padding));
        column_volunteer.extend(repeat_n(None, padding));
        Expanded {
            rows: n,
            stride,
            compact,
            slot,
            column_volunteer,
        }
    }
}

/// The expanded assignment problem (one column per unit of useful capacity, then padding)
/// without the expansion: cell (r, c) is `compact[r * stride + slot[c]]`. Cell for cell it
/// equals [`Problem::weight_matrix`], but it holds `requests × volunteers` cells instead of
/// `requests × columns` and takes a single pass over the scores to build.
#[derive(Debug, Clone)]
struct Expanded {
    rows: usize,
    /// Compact cells per row: one per volunteer with capacity, then a 0 for padding.
    stride: usize,
    /// `rows × stride` integer weights, row-major.
    compact: Vec<i64>,
    /// For each expanded column, the index of its cell in a compact row.
    slot: Vec<usize>,
    /// For each expanded column, the volunteer it is a unit of capacity of, or None for
    /// padding.
    column_volunteer: Vec<Option<usize>>,
}

impl Weights<i64> for Expanded {
    fn rows(&self) -> usize {
        self.rows
    }

    fn columns(&self) -> usize {
        self.slot.len()
    }

    #[inline]
    fn at(&self, row: usize, col: usize) -> i64 {
        self.compact[row * self.stride + self.slot[col]]
    }

    fn neg(&self) -> Self {
        Self {
            compact: self.compact.iter().map(|&w| -w).collect(),
            ..self.clone()
        }
    }
}

/// A score in integer units (rounded half away from zero, as [`f64::round`]), clamped to
/// [`MAX_SCORE`] so a hand-built [`Problem`] with an absurd score cannot overflow the solver.
/// NaN gives 0.
fn units(score: f64) -> i64 {
    let x = score.clamp(-MAX_SCORE, MAX_SCORE) * SCALE;
    // `x.round() as i64` without `round`, a libm call on baseline x86-64 (SSE2 has no
    // rounding instruction), in the hot loop of building a problem. Exact: |x| ≤ 1e12 < 2^52,
    // so the truncation `t` converts back to f64 exactly, and `x - t`, the fractional part
    // (the low bits of x's mantissa), is computed exactly too.
    let t = x as i64; // toward zero; NaN → 0
    let frac = x - t as f64;
    t + i64::from(frac >= 0.5) - i64::from(frac <= -0.5)
}

/// The assignment with the largest total score (exact in units of 1/[`SCALE`]) among those
/// that respect eligibility and capacities. Pairs with a negative score are never used.
///
/// Cost: building the compact view of the expanded matrix is O(requests × volunteers), and
/// the Hungarian algorithm O(requests² × columns), where columns ≈ max(requests, useful
/// capacity).
pub fn solve(p: &Problem) -> Assignment {
    let e = p.expanded();
    if e.column_volunteer.iter().all(Option::is_none) {
        // Nobody can take anything: skip an O(n³) solve of an all-zero matrix.
        return vec![None; p.requests];
    }
    let (_, row_columns) = kuhn_munkres(&e);
    row_columns
        .into_iter()
        .enumerate()
        .map(|(r, c)| e.column_volunteer[c].filter(|&v| p.weight(r, v).is_some()))
        .collect()
}

/// The baseline that [`solve`] improves on: repeatedly take the highest-scoring eligible
/// pair whose request is still unassigned and whose volunteer still has capacity.
///
/// Scores are compared in the same integer units as [`solve`], ties broken by lowest
/// request then lowest volunteer index, so the result is deterministic. Negative pairs are
/// never taken. O(E log E) for E eligible pairs.
pub fn greedy(p: &Problem) -> Assignment {
    let mut pairs: Vec<(i64, usize, usize)> = (0..p.volunteers)
        .filter(|&v| p.cap(v) > 0)
        .flat_map(|v| (0..p.requests).filter_map(move |r| Some((p.weight(r, v)?, r, v))))
        .collect();
    pairs.sort_unstable_by_key(|&(w, r, v)| (std::cmp::Reverse(w), r, v));
    let mut left: Vec<usize> = (0..p.volunteers).map(|v| p.cap(v)).collect();
    let mut assignment = vec![None; p.requests];
    for (_, r, v) in pairs {
        if assignment[r].is_none() && left[v] > 0 {
            assignment[r] = Some(v);
            left[v] -= 1;
        }
    }
    assignment
}

/// The total score of an assignment. Pairs that are not eligible contribute nothing; use
/// [`is_feasible`] to reject such assignments.
pub fn total(p: &Problem, a: &Assignment) -> f64 {
    a.iter()
        .enumerate()
        .filter_map(|(r, v)| p.score(r, (*v)?))
        .sum()
}

/// Whether `a` covers exactly the problem's requests, gives each assigned request a
/// volunteer eligible for it, and gives no volunteer more requests than its capacity.
pub fn is_feasible(p: &Problem, a: &Assignment) -> bool {
    if a.len() != p.requests {
        return false;
    }
    let mut taken = vec![0usize; p.volunteers];
    for (r, v) in a.iter().enumerate() {
        let Some(v) = *v else { continue };
        if p.score(r, v).is_none() {
            return false;
        }
        taken[v] += 1;
        if taken[v] > p.cap(v) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
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
}
