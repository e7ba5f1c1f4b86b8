//! Creates answered out of order, at the fake server: an item is reported
//! applied only when it can be its record's and no other's.

use copper_bulk::{
    ActivityCreate, ActivityParentInput, ActivityTypeInput, CompanyCreate, Config, Copper, Error,
    RecordResult, WebsiteInput,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

use copper_bulk_tests::fake::{FakeCopper, Reply};

/// A fake that creates every record it is sent, as Copper does (the record
/// as sent, with an id from 1 in the order sent), and answers with the
/// items in the order `arrange` puts them.
async fn fake_copper(arrange: fn(&mut Vec<Value>)) -> FakeCopper {
    FakeCopper::start(move |_, received| {
        let mut items: Vec<Value> = received
            .records()
            .iter()
            .zip(1..)
            .map(|(record, id)| {
                let mut item = record.clone();
                item["id"] = json!(id);
                item
            })
            .collect();
        arrange(&mut items);
        Reply::Status(
            200,
            vec![("content-type", "application/json".to_owned())],
            Value::Array(items).to_string(),
        )
    })
    .await
}

fn copper(fake: &FakeCopper) -> Copper {
    let config = Config::new("tok-matching", "me@example.com")
        .unwrap()
        .with_base_url(fake.url())
        .unwrap();
    Copper::new(config).unwrap()
}

/// For each record, the id it was reported created with, or why its
/// outcome is unknown.
fn described<T>(outcomes: &[copper_bulk::Outcome<T>], id: impl Fn(&T) -> i64) -> Vec<String> {
    outcomes
        .iter()
        .map(|outcome| match &outcome.result {
            RecordResult::Applied(record) => format!("applied {}", id(record)),
            RecordResult::Unknown(failure) => match failure.error() {
                Error::RecordMismatch { .. } => "unknown: mismatch".to_owned(),
                Error::Indistinguishable { other } => format!("unknown: like {other}"),
                other => panic!("{other}"),
            },
            other => panic!("{}", other.kind()),
        })
        .collect()
}

fn company(website: &str) -> CompanyCreate {
    CompanyCreate::new("Acme").websites([WebsiteInput::new(website)])
}

#[tokio::test(start_paused = true)]
async fn two_companies_of_one_name_answered_swapped_are_never_applied_with_each_others_ids() {
    let fake = fake_copper(|items| items.reverse()).await;
    let records = [
        CompanyCreate::new("Acme").details("East office"),
        CompanyCreate::new("Acme").details("West office"),
    ];
    let outcomes: Vec<_> = copper(&fake)
        .companies()
        .bulk_create(records)
        .collect()
        .await;
    assert_eq!(
        described(&outcomes, |company| company.id),
        ["unknown: mismatch", "unknown: mismatch"]
    );

    // Companies that differ only in their websites, which Copper may
    // rewrite and so are not compared, cannot be told apart: their
    // outcomes are unknown even when the answer happens to be in order.
    let swapped: fn(&mut Vec<Value>) = |items| items.reverse();
    let in_order: fn(&mut Vec<Value>) = |_| {};
    for arrange in [swapped, in_order] {
        let fake = fake_copper(arrange).await;
        let records = [
            company("https://east.example"),
            company("https://west.example"),
        ];
        let outcomes: Vec<_> = copper(&fake)
            .companies()
            .bulk_create(records)
            .collect()
            .await;
        assert_eq!(
            described(&outcomes, |company| company.id),
            ["unknown: like 1", "unknown: like 0"]
        );
    }
}

fn notes(count: usize) -> Vec<ActivityCreate> {
    (1..=count)
        .map(|n| {
            ActivityCreate::new(
                ActivityParentInput::new("person", 42),
                ActivityTypeInput::new("user", 0),
            )
            .details(format!("Note {n}"))
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn ten_notes_on_one_person_answered_swapped_are_never_applied_with_each_others_ids() {
    let fake = fake_copper(|items| items.reverse()).await;
    let outcomes: Vec<_> = copper(&fake)
        .activities()
        .bulk_create(notes(10))
        .collect()
        .await;
    assert_eq!(
        described(&outcomes, |activity| activity.id),
        vec!["unknown: mismatch"; 10]
    );
}

#[tokio::test(start_paused = true)]
async fn ten_notes_on_one_person_answered_in_order_are_applied() {
    let fake = fake_copper(|_| {}).await;
    let outcomes: Vec<_> = copper(&fake)
        .activities()
        .bulk_create(notes(10))
        .collect()
        .await;
    let expected: Vec<String> = (1..=10).map(|id| format!("applied {id}")).collect();
    assert_eq!(described(&outcomes, |activity| activity.id), expected);
}
