//! Pacing over a jittery network: the tool against the strongest peer.
//!
//! `cargo xtask bench jitter` (or `cargo bench -p copper-bulk-tests --bench
//! jitter`, without the Python peer and, without `COPPER_BENCH_SANDBOX`,
//! without the tool)
//!
//! The sandbox enforces Copper's bulk limit (3 requests in any second, 429
//! beyond), answers each request after 250 ms, and counts each request as
//! arrived a random 0 to J ms after it was received, before the limit sees
//! it (`--jitter-ms`), with J = 0, 40, 80 and 120 ms. Copper counts
//! arrivals, so requests that leave evenly spaced can arrive crowded: no
//! client can keep all of Copper's 30 records a second without 429s, only
//! about `1000 / (1000 + J)` of it, the jitter-aware limit.
//!
//! At each J, the tool (`people update`, as a user runs it) and the
//! concurrent Python peer (the strongest of the throughput benchmark: a
//! shared pacer a third of a second and 10 ms apart, 429s paused for and
//! retried) update the same records. Goal, for the tool at every J: at
//! least 0.95 of the jitter-aware limit, and at most 1% of its requests
//! answered 429. It draws the tool's spacing over time at J = 120 ms
//! (`benches/jitter.svg`) and exits 1 when the goal is missed.
//! `COPPER_BENCH_RECORDS` changes the number of records (3,000 by default:
//! the first 429s that find the spacing are a smaller share of a longer
//! run, as they are of a nine-hour import).

mod common;
mod jitter {
    pub mod plot;
}

use std::time::Duration;

use common::{Run, python_concurrent, records_from_env};
use copper_bulk_sandbox::{Sandbox, SandboxConfig, Stats};
use copper_bulk_tests::goal::{GOAL, MAX_REFUSED_SHARE, Reached, conclude, missed_with_refusals};

/// Copper's bound: 3 requests of 10 records a second.
const BOUND: f64 = 30.0;
/// The latency of every answer.
const LATENCY_MS: u64 = 250;
/// The transit jitters tried.
const JITTERS_MS: [u64; 4] = [0, 40, 80, 120];
/// The peer's threads and margin, as in the throughput benchmark.
const WORKERS: usize = 8;
const PEER_MARGIN_MS: u64 = 10;

/// The share of Copper's bound no client can beat without 429s when each
/// request arrives a random 0 to `jitter_ms` late: four requests that left
/// `s` apart arrive at least `3s - J` apart, which must be a second.
fn jitter_aware_limit(jitter_ms: u64) -> f64 {
    1000.0 / (1000.0 + jitter_ms as f64)
}

async fn sandbox(jitter_ms: u64) -> Sandbox {
    let config = SandboxConfig::new()
        .with_latency(Duration::from_millis(LATENCY_MS))
        .with_jitter(Duration::from_millis(jitter_ms))
        .with_seed(2026, 100)
        .with_applied_log(false)
        .with_request_log(true);
    Sandbox::start(config).await.unwrap()
}

/// One client's run at one jitter, and what the sandbox counted of it.
struct Measured {
    run: Run,
    jitter_ms: u64,
    stats: Stats,
}

impl Measured {
    fn of_bound(&self) -> f64 {
        self.run.per_second() / BOUND
    }

    fn of_limit(&self) -> f64 {
        self.of_bound() / jitter_aware_limit(self.jitter_ms)
    }

    fn refused_share(&self) -> f64 {
        self.stats.with_status(429) as f64 / self.stats.requests().max(1) as f64
    }

    fn row(&self) -> String {
        format!(
            "| {} | {} ms | {} | {:.1} | {:.3} | {:.3} | {:.3} | {} | {} | {:.2}% |",
            self.run.client,
            self.jitter_ms,
            self.run.applied,
            self.run.seconds,
            self.of_bound(),
            jitter_aware_limit(self.jitter_ms),
            self.of_limit(),
            self.stats.requests(),
            self.stats.with_status(429),
            100.0 * self.refused_share(),
        )
    }
}

const HEADER: &str = "| client | jitter J | applied | seconds | of the bound | jitter-aware limit | of that limit | requests | 429 answers | share 429 |\n|---|---|---|---|---|---|---|---|---|---|";

/// Runs `client` against a fresh sandbox with `jitter_ms` of jitter.
fn measure(
    runtime: &tokio::runtime::Runtime,
    jitter_ms: u64,
    client: impl FnOnce(String) -> Option<Run> + Send + 'static,
) -> Option<Measured> {
    runtime.block_on(async {
        let sandbox = sandbox(jitter_ms).await;
        let url = sandbox.url().to_owned();
        let run = tokio::task::spawn_blocking(move || client(url))
            .await
            .unwrap()?;
        Some(Measured {
            run,
            jitter_ms,
            stats: sandbox.stats(),
        })
    })
}

fn main() {
    let records = records_from_env(3_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let tool = std::env::var("COPPER_BENCH_SANDBOX").ok();
    let mut missed = Vec::new();
    let mut rows = Vec::new();
    let mut drawn = None;
    for jitter_ms in JITTERS_MS {
        if let Some(path) = tool.clone() {
            match measure(&runtime, jitter_ms, move |url| {
                common::tool(&path, &url, records)
            }) {
                Some(measured) => {
                    eprintln!("{}", measured.row());
                    missed.extend(missed_with_refusals(Reached {
                        run: &format!("J = {jitter_ms} ms: the tool"),
                        applied: measured.run.applied,
                        records,
                        share: measured.of_limit(),
                        of: "the jitter-aware limit",
                        refused_share: measured.refused_share(),
                    }));
                    if jitter_ms == 120 {
                        drawn = Some(measured.stats.clone());
                    }
                    rows.push(measured.row());
                }
                None => missed.push(format!(
                    "the tool at {} could not run",
                    tool.as_deref().unwrap_or("")
                )),
            }
        }
        let peer = measure(&runtime, jitter_ms, move |url| {
            python_concurrent(&url, records, false, WORKERS, PEER_MARGIN_MS).map(|(run, _)| run)
        });
        if let Some(measured) = peer {
            eprintln!("{}", measured.row());
            rows.push(measured.row());
        }
    }
    if tool.is_none() {
        missed.push("COPPER_BENCH_SANDBOX names no tool: run cargo xtask bench jitter".into());
    }

    println!(
        "\n{records} records per run, {LATENCY_MS} ms latency; bound {BOUND} records/s; jitter-aware limit 1000 / (1000 + J) of it\n"
    );
    println!("{HEADER}");
    for row in &rows {
        println!("{row}");
    }
    if let Some(stats) = drawn {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/jitter.svg");
        match jitter::plot::spacing_over_time(path, 120, &stats) {
            Ok(()) => println!("\nthe tool's spacing over time at J = 120 ms: {path}"),
            Err(error) => missed.push(format!("cannot draw {path}: {error}")),
        }
    }
    println!(
        "\ngoal: the tool at every J reaches {GOAL} of the jitter-aware limit with at most {}% of its requests answered 429",
        100.0 * MAX_REFUSED_SHARE
    );
    conclude(&missed);
}
