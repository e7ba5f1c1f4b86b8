//! The exact JSON the raw client sends, as insta snapshots; full batches
//! are captured at a fake server, as the facade cuts and sends them.

use copper_bulk::{Config, Copper};
use copper_bulk_raw::custom::CustomValue;
use copper_bulk_raw::patch::Patch;
use copper_bulk_raw::types::{
    CustomFieldInput, PeopleBulkCreateRequest, PeopleBulkUpdateRequest, PersonCreate, PersonUpdate,
};
use copper_bulk_tests::fake::{FakeCopper, Received};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::support::{create, update_every_field};

#[test]
fn update_with_every_field() {
    let body = PeopleBulkUpdateRequest {
        people: vec![update_every_field()],
    };
    insta::assert_json_snapshot!(body);
}

#[test]
fn update_that_clears_fields_with_null() {
    let body = PeopleBulkUpdateRequest {
        people: vec![PersonUpdate {
            title: Patch::Null,
            address: Patch::Null,
            assignee_id: Patch::Null,
            tags: Patch::Value(vec![]),
            emails: Patch::Null,
            custom_fields: vec![CustomFieldInput {
                custom_field_definition_id: 100764,
                value: json!(null).into(),
            }],
            ..PersonUpdate::new(12345)
        }],
    };
    insta::assert_json_snapshot!(body);
    // A field left out is not sent at all; a cleared one is sent as null.
    let wire = serde_json::to_string(&body).unwrap();
    assert!(wire.contains(r#""title":null"#));
    assert!(!wire.contains("first_name"));
}

#[test]
fn single_create() {
    let body = PeopleBulkCreateRequest {
        people: vec![create("Contact One", "contact.one@example.com")],
    };
    insta::assert_json_snapshot!(body);
}

/// A fake Copper and a client of it that sends one request at a time, so
/// that the bodies arrive in the order the facade cut the batches. The fake
/// answers each request with the records it was sent.
async fn fake_and_client() -> (FakeCopper, Copper) {
    let fake = FakeCopper::echo().await;
    let config = Config::new("tok-request-bodies", "me@example.com")
        .unwrap()
        .with_base_url(fake.url())
        .unwrap()
        .with_concurrency(1)
        .unwrap();
    (fake, Copper::new(config).unwrap())
}

/// Checks that the fake received `records` at `path`, cut into batches of
/// 10, 10 and 3 in input order, each record sent as it serializes on its
/// own; returns the first (full) batch's body.
fn first_of_batches_of_ten(received: &[Received], path: &str, records: &[Value]) -> Value {
    let paths: Vec<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, [path; 3]);
    let sizes: Vec<usize> = received.iter().map(|r| r.records().len()).collect();
    assert_eq!(sizes, [10, 10, 3], "23 records go as 10, 10 and 3");
    let sent: Vec<&Value> = received.iter().flat_map(Received::records).collect();
    let records: Vec<&Value> = records.iter().collect();
    assert_eq!(
        sent, records,
        "every record once, in input order, unchanged"
    );
    received[0].body.clone()
}

fn as_json<T: serde::Serialize>(records: &[T]) -> Vec<Value> {
    records
        .iter()
        .map(|record| serde_json::to_value(record).unwrap())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn full_batch_of_ten_updates() {
    let updates: Vec<PersonUpdate> = (0..23)
        .map(|i| PersonUpdate {
            name: Some(format!("Person {i}")),
            details: if i % 3 == 0 {
                Patch::Null
            } else {
                Patch::Absent
            },
            emails: Patch::Value(vec![copper_bulk_raw::types::EmailInput {
                email: format!("person{i}@example.com"),
                category: None,
            }]),
            ..PersonUpdate::new(1_000 + i)
        })
        .collect();
    let records = as_json(&updates);
    let (fake, copper) = fake_and_client().await;
    let _: Vec<_> = copper.people().bulk_update(updates).collect().await;
    let body = first_of_batches_of_ten(
        &fake.received(),
        "/developer_api/v1/people/bulk_update",
        &records,
    );
    insta::assert_json_snapshot!(body);
}

#[tokio::test(start_paused = true)]
async fn full_batch_of_ten_creates() {
    let creates: Vec<PersonCreate> = (0..23)
        .map(|i| create(&format!("Person {i}"), &format!("person{i}@example.com")))
        .collect();
    let records = as_json(&creates);
    let (fake, copper) = fake_and_client().await;
    let _: Vec<_> = copper.people().bulk_create(creates).collect().await;
    let body = first_of_batches_of_ten(
        &fake.received(),
        "/developer_api/v1/people/bulk_create",
        &records,
    );
    insta::assert_json_snapshot!(body);
}

#[test]
fn setters_set_clear_and_leave_fields() {
    let update = PersonUpdate::new(7)
        .title("CTO")
        .details("to be left")
        .leave_details()
        .clear_assignee_id()
        .tags(["a", "b"]);
    assert_eq!(update.title, Patch::Value("CTO".to_owned()));
    assert_eq!(update.details, Patch::Absent);
    assert_eq!(update.assignee_id, Patch::Null);
    assert_eq!(
        serde_json::to_value(&update).unwrap(),
        json!({"id": 7, "title": "CTO", "assignee_id": null, "tags": ["a", "b"]})
    );
}

#[test]
fn every_field_an_update_can_send_is_in_the_every_field_snapshot() {
    // The spec, not this test, lists the fields: a new writable field in the
    // spec must show up in the snapshot above.
    let spec = crate::support::spec();
    let properties = spec["components"]["schemas"]["PersonUpdate"]["properties"]
        .as_object()
        .unwrap();
    let sent = serde_json::to_value(update_every_field()).unwrap();
    for field in properties.keys() {
        assert!(
            sent.get(field).is_some(),
            "the every-field update does not send `{field}`"
        );
    }
}

#[test]
fn leads() {
    use copper_bulk_raw::types::{
        CustomFieldInput, EmailCategory, EmailInput, LeadCreate, LeadEmailInput, LeadUpdate,
        LeadsBulkCreateRequest, LeadsBulkUpdateRequest,
    };
    let update = LeadsBulkUpdateRequest {
        leads: vec![
            LeadUpdate::new(204)
                .status("Qualified")
                .email(LeadEmailInput {
                    email: "mylead@noemail.com".into(),
                    category: Some(EmailCategory::Work),
                })
                .clear_monetary_value()
                .custom_fields([CustomFieldInput::new(100764, CustomValue::Null)]),
            LeadUpdate::new(205).clear_email().tags(["webinar"]),
        ],
    };
    insta::assert_json_snapshot!("leads_update", update);
    let create = LeadsBulkCreateRequest {
        leads: vec![
            LeadCreate::new("My Lead")
                .email(EmailInput::new("mylead@noemail.com").category(EmailCategory::Work))
                .monetary_value(1500.5)
                .monetary_unit("USD"),
        ],
    };
    insta::assert_json_snapshot!("leads_create", create);
}

#[test]
fn companies() {
    use copper_bulk_raw::types::{
        CompaniesBulkCreateRequest, CompaniesBulkUpdateRequest, CompanyCreate, CompanyUpdate,
        WebsiteInput,
    };
    let update = CompaniesBulkUpdateRequest {
        companies: vec![
            CompanyUpdate::new(9607580)
                .email_domain("dundermifflin.com")
                .tags(["paper"])
                .clear_details()
                .clear_primary_contact_id(),
        ],
    };
    insta::assert_json_snapshot!("companies_update", update);
    let create = CompaniesBulkCreateRequest {
        companies: vec![
            CompanyCreate::new("Dunder Mifflin")
                .websites([WebsiteInput::new("https://dundermifflin.example").category("work")])
                .primary_contact_id(12345),
        ],
    };
    insta::assert_json_snapshot!("companies_create", create);
}

#[test]
fn opportunities() {
    use copper_bulk_raw::types::{
        CustomFieldInput, OpportunitiesBulkCreateRequest, OpportunityCreate, OpportunityPriority,
    };
    let create = OpportunitiesBulkCreateRequest {
        opportunities: vec![
            OpportunityCreate::new("50 cases of paper")
                .primary_contact_id(12345)
                .close_date("1/14/2027")
                .monetary_value(250000.0)
                .priority(OpportunityPriority::High)
                .status("Open")
                .win_probability(40)
                .custom_fields([
                    CustomFieldInput::new(1, true),
                    CustomFieldInput::new(2, 12.5),
                    CustomFieldInput::new(3, "03/14/2027"),
                    CustomFieldInput::new(4, 1_775_000_000_i64),
                    CustomFieldInput::new(5, vec![7_i64, 8]),
                ]),
        ],
    };
    insta::assert_json_snapshot!("opportunities_create", create);
}

#[test]
fn activities() {
    use copper_bulk_raw::types::{
        ActivitiesBulkCreateRequest, ActivityCreate, ActivityParentInput, ActivityParentType,
        ActivityTypeInput,
    };
    let create = ActivitiesBulkCreateRequest {
        activities: vec![
            ActivityCreate::new(
                ActivityParentInput::new(ActivityParentType::Person, 12345),
                ActivityTypeInput::new("user", 0),
            )
            .details("Called about the renewal.")
            .activity_date(1_687_360_885),
        ],
    };
    insta::assert_json_snapshot!("activities_create", create);
}
