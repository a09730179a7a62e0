//! Hot pure paths of every request: token checks, personal-number parsing, encryption.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use huying::auth::JwtKeys;
use huying::crypto::Vault;
use huying::domain::id_card::IdCardNumber;
use huying::domain::phone::Phone;
use huying::domain::policy::CommunityPolicy;
use uuid::Uuid;

fn benches(c: &mut Criterion) {
    let keys = JwtKeys::new(
        b"0123456789abcdef0123456789abcdef",
        "huying",
        "huying-api",
        Duration::from_secs(900),
    );
    let token = keys.issue(Uuid::now_v7());
    c.bench_function("jwt verify", |b| b.iter(|| keys.verify(black_box(&token))));
    c.bench_function("jwt issue", |b| {
        b.iter(|| keys.issue(black_box(Uuid::nil())))
    });
    c.bench_function("id card parse", |b| {
        b.iter(|| IdCardNumber::parse(black_box("11010519491231002X")))
    });
    c.bench_function("phone parse", |b| {
        b.iter(|| Phone::parse(black_box("+86 138 1234 5678")))
    });
    let vault = Vault::new([7; 32]);
    let blob = vault.encrypt("11010519491231002X");
    c.bench_function("id card encrypt", |b| {
        b.iter(|| vault.encrypt(black_box("11010519491231002X")))
    });
    c.bench_function("id card decrypt", |b| {
        b.iter(|| vault.decrypt(black_box(&blob)))
    });
    let policy = serde_json::to_value(CommunityPolicy::default()).unwrap();
    c.bench_function("policy parse", |b| {
        b.iter(|| CommunityPolicy::parse(black_box(policy.clone())))
    });
}

criterion_group!(domain, benches);
criterion_main!(domain);
