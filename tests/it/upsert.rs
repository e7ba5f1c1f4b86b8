//! Updates and upserts of people matched by e-mail, against the sandbox.

use std::collections::BTreeMap;
use std::time::Duration;

use copper_bulk::{
    Action, Config, Copper, EmailInput, Error, InvalidRecord, Match, MatchedOutcome, MatchedResult,
    PersonCreate, Reconcile, RecordResult,
};
use copper_bulk_sandbox::{Fault, Sandbox, SandboxConfig};
use futures_util::StreamExt;

/// A sandbox seeded with `people` people (`person<n>@example.com`).
async fn sandbox(people: usize) -> Sandbox {
    Sandbox::start(
        SandboxConfig::new()
            .with_rate_limit(None)
            .with_seed(7, people),
    )
    .await
    .unwrap()
}

fn copper(sandbox: &Sandbox) -> Copper {
    let config = Config::new(SandboxConfig::TOKEN, SandboxConfig::USER_EMAIL)
        .unwrap()
        .with_base_url(sandbox.url())
        .unwrap()
        .with_rate_limits([]);
    Copper::new(config).unwrap()
}

/// The outcomes of an upsert (`update_only`: an update) of `records`.
async fn run(
    copper: &Copper,
    records: Vec<impl copper_bulk::IntoRecord<PersonCreate> + Send + 'static>,
    update_only: bool,
) -> Vec<MatchedOutcome<copper_bulk::Person>> {
    let people = copper.people();
    let outcomes = if update_only {
        people.bulk_update_matched(records, Match::Email)
    } else {
        people.bulk_upsert(records, Match::Email)
    };
    outcomes.collect().await
}

fn person(name: &str, emails: &[&str]) -> PersonCreate {
    PersonCreate::new(name).emails(emails.iter().map(|email| EmailInput::new(*email)))
}

/// Each outcome's index, kind and the id it names (the person updated or
/// created, or the ids an ambiguous record matched).
fn summary(
    outcomes: &[MatchedOutcome<copper_bulk::Person>],
) -> Vec<(usize, &'static str, Vec<i64>)> {
    outcomes
        .iter()
        .map(|outcome| {
            let ids = match &outcome.result {
                MatchedResult::Ambiguous(ids) => ids.clone(),
                result => result.applied().map(|p| vec![p.id]).unwrap_or_default(),
            };
            (outcome.index, outcome.result.kind(), ids)
        })
        .collect()
}

fn reason(outcome: &MatchedOutcome<copper_bulk::Person>) -> String {
    match &outcome.result {
        MatchedResult::Invalid(invalid) => invalid.reason().to_owned(),
        other => panic!("not invalid: {other:?}"),
    }
}

#[tokio::test]
async fn ids_by_email_compares_without_case_and_searches_two_hundred_at_a_time() {
    let sandbox = sandbox(250).await;
    let copper = copper(&sandbox);
    let mut emails: Vec<String> = (1..=250)
        .map(|n| format!("Person{n}@Example.COM"))
        .collect();
    emails.push(" nobody@example.com ".into());
    let ids = copper.people().ids_by_email(&emails).await.unwrap();
    assert_eq!(ids.len(), 251);
    assert_eq!(ids["person7@example.com"], vec![7]);
    assert_eq!(ids["person250@example.com"], vec![250]);
    assert_eq!(ids["nobody@example.com"], Vec::<i64>::new());
    // 251 addresses: two searches of up to two hundred, each one page
    // (one person an address), so 10,000 people take some 50 searches.
    assert_eq!(sandbox.stats().searches, 2);
}

#[tokio::test]
async fn upsert_updates_the_people_found_and_creates_the_others() {
    let sandbox = sandbox(100).await;
    let copper = copper(&sandbox);
    let records = vec![
        person("Updated One", &["PERSON1@example.com"]),
        person("New One", &["new1@example.com"]),
        person("Updated Two", &[" person2@EXAMPLE.com"]),
        person("New Two", &["New2@Example.com"]),
    ];
    let outcomes = run(&copper, records, false).await;
    let summary = summary(&outcomes);
    assert_eq!(summary[0], (0, "updated", vec![1]));
    assert_eq!(summary[1].1, "created");
    assert_eq!(summary[2], (2, "updated", vec![2]));
    assert_eq!(summary[3].1, "created");
    assert!(matches!(
        outcomes[0].result,
        MatchedResult::Sent {
            action: Action::Update(1),
            ..
        }
    ));
    assert_eq!(sandbox.person(1).unwrap().name, "Updated One");
    assert_eq!(sandbox.person(2).unwrap().name, "Updated Two");
    assert_eq!(sandbox.people().len(), 102);
}

#[tokio::test]
async fn upsert_of_several_windows_keeps_input_order() {
    let sandbox = sandbox(300).await;
    let copper = copper(&sandbox);
    // 500 records, existing and new alternating: three windows.
    let records: Vec<PersonCreate> = (1..=500)
        .map(|n| match n % 2 {
            0 => person(
                &format!("Known {n}"),
                &[&format!("person{}@example.com", n / 2)],
            ),
            _ => person(&format!("Fresh {n}"), &[&format!("fresh{n}@example.com")]),
        })
        .collect();
    let outcomes = run(&copper, records, false).await;
    let summary = summary(&outcomes);
    assert_eq!(summary.len(), 500);
    for (position, (index, kind, ids)) in summary.iter().enumerate() {
        let n = position as i64 + 1;
        assert_eq!(*index, position);
        if n % 2 == 0 {
            assert_eq!(
                (*kind, ids.clone()),
                ("updated", vec![n / 2]),
                "record {index}"
            );
        } else {
            assert_eq!(*kind, "created", "record {index}");
        }
    }
    assert_eq!(sandbox.people().len(), 550);
}

#[tokio::test]
async fn update_only_reports_people_not_found_and_creates_nobody() {
    let sandbox = sandbox(100).await;
    let copper = copper(&sandbox);
    let records = vec![
        person("Updated Three", &["Person3@Example.com"]),
        person("Nobody", &["nobody@example.com"]),
    ];
    let outcomes = run(&copper, records, true).await;
    assert_eq!(
        summary(&outcomes),
        [(0, "updated", vec![3]), (1, "not_found", vec![])]
    );
    assert_eq!(sandbox.people().len(), 100);
    assert_eq!(sandbox.person(3).unwrap().name, "Updated Three");
}

#[tokio::test]
async fn a_record_whose_addresses_several_people_hold_is_ambiguous_and_not_sent() {
    let sandbox = sandbox(100).await;
    let copper = copper(&sandbox);
    let records = vec![person(
        "Both",
        &["person5@example.com", "PERSON4@example.com"],
    )];
    let outcomes = run(&copper, records, false).await;
    assert_eq!(summary(&outcomes), [(0, "ambiguous", vec![4, 5])]);
    assert_eq!(sandbox.stats().received, 1, "only the search was sent");
    assert_ne!(sandbox.person(4).unwrap().name, "Both");
}

#[tokio::test]
async fn records_without_an_address_or_unreadable_are_invalid() {
    let sandbox = sandbox(100).await;
    let copper = copper(&sandbox);
    let records: Vec<Result<PersonCreate, InvalidRecord>> = vec![
        Ok(PersonCreate::new("No address")),
        Ok(person("Blank address", &["  "])),
        Err(InvalidRecord::new("line 3: not JSON")),
        Ok(person("Fine", &["person6@example.com"])),
    ];
    let outcomes = run(&copper, records, false).await;
    let kinds: Vec<_> = outcomes.iter().map(|o| o.result.kind()).collect();
    assert_eq!(kinds, ["invalid", "invalid", "invalid", "updated"]);
    assert!(
        reason(&outcomes[0]).contains("no e-mail address"),
        "{}",
        reason(&outcomes[0])
    );
    assert_eq!(reason(&outcomes[2]), "line 3: not JSON");
}

#[tokio::test]
async fn a_later_record_with_an_earlier_records_address_is_invalid() {
    let sandbox = sandbox(100).await;
    let copper = copper(&sandbox);
    let records = vec![
        person("First", &["person8@example.com"]),
        person("Second", &["Person8@Example.com"]),
        person("New", &["twice@example.com"]),
        person("New Again", &["other@example.com", "TWICE@example.com"]),
    ];
    let outcomes = run(&copper, records, false).await;
    let kinds: Vec<_> = outcomes.iter().map(|o| o.result.kind()).collect();
    assert_eq!(kinds, ["updated", "invalid", "created", "invalid"]);
    assert!(
        reason(&outcomes[1]).contains("record 0"),
        "{}",
        reason(&outcomes[1])
    );
    assert!(
        reason(&outcomes[3]).contains("record 2"),
        "{}",
        reason(&outcomes[3])
    );
    assert_eq!(sandbox.people().len(), 101, "one person created, not two");
    assert_eq!(sandbox.person(8).unwrap().name, "First");
}

#[tokio::test]
async fn a_rejected_update_says_it_was_sent_as_an_update() {
    let sandbox = sandbox(100).await;
    let copper = copper(&sandbox);
    // Copper refuses the blank name.
    let records = vec![person(" ", &["person9@example.com"])];
    let outcomes = run(&copper, records, false).await;
    match &outcomes[0].result {
        MatchedResult::Sent {
            action: Action::Update(9),
            result: RecordResult::Rejected(rejection),
        } => assert_eq!(
            rejection.errors,
            BTreeMap::from([("name".to_owned(), vec!["invalid".to_owned()])])
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_failed_lookup_leaves_its_window_not_applied() {
    let sandbox = sandbox(100).await;
    let copper = copper(&sandbox);
    sandbox.inject_search(Fault::Status(400));
    let records = vec![
        person("Updated Ten", &["person10@example.com"]),
        person("New", &["new@example.com"]),
    ];
    let outcomes = run(&copper, records, false).await;
    let kinds: Vec<_> = outcomes.iter().map(|o| o.result.kind()).collect();
    assert_eq!(kinds, ["not_applied", "not_applied"]);
    assert_eq!(sandbox.people().len(), 100);
    assert_ne!(sandbox.person(10).unwrap().name, "Updated Ten");
}

#[tokio::test]
async fn a_stopped_run_looks_nothing_up_and_sends_nothing() {
    let sandbox = sandbox(100).await;
    let copper = copper(&sandbox);
    let records = vec![
        person("Updated Eleven", &["person11@example.com"]),
        person("New", &["new@example.com"]),
    ];
    let outcomes = copper.people().bulk_upsert(records, Match::Email);
    outcomes.stopper().stop();
    let outcomes: Vec<_> = outcomes.collect().await;
    for outcome in &outcomes {
        match &outcome.result {
            MatchedResult::NotApplied(failure) => {
                assert!(matches!(failure.error(), Error::Stopped), "{failure}")
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(outcomes.len(), 2);
    assert_eq!(sandbox.stats().received, 0);
}

#[tokio::test]
async fn creates_cut_off_after_copper_applied_them_are_read_back_not_sent_twice() {
    let sandbox = sandbox(100).await;
    let config = Config::new(SandboxConfig::TOKEN, SandboxConfig::USER_EMAIL)
        .unwrap()
        .with_base_url(sandbox.url())
        .unwrap()
        .with_rate_limits([])
        .with_timeouts(Duration::from_secs(1), Duration::from_secs(1))
        .with_reconcile(Reconcile::standard().with_grace(Duration::from_millis(50)));
    let copper = Copper::new(config).unwrap();
    sandbox.inject(Fault::DropAfterApplying);
    let records = vec![
        person("Fresh One", &["fresh1@example.com"]),
        person("Fresh Two", &["fresh2@example.com"]),
    ];
    let outcomes = run(&copper, records, false).await;
    let kinds: Vec<_> = outcomes.iter().map(|o| o.result.kind()).collect();
    assert_eq!(kinds, ["created", "created"]);
    assert_eq!(sandbox.people().len(), 102, "nobody created twice");
}

/// A journal that keeps what it hears, in words.
#[derive(Default)]
struct Recorder {
    calls: std::sync::Mutex<Vec<String>>,
}

impl copper_bulk::Journal<copper_bulk::Person> for Recorder {
    fn sending(&self, indices: &[usize]) {
        self.calls
            .lock()
            .unwrap()
            .push(format!("sending {indices:?}"));
    }

    fn settled(&self, outcome: &copper_bulk::Outcome<copper_bulk::Person>) {
        self.calls
            .lock()
            .unwrap()
            .push(format!("settled {}", outcome.index));
    }

    fn settled_as(&self, outcome: &copper_bulk::Outcome<copper_bulk::Person>, action: Action) {
        self.calls
            .lock()
            .unwrap()
            .push(format!("settled {} as {action:?}", outcome.index));
    }
}

#[tokio::test]
async fn an_upsert_of_entries_tells_its_journal_what_it_sent_for_each_record() {
    let sandbox = sandbox(3).await;
    let copper = copper(&sandbox);
    let journal = std::sync::Arc::new(Recorder::default());
    // Record 1 was settled by an earlier run; the others are new to this one.
    let entries = [
        (0, person("Ada", &["person2@example.com"])),
        (2, person("Grace", &["grace@example.com"])),
        (3, person("Third", &["PERSON3@example.com"])),
    ]
    .map(|(index, record)| copper_bulk::Entry::new(index, record));
    let outcomes: Vec<_> = copper
        .people()
        .bulk_upsert_entries(
            futures_util::stream::iter(entries),
            Match::Email,
            Some(journal.clone()),
        )
        .collect()
        .await;
    assert_eq!(
        summary(&outcomes),
        [
            (0, "updated", vec![2]),
            (2, "created", vec![4]),
            (3, "updated", vec![3]),
        ]
    );
    let mut calls = journal.calls.lock().unwrap().clone();
    calls.sort();
    assert_eq!(
        calls,
        [
            "sending [0, 3]",
            "sending [2]",
            "settled 0 as Update(2)",
            "settled 2 as Create",
            "settled 3 as Update(3)",
        ]
    );
}
