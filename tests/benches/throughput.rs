//! Throughput at Copper's rate limit, and against peers.
//!
//! `cargo xtask bench throughput` (or `cargo bench -p copper-bulk-tests
//! --bench throughput`, without the Python peer)
//!
//! The sandbox enforces Copper's bulk limit (3 requests in any second, 429
//! beyond) and answers each request after the given latency. The bound is 3
//! requests of 10 records a second: 30 records a second.
//!
//! 1. The facade at 50, 250 and 1,000 ms.
//! 2. At 250 ms, the same work by a naive Rust client (send ten, wait, sleep
//!    a third of a second) and by the Python client openapi-python-client
//!    generates from the spec, in the same loop.
//!
//! `COPPER_BENCH_RECORDS` changes the number of records (1500 by default).

mod common;

use std::time::Duration;

use common::{Run, facade, naive, python, records_from_env};
use copper_bulk_sandbox::{Sandbox, SandboxConfig};

const BOUND: f64 = 30.0;

async fn sandbox(latency_ms: u64) -> Sandbox {
    let config = SandboxConfig::new()
        .with_latency(Duration::from_millis(latency_ms))
        .with_applied_log(false);
    Sandbox::start(config).await.unwrap()
}

fn row(run: &Run, latency_ms: u64, rate_limited: usize) -> String {
    format!(
        "| {} | {latency_ms} ms | {} | {:.1} | {:.2} | {:.3} | {rate_limited} |",
        run.client,
        run.applied,
        run.seconds,
        run.per_second(),
        run.per_second() / BOUND
    )
}

fn main() {
    let records = records_from_env(1_500);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let header = "| client | latency | applied | seconds | records/s | of the bound | 429 answers |\n|---|---|---|---|---|---|---|";

    let mut bound = Vec::new();
    for latency in [50, 250, 1_000] {
        let (run, rejected) = runtime.block_on(async {
            let sandbox = sandbox(latency).await;
            let run = facade(sandbox.url(), records, true).await;
            (run, sandbox.stats().with_status(429))
        });
        eprintln!("{}", row(&run, latency, rejected));
        bound.push(row(&run, latency, rejected));
    }

    let mut peers = Vec::new();
    let latency = 250;
    let (naive_run, naive_rejected) = runtime.block_on(async {
        let sandbox = sandbox(latency).await;
        let run = naive(sandbox.url(), records).await;
        (run, sandbox.stats().with_status(429))
    });
    peers.push(row(&naive_run, latency, naive_rejected));
    let python_run = runtime.block_on(async {
        let sandbox = sandbox(latency).await;
        let url = sandbox.url().to_owned();
        // The Python process runs beside the sandbox, which keeps serving.
        let run = tokio::task::spawn_blocking(move || {
            python(
                &url,
                records,
                1.0 / 3.0,
                "Python, openapi-python-client (send, wait, sleep 1/3 s)",
            )
        })
        .await
        .unwrap();
        run.map(|run| (run, sandbox.stats().with_status(429)))
    });
    match &python_run {
        Some((run, rejected)) => peers.push(row(run, latency, *rejected)),
        None => peers.push(
            "| Python peer: not run (run `cargo xtask bench throughput`) | | | | | | |".into(),
        ),
    }
    let facade_at_250 = &bound[1];

    println!("\n{records} records per run; bound {BOUND} records/s\n");
    println!("Against the bound:\n\n{header}");
    for line in &bound {
        println!("{line}");
    }
    println!("\nAgainst peers, at {latency} ms:\n\n{header}\n{facade_at_250}");
    for line in &peers {
        println!("{line}");
    }
}
