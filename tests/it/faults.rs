//! The fault matrix: every fault the sandbox can commit, against bulk
//! updates and bulk creates, and for each run the promises that matter:
//! every input record has exactly one outcome; no record is reported
//! applied that the sandbox did not apply; no record reported not applied
//! was applied; no created record was applied twice.
//!
//! The table of outcomes is in RELIABILITY.md, which this test keeps
//! honest: it fails when the table there differs from what it measured.

use std::collections::HashMap;
use std::time::Duration;

use copper_bulk::ops::{self, Kind, Operation};
use copper_bulk::{
    CompanyCreate, CompanyUpdate, Config, Copper, EmailInput, IntoRecord, LeadCreate, LeadUpdate,
    Outcome, PersonCreate, PersonUpdate, Reconcile, RecordResult, RetryPolicy,
};
use copper_bulk_sandbox::{Applied, Entity, Fault, Sandbox, SandboxConfig};

const RECORDS: usize = 30;

struct Case {
    name: &'static str,
    fault: Fault,
    times: usize,
}

fn cases() -> Vec<Case> {
    let case = |name, fault, times| Case { name, fault, times };
    vec![
        case("no fault", Fault::Delay(Duration::ZERO), 0),
        case("429 storm (6 in a row)", Fault::Status(429), 6),
        case("5xx burst (3 in a row)", Fault::Status(503), 3),
        case("500 after applying (2)", Fault::StatusAfterApplying(500), 2),
        case(
            "connection dropped before applying (2)",
            Fault::DropBeforeApplying,
            2,
        ),
        case(
            "connection dropped after applying (2)",
            Fault::DropAfterApplying,
            2,
        ),
        case("truncated body (2)", Fault::TruncatedBody, 2),
        case("short array (2)", Fault::ShortArray, 2),
        case("malformed item (2)", Fault::MalformedItem(1), 2),
        case("id mismatch: items swapped (2)", Fault::SwappedItems, 2),
        case(
            "slower than the timeout (2)",
            Fault::Delay(Duration::from_secs(4)),
            2,
        ),
    ]
}

/// A client that retries quickly and gives up on an answer after 1.5 s (the
/// slow fault takes 4 s), sending one request at a time so that the faults
/// strike the same requests on every run.
fn client(sandbox: &Sandbox, reconcile: Reconcile) -> Copper {
    let config = Config::new(SandboxConfig::TOKEN, SandboxConfig::USER_EMAIL)
        .unwrap()
        .with_base_url(sandbox.url())
        .unwrap()
        .with_rate_limits([])
        .with_concurrency(1)
        .unwrap()
        .with_timeouts(Duration::from_secs(2), Duration::from_millis(1_500))
        .with_retry(
            RetryPolicy::standard()
                .with_max_attempts(4)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .with_reconcile(reconcile);
    Copper::new(config).unwrap()
}

/// Outcome counts of one run, as a row of the table.
#[derive(Debug, Default, PartialEq, Eq)]
struct Row {
    applied: usize,
    rejected: usize,
    not_applied: usize,
    unknown: usize,
    requests: usize,
    /// Of the requests, searches.
    searches: usize,
}

async fn run<O: Operation>(
    case: &Case,
    records: Vec<O::Record>,
    reconcile: Reconcile,
) -> (Vec<Outcome<O::Output>>, Sandbox)
where
    O::Record: IntoRecord<O::Record>,
{
    let sandbox = Sandbox::start(SandboxConfig::new().with_rate_limit(None))
        .await
        .unwrap();
    if case.times > 0 {
        sandbox.inject_times(case.fault.clone(), case.times);
    }
    let copper = client(&sandbox, reconcile);
    let outcomes: Vec<_> =
        futures_util::StreamExt::collect(copper.bulk::<O, _>(records, false)).await;
    (outcomes, sandbox)
}

fn row<T>(outcomes: &[Outcome<T>], sandbox: &Sandbox) -> Row {
    let mut row = Row {
        requests: sandbox.stats().received,
        ..Row::default()
    };
    for outcome in outcomes {
        match outcome.result {
            RecordResult::Applied(_) => row.applied += 1,
            RecordResult::Rejected(_) => row.rejected += 1,
            RecordResult::NotApplied(_) => row.not_applied += 1,
            RecordResult::Unknown(_) => row.unknown += 1,
            _ => panic!("an invalid record in the fault matrix: {:?}", outcome.index),
        }
    }
    row
}

fn every_record_has_one_outcome<T>(case: &Case, outcomes: &[Outcome<T>]) {
    let indices: Vec<usize> = outcomes.iter().map(|o| o.index).collect();
    assert_eq!(indices, (0..RECORDS).collect::<Vec<_>>(), "{}", case.name);
}

async fn updates(case: &Case) -> Row {
    // Record i updates person i + 1, with a title only this run sends.
    let marker = |i: usize| format!("{} #{i}", case.name);
    let records: Vec<PersonUpdate> = (0..RECORDS)
        .map(|i| PersonUpdate::new(i as i64 + 1).title(marker(i)))
        .collect();
    let (outcomes, sandbox) = run::<ops::PeopleUpdate>(case, records, Reconcile::off()).await;
    every_record_has_one_outcome(case, &outcomes);
    let updated: Vec<i64> = sandbox
        .applied()
        .into_iter()
        .filter_map(|applied| match applied {
            Applied::Updated(Entity::People, id) => Some(id),
            _ => None,
        })
        .collect();
    for outcome in &outcomes {
        let id = outcome.index as i64 + 1;
        let stored = sandbox.person(id).unwrap().title;
        match &outcome.result {
            RecordResult::Applied(person) => {
                assert_eq!(person.id, id, "{}", case.name);
                assert!(
                    updated.contains(&id),
                    "{}: reported applied, not applied",
                    case.name
                );
                assert_eq!(stored, Some(marker(outcome.index)), "{}", case.name);
            }
            RecordResult::NotApplied(_) | RecordResult::Rejected(_) => {
                assert!(
                    !updated.contains(&id),
                    "{}: reported not applied, applied",
                    case.name
                );
            }
            _ => {}
        }
    }
    row(&outcomes, &sandbox)
}

async fn creates(case: &Case) -> Row {
    // Record i creates a person with a name only this run sends.
    let name = |i: usize| format!("{} #{i}", case.name);
    let records: Vec<PersonCreate> = (0..RECORDS)
        .map(move |i| PersonCreate::new(name(i)))
        .collect();
    let (outcomes, sandbox) = run::<ops::PeopleCreate>(case, records, Reconcile::off()).await;
    every_record_has_one_outcome(case, &outcomes);
    let mut created: HashMap<String, Vec<i64>> = HashMap::new();
    for person in sandbox.people() {
        created
            .entry(person.name.clone())
            .or_default()
            .push(person.id);
    }
    let created_ids: Vec<i64> = sandbox
        .applied()
        .into_iter()
        .filter_map(|applied| match applied {
            Applied::Created(Entity::People, id) => Some(id),
            _ => None,
        })
        .collect();
    for outcome in &outcomes {
        let copies = created
            .get(&name(outcome.index))
            .cloned()
            .unwrap_or_default();
        assert!(
            copies.len() <= 1,
            "{}: record {} created {} times",
            case.name,
            outcome.index,
            copies.len()
        );
        match &outcome.result {
            RecordResult::Applied(person) => {
                assert_eq!(
                    copies,
                    [person.id],
                    "{}: reported applied, not applied",
                    case.name
                );
                assert!(created_ids.contains(&person.id), "{}", case.name);
            }
            RecordResult::NotApplied(_) | RecordResult::Rejected(_) => {
                assert!(
                    copies.is_empty(),
                    "{}: reported not applied, applied",
                    case.name
                );
            }
            _ => {}
        }
    }
    row(&outcomes, &sandbox)
}

/// Without reading back: what the answers alone allow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_matrix_loses_nothing_and_duplicates_nothing() {
    let mut table = vec![
        "| fault | operation | applied | rejected | not applied | unknown | requests |".to_owned(),
        "|---|---|---|---|---|---|---|".to_owned(),
    ];
    for case in cases() {
        for kind in [Kind::Update, Kind::Create] {
            let row = match kind {
                Kind::Update => updates(&case).await,
                Kind::Create => creates(&case).await,
            };
            let operation = match kind {
                Kind::Update => "bulk_update",
                Kind::Create => "bulk_create",
            };
            table.push(format!(
                "| {} | {operation} | {} | {} | {} | {} | {} |",
                case.name, row.applied, row.rejected, row.not_applied, row.unknown, row.requests
            ));
        }
    }
    let measured = table.join("\n");
    println!("{measured}");
    let documented =
        std::fs::read_to_string(crate::support::root().join("RELIABILITY.md")).unwrap();
    assert!(
        documented.contains(&measured),
        "RELIABILITY.md's fault matrix differs from what was measured; the measured table:\n{measured}"
    );
}

/// One entity's runs with reading back on: records to update and create
/// (record `i` marked with `marker(i)`), and how to read the marker back
/// from a record the sandbox stores.
struct Subject {
    name: &'static str,
    entity: Entity,
    /// The field that holds the marker.
    field: &'static str,
}

const SUBJECTS: [Subject; 3] = [
    Subject {
        name: "people",
        entity: Entity::People,
        field: "title",
    },
    Subject {
        name: "leads",
        entity: Entity::Leads,
        field: "title",
    },
    Subject {
        name: "companies",
        entity: Entity::Companies,
        field: "details",
    },
];

/// Runs `O` over `records` with reading back on, and checks the promises
/// against the sandbox's store: each record marked `marker(i)` is stored
/// once if reported applied (with the id reported), not at all if
/// reported not applied or rejected, and no outcome is unknown.
async fn read_back<O: Operation>(
    case: &Case,
    subject: &Subject,
    sandbox: Sandbox,
    records: Vec<O::Record>,
    marker: impl Fn(usize) -> String,
) -> Row
where
    O::Record: IntoRecord<O::Record>,
{
    if case.times > 0 {
        sandbox.inject_times(case.fault.clone(), case.times);
    }
    let before = sandbox.stats().received;
    // The sandbox, like a server, finishes a request whose client hung up:
    // the slow fault's request lands 4 s after it was sent, 2.5 s after
    // the client gave up on it; the lookup waits a request timeout and the
    // grace delay after that, 4.5 s after the send. The store is read once
    // the slowest request has landed, so that a create sent again too
    // early shows as a duplicate.
    let reconcile = Reconcile::standard().with_grace(Duration::from_millis(1_500));
    let copper = client(&sandbox, reconcile);
    let outcomes: Vec<_> =
        futures_util::StreamExt::collect(copper.bulk::<O, _>(records, false)).await;
    every_record_has_one_outcome(case, &outcomes);
    let what = format!("{} {} {}", case.name, subject.name, O::OPERATION);
    if let Fault::Delay(delay) = case.fault {
        tokio::time::sleep(delay).await;
    }
    let stored = sandbox.records(subject.entity);
    for outcome in &outcomes {
        let marked: Vec<i64> = stored
            .iter()
            .filter(|record| record[subject.field].as_str() == Some(&marker(outcome.index)))
            .filter_map(|record| record["id"].as_i64())
            .collect();
        match &outcome.result {
            RecordResult::Applied(record) => {
                assert_eq!(
                    marked,
                    [O::returned_id(record)],
                    "{what}: {}",
                    outcome.index
                )
            }
            RecordResult::NotApplied(_) | RecordResult::Rejected(_) => {
                assert!(marked.is_empty(), "{what}: {} was applied", outcome.index)
            }
            RecordResult::Unknown(failure) => {
                panic!("{what}: {} ended unknown: {failure}", outcome.index)
            }
            _ => panic!("{what}: {} ended {}", outcome.index, outcome.result.kind()),
        }
    }
    let mut row = row(&outcomes, &sandbox);
    row.requests -= before;
    row.searches = sandbox.stats().searches;
    row
}

/// A sandbox holding `RECORDS` records of `entity` made for the test
/// (ids returned), for updates to change.
async fn with_records(entity: Entity) -> (Sandbox, Vec<i64>) {
    let sandbox = Sandbox::start(SandboxConfig::new().with_rate_limit(None))
        .await
        .unwrap();
    let copper = client(&sandbox, Reconcile::off());
    let name = |i: usize| format!("to update #{i}");
    let report: Vec<i64> = match entity {
        Entity::People => copper
            .people()
            .bulk_create((0..RECORDS).map(move |i| PersonCreate::new(name(i))))
            .report()
            .await
            .check(),
        Entity::Leads => copper
            .leads()
            .bulk_create((0..RECORDS).map(move |i| LeadCreate::new(name(i))))
            .report()
            .await
            .check(),
        _ => copper
            .companies()
            .bulk_create((0..RECORDS).map(move |i| CompanyCreate::new(name(i))))
            .report()
            .await
            .check(),
    };
    assert_eq!(report.len(), RECORDS);
    (sandbox, report)
}

trait Ids {
    fn check(self) -> Vec<i64>;
}

impl<T: serde::Serialize> Ids for copper_bulk::Report<T> {
    fn check(self) -> Vec<i64> {
        assert!(
            self.all_applied(),
            "{:?} {:?} {:?}",
            self.counts(),
            self.unknown.first().map(|u| u.1.to_string()),
            self.rejected.first()
        );
        ids(self.applied)
    }
}

fn ids<T: serde::Serialize>(applied: Vec<(usize, T)>) -> Vec<i64> {
    applied
        .into_iter()
        .map(|(_, record)| {
            serde_json::to_value(record).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

async fn read_back_row(case: &Case, subject: &Subject, kind: Kind) -> Row {
    let marker = |i: usize| format!("{} {} #{i}", case.name, subject.name);
    // Record i is the only one that carries its key.
    let email = |i: usize| EmailInput::new(format!("{}-{i}@example.org", subject.name));
    let domain = |i: usize| format!("company-{i}.example.org");
    if kind == Kind::Update {
        let (sandbox, ids) = with_records(subject.entity).await;
        return match subject.entity {
            Entity::People => {
                let records = (0..RECORDS)
                    .map(|i| PersonUpdate::new(ids[i]).title(marker(i)))
                    .collect();
                read_back::<ops::PeopleUpdate>(case, subject, sandbox, records, marker).await
            }
            Entity::Leads => {
                let records = (0..RECORDS)
                    .map(|i| LeadUpdate::new(ids[i]).title(marker(i)))
                    .collect();
                read_back::<ops::LeadsUpdate>(case, subject, sandbox, records, marker).await
            }
            _ => {
                let records = (0..RECORDS)
                    .map(|i| CompanyUpdate::new(ids[i]).details(marker(i)))
                    .collect();
                read_back::<ops::CompaniesUpdate>(case, subject, sandbox, records, marker).await
            }
        };
    }
    let sandbox = Sandbox::start(SandboxConfig::new().with_rate_limit(None))
        .await
        .unwrap();
    match subject.entity {
        Entity::People => {
            let records = (0..RECORDS)
                .map(|i| {
                    PersonCreate::new(format!("Person {i}"))
                        .title(marker(i))
                        .emails([email(i)])
                })
                .collect();
            read_back::<ops::PeopleCreate>(case, subject, sandbox, records, marker).await
        }
        Entity::Leads => {
            let records = (0..RECORDS)
                .map(|i| {
                    LeadCreate::new(format!("Lead {i}"))
                        .title(marker(i))
                        .email(email(i))
                })
                .collect();
            read_back::<ops::LeadsCreate>(case, subject, sandbox, records, marker).await
        }
        _ => {
            let records = (0..RECORDS)
                .map(|i| {
                    CompanyCreate::new(format!("Company {i}"))
                        .details(marker(i))
                        .email_domain(domain(i))
                })
                .collect();
            read_back::<ops::CompaniesCreate>(case, subject, sandbox, records, marker).await
        }
    }
}

/// With reading back on (the default): people, leads and companies end
/// with no unknown outcome under any fault, and nothing created twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_reading_back_every_fault_ends_in_a_definite_outcome() {
    let cases = cases();
    let mut runs = Vec::new();
    for case in &cases {
        for subject in &SUBJECTS {
            for kind in [Kind::Update, Kind::Create] {
                runs.push(async move {
                    (
                        case.name,
                        subject.name,
                        kind,
                        read_back_row(case, subject, kind).await,
                    )
                });
            }
        }
    }
    // The runs mostly wait out timeouts and grace delays, and each has its
    // own sandbox, so several run at once; not all, or the waits of the
    // client's one task would exceed its timeouts.
    let rows: Vec<_> = futures_util::StreamExt::collect(futures_util::StreamExt::buffered(
        futures_util::stream::iter(runs),
        11,
    ))
    .await;
    let mut table = vec![
        "| fault | entity | operation | applied | rejected | not applied | unknown | bulk requests | searches |"
            .to_owned(),
        "|---|---|---|---|---|---|---|---|---|".to_owned(),
    ];
    for (case, subject, kind, row) in rows {
        let operation = match kind {
            Kind::Update => "bulk_update",
            Kind::Create => "bulk_create",
        };
        table.push(format!(
            "| {case} | {subject} | {operation} | {} | {} | {} | {} | {} | {} |",
            row.applied,
            row.rejected,
            row.not_applied,
            row.unknown,
            row.requests - row.searches,
            row.searches
        ));
    }
    let measured = table.join("\n");
    println!("{measured}");
    let documented =
        std::fs::read_to_string(crate::support::root().join("RELIABILITY.md")).unwrap();
    assert!(
        documented.contains(&measured),
        "RELIABILITY.md's fault matrix with reading back differs from what was measured; the measured table:\n{measured}"
    );
}
