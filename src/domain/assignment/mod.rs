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
mod tests;
