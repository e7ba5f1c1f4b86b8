//! Several processes, one account: tool processes sharing Copper's limits
//! through Redis, beside the same processes each pacing itself alone.
//!
//! `cargo xtask bench fleet` (or `cargo bench -p copper-bulk-tests --bench
//! fleet` with `COPPER_BENCH_SANDBOX` naming a release build of the tool)
//!
//! One sandbox enforces Copper's limits for its one account (3 bulk
//! requests in any second and 180 requests in any minute, 429 beyond),
//! answering each request after 250 ms, whichever process sent it. 2 and
//! then 4 tool processes (`people update`, as a user runs it, with an output
//! file and its journal) update their share of the records at once, first
//! with `--limiter` naming one Redis server that this benchmark starts on
//! 127.0.0.1, then without it. Goal, for the shared runs: together at
//! least 0.95 of the account's 30 records a second (from the first
//! process's start to the last one's end), every record applied, and at
//! most 1% of the requests answered 429. The runs without the shared
//! limiter have no goal: they show what sharing saves. It exits 1 when the
//! goal is missed. `COPPER_BENCH_RECORDS` changes the number of records of
//! each run, shared among its processes (1,800 by default: a minute at the
//! bound).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{records_from_env, tool_command, updates};
use copper_bulk_sandbox::{Sandbox, SandboxConfig, Stats};
use copper_bulk_tests::goal::{GOAL, MAX_REFUSED_SHARE, Reached, conclude, missed_with_refusals};
use copper_bulk_tests::redis::RedisServer;

/// Copper's bound: 3 requests of 10 records a second.
const BOUND: f64 = 30.0;
/// The latency of every answer.
const LATENCY_MS: u64 = 250;
/// The numbers of processes tried.
const FLEETS: [usize; 2] = [2, 4];

/// What one run of a fleet left.
struct Measured {
    processes: usize,
    records: usize,
    applied: usize,
    seconds: f64,
    stats: Stats,
    /// The exit statuses that were not 0.
    failed: Vec<String>,
}

impl Measured {
    fn of_bound(&self) -> f64 {
        self.applied as f64 / self.seconds / BOUND
    }

    fn refused_share(&self) -> f64 {
        self.stats.with_status(429) as f64 / self.stats.requests().max(1) as f64
    }

    fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.3} | {} | {} | {:.2}% |",
            self.processes,
            self.records,
            self.applied,
            self.seconds,
            self.applied as f64 / self.seconds,
            self.of_bound(),
            self.stats.requests(),
            self.stats.with_status(429),
            100.0 * self.refused_share(),
        )
    }
}

const HEADER: &str = "| processes | records | applied | seconds | records/s together | of the bound | requests | 429 answers | share 429 |\n|---|---|---|---|---|---|---|---|---|";

async fn sandbox() -> Sandbox {
    let config = SandboxConfig::new()
        .with_latency(Duration::from_millis(LATENCY_MS))
        .with_seed(2026, 100)
        .with_applied_log(false);
    Sandbox::start(config).await.unwrap()
}

/// Starts one tool process over `lines`, in `dir`, with the shared limiter
/// at `limiter` if given.
fn spawn(tool: &str, url: &str, dir: &Path, lines: &[String], limiter: Option<&str>) -> Child {
    std::fs::create_dir_all(dir).unwrap();
    let input = dir.join("in.ndjson");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let mut command = tool_command(
        tool,
        url,
        &["people", "update"],
        &input,
        &dir.join("out.ndjson"),
    );
    command
        .env_remove("COPPER_BULK_LIMITER")
        .stdout(Stdio::null());
    if let Some(limiter) = limiter {
        command.args(["--limiter", limiter]);
    }
    command.spawn().unwrap()
}

/// Runs `processes` tool processes at once over `records` records shared
/// among them, against a fresh sandbox, sharing the limit through the
/// Redis server at `limiter` when given.
fn measure(
    runtime: &tokio::runtime::Runtime,
    tool: &str,
    processes: usize,
    records: usize,
    limiter: Option<&str>,
) -> Measured {
    let sandbox = runtime.block_on(sandbox());
    let lines: Vec<String> = updates(records)
        .iter()
        .map(|record| serde_json::to_string(record).unwrap())
        .collect();
    let root = std::env::temp_dir().join(format!("copper-bench-fleet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let dirs: Vec<PathBuf> = (0..processes).map(|n| root.join(n.to_string())).collect();
    let per_process = records.div_ceil(processes);
    let started = Instant::now();
    let children: Vec<Child> = dirs
        .iter()
        .zip(lines.chunks(per_process))
        .map(|(dir, lines)| spawn(tool, sandbox.url(), dir, lines, limiter))
        .collect();
    let mut failed = Vec::new();
    for (n, mut child) in children.into_iter().enumerate() {
        let status = child.wait().unwrap();
        if !status.success() {
            failed.push(format!("process {n}: {status}"));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let applied = dirs
        .iter()
        .map(|dir| {
            std::fs::read_to_string(dir.join("out.ndjson"))
                .unwrap_or_default()
                .lines()
                .filter(|line| line.contains("\"outcome\":\"updated\""))
                .count()
        })
        .sum();
    let _ = std::fs::remove_dir_all(&root);
    Measured {
        processes,
        records,
        applied,
        seconds,
        stats: sandbox.stats(),
        failed,
    }
}

fn main() {
    let records = records_from_env(1_800);
    let Ok(tool) = std::env::var("COPPER_BENCH_SANDBOX") else {
        println!("goal missed: COPPER_BENCH_SANDBOX names no tool: run cargo xtask bench fleet");
        std::process::exit(1);
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut missed = Vec::new();
    let mut shared_rows = Vec::new();
    let mut alone_rows = Vec::new();
    for processes in FLEETS {
        // A fresh Redis server for each fleet: nothing left from the last.
        let redis = RedisServer::start();
        let shared = measure(&runtime, &tool, processes, records, Some(&redis.url()));
        drop(redis);
        eprintln!("shared: {}", shared.row());
        let label = format!("{processes} processes sharing the limit");
        missed.extend(missed_with_refusals(Reached {
            run: &label,
            applied: shared.applied,
            records,
            share: shared.of_bound(),
            of: "the bound",
            refused_share: shared.refused_share(),
        }));
        if !shared.failed.is_empty() {
            missed.push(format!("{label}: {}", shared.failed.join(", ")));
        }
        shared_rows.push(shared.row());

        let alone = measure(&runtime, &tool, processes, records, None);
        eprintln!("alone: {}", alone.row());
        alone_rows.push(alone.row());
    }

    println!(
        "\n{records} records per run, shared among its processes; {LATENCY_MS} ms latency; bound {BOUND} records/s for the account\n"
    );
    println!("Sharing the limit through Redis (--limiter):\n");
    println!("{HEADER}");
    for row in &shared_rows {
        println!("{row}");
    }
    println!("\nEach process pacing itself alone (no --limiter):\n");
    println!("{HEADER}");
    for row in &alone_rows {
        println!("{row}");
    }
    println!(
        "\ngoal: processes sharing the limit reach {GOAL} of the bound together, every record applied, with at most {}% of the requests answered 429",
        100.0 * MAX_REFUSED_SHARE
    );
    conclude(&missed);
}
