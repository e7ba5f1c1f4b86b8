//! Decoding every documented response shape, from fixture files.

use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::error_body::ErrorBody;
use copper_bulk_raw::types::{
    self, BulkCreateFailure, BulkFailureMessage, BulkUpdateFailure, FieldError, Person,
};

type UpdateItem = BulkItem<Person, BulkUpdateFailure>;
type CreateItem = BulkItem<Person, BulkCreateFailure>;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(crate::support::root().join("tests/fixtures").join(name)).unwrap()
}

fn update(name: &str) -> Vec<UpdateItem> {
    serde_json::from_slice(&fixture(&format!("responses/update/{name}.json"))).unwrap()
}

fn create(name: &str) -> Vec<CreateItem> {
    serde_json::from_slice(&fixture(&format!("responses/create/{name}.json"))).unwrap()
}

#[test]
fn every_update_fixture() {
    insta::glob!("../fixtures", "responses/update/*.json", |path| {
        let items: Vec<UpdateItem> = serde_json::from_slice(&std::fs::read(path).unwrap())
            .expect("a response array always decodes");
        insta::assert_debug_snapshot!(items);
    });
}

#[test]
fn every_create_fixture() {
    insta::glob!("../fixtures", "responses/create/*.json", |path| {
        let items: Vec<CreateItem> = serde_json::from_slice(&std::fs::read(path).unwrap())
            .expect("a response array always decodes");
        insta::assert_debug_snapshot!(items);
    });
}

#[test]
fn every_error_fixture() {
    insta::glob!("../fixtures", "errors/*", |path| {
        insta::assert_debug_snapshot!(ErrorBody::parse(&std::fs::read(path).unwrap()));
    });
}

#[test]
fn success() {
    let items = update("documented");
    assert_eq!(items.len(), 2);
    let BulkItem::Ok(first) = &items[0] else {
        panic!("{:?}", items[0])
    };
    assert_eq!((first.id, first.name.as_str()), (12345, "Contact One"));
    assert_eq!(first.contact_type_id, Some(1074));
    assert_eq!(first.emails, Some(vec![]));
    assert!(matches!(&items[1], BulkItem::Ok(p) if p.id == 67890));
}

#[test]
fn failure_with_id() {
    let [BulkItem::Failed(failure)] = &update("failure_with_id")[..] else {
        panic!()
    };
    assert_eq!(failure.id, 12345);
    assert!(!failure.success);
    let BulkFailureMessage::FieldErrors(errors) = &failure.message else {
        panic!()
    };
    assert_eq!(
        errors.0["name"],
        [FieldError {
            error: "invalid".into()
        }]
    );
}

#[test]
fn failure_without_id() {
    let [BulkItem::Failed(failure)] = &create("failure_without_id")[..] else {
        panic!()
    };
    assert!(
        matches!(&failure.message, BulkFailureMessage::FieldErrors(e) if e.0.contains_key("name"))
    );
}

#[test]
fn failure_whose_message_is_a_string() {
    let [BulkItem::Failed(failure)] = &update("failure_message_string")[..] else {
        panic!()
    };
    assert_eq!(
        failure.message,
        BulkFailureMessage::String("Resource not found".into())
    );
    let [BulkItem::Failed(failure)] = &create("failure_message_string")[..] else {
        panic!()
    };
    assert_eq!(
        failure.message,
        BulkFailureMessage::String("Invalid input".into())
    );
}

#[test]
fn mixed_items_keep_their_order() {
    let items = update("mixed");
    assert!(
        matches!(&items[..], [BulkItem::Ok(p), BulkItem::Failed(f)] if p.id == 67890 && f.id == 12345)
    );
    let items = create("mixed");
    assert!(matches!(&items[..], [BulkItem::Failed(_), BulkItem::Ok(p)] if p.id == 67890));
}

#[test]
fn person_with_unknown_fields_is_a_person() {
    // Even an unknown `success: true` does not make it a failure.
    let [BulkItem::Ok(person)] = &update("unknown_fields")[..] else {
        panic!()
    };
    assert_eq!(person.id, 12345);
}

#[test]
fn person_with_null_arrays() {
    let [BulkItem::Ok(person)] = &update("null_arrays")[..] else {
        panic!()
    };
    assert_eq!(person.emails, None);
    assert_eq!(person.tags, None);
    assert_eq!(person.custom_fields, None);
}

#[test]
fn person_with_missing_optional_fields() {
    let [BulkItem::Ok(person)] = &update("missing_optional_fields")[..] else {
        panic!()
    };
    assert_eq!(person.name, "Contact One");
    assert_eq!((person.address.as_ref(), person.date_created), (None, None));
    let [BulkItem::Ok(person)] = &create("interaction_count_absent")[..] else {
        panic!()
    };
    assert_eq!(person.interaction_count, None);
}

#[test]
fn ids_beyond_two_to_the_53_are_exact() {
    let [BulkItem::Ok(person)] = &update("large_id")[..] else {
        panic!()
    };
    assert_eq!(person.id, 9_007_199_254_740_993);
}

#[test]
fn unrecognised_items_are_kept_raw_and_the_rest_still_decodes() {
    let items = update("unrecognized_items");
    assert_eq!(items.len(), 6);
    assert!(matches!(&items[0], BulkItem::Ok(p) if p.id == 12345));
    assert!(matches!(&items[5], BulkItem::Ok(p) if p.id == 67890));
    for (i, raw) in [
        (1, serde_json::json!(42)),
        (2, serde_json::json!({"name": "no id"})),
        (4, serde_json::Value::Null),
    ] {
        let BulkItem::Unrecognized(item) = &items[i] else {
            panic!("item {i}: {:?}", items[i])
        };
        assert_eq!(item.raw, raw);
        assert!(!item.error.is_empty());
        assert!(!items[i].is_failure());
    }
    // A failure in an undocumented shape is still a failure.
    assert!(matches!(&items[3], BulkItem::Unrecognized(_)));
    assert!(items[3].is_failure());
}

#[test]
fn every_field_of_a_full_person() {
    let [BulkItem::Ok(person)] = &update("every_field")[..] else {
        panic!()
    };
    let address = person.address.as_ref().unwrap();
    assert_eq!(address.city.as_deref(), Some("Savannah"));
    assert_eq!(
        person.emails.as_ref().unwrap()[0].category.as_deref(),
        Some("work")
    );
    assert_eq!(person.custom_fields.as_ref().unwrap().len(), 5);
    assert_eq!(
        person.leads_converted_from.as_ref().unwrap()[0].lead_id,
        Some(5)
    );
    assert_eq!(person.date_lead_created, Some(1490045000));
}

#[test]
fn error_bodies() {
    assert!(matches!(
        ErrorBody::parse(&fixture("errors/422_size_limit.json")),
        ErrorBody::SizeLimit(e) if e.error == "Request size too large, limit is 10"
    ));
    let body = ErrorBody::parse(&fixture("errors/422_invalid_input.json"));
    assert!(matches!(&body, ErrorBody::Api(e) if e.status == 422));
    assert!(body.message().unwrap().starts_with("Invalid input"));
    assert_eq!(
        ErrorBody::parse(&fixture("errors/429_empty.txt")),
        ErrorBody::Empty
    );
    assert!(
        matches!(ErrorBody::parse(&fixture("errors/502_html.txt")), ErrorBody::Text(t) if t.contains("Bad gateway"))
    );
    assert!(matches!(
        ErrorBody::parse(&fixture("errors/other_json.json")),
        ErrorBody::Json(_)
    ));
}

/// Every fixture of `dir`, decoded into items of `T` and `F`, as a snapshot.
macro_rules! entity_fixtures {
    ($test:ident, $dir:literal, $record:ty, $failure:ty) => {
        #[test]
        fn $test() {
            insta::glob!(
                "../fixtures",
                concat!("responses/", $dir, "/*.json"),
                |path| {
                    let items: Vec<BulkItem<$record, $failure>> =
                        serde_json::from_slice(&std::fs::read(path).unwrap())
                            .expect("a response array always decodes");
                    for item in &items {
                        assert!(!matches!(item, BulkItem::Unrecognized(_)), "{item:?}");
                    }
                    insta::assert_debug_snapshot!(items);
                }
            );
        }
    };
}

entity_fixtures!(every_leads_fixture, "leads", types::Lead, BulkUpdateFailure);
entity_fixtures!(
    every_leads_create_fixture,
    "leads-create",
    types::Lead,
    BulkCreateFailure
);
entity_fixtures!(
    every_companies_fixture,
    "companies",
    types::Company,
    BulkUpdateFailure
);
entity_fixtures!(
    every_opportunities_fixture,
    "opportunities",
    types::Opportunity,
    BulkCreateFailure
);
entity_fixtures!(
    every_activities_fixture,
    "activities",
    types::Activity,
    BulkCreateFailure
);

#[test]
fn custom_field_values_of_every_type_decode_without_loss() {
    use copper_bulk_raw::custom::{CustomDate, CustomValue};
    let items: Vec<BulkItem<types::Opportunity, BulkCreateFailure>> = serde_json::from_slice(
        &fixture("responses/opportunities/created_with_every_custom_field_type.json"),
    )
    .unwrap();
    let BulkItem::Ok(deal) = &items[0] else {
        panic!()
    };
    assert_eq!(deal.converted_value.as_deref(), Some("250000.0"));
    assert_eq!(deal.close_date.as_deref(), Some("1/14/2020"));
    let values: Vec<Option<CustomValue>> = deal
        .custom_fields
        .as_ref()
        .unwrap()
        .iter()
        .map(|field| field.value.clone())
        .collect();
    assert_eq!(
        values,
        [
            Some(CustomValue::Bool(false)),
            Some(CustomValue::Integer(23)),
            Some(CustomValue::Number(1234.56)),
            Some(CustomValue::Text("https://example.com".into())),
            Some(CustomValue::Integer(9_007_199_254_740_993)),
            Some(CustomValue::Ids(vec![1, 2])),
            Some(CustomValue::Integer(1_575_446_400)),
            Some(CustomValue::Text("12/04/2019".into())),
            None,
            Some(CustomValue::Ids(vec![])),
            Some(CustomValue::Other(
                serde_json::json!({"unexpected": "shape"})
            )),
        ]
    );
    assert_eq!(
        values[6].as_ref().unwrap().date(),
        Some(CustomDate::Unix(1_575_446_400))
    );
    assert_eq!(
        values[7].as_ref().unwrap().date(),
        Some(CustomDate::Text {
            month: 12,
            day: 4,
            year: 2019
        })
    );
    let computed = &deal.custom_fields.as_ref().unwrap()[5].computed_value;
    assert_eq!(computed, &Some(serde_json::json!(["Chocolate", "Vanilla"])));
    // Written back, every value is what Copper sent.
    let original: serde_json::Value = serde_json::from_slice(&fixture(
        "responses/opportunities/created_with_every_custom_field_type.json",
    ))
    .unwrap();
    for (field, sent) in deal
        .custom_fields
        .as_ref()
        .unwrap()
        .iter()
        .zip(original[0]["custom_fields"].as_array().unwrap())
    {
        assert_eq!(serde_json::to_value(&field.value).unwrap(), sent["value"]);
    }
}
