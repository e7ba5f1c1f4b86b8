//! Every example in the spec, read with the generated types.

use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::error_body::ErrorBody;
use copper_bulk_raw::types::{
    BulkCreateFailure, BulkUpdateFailure, PeopleBulkCreateRequest, PeopleBulkUpdateRequest, Person,
};
use serde_json::Value;

/// `(operation path, example kind, example name, value)` of every example.
fn examples() -> Vec<(String, String, String, Value)> {
    let spec = crate::support::spec();
    let resolve = |example: &Value| -> Value {
        match example.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap();
                spec["components"]["examples"][name]["value"].clone()
            }
            None => example["value"].clone(),
        }
    };
    let responses = &spec["components"]["responses"];
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let op = &item["post"];
        let request = &op["requestBody"]["content"]["application/json"]["examples"];
        for (name, example) in request.as_object().unwrap() {
            out.push((
                path.clone(),
                "request".into(),
                name.clone(),
                resolve(example),
            ));
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            let response = match response.get("$ref").and_then(Value::as_str) {
                Some(reference) => &responses[reference.rsplit('/').next().unwrap()],
                None => response,
            };
            if let Some(examples) = response["content"]["application/json"]["examples"].as_object()
            {
                for (name, example) in examples {
                    out.push((path.clone(), status.clone(), name.clone(), resolve(example)));
                }
            }
        }
    }
    out
}

#[test]
fn every_operation_has_request_and_response_examples() {
    let examples = examples();
    for path in [
        "/developer_api/v1/people/bulk_update",
        "/developer_api/v1/people/bulk_create",
    ] {
        for kind in ["request", "200", "422"] {
            assert!(
                examples.iter().any(|(p, k, _, _)| p == path && k == kind),
                "{path} has no {kind} example"
            );
        }
    }
}

#[test]
fn request_examples_round_trip_exactly() {
    for (path, kind, name, value) in examples() {
        if kind != "request" {
            continue;
        }
        let again = if path.ends_with("bulk_update") {
            let body: PeopleBulkUpdateRequest = serde_json::from_value(value.clone()).unwrap();
            serde_json::to_value(body).unwrap()
        } else {
            let body: PeopleBulkCreateRequest = serde_json::from_value(value.clone()).unwrap();
            serde_json::to_value(body).unwrap()
        };
        assert_eq!(again, value, "{path} {name}");
    }
}

#[test]
fn response_examples_decode_into_the_branch_they_show() {
    for (path, kind, name, value) in examples() {
        match kind.as_str() {
            "200" => {
                let expected: Vec<bool> = value
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|item| item.get("success") == Some(&Value::Bool(false)))
                    .collect();
                let decoded: Vec<bool> = if path.ends_with("bulk_update") {
                    let items: Vec<BulkItem<Person, BulkUpdateFailure>> =
                        serde_json::from_value(value).unwrap();
                    items
                        .iter()
                        .map(|item| classify(item, &path, &name))
                        .collect()
                } else {
                    let items: Vec<BulkItem<Person, BulkCreateFailure>> =
                        serde_json::from_value(value).unwrap();
                    items
                        .iter()
                        .map(|item| classify(item, &path, &name))
                        .collect()
                };
                assert_eq!(decoded, expected, "{path} {name}");
            }
            "422" => {
                let body = ErrorBody::parse(&serde_json::to_vec(&value).unwrap());
                assert!(
                    matches!(body, ErrorBody::SizeLimit(_) | ErrorBody::Api(_)),
                    "{path} {name}: {body:?}"
                );
            }
            _ => {}
        }
    }
}

/// Whether a decoded item is a failure; panics on an unrecognised one.
fn classify<T: std::fmt::Debug, F: std::fmt::Debug>(
    item: &BulkItem<T, F>,
    path: &str,
    name: &str,
) -> bool {
    match item {
        BulkItem::Ok(_) => false,
        BulkItem::Failed(_) => true,
        BulkItem::Unrecognized(item) => panic!("{path} {name}: {item:?}"),
    }
}

#[test]
fn category_enums_list_the_spec_values_and_keep_new_ones() {
    use copper_bulk_raw::category::{
        EmailCategory, PhoneCategory, SocialCategory, WebsiteCategory,
    };
    let spec = crate::support::spec();
    let listed = |name: &str| -> Vec<String> {
        serde_json::from_value(spec["components"]["schemas"][name]["enum"].clone()).unwrap()
    };
    assert_eq!(EmailCategory::KNOWN, listed("EmailCategory"));
    assert_eq!(PhoneCategory::KNOWN, listed("PhoneCategory"));
    assert_eq!(SocialCategory::KNOWN, listed("SocialCategory"));
    assert_eq!(WebsiteCategory::KNOWN, listed("WebsiteCategory"));

    let new: PhoneCategory = serde_json::from_str(r#""pager""#).unwrap();
    assert_eq!(new, PhoneCategory::Unknown("pager".into()));
    assert_eq!(serde_json::to_string(&new).unwrap(), r#""pager""#);
    assert_eq!(
        serde_json::from_str::<PhoneCategory>(r#""mobile""#).unwrap(),
        PhoneCategory::Mobile
    );
}
