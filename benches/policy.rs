//! Decisions per second on a realistic corpus of agent command lines (all under 200 bytes),
//! under an allow list of about a hundred entries plus the default blocklist, and under the
//! default policy (no allow list). Target: at least 100,000 decisions/s on one core.
//!
//! Then the longest lines (just under the 128 KiB a shell can be given) of the shapes that
//! once made the policy's work grow with the square or the cube of a line's length, each
//! timed beside a line of the same length of independent commands (`echo aN; …`) measured
//! in the same run. Target: every shape within 10× that line's time.

use criterion::{criterion_group, Criterion, Throughput};
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

/// A line of `unit(0) unit(1) …` and `tail`, as long as fits under the shell's limit.
fn longest(unit: impl Fn(usize) -> String, tail: &str) -> String {
    const MAX: usize = 32 * 4096 - 1;
    let mut line = String::new();
    for i in 0.. {
        let u = unit(i);
        if line.len() + u.len() + tail.len() > MAX {
            break;
        }
        line.push_str(&u);
    }
    line + tail
}

/// The median of `runs` decisions of `line`, in seconds.
fn median_decision(policy: &Policy, line: &str, runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = std::time::Instant::now();
            black_box(policy.decide(black_box(line)));
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn long_lines() {
    let shapes: Vec<(&str, String)> = vec![
        (
            "echo $vN; (a variable each)",
            longest(|i| format!("echo $v{i}; "), ""),
        ),
        (
            "x=aN; echo $x; (each reads the assignment before it)",
            longest(|i| format!("x=a{i}; echo $x; "), ""),
        ),
        (
            "x=aN; f=$x; sh \"$f\"; (a variable through another)",
            longest(|i| format!("x=a{i}; f=$x; sh \"$f\"; "), ""),
        ),
        (
            "{ x=aN; }; echo $x; (one variable, many values)",
            longest(|i| format!("{{ x=a{i}; }}; echo $x; "), ""),
        ),
        (
            "set -- aN; echo $1;",
            longest(|i| format!("set -- a{i}; echo $1; "), ""),
        ),
        (
            "cat fN | … | cat (one pipeline)",
            longest(|i| format!("cat f{i} | "), "cat"),
        ),
        (
            "echo x | tee aN | tee … | cat; (pipelines of 6)",
            longest(
                |i| format!("echo x | tee a{i} | tee b{i} | tee c{i} | tee d{i} | cat; "),
                "",
            ),
        ),
        (
            "alias aN=ls; aN;",
            longest(|i| format!("alias a{i}=ls; a{i}; "), ""),
        ),
        ("cp a$x bN;", longest(|i| format!("cp a$x b{i}; "), "")),
        (
            "fN=/tmp/xN; echo>$fN; sh $fN;",
            longest(|i| format!("f{i}=/tmp/x{i};echo>$f{i};sh $f{i};"), ""),
        ),
        (
            "x=aN; echo \"$x\" > f; sh f; (a file written again and run)",
            longest(|i| format!("x=a{i}; echo \"$x\" > f; sh f; "), ""),
        ),
        (
            "read rN <<< x; echo $rN;",
            longest(|i| format!("read r{i}<<<x;echo $r{i};"), ""),
        ),
        (
            "cd dN; rm -r x;",
            longest(|i| format!("cd d{i};rm -r x;"), ""),
        ),
    ];
    let policy = Policy::from_lists(&[], &[], true).expect("policy");
    let plain = longest(|i| format!("echo a{i}; "), "");
    let base = median_decision(&policy, &plain, 5);
    println!(
        "\nlongest lines, default policy (median of 5; the plain line `echo aN; …`: {:.1} ms)",
        base * 1e3
    );
    println!("| shape | bytes | ms | × plain line | target ≤ 10× |");
    println!("| --- | ---: | ---: | ---: | --- |");
    for (name, line) in &shapes {
        let t = median_decision(&policy, line, 5);
        let ratio = t / base;
        let verdict = if ratio <= 10.0 { "met" } else { "MISSED" };
        println!(
            "| `{name}` | {} | {:.1} | {ratio:.1} | {verdict} |",
            line.len(),
            t * 1e3
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    long_lines();
    Criterion::default().configure_from_args().final_summary();
}
