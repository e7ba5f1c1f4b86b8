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
    Config, Copper, IntoRecord, Outcome, PersonCreate, PersonUpdate, RecordResult, RetryPolicy,
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
fn client(sandbox: &Sandbox) -> Copper {
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
        );
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
}

async fn run<O: Operation>(
    case: &Case,
    records: Vec<O::Record>,
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
    let copper = client(&sandbox);
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
    let (outcomes, sandbox) = run::<ops::PeopleUpdate>(case, records).await;
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
    let records: Vec<PersonCreate> = (0..RECORDS).map(|i| PersonCreate::new(name(i))).collect();
    let (outcomes, sandbox) = run::<ops::PeopleCreate>(case, records).await;
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
