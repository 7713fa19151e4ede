//! Decisions per second on a realistic corpus of agent command lines (all under 200 bytes),
//! under an allow list of about a hundred entries plus the default blocklist, and under the
//! default policy (no allow list). Target: at least 100,000 decisions/s on one core.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mcp_commander::policy::Policy;
use std::hint::black_box;

#[path = "support/corpus.rs"]
mod corpus;
use corpus::{allow_list, CORPUS};

fn bench(c: &mut Criterion) {
    assert!(CORPUS.iter().all(|l| l.len() < 200));
    let mut g = c.benchmark_group("policy");
    g.throughput(Throughput::Elements(CORPUS.len() as u64));
    let with_list = Policy::from_lists(&allow_list(), &["dd".into()], true).expect("policy");
    g.bench_function("decide/allow-list", |b| {
        b.iter(|| {
            for l in CORPUS {
                black_box(with_list.decide(black_box(l)));
            }
        })
    });
    let default = Policy::from_lists(&[], &[], true).expect("policy");
    g.bench_function("decide/default", |b| {
        b.iter(|| {
            for l in CORPUS {
                black_box(default.decide(black_box(l)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
