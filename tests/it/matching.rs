//! Creates answered out of order, at the fake server: an item is reported
//! applied only when it can be its record's and no other's.

use copper_bulk::{
    ActivityCreate, ActivityParentInput, ActivityTypeInput, CompanyCreate, Config, Copper,
    CustomFieldInput, CustomValue, Error, PersonCreate, Reconcile, RecordResult, WebsiteInput,
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

const TOKEN: &str = "tok-5be0d2-matching-secret";

fn copper(fake: &FakeCopper) -> Copper {
    // The answers alone are judged here; reading back is tested in
    // `reconcile.rs`.
    let config = Config::new(TOKEN, "me@example.com")
        .unwrap()
        .with_base_url(fake.url())
        .unwrap()
        .with_reconcile(Reconcile::off());
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

#[tokio::test(start_paused = true)]
async fn two_people_told_apart_only_by_a_field_copper_drops_are_unknown_when_swapped() {
    // Copper answers every custom field the record does not keep with a
    // `null` value: the one field that tells the two people apart is gone
    // from both items, so neither item can be matched to its record.
    let fake = fake_copper(|items| {
        for item in items.iter_mut() {
            item["custom_fields"] = json!([{"custom_field_definition_id": 9, "value": null}]);
        }
        items.reverse();
    })
    .await;
    let person = |external_id: &str| {
        PersonCreate::new("Ann Lee").custom_fields([CustomFieldInput::new(
            9,
            CustomValue::Text(external_id.to_owned()),
        )])
    };
    let outcomes: Vec<_> = copper(&fake)
        .people()
        .bulk_create([person("ext-1"), person("ext-2")])
        .collect()
        .await;
    assert_eq!(
        described(&outcomes, |person| person.id),
        ["unknown: like 1", "unknown: like 0"]
    );
}

#[tokio::test(start_paused = true)]
async fn field_errors_echoing_the_token_do_not_get_it_into_outcomes() {
    let fake = FakeCopper::start(|_, received| {
        let items: Vec<Value> = received
            .records()
            .iter()
            .map(|_| {
                json!({
                    "success": false,
                    "message": {TOKEN: [{"error": format!("token {TOKEN} is odd")}]},
                })
            })
            .collect();
        Reply::Status(
            200,
            vec![("content-type", "application/json".to_owned())],
            Value::Array(items).to_string(),
        )
    })
    .await;
    let outcomes: Vec<_> = copper(&fake)
        .companies()
        .bulk_create([CompanyCreate::new("Acme")])
        .collect()
        .await;
    let RecordResult::Rejected(rejection) = &outcomes[0].result else {
        panic!("{:?}", outcomes[0].result);
    };
    let shown = format!("{outcomes:?} {rejection}");
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
}
