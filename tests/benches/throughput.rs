//! Throughput at Copper's rate limit, against peers, and under faults.
//!
//! `cargo xtask bench throughput` (or `cargo bench -p copper-bulk-tests
//! --bench throughput`, without the Python peers)
//!
//! The sandbox enforces Copper's bulk limit (3 requests in any second, 429
//! beyond) and answers each request after the given latency. The bound is 3
//! requests of 10 records a second: 30 records a second. Requests and 429
//! answers are counted where they are answered, at the sandbox.
//!
//! 1. The facade at 50, 250 and 1,000 ms. Goal: every record applied, at
//!    least 0.95 of the bound, no 429.
//! 2. At 250 ms, the same work by a naive Rust client and by the Python
//!    client openapi-python-client generates from the spec, both in the loop
//!    send ten, wait, sleep a third of a second; and by the concurrent
//!    Python peer (`python_concurrent.py`), spacing requests exactly a
//!    third of a second apart at 250 ms, then with the facade's margin at
//!    250 and 1,000 ms.
//! 3. Creates under faults (a 503, a 429, a connection dropped before and
//!    one after the batch was applied, a 500 after it was applied): what
//!    the server created, against what each client reports. Goal: the
//!    facade creates nothing twice and reports no record wrongly.
//!
//! It draws the requests of the facade's and the concurrent peers' 250 ms
//! runs over time (`benches/throughput.svg`), and exits 1 when a goal is
//! missed. `COPPER_BENCH_RECORDS` changes the number of records (1500 by
//! default).

mod common;
mod throughput {
    pub mod plot;
}

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{Run, facade, naive, python, python_concurrent, records_from_env};
use copper_bulk::{Config, Copper, EmailInput, PersonCreate};
use copper_bulk_sandbox::{Entity, Fault, Sandbox, SandboxConfig, Stats};
use copper_bulk_tests::goal::{self, GOAL};
use throughput::plot;

/// Copper's bound: 3 requests of 10 records a second.
const BOUND: f64 = 30.0;
/// Records created under faults, per client.
const FAULT_RECORDS: usize = 300;
/// The concurrent peer's threads: enough to keep three requests a second
/// in flight at 1,000 ms latency.
const WORKERS: usize = 8;
/// The margin the concurrent peer adds to a third of a second between
/// requests, in its stronger form: the facade's own margin
/// (`RateLimit::DEFAULT_MARGIN`), so that the comparison is of the clients.
const PEER_MARGIN_MS: u64 = 10;

async fn sandbox(latency_ms: u64) -> Sandbox {
    let config = SandboxConfig::new()
        .with_latency(Duration::from_millis(latency_ms))
        .with_applied_log(false)
        .with_request_log(true);
    Sandbox::start(config).await.unwrap()
}

/// One client's run and what the sandbox counted of it.
struct Measured {
    run: Run,
    latency_ms: u64,
    stats: Stats,
}

impl Measured {
    fn of_bound(&self) -> f64 {
        self.run.per_second() / BOUND
    }

    fn row(&self) -> String {
        format!(
            "| {} | {} ms | {} | {:.1} | {:.2} | {:.3} | {} | {} |",
            self.run.client,
            self.latency_ms,
            self.run.applied,
            self.run.seconds,
            self.run.per_second(),
            self.of_bound(),
            self.stats.requests(),
            self.stats.with_status(429)
        )
    }
}

const HEADER: &str = "| client | latency | applied | seconds | records/s | of the bound | requests | 429 answers |\n|---|---|---|---|---|---|---|---|";

/// Runs a Python peer beside a fresh sandbox, which keeps serving and
/// commits `faults`.
fn beside_sandbox<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    latency_ms: u64,
    faults: Vec<Fault>,
    peer: impl FnOnce(String) -> Option<T> + Send + 'static,
) -> Option<(T, Sandbox)> {
    runtime.block_on(async {
        let sandbox = sandbox(latency_ms).await;
        for fault in faults {
            sandbox.inject(fault);
        }
        let url = sandbox.url().to_owned();
        let result = tokio::task::spawn_blocking(move || peer(url))
            .await
            .unwrap();
        result.map(|result| (result, sandbox))
    })
}

fn main() {
    let records = records_from_env(1_500);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut missed = Vec::new();

    let mut bound = Vec::new();
    for latency_ms in [50, 250, 1_000] {
        let measured = runtime.block_on(async {
            let sandbox = sandbox(latency_ms).await;
            let run = facade(sandbox.url(), records, true).await;
            Measured {
                run,
                latency_ms,
                stats: sandbox.stats(),
            }
        });
        eprintln!("{}", measured.row());
        check_goal(&measured, "the facade", records, &mut missed);
        bound.push(measured);
    }

    // The tool as a user runs it, journal and reading back included: the
    // same goal as the facade.
    if let Ok(path) = std::env::var("COPPER_BENCH_SANDBOX") {
        let measured = runtime.block_on(async {
            let sandbox = sandbox(250).await;
            let url = sandbox.url().to_owned();
            let path = path.clone();
            let run = tokio::task::spawn_blocking(move || common::tool(&path, &url, records))
                .await
                .unwrap();
            run.map(|run| Measured {
                run,
                latency_ms: 250,
                stats: sandbox.stats(),
            })
        });
        match measured {
            Some(measured) => {
                eprintln!("{}", measured.row());
                check_goal(&measured, "the tool", records, &mut missed);
                bound.push(measured);
            }
            None => missed.push(format!("the tool at {path} could not run")),
        }
    }

    let mut peers = Vec::new();
    let naive_run = runtime.block_on(async {
        let sandbox = sandbox(250).await;
        let run = naive(sandbox.url(), records).await;
        Measured {
            run,
            latency_ms: 250,
            stats: sandbox.stats(),
        }
    });
    eprintln!("{}", naive_run.row());
    peers.push(naive_run);
    let name = "Python, openapi-python-client (send, wait, sleep 1/3 s)";
    if let Some((run, sandbox)) = beside_sandbox(&runtime, 250, Vec::new(), move |url| {
        python(&url, records, 1.0 / 3.0, name)
    }) {
        peers.push(Measured {
            run,
            latency_ms: 250,
            stats: sandbox.stats(),
        });
    }
    // The concurrent peer spacing requests exactly a third of a second
    // apart, then with the facade's margin; the chart draws both at 250 ms.
    let mut charted = Vec::new();
    for (margin_ms, latency_ms) in [(0, 250), (PEER_MARGIN_MS, 250), (PEER_MARGIN_MS, 1_000)] {
        if let Some(((run, _), sandbox)) =
            beside_sandbox(&runtime, latency_ms, Vec::new(), move |url| {
                python_concurrent(&url, records, false, WORKERS, margin_ms)
            })
        {
            let measured = Measured {
                run,
                latency_ms,
                stats: sandbox.stats(),
            };
            eprintln!("{}", measured.row());
            if latency_ms == 250 {
                charted.push((measured.run.client.clone(), measured.stats.clone()));
            }
            peers.push(measured);
        }
    }
    let python_ran = !charted.is_empty();

    let faults = faults_table(&runtime, &mut missed);

    println!("\n{records} records per run; bound {BOUND} records/s\n");
    println!(
        "Against the bound (goal: every record applied, at least {GOAL} of the bound, no 429):\n\n{HEADER}"
    );
    for measured in &bound {
        println!("{}", measured.row());
    }
    println!("\nAgainst peers:\n\n{HEADER}\n{}", bound[1].row());
    for measured in &peers {
        println!("{}", measured.row());
    }
    if !python_ran {
        println!("| Python peers: not run (run `cargo xtask bench throughput`) | | | | | | | |");
    }
    println!("\n{faults}");

    let svg = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/throughput.svg");
    let mut series = vec![(bound[1].run.client.as_str(), &bound[1].stats)];
    series.extend(charted.iter().map(|(name, stats)| (name.as_str(), stats)));
    match plot::requests_over_time(svg, 250, &series) {
        Ok(()) => println!("\nRequests over time: benches/throughput.svg"),
        Err(error) => missed.push(format!("cannot draw {svg}: {error}")),
    }

    if !missed.is_empty() {
        eprintln!("\ngoals missed:");
        for goal in &missed {
            eprintln!("- {goal}");
        }
        std::process::exit(1);
    }
}

/// Adds to `missed` each part of the goal that `who`'s run missed: every
/// record applied, and the shared goal at Copper's rate limit
/// ([`goal::missed`]).
fn check_goal(measured: &Measured, who: &str, records: usize, missed: &mut Vec<String>) {
    let latency_ms = measured.latency_ms;
    if measured.run.applied != records {
        missed.push(format!(
            "{who} applied {} of {records} records at {latency_ms} ms",
            measured.run.applied
        ));
    }
    missed.extend(goal::missed(
        &format!("{who} at {latency_ms} ms"),
        measured.of_bound(),
        measured.stats.with_status(429),
    ));
}

/// The faults each request meets, in the order requests take them: a
/// request that is not faulted takes a zero delay, which changes nothing.
fn fault_schedule() -> Vec<Fault> {
    (0..FAULT_RECORDS / 10 * 2)
        .map(|request| match request {
            3 => Fault::Status(503),
            8 => Fault::DropAfterApplying,
            13 => Fault::StatusAfterApplying(500),
            18 => Fault::DropBeforeApplying,
            23 => Fault::Status(429),
            _ => Fault::Delay(Duration::ZERO),
        })
        .collect()
}

/// What one client reported of its creates.
struct Claims {
    client: String,
    applied: BTreeSet<usize>,
    /// Records it says it cannot know about; `None` when it has no such
    /// outcome.
    unknown: Option<BTreeSet<usize>>,
}

/// Creates `Bench <index>` people with the facade, under the faults: with
/// an e-mail address each, which Copper can be read back by, or without.
async fn facade_creates(url: &str, with_email: bool) -> Claims {
    let config = Config::new(SandboxConfig::TOKEN, SandboxConfig::USER_EMAIL)
        .unwrap()
        .with_base_url(url)
        .unwrap();
    let copper = Copper::new(config).unwrap();
    let person = move |i: usize| {
        let person = PersonCreate::new(format!("Bench {i}"));
        match with_email {
            true => person.emails([EmailInput::new(format!("bench-{i}@example.org"))]),
            false => person,
        }
    };
    let report = copper
        .people()
        .bulk_create((0..FAULT_RECORDS).map(person))
        .report()
        .await;
    Claims {
        client: match with_email {
            true => "copper-bulk facade (defaults), with e-mail: read back".into(),
            false => "copper-bulk facade (defaults), no e-mail to read back by".into(),
        },
        applied: report.applied.iter().map(|(index, _)| *index).collect(),
        unknown: Some(report.unknown.iter().map(|(index, _)| *index).collect()),
    }
}

/// How many times the sandbox created each `Bench <index>` person.
fn created(sandbox: &Sandbox) -> BTreeMap<usize, usize> {
    let mut created = BTreeMap::new();
    for person in sandbox.records(Entity::People) {
        let index = person["name"]
            .as_str()
            .and_then(|name| name.strip_prefix("Bench "))
            .and_then(|index| index.parse().ok());
        if let Some(index) = index {
            *created.entry(index).or_insert(0) += 1;
        }
    }
    created
}

/// Runs the facade and the concurrent peer under the same faults at 250
/// ms; returns the table, and adds the facade's missed goals to `missed`.
fn faults_table(runtime: &tokio::runtime::Runtime, missed: &mut Vec<String>) -> String {
    let mut runs = Vec::new();
    for with_email in [true, false] {
        let facade_run = runtime.block_on(async {
            let sandbox = sandbox(250).await;
            for fault in fault_schedule() {
                sandbox.inject(fault);
            }
            let claims = facade_creates(sandbox.url(), with_email).await;
            (claims, sandbox)
        });
        runs.push(facade_run);
    }
    let peer = beside_sandbox(runtime, 250, fault_schedule(), |url| {
        python_concurrent(&url, FAULT_RECORDS, true, WORKERS, PEER_MARGIN_MS)
    });
    if let Some(((run, applied), sandbox)) = peer {
        let claims = Claims {
            client: run.client,
            applied: applied.into_iter().collect(),
            unknown: None,
        };
        runs.push((claims, sandbox));
    }

    let mut table = format!(
        "{FAULT_RECORDS} creates under faults, 250 ms latency \
         (goal for the facade: no duplicates, no record reported wrongly):\n\n\
         | client | created | created twice or more | extra copies | reported applied | reported applied, not created | created, reported not applied | reported unknown | 429 answers |\n\
         |---|---|---|---|---|---|---|---|---|"
    );
    for (index, (claims, sandbox)) in runs.iter().enumerate() {
        let created = created(sandbox);
        let twice = created.values().filter(|&&n| n > 1).count();
        let extra: usize = created.values().map(|n| n - 1).sum();
        let wrongly_applied = claims
            .applied
            .iter()
            .filter(|i| !created.contains_key(i))
            .count();
        let unknown = claims.unknown.clone().unwrap_or_default();
        let silently_created = created
            .keys()
            .filter(|i| !claims.applied.contains(i) && !unknown.contains(i))
            .count();
        let unknown_cell = claims
            .unknown
            .as_ref()
            .map_or("no such outcome".to_owned(), |u| u.len().to_string());
        table.push_str(&format!(
            "\n| {} | {} | {twice} | {extra} | {} | {wrongly_applied} | {silently_created} | {unknown_cell} | {} |",
            claims.client,
            created.len(),
            claims.applied.len(),
            sandbox.stats().with_status(429)
        ));
        if index < 2 && (extra > 0 || wrongly_applied > 0 || silently_created > 0) {
            missed.push(format!(
                "under faults the facade made {extra} extra copies, reported {wrongly_applied} \
                 records applied that were not created and {silently_created} created records \
                 not applied"
            ));
        }
    }
    table
}
