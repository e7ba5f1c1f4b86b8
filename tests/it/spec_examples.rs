//! Every example in the spec, read with the generated types.

use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::error_body::ErrorBody;
use copper_bulk_raw::types::{self, BulkCreateFailure, BulkUpdateFailure};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// `value` with every number as a float: `number` fields are `f64` in Rust
/// and write `250000` back as `250000.0`, the same number.
fn numbers_as_floats(value: Value) -> Value {
    match value {
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_as_floats).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, numbers_as_floats(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Reads `value` as a `T` and writes it back.
fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Value {
    let typed: T = serde_json::from_value(value.clone()).unwrap();
    serde_json::to_value(typed).unwrap()
}

/// The request example of `path`, read with its generated request type and
/// written back.
fn request_round_trip(path: &str, value: &Value) -> Value {
    match path.trim_start_matches("/developer_api/v1/") {
        "people/bulk_update" => round_trip::<types::PeopleBulkUpdateRequest>(value),
        "people/bulk_create" => round_trip::<types::PeopleBulkCreateRequest>(value),
        "leads/bulk_update" => round_trip::<types::LeadsBulkUpdateRequest>(value),
        "leads/bulk_create" => round_trip::<types::LeadsBulkCreateRequest>(value),
        "companies/bulk_update" => round_trip::<types::CompaniesBulkUpdateRequest>(value),
        "companies/bulk_create" => round_trip::<types::CompaniesBulkCreateRequest>(value),
        "opportunities/bulk_create" => round_trip::<types::OpportunitiesBulkCreateRequest>(value),
        "activities/bulk_create" => round_trip::<types::ActivitiesBulkCreateRequest>(value),
        "people/search" => round_trip::<types::PeopleSearchRequest>(value),
        "leads/search" => round_trip::<types::LeadsSearchRequest>(value),
        "companies/search" => round_trip::<types::CompaniesSearchRequest>(value),
        "opportunities/search" => round_trip::<types::OpportunitiesSearchRequest>(value),
        "activities/search" => round_trip::<types::ActivitiesSearchRequest>(value),
        other => panic!("no request type for {other}"),
    }
}

/// Whether each item of the 200 example of `path` decodes as a failure;
/// panics on an item that decodes as neither branch.
fn response_failures(path: &str, name: &str, value: Value) -> Vec<bool> {
    fn read<T: DeserializeOwned + std::fmt::Debug, F: DeserializeOwned + std::fmt::Debug>(
        value: Value,
        path: &str,
        name: &str,
    ) -> Vec<bool> {
        let items: Vec<BulkItem<T, F>> = serde_json::from_value(value).unwrap();
        items
            .iter()
            .map(|item| classify(item, path, name))
            .collect()
    }
    fn records<T: DeserializeOwned>(value: Value) -> Vec<bool> {
        let records: Vec<T> = serde_json::from_value(value).unwrap();
        records.iter().map(|_| false).collect()
    }
    match path.trim_start_matches("/developer_api/v1/") {
        "people/bulk_update" => read::<types::Person, BulkUpdateFailure>(value, path, name),
        "people/bulk_create" => read::<types::Person, BulkCreateFailure>(value, path, name),
        "leads/bulk_update" => read::<types::Lead, BulkUpdateFailure>(value, path, name),
        "leads/bulk_create" => read::<types::Lead, BulkCreateFailure>(value, path, name),
        "companies/bulk_update" => read::<types::Company, BulkUpdateFailure>(value, path, name),
        "companies/bulk_create" => read::<types::Company, BulkCreateFailure>(value, path, name),
        "opportunities/bulk_create" => {
            read::<types::Opportunity, BulkCreateFailure>(value, path, name)
        }
        "activities/bulk_create" => read::<types::Activity, BulkCreateFailure>(value, path, name),
        // A search answers records only; each must decode as its record.
        "people/search" => records::<types::Person>(value),
        "leads/search" => records::<types::Lead>(value),
        "companies/search" => records::<types::Company>(value),
        "opportunities/search" => records::<types::Opportunity>(value),
        "activities/search" => records::<types::Activity>(value),
        other => panic!("no response type for {other}"),
    }
}

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
        "/developer_api/v1/people/search",
        "/developer_api/v1/leads/search",
        "/developer_api/v1/companies/search",
        "/developer_api/v1/opportunities/search",
        "/developer_api/v1/activities/search",
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
        if kind == "request" {
            assert_eq!(
                numbers_as_floats(request_round_trip(&path, &value)),
                numbers_as_floats(value),
                "{path} {name}"
            );
        }
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
                assert_eq!(
                    response_failures(&path, &name, value),
                    expected,
                    "{path} {name}"
                );
            }
            "422" | "403" => {
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
fn category_enums_decode_every_spec_value_and_keep_new_ones() {
    use copper_bulk_raw::types::{EmailCategory, PhoneCategory, SocialCategory, WebsiteCategory};
    // `KNOWN` is generated from the spec's list, so it is not compared with
    // that list: each value must decode to a variant of its own (not the
    // fallback for new values) and encode back to the same string.
    fn every_value_has_its_variant<T>(known: &[&str])
    where
        T: serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
    {
        for value in known {
            let json = serde_json::to_string(value).unwrap();
            let decoded: T = serde_json::from_str(&json).unwrap();
            assert!(
                !format!("{decoded:?}").starts_with("Unknown"),
                "{value} decodes as a new value: {decoded:?}"
            );
            assert_eq!(serde_json::to_string(&decoded).unwrap(), json);
        }
    }
    every_value_has_its_variant::<EmailCategory>(EmailCategory::KNOWN);
    every_value_has_its_variant::<PhoneCategory>(PhoneCategory::KNOWN);
    every_value_has_its_variant::<SocialCategory>(SocialCategory::KNOWN);
    every_value_has_its_variant::<WebsiteCategory>(WebsiteCategory::KNOWN);

    let new: PhoneCategory = serde_json::from_str(r#""pager""#).unwrap();
    assert_eq!(new, PhoneCategory::Unknown("pager".into()));
    assert_eq!(serde_json::to_string(&new).unwrap(), r#""pager""#);
    assert_eq!(
        serde_json::from_str::<PhoneCategory>(r#""mobile""#).unwrap(),
        PhoneCategory::Mobile
    );
}

#[test]
fn activities_can_be_logged_on_tasks_and_converted_leads_keep_their_time() {
    use copper_bulk_raw::types::{ActivityParentType, Opportunity};
    assert_eq!(
        serde_json::from_str::<ActivityParentType>(r#""task""#).unwrap(),
        ActivityParentType::Task
    );
    // Copper's "Demo Project", converted from a lead.
    let deal: Opportunity = serde_json::from_value(serde_json::json!({
        "id": 4417020, "name": "Demo Project",
        "leads_converted_from": [{"lead_id": 11393303, "converted_timestamp": 1496694264}],
    }))
    .unwrap();
    let from = &deal.leads_converted_from.unwrap()[0];
    assert_eq!(
        (from.lead_id, from.converted_timestamp),
        (Some(11393303), Some(1496694264))
    );
}

/// The facts about custom field values that recorded answers show and
/// Copper's pages do not say reach every generated client's users.
#[test]
fn the_spec_says_how_percentages_and_dates_are_kept() {
    let spec = crate::support::spec();
    let schemas = &spec["components"]["schemas"];
    // Compared with every run of spaces and line breaks as one space, so
    // that re-wrapping the text changes nothing.
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let values = words(
        schemas["CustomFieldValueData"]["description"]
            .as_str()
            .unwrap(),
    );
    for fact in [
        "whole percents",
        "send `34` for 34%",
        "midnight in the account's time zone",
        "reading the value as a UTC date gives the day before",
    ] {
        assert!(values.contains(fact), "no {fact:?} in {values}");
    }
    let domain = schemas["CompanyCreate"]["properties"]["email_domain"]["description"]
        .as_str()
        .unwrap();
    assert!(domain.contains("unique key"), "{domain}");
    assert_eq!(
        schemas["OpportunityCreate"]["required"],
        serde_json::json!(["name"])
    );
    // Copper's field table lists an opportunity's company name as input.
    assert_eq!(
        schemas["OpportunityCreate"]["properties"]["company_name"]["type"],
        "string"
    );
}

/// Copper documents 400 and 500 answers; every operation declares them and
/// a `default` for the rest.
#[test]
fn every_operation_declares_copper_s_documented_answers_and_a_default() {
    let spec = crate::support::spec();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let responses = item["post"]["responses"].as_object().unwrap();
        for status in ["200", "400", "401", "422", "429", "500", "default"] {
            assert!(responses.contains_key(status), "{path} lacks {status}");
        }
    }
}

/// Every example says where it comes from, and Copper's name their page.
#[test]
fn every_example_says_where_it_comes_from() {
    let spec = crate::support::spec();
    let mut examples = Vec::new();
    fn collect<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
        match value {
            Value::Object(fields) => {
                if let Some(Value::Object(named)) = fields.get("examples") {
                    out.extend(named.values().filter(|e| e.get("$ref").is_none()));
                }
                for (key, field) in fields {
                    if key != "examples" {
                        collect(field, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
            _ => {}
        }
    }
    collect(&spec["paths"], &mut examples);
    collect(&spec["components"]["responses"], &mut examples);
    examples.extend(spec["components"]["examples"].as_object().unwrap().values());
    assert!(examples.len() > 30, "{}", examples.len());
    for example in examples {
        let summary = example["summary"].as_str().unwrap_or_default();
        let description = example["description"].as_str().unwrap_or_default();
        let copper = summary.starts_with("Copper's");
        assert!(
            copper || summary.starts_with("Illustrative.") || summary.starts_with("Recorded."),
            "{summary}"
        );
        if copper || summary.starts_with("Recorded.") {
            assert!(
                description.contains("](https://"),
                "{summary}: {description}"
            );
        }
    }
}
