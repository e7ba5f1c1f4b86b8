//! Property tests of the response decoders: whatever Copper (or anything
//! between it and us) sends, decoding never panics, and a response array
//! always gives exactly one item per element, so no record's outcome is
//! lost. Each property runs `CASES` generated inputs in every test run; the
//! counts are printed (`--nocapture`) and recorded in RELIABILITY.md.

use std::sync::atomic::{AtomicUsize, Ordering};

use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::error_body::ErrorBody;
use copper_bulk_raw::types::{self, BulkCreateFailure, BulkUpdateFailure};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::{Value, json};

const CASES: u32 = 2_000;

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Items shaped like Copper's, with fields of the wrong type, missing or
/// extra, mixed with anything at all.
fn item() -> impl Strategy<Value = Value> {
    let field = || prop_oneof![3 => any_json(), 1 => Just(Value::Null)];
    prop_oneof![
        // A record: an id and a name, sometimes of the wrong type.
        (any::<i64>(), ".{0,10}", field(), field()).prop_map(|(id, name, extra, emails)| {
            json!({"id": id, "name": name, "title": extra, "emails": emails})
        }),
        (field(), field()).prop_map(|(id, name)| json!({"id": id, "name": name})),
        // A failure: documented, or nearly.
        (any::<i64>(), field())
            .prop_map(|(id, message)| { json!({"success": false, "message": message, "id": id}) }),
        (".{0,8}", ".{0,8}").prop_map(|(field, code)| {
            json!({"success": false, "message": {field: [{"error": code}]}})
        }),
        any_json(),
    ]
}

/// Runs `property` on `CASES` inputs from `strategy`, and prints how many
/// ran (proptest's macro keeps that to itself).
fn check<S: Strategy>(
    name: &str,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let runs = AtomicUsize::new(0);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: CASES,
        // A failing case is printed, not saved beside the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&strategy, |input| {
        runs.fetch_add(1, Ordering::Relaxed);
        property(input)
    });
    println!("{name}: {} cases", runs.load(Ordering::Relaxed));
    if let Err(failure) = result {
        panic!("{name}: {failure}");
    }
}

#[test]
fn every_element_of_a_response_array_is_one_item() {
    check(
        "response arrays",
        prop::collection::vec(item(), 0..12),
        |items| {
            let body = serde_json::to_vec(&items).unwrap();
            macro_rules! decodes {
                ($record:ty, $failure:ty) => {{
                    let decoded: Vec<BulkItem<$record, $failure>> =
                        serde_json::from_slice(&body).expect("an array always decodes");
                    prop_assert_eq!(decoded.len(), items.len());
                    for (item, raw) in decoded.iter().zip(&items) {
                        // Anything that says success: false is a failure,
                        // documented or not; nothing else is.
                        let says_failure = raw.get("success") == Some(&Value::Bool(false));
                        prop_assert_eq!(item.is_failure(), says_failure);
                    }
                }};
            }
            decodes!(types::Person, BulkUpdateFailure);
            decodes!(types::Person, BulkCreateFailure);
            decodes!(types::Lead, BulkUpdateFailure);
            decodes!(types::Company, BulkUpdateFailure);
            decodes!(types::Opportunity, BulkCreateFailure);
            decodes!(types::Activity, BulkCreateFailure);
            Ok(())
        },
    );
}

#[test]
fn any_bytes_decode_or_fail_without_panicking() {
    check(
        "arbitrary bytes",
        prop::collection::vec(any::<u8>(), 0..256),
        |bytes| {
            let _ =
                serde_json::from_slice::<Vec<BulkItem<types::Person, BulkUpdateFailure>>>(&bytes);
            let _ = ErrorBody::parse(&bytes);
            Ok(())
        },
    );
}
