//! Batch assignment: how long an optimal solve of a large batch takes, how much of it is the
//! Hungarian algorithm itself, and how much better than greedy dispatch the optimum is.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use huying::domain::assignment::{Problem, greedy, solve, total};
use pathfinding::kuhn_munkres::kuhn_munkres;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A reproducible batch: about half the pairs ineligible, scores uniform in 0..1,
/// capacities 1 for 80% of volunteers and 2 for the rest.
fn instance(requests: usize, volunteers: usize, seed: u64) -> Problem {
    let mut rng = StdRng::seed_from_u64(seed);
    let scores = (0..requests * volunteers)
        .map(|_| {
            if rng.gen_bool(0.5) {
                Some(rng.gen_range(0.0..1.0))
            } else {
                None
            }
        })
        .collect();
    let capacity = (0..volunteers)
        .map(|_| if rng.gen_bool(0.2) { 2 } else { 1 })
        .collect();
    Problem::new(requests, volunteers, scores, capacity).expect("well-formed instance")
}

/// One line comparing greedy dispatch with the optimum on `p`.
fn compare(label: &str, p: &Problem) {
    let g = total(p, &greedy(p));
    let o = total(p, &solve(p));
    println!(
        "{label}: greedy total = {g:.3}, optimal total = {o:.3} (greedy is {:.2}% of optimal)",
        100.0 * g / o
    );
}

fn benches(c: &mut Criterion) {
    let small = instance(200, 400, 7);
    let large = instance(1_000, 2_000, 42);
    compare("200x400", &small);
    compare("1000x2000", &large);

    let matrix = large.weight_matrix().matrix;
    let mut group = c.benchmark_group("batch");
    // A solve takes seconds: keep the sample count and iteration count minimal.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("solve_1000x2000", |b| b.iter(|| solve(black_box(&large))));
    group.bench_function("plain_lap_1000x2000", |b| {
        b.iter(|| kuhn_munkres(black_box(&matrix)))
    });
    group.bench_function("greedy_1000x2000", |b| b.iter(|| greedy(black_box(&large))));
    group.finish();
}

criterion_group!(assignment, benches);
criterion_main!(assignment);
