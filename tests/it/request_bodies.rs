//! The exact JSON the raw client sends, as insta snapshots.

use copper_bulk_raw::custom::CustomValue;
use copper_bulk_raw::patch::Patch;
use copper_bulk_raw::types::{
    CustomFieldInput, PeopleBulkCreateRequest, PeopleBulkUpdateRequest, PersonUpdate,
};
use serde_json::json;

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

#[test]
fn full_batch_of_ten_updates() {
    let body = PeopleBulkUpdateRequest {
        people: (0..10)
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
            .collect(),
    };
    assert_eq!(body.people.len(), 10);
    insta::assert_json_snapshot!(body);
}

#[test]
fn full_batch_of_ten_creates() {
    let body = PeopleBulkCreateRequest {
        people: (0..10)
            .map(|i| create(&format!("Person {i}"), &format!("person{i}@example.com")))
            .collect(),
    };
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
            OpportunityCreate::new("50 cases of paper", 12345)
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
