//! What each client costs per record when the rate limit is off.
//!
//! `cargo xtask bench cost`
//!
//! A sandbox process (rate limiting off, no latency) answers; the facade
//! runs in this process and the Python client generated from the spec in
//! its own, so each one's CPU time is its own: serializing, sending,
//! decoding. `COPPER_BENCH_SANDBOX` names the `copper-bulk` binary that
//! serves the sandbox; `COPPER_BENCH_RECORDS` the number of records
//! (100,000 by default).
//!
//! Goal: the facade applies every record, at least 100 times as fast as
//! Copper's bound of 30 records a second, so that the client is never what
//! holds a run back. It exits 1 when the goal is missed.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{Run, facade, python, records_from_env};

/// Copper's bound, 3 requests of 10 records a second, times 100.
const GOAL_RECORDS_PER_SECOND: f64 = 30.0 * 100.0;

fn main() {
    let records = records_from_env(100_000);
    let binary = std::env::var("COPPER_BENCH_SANDBOX")
        .expect("COPPER_BENCH_SANDBOX names the copper-bulk binary: run `cargo xtask bench cost`");
    let mut sandbox = Command::new(binary)
        .args(["sandbox", "--port", "0", "--no-rate-limit"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the sandbox starts");
    let mut output = BufReader::new(sandbox.stdout.take().unwrap());
    let mut first = String::new();
    output.read_line(&mut first).unwrap();
    std::thread::spawn(move || std::io::copy(&mut output, &mut std::io::sink()));
    let url = first.split_whitespace().last().unwrap().to_owned();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut runs: Vec<Run> = vec![runtime.block_on(facade(&url, records, false))];
    runs.extend(python(&url, records, 0.0, "Python, openapi-python-client"));
    let _ = sandbox.kill();
    let _ = sandbox.wait();

    println!("\n{records} records, rate limit off, against a sandbox process\n");
    println!("| client | seconds | records/s | CPU seconds | CPU per record |");
    println!("|---|---|---|---|---|");
    for run in &runs {
        let cpu = run.cpu_seconds.unwrap_or(f64::NAN);
        println!(
            "| {} | {:.1} | {:.0} | {:.2} | {:.1} µs |",
            run.client,
            run.seconds,
            run.per_second(),
            cpu,
            cpu / run.records as f64 * 1e6
        );
    }
    if runs.len() == 1 {
        println!("| Python peer: not run (run `cargo xtask bench cost`) | | | | |");
    }

    let facade = &runs[0];
    println!(
        "\ngoal: the facade applies all {records} records at {GOAL_RECORDS_PER_SECOND} records/s or more"
    );
    if facade.applied != records || facade.per_second() < GOAL_RECORDS_PER_SECOND {
        eprintln!(
            "goal missed: the facade applied {} of {records} records at {:.0} records/s",
            facade.applied,
            facade.per_second()
        );
        std::process::exit(1);
    }
}
