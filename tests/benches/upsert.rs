//! Upserting people by e-mail at Copper's rate limits, against one search
//! per record.
//!
//! `cargo xtask bench upsert` (or `cargo bench -p copper-bulk-tests
//! --bench upsert`, without the tool)
//!
//! Each run has a sandbox of its own, at 250 ms latency with Copper's
//! limits (3 bulk requests in any second, 180 requests of any kind in any
//! minute, 429 beyond), seeded with the people whose e-mail addresses half
//! of the records hold: record `i` holds `person<i/2+1>@example.com`, a
//! seeded person's, when `i` is even, and an address nobody holds when it
//! is odd. Seeding is not measured. Requests, searches and 429 answers are
//! counted where they are answered, at the sandbox.
//!
//! 1. `people upsert --match email` (the tool, from an input file to an
//!    output file) and `People::bulk_upsert` (the facade) on 10,000
//!    records. The bound is the time Copper's limits allow for the requests
//!    made ([`goal::bound_seconds`]: every request at 3 a second). Goal: at
//!    least 0.95 of the bound, no 429; half the records updated, half
//!    created, and the sandbox holding one person per record, no address
//!    twice.
//! 2. On a slice of 600 records, the obvious approach (one search per
//!    record, then bulk updates and creates of 10, paced by the same
//!    throttle as the facade so that it meets no 429 either) and the
//!    facade's upsert; their requests and seconds per record, and the time
//!    each would take for 10,000 records, projected from the slice.
//!
//! 3. Leads, whose search takes one address, not a list: `Leads::bulk_upsert`
//!    of 300 leads (10 of them the sandbox's), measured against the same
//!    bound, to say what one search per key costs. No goal: the figures are
//!    what they are.
//!
//! It exits 1 when a goal is missed. `COPPER_BENCH_RECORDS` changes the
//! number of records (10,000 by default), `COPPER_BENCH_SLICE` the slice
//! (600 by default), `COPPER_BENCH_LEADS` the leads (300 by default).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::records_from_env;
use copper_bulk::types::PeopleSearchRequest;
use copper_bulk::{Config, Copper, EmailInput, LeadCreate, Match, PersonCreate, PersonUpdate};
use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::hooks::{Credentials, Inner, http_client_builder};
use copper_bulk_raw::throttle::Throttle;
use copper_bulk_raw::types::{PeopleBulkCreateRequest, PeopleBulkUpdateRequest};
use copper_bulk_sandbox::{Sandbox, SandboxConfig, Stats};
use copper_bulk_tests::goal::{self, GOAL};
use futures_util::StreamExt;

/// Copper's latency, or near it.
const LATENCY_MS: u64 = 250;
/// Records a bulk request holds.
const BATCH: usize = 10;

/// Record `i`'s e-mail address: a seeded person's when `i` is even.
fn email(i: usize) -> String {
    match i % 2 {
        0 => format!("person{}@example.com", i / 2 + 1),
        _ => format!("upsert-{i}@example.org"),
    }
}

/// How many of `records` records hold a seeded person's address.
fn existing(records: usize) -> usize {
    records.div_ceil(2)
}

/// The records, people to create or update by their e-mail address.
fn records(records: usize) -> Vec<PersonCreate> {
    (0..records)
        .map(|i| {
            PersonCreate::new(format!("Upsert {i}"))
                .emails([EmailInput::new(email(i))])
                .title(format!("Title {i}"))
        })
        .collect()
}

/// A sandbox at [`LATENCY_MS`] with Copper's limits, holding the people
/// the even records match.
async fn sandbox(records: usize) -> Sandbox {
    let config = SandboxConfig::new()
        .with_seed(42, existing(records))
        .with_latency(Duration::from_millis(LATENCY_MS))
        .with_applied_log(false);
    Sandbox::start(config).await.unwrap()
}

/// One run over the records, and what the sandbox counted and held after
/// it.
struct Measured {
    client: String,
    records: usize,
    /// How many records each outcome (`updated`, `created`, ...) got.
    outcomes: BTreeMap<String, usize>,
    seconds: f64,
    stats: Stats,
    /// The people the sandbox held afterwards.
    people: usize,
    /// E-mail addresses, compared without case, that more than one of
    /// them holds.
    shared_addresses: usize,
}

impl Measured {
    fn new(client: String, records: usize, ran: Ran, sandbox: &Sandbox) -> Self {
        let mut holders: BTreeMap<String, usize> = BTreeMap::new();
        let people = sandbox.people();
        for person in &people {
            let addresses: BTreeSet<String> = person
                .emails
                .iter()
                .flatten()
                .filter_map(|email| email.email.as_deref())
                .map(str::to_lowercase)
                .collect();
            for address in addresses {
                *holders.entry(address).or_default() += 1;
            }
        }
        Measured {
            client,
            records,
            outcomes: ran.outcomes,
            seconds: ran.seconds,
            stats: sandbox.stats(),
            people: people.len(),
            shared_addresses: holders.values().filter(|&&n| n > 1).count(),
        }
    }

    fn outcome(&self, outcome: &str) -> usize {
        self.outcomes.get(outcome).copied().unwrap_or(0)
    }

    fn searches(&self) -> usize {
        self.stats.searches
    }

    fn bulk(&self) -> usize {
        self.stats.received - self.stats.searches
    }

    fn bound(&self) -> f64 {
        goal::bound_seconds(self.bulk(), self.searches())
    }

    fn of_bound(&self) -> f64 {
        self.bound() / self.seconds
    }

    fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.3} |",
            self.client,
            self.records,
            self.outcome("updated"),
            self.outcome("created"),
            self.people,
            self.bulk(),
            self.searches(),
            self.stats.received,
            self.stats.with_status(429),
            self.seconds,
            self.bound(),
            self.of_bound()
        )
    }

    /// Adds to `missed` what is wrong with the outcomes: anything but half
    /// the records updated and half created, or a sandbox that does not
    /// hold one person per record with no address twice.
    fn check_outcomes(&self, missed: &mut Vec<String>) {
        let who = &self.client;
        let (updated, created) = (
            existing(self.records),
            self.records - existing(self.records),
        );
        if self.outcome("updated") != updated || self.outcome("created") != created {
            missed.push(format!(
                "{who}: outcomes {:?}, not {updated} updated and {created} created",
                self.outcomes
            ));
        }
        if self.people != self.records {
            missed.push(format!(
                "{who}: the sandbox holds {} people, not {}",
                self.people, self.records
            ));
        }
        if self.shared_addresses > 0 {
            missed.push(format!(
                "{who}: {} e-mail addresses belong to more than one person",
                self.shared_addresses
            ));
        }
    }
}

const HEADER: &str = "| client | records | updated | created | people after | bulk requests | searches | requests | 429 answers | seconds | bound (s) | bound / seconds |\n|---|---|---|---|---|---|---|---|---|---|---|---|";

/// What one client did with the records.
struct Ran {
    outcomes: BTreeMap<String, usize>,
    seconds: f64,
}

/// `People::bulk_upsert` with the facade's defaults.
async fn facade(url: &str, records: Vec<PersonCreate>) -> Ran {
    let config = Config::new(SandboxConfig::TOKEN, SandboxConfig::USER_EMAIL)
        .unwrap()
        .with_base_url(url)
        .unwrap();
    let copper = Copper::new(config).unwrap();
    let started = Instant::now();
    let mut outcomes = BTreeMap::new();
    let mut upserted = copper.people().bulk_upsert(records, Match::Email);
    while let Some(outcome) = upserted.next().await {
        *outcomes
            .entry(outcome.result.kind().to_owned())
            .or_default() += 1;
    }
    Ran {
        outcomes,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// `copper-bulk people upsert --match email` at `path`, from an input file
/// to an output file; `None` when it cannot run.
fn tool(path: &str, url: &str, records: &[PersonCreate]) -> Option<Ran> {
    let lines: Vec<String> = records
        .iter()
        .map(|record| serde_json::to_string(record).expect("records serialize"))
        .collect();
    let ran = common::run_tool(path, url, &["people", "upsert", "--match", "email"], &lines)?;
    let mut outcomes = BTreeMap::new();
    for line in ran.output.lines() {
        let line: serde_json::Value = serde_json::from_str(line).ok()?;
        let outcome = line["outcome"].as_str().unwrap_or("no outcome").to_owned();
        *outcomes.entry(outcome).or_default() += 1;
    }
    Some(Ran {
        outcomes,
        seconds: ran.seconds,
    })
}

/// The obvious approach: for each record a search by its e-mail address,
/// then the record joins the next bulk update (of the person found) or the
/// next bulk create; a batch goes when it holds ten. The raw client keeps
/// Copper's limits with the facade's throttle, so that the comparison is
/// of the requests made, not of their pacing. A failed request is not
/// retried: its records count as `not_applied`.
async fn one_search_per_record(url: &str, records: Vec<PersonCreate>) -> Ran {
    let http = http_client_builder(Duration::from_secs(10), Duration::from_secs(60))
        .build()
        .unwrap();
    let credentials = Credentials::new(SandboxConfig::TOKEN, SandboxConfig::USER_EMAIL).unwrap();
    let throttle = Arc::new(Throttle::new(Config::copper_rate_limits()));
    let raw = copper_bulk_raw::Client::new_with_client(
        url,
        http,
        Inner::new(credentials).with_throttle(throttle),
    );
    let started = Instant::now();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut count = |outcome: &str, n: usize| {
        *outcomes.entry(outcome.to_owned()).or_default() += n;
    };
    let mut updates: Vec<PersonUpdate> = Vec::new();
    let mut creates: Vec<PersonCreate> = Vec::new();
    let last = records.len().saturating_sub(1);
    for (i, record) in records.into_iter().enumerate() {
        let body = PeopleSearchRequest {
            emails: record.emails.iter().map(|e| e.email.clone()).collect(),
            ..PeopleSearchRequest::default()
        };
        match raw.people_search(None, &body).await {
            Ok(found) => match found.into_inner().first() {
                Some(person) => updates.push(as_update(&record, person.id)),
                None => creates.push(record),
            },
            Err(_) => count("not_applied", 1),
        }
        if updates.len() == BATCH || (i == last && !updates.is_empty()) {
            let body = PeopleBulkUpdateRequest {
                people: std::mem::take(&mut updates),
            };
            let sent = body.people.len();
            match raw.people_bulk_update(None, &body).await {
                Ok(items) => {
                    let applied = applied(&items.into_inner());
                    count("updated", applied);
                    count("rejected", sent - applied);
                }
                Err(_) => count("not_applied", sent),
            }
        }
        if creates.len() == BATCH || (i == last && !creates.is_empty()) {
            let body = PeopleBulkCreateRequest {
                people: std::mem::take(&mut creates),
            };
            let sent = body.people.len();
            match raw.people_bulk_create(None, &body).await {
                Ok(items) => {
                    let applied = applied(&items.into_inner());
                    count("created", applied);
                    count("rejected", sent - applied);
                }
                Err(_) => count("not_applied", sent),
            }
        }
    }
    Ran {
        outcomes,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// How many items of a bulk answer Copper applied.
fn applied<T, F>(items: &[BulkItem<T, F>]) -> usize {
    items
        .iter()
        .filter(|item| matches!(item, BulkItem::Ok(_)))
        .count()
}

/// The update of person `id` that sets the fields `record` sets.
fn as_update(record: &PersonCreate, id: i64) -> PersonUpdate {
    let mut fields = serde_json::to_value(record).expect("records serialize");
    fields["id"] = id.into();
    serde_json::from_value(fields).expect("a create's fields make an update")
}

/// Runs `client` against a fresh sandbox seeded for `records` records.
fn measure<F, Fut>(
    runtime: &tokio::runtime::Runtime,
    name: &str,
    records: usize,
    client: F,
) -> Option<Measured>
where
    F: FnOnce(String, Vec<PersonCreate>) -> Fut,
    Fut: std::future::Future<Output = Option<Ran>>,
{
    let measured = runtime.block_on(async {
        let sandbox = sandbox(records).await;
        let ran = client(sandbox.url().to_owned(), self::records(records)).await?;
        Some(Measured::new(name.to_owned(), records, ran, &sandbox))
    });
    if let Some(measured) = &measured {
        eprintln!("{}", measured.row());
    }
    measured
}

/// Upserts `records` leads with the facade: the first ten hold the
/// addresses of the sandbox's ten leads, the others new ones. Returns the
/// table's row.
fn leads(runtime: &tokio::runtime::Runtime, records: usize, missed: &mut Vec<String>) -> String {
    runtime.block_on(async {
        let config = SandboxConfig::new()
            .with_seed(42, 0)
            .with_latency(Duration::from_millis(LATENCY_MS))
            .with_applied_log(false);
        let sandbox = Sandbox::start(config).await.unwrap();
        let copper = Copper::new(
            Config::new(SandboxConfig::TOKEN, SandboxConfig::USER_EMAIL)
                .unwrap()
                .with_base_url(sandbox.url())
                .unwrap(),
        )
        .unwrap();
        let leads = (0..records).map(|i| {
            let email = match i {
                0..10 => format!("lead{}@example.com", i + 1),
                _ => format!("upsert-lead-{i}@example.org"),
            };
            LeadCreate::new(format!("Lead {i}")).email(EmailInput::new(email))
        });
        let started = Instant::now();
        let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
        let mut upserted = copper.leads().bulk_upsert(leads, Match::Email);
        while let Some(outcome) = upserted.next().await {
            *outcomes.entry(outcome.result.kind()).or_default() += 1;
        }
        let seconds = started.elapsed().as_secs_f64();
        let stats = sandbox.stats();
        let bulk = stats.received - stats.searches;
        let bound = goal::bound_seconds(bulk, stats.searches);
        let existing = records.min(10);
        let held = sandbox.records(copper_bulk_sandbox::Entity::Leads).len();
        if outcomes.get("updated") != Some(&existing)
            || outcomes.get("created") != Some(&(records - existing))
            || held != records.max(10)
        {
            missed.push(format!(
                "leads: outcomes {outcomes:?} and {held} leads held, not {existing} updated and {} created",
                records - existing
            ));
        }
        format!(
            "| copper-bulk facade, `Leads::bulk_upsert` | {records} | {} | {} | {bulk} | {} | {} | {} | {:.3} | {seconds:.1} | {bound:.1} | {:.3} |",
            outcomes.get("updated").unwrap_or(&0),
            outcomes.get("created").unwrap_or(&0),
            stats.searches,
            stats.received,
            stats.with_status(429),
            stats.received as f64 / records as f64,
            bound / seconds
        )
    })
}

fn main() {
    let records = records_from_env(10_000);
    let slice = std::env::var("COPPER_BENCH_SLICE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(600);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut missed = Vec::new();

    // The obvious approach and the facade's upsert on the slice.
    let naive_name = "one search per record, then bulk requests of 10";
    let facade_name = "copper-bulk facade, `People::bulk_upsert`";
    let naive = measure(&runtime, naive_name, slice, |url, records| async move {
        Some(one_search_per_record(&url, records).await)
    })
    .expect("the obvious approach runs in this process");
    let batched = measure(&runtime, facade_name, slice, |url, records| async move {
        Some(facade(&url, records).await)
    })
    .expect("the facade runs in this process");

    let lead_records = std::env::var("COPPER_BENCH_LEADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let leads_row = leads(&runtime, lead_records, &mut missed);
    eprintln!("{leads_row}");

    // The tool as a user runs it, then the facade, on every record.
    let mut full = Vec::new();
    match std::env::var("COPPER_BENCH_SANDBOX") {
        Ok(path) => {
            let name = "copper-bulk tool, `people upsert --match email`";
            let measured = measure(&runtime, name, records, |url, records| async move {
                tokio::task::spawn_blocking(move || tool(&path, &url, &records))
                    .await
                    .unwrap()
            });
            match measured {
                Some(measured) => full.push(measured),
                None => missed.push("the tool could not run".to_owned()),
            }
        }
        Err(_) => eprintln!("the tool is not run: run `cargo xtask bench upsert`"),
    }
    full.extend(measure(
        &runtime,
        facade_name,
        records,
        |url, records| async move { Some(facade(&url, records).await) },
    ));

    for measured in [&naive, &batched].into_iter().chain(&full) {
        measured.check_outcomes(&mut missed);
    }
    for measured in &full {
        missed.extend(goal::missed(
            &measured.client,
            measured.of_bound(),
            measured.stats.with_status(429),
        ));
    }

    println!(
        "\n{records} records, {} of them held by people already in the sandbox; {LATENCY_MS} ms latency; \
         bound: the time Copper's limits allow for the requests made, at 3 a second \
         (goal: bound / seconds at least {GOAL}, no 429):\n\n{HEADER}",
        existing(records)
    );
    for measured in &full {
        println!("{}", measured.row());
    }
    println!(
        "\nThe obvious approach on a slice of {slice} records ({} held already), beside the \
         facade on the same slice; the last column is projected from the slice, not measured:\n\n\
         | client | records | requests | searches | 429 answers | requests per record | seconds | seconds per record | projected seconds for {records} records |\n\
         |---|---|---|---|---|---|---|---|---|",
        existing(slice)
    );
    for measured in [&naive, &batched] {
        let per_record = measured.seconds / slice as f64;
        println!(
            "| {} | {slice} | {} | {} | {} | {:.3} | {:.1} | {:.3} | {:.0} (projected) |",
            measured.client,
            measured.stats.received,
            measured.searches(),
            measured.stats.with_status(429),
            measured.stats.received as f64 / slice as f64,
            measured.seconds,
            per_record,
            per_record * records as f64
        );
    }

    println!(
        "\nLeads, whose search takes one address: one search per distinct address, \
         measured against the same bound (no goal):\n\n\
         | client | records | updated | created | bulk requests | searches | requests | 429 answers | requests per record | seconds | bound (s) | bound / seconds |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n{leads_row}"
    );

    if !missed.is_empty() {
        eprintln!("\ngoals missed:");
        for goal in &missed {
            eprintln!("- {goal}");
        }
        std::process::exit(1);
    }
}
