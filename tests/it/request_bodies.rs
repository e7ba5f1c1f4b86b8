//! The exact JSON the raw client sends, as insta snapshots.

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
