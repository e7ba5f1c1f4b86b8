//! The spec adaptations and post-processing, tested on the shared spec.

use std::path::PathBuf;

use copper_bulk_codegen::{
    RecordKind, adapt_for_progenitor, generate_from, load_spec, parse_spec, record_schemas,
    settings,
};
use openapiv3::{OpenAPI, ReferenceOr, SchemaKind, Type};

fn spec_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/copper.yaml")
}

fn spec() -> OpenAPI {
    load_spec(&spec_path()).expect("the shared spec parses")
}

fn operations(spec: &OpenAPI) -> Vec<&openapiv3::Operation> {
    spec.paths
        .paths
        .values()
        .filter_map(|item| match item {
            ReferenceOr::Item(item) => Some(item),
            ReferenceOr::Reference { .. } => None,
        })
        .flat_map(|item| item.iter().map(|(_, op)| op))
        .collect()
}

#[test]
fn the_shared_spec_as_it_is_makes_progenitor_panic() {
    // This is why the adaptation exists: if progenitor ever accepts the
    // truthful spec, this test fails and the adaptation can be reconsidered.
    let spec = spec();
    let outcome = std::panic::catch_unwind(|| {
        let mut generator = progenitor::Generator::new(&settings(&spec));
        generator.generate_tokens(&spec).map(|_| ())
    });
    assert!(
        outcome.is_err(),
        "progenitor now takes several error schemas per operation"
    );
}

#[test]
fn adaptation_keeps_only_success_responses_and_records_what_it_removed() {
    let original = spec();
    let mut adapted = original.clone();
    let adaptations = adapt_for_progenitor(&mut adapted);

    for op in operations(&adapted) {
        let statuses: Vec<String> = op
            .responses
            .responses
            .keys()
            .map(ToString::to_string)
            .collect();
        assert_eq!(statuses, ["200"], "{:?}", op.operation_id);
        assert!(op.responses.default.is_none());
    }
    // Every operation loses its 400, 401, 422, 429, 500 and `default`; the
    // leads operations their 403 too.
    let mut removed = adaptations.removed_responses.clone();
    removed.sort();
    let mut expected = Vec::new();
    for op in operations(&original) {
        let id = op.operation_id.clone().unwrap();
        let mut statuses = vec!["default", "400", "401", "422", "429", "500"];
        if id.starts_with("leads_") {
            statuses.push("403");
        }
        expected.extend(
            statuses
                .into_iter()
                .map(|status| (id.clone(), status.to_owned())),
        );
    }
    expected.sort();
    assert_eq!(removed, expected);
    assert_eq!(removed.len(), 13 * 6 + 3);
    // The 2xx responses are untouched.
    for (before, after) in operations(&original).into_iter().zip(operations(&adapted)) {
        assert_eq!(
            format!(
                "{:?}",
                before
                    .responses
                    .responses
                    .get(&openapiv3::StatusCode::Code(200))
            ),
            format!(
                "{:?}",
                after
                    .responses
                    .responses
                    .get(&openapiv3::StatusCode::Code(200))
            )
        );
    }
}

#[test]
fn adaptation_turns_nullable_objects_into_nullable_references() {
    let mut adapted = spec();
    let adaptations = adapt_for_progenitor(&mut adapted);
    let mut nullable = adaptations.nullable_objects.clone();
    nullable.sort();
    assert_eq!(nullable, ["Address", "LeadEmail", "LeadEmailInput"]);

    let components = adapted.components.as_ref().unwrap();
    let ReferenceOr::Item(address) = &components.schemas["Address"] else {
        panic!()
    };
    assert!(!address.schema_data.nullable);

    let ReferenceOr::Item(person) = &components.schemas["Person"] else {
        panic!()
    };
    let SchemaKind::Type(Type::Object(person)) = &person.schema_kind else {
        panic!()
    };
    let ReferenceOr::Item(field) = &person.properties["address"] else {
        panic!("the reference was not wrapped")
    };
    assert!(field.schema_data.nullable);
    let SchemaKind::AllOf { all_of } = &field.schema_kind else {
        panic!()
    };
    assert!(matches!(&all_of[..], [ReferenceOr::Reference { reference }]
        if reference == "#/components/schemas/Address"));
}

#[test]
fn adaptation_is_idempotent() {
    let mut once = spec();
    adapt_for_progenitor(&mut once);
    let mut twice = once.clone();
    let second = adapt_for_progenitor(&mut twice);
    assert_eq!(second, Default::default());
    assert_eq!(format!("{once:?}"), format!("{twice:?}"));
}

#[test]
fn records_are_found_from_the_bulk_paths() {
    let records: Vec<(String, RecordKind)> = record_schemas(&spec()).into_iter().collect();
    let expected = [
        ("ActivityCreate", RecordKind::Create),
        ("CompanyCreate", RecordKind::Create),
        ("CompanyUpdate", RecordKind::Update),
        ("LeadCreate", RecordKind::Create),
        ("LeadUpdate", RecordKind::Update),
        ("OpportunityCreate", RecordKind::Create),
        ("PersonCreate", RecordKind::Create),
        ("PersonUpdate", RecordKind::Update),
    ]
    .map(|(name, kind)| (name.to_owned(), kind));
    assert_eq!(records, expected);
}

#[test]
fn generated_code_does_not_depend_on_the_order_of_the_one_of_members() {
    let text = std::fs::read_to_string(spec_path()).unwrap();
    let failure_first = "        - $ref: \"#/components/schemas/BulkUpdateFailure\"\n        - $ref: \"#/components/schemas/Person\"\n";
    let person_first = "        - $ref: \"#/components/schemas/Person\"\n        - $ref: \"#/components/schemas/BulkUpdateFailure\"\n";
    assert!(
        text.contains(failure_first),
        "the spec's oneOf changed shape"
    );
    let swapped = text.replace(failure_first, person_first);

    let a = generate_from(&parse_spec(&text).unwrap(), "").unwrap();
    let b = generate_from(&parse_spec(&swapped).unwrap(), "").unwrap();
    assert_eq!(a, b);
    assert!(a.contains(
        "crate::bulk::BulkItem<\n                    crate::types::Person,\n                    crate::types::BulkUpdateFailure,"
    ));
}

#[test]
fn update_records_get_three_state_fields_and_a_constructor() {
    let code = generate_from(&spec(), "").unwrap();
    let start = code.find("pub struct PersonUpdate {").unwrap();
    let body = &code[start..start + code[start..].find("\n    }").unwrap()];
    assert!(body.contains("pub title: crate::patch::Patch<::std::string::String>"));
    assert!(body.contains("pub address: crate::patch::Patch<Address>"));
    assert!(body.contains("pub tags: crate::patch::Patch<::std::vec::Vec<::std::string::String>>"));
    // `name` cannot be null in the spec, so it cannot be cleared in Rust.
    assert!(body.contains("pub name: ::std::option::Option<::std::string::String>"));
    // A nullable object behind a reference is three-state too.
    let lead = &code[code.find("pub struct LeadUpdate {").unwrap()..];
    let lead = &lead[..lead.find("\n    }").unwrap()];
    assert!(
        lead.contains("pub email: crate::patch::Patch<LeadEmailInput>"),
        "{lead}"
    );
    assert!(body.contains("pub id: i64"));
    assert!(code.contains("pub fn new(id: impl ::std::convert::Into<i64>) -> Self"));
    assert!(
        code.contains("pub fn new(name: impl ::std::convert::Into<::std::string::String>) -> Self")
    );
    // Create records are left as progenitor made them.
    let create = &code[code.find("pub struct PersonCreate {").unwrap()..];
    let create = &create[..create.find("\n    }").unwrap()];
    assert!(!create.contains("Patch"));
}

#[test]
fn string_enums_are_open_and_made_from_the_spec() {
    let code = generate_from(&spec(), "").unwrap();
    assert!(code.contains("crate::open_enum! {"));
    for name in [
        "EmailCategory",
        "PhoneCategory",
        "SocialCategory",
        "WebsiteCategory",
        "OpportunityPriority",
        "OpportunityStatus",
        "ActivityParentType",
        "ActivityTypeCategory",
        "ActivitySearchParentType",
        "SortDirection",
    ] {
        assert!(code.contains(&format!("{name} {{")), "{name}");
        assert!(
            !code.contains(&format!("pub enum {name}")),
            "{name}: typify's closed enum"
        );
    }
    assert!(code.contains("Googleplus ="));
    assert!(code.contains(r#""googleplus""#));
}

#[test]
fn custom_field_values_use_the_hand_written_type() {
    let code = generate_from(&spec(), "").unwrap();
    assert!(code.contains("pub value: crate::custom::CustomValue,"));
    assert!(!code.contains("pub struct CustomFieldValueData"));
    assert!(!code.contains("pub enum CustomFieldValueData"));
}

#[test]
fn every_request_type_gets_a_constructor_and_setters() {
    use copper_bulk_codegen::input_schemas;
    assert_eq!(
        input_schemas(&spec()).into_iter().collect::<Vec<_>>(),
        [
            "ActivitiesSearchRequest",
            "ActivityCreate",
            "ActivityParentInput",
            "ActivitySearchParent",
            "ActivityTypeInput",
            "Address",
            "CompaniesSearchRequest",
            "CompanyCreate",
            "CompanyUpdate",
            "CustomFieldInput",
            "EmailInput",
            "LeadCreate",
            "LeadEmailInput",
            "LeadUpdate",
            "LeadsSearchRequest",
            "OpportunitiesSearchRequest",
            "OpportunityCreate",
            "PeopleSearchRequest",
            "PersonCreate",
            "PersonUpdate",
            "PhoneNumberInput",
            "SocialInput",
            "WebsiteInput"
        ]
    );
    let code = generate_from(&spec(), "").unwrap();
    for expected in [
        "pub fn clear_title(mut self) -> Self",
        "pub fn leave_title(mut self) -> Self",
        "pub fn new(email: impl ::std::convert::Into<::std::string::String>) -> Self",
        "value: impl ::std::iter::IntoIterator<\n                Item = impl ::std::convert::Into<EmailInput>,\n            >,",
    ] {
        assert!(code.contains(expected), "missing: {expected}");
    }
    // A search request, whose every field is optional, starts empty.
    let search = &code[code.find("impl PeopleSearchRequest {").unwrap()..];
    assert!(search.contains("///A value with every field left out.\n        pub fn new() -> Self"));
    // Response types get no setters.
    assert!(!code.contains("impl Person {"));
}
