//! Throughput at Copper's rate limit, against a naive sequential client.
//!
//! `cargo bench -p copper-bulk-tests --bench throughput`
//!
//! A local server enforces Copper's bulk limit (3 requests in any second,
//! 429 otherwise) and answers each request after 250 ms. The same records
//! go through the facade and through a naive client that sends a batch,
//! waits for the answer and sleeps a third of a second. The bound is 3
//! requests of 10 records a second: 30 records a second.
//!
//! `COPPER_BENCH_RECORDS` changes the number of records (3000 by default).

use std::time::{Duration, Instant};

use copper_bulk::{Config, Copper, PersonUpdate};
use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::hooks::{Credentials, Inner, http_client_builder};
use copper_bulk_raw::types::PeopleBulkUpdateRequest;
use copper_bulk_tests::fake::{FakeCopper, rate_limited};

const BOUND: f64 = 30.0;

struct Run {
    name: &'static str,
    applied: usize,
    elapsed: Duration,
    statuses: Vec<(u16, usize)>,
}

fn main() {
    let records: usize = std::env::var("COPPER_BENCH_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let runs = runtime.block_on(async { vec![facade(records).await, naive(records).await] });

    println!(
        "\n{records} records, server: 3 requests/s (429 beyond), 250 ms per answer; bound {BOUND} records/s\n"
    );
    println!("| client | applied | seconds | records/s | of the bound | 429 answers |");
    println!("|---|---|---|---|---|---|");
    for run in &runs {
        let rate = run.applied as f64 / run.elapsed.as_secs_f64();
        let rejected = run
            .statuses
            .iter()
            .find(|(s, _)| *s == 429)
            .map_or(0, |(_, n)| *n);
        println!(
            "| {} | {} | {:.1} | {:.2} | {:.3} | {} |",
            run.name,
            run.applied,
            run.elapsed.as_secs_f64(),
            rate,
            rate / BOUND,
            rejected
        );
    }
    let [facade, naive] = &runs[..] else {
        unreachable!()
    };
    let speedup = (facade.applied as f64 / facade.elapsed.as_secs_f64())
        / (naive.applied as f64 / naive.elapsed.as_secs_f64());
    println!("\nfacade / naive: {speedup:.2}x");
}

fn updates(records: usize) -> Vec<PersonUpdate> {
    (1..=records as i64)
        .map(|id| PersonUpdate::new(id).title(format!("Title {id}")))
        .collect()
}

async fn server() -> FakeCopper {
    FakeCopper::start(rate_limited(
        3,
        Duration::from_secs(1),
        Duration::from_millis(250),
    ))
    .await
}

/// The facade with its defaults.
async fn facade(records: usize) -> Run {
    let server = server().await;
    let config = Config::new("bench-token", "bench@example.com")
        .unwrap()
        .with_base_url(server.url())
        .unwrap();
    let copper = Copper::new(config).unwrap();
    let started = Instant::now();
    let report = copper.people().bulk_update(updates(records)).report().await;
    let elapsed = started.elapsed();
    assert_eq!(report.counts().total(), records);
    Run {
        name: "copper-bulk facade (defaults)",
        applied: report.applied.len(),
        elapsed,
        statuses: server.statuses(),
    }
}

/// Send a batch, wait for the answer, sleep a third of a second.
async fn naive(records: usize) -> Run {
    let server = server().await;
    let http = http_client_builder(Duration::from_secs(10), Duration::from_secs(60))
        .build()
        .unwrap();
    let credentials = Credentials::new("bench-token", "bench@example.com").unwrap();
    let raw = copper_bulk_raw::Client::new_with_client(server.url(), http, Inner::new(credentials));
    let started = Instant::now();
    let mut applied = 0;
    for chunk in updates(records).chunks(10) {
        let body = PeopleBulkUpdateRequest {
            people: chunk.to_vec(),
        };
        if let Ok(response) = raw.people_bulk_update(None, &body).await {
            applied += response
                .into_inner()
                .iter()
                .filter(|item| matches!(item, BulkItem::Ok(_)))
                .count();
        }
        tokio::time::sleep(Duration::from_secs(1) / 3).await;
    }
    Run {
        name: "naive sequential (send, wait, sleep 1/3 s)",
        applied,
        elapsed: started.elapsed(),
        statuses: server.statuses(),
    }
}
