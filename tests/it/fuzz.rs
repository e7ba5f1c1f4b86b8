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
use serde::Serialize;
use serde::de::{Deserialize as _, DeserializeOwned};
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

/// What the decoder made of one item.
#[derive(Clone, Debug, PartialEq)]
enum Class {
    /// A record, as JSON again.
    Record(Value),
    /// A failure item, as JSON again.
    Failure(Value),
    /// Neither, with the item kept as it came.
    Unrecognized(Value),
}

/// Decodes a response body as items of `T` and `F`, and says what each
/// item became.
fn classify<T, F>(body: &[u8]) -> serde_json::Result<Vec<Class>>
where
    T: DeserializeOwned + Serialize,
    F: DeserializeOwned + Serialize,
{
    let items: Vec<BulkItem<T, F>> = serde_json::from_slice(body)?;
    Ok(items
        .into_iter()
        .map(|item| match item {
            BulkItem::Ok(record) => Class::Record(serde_json::to_value(record).unwrap()),
            BulkItem::Failed(failure) => Class::Failure(serde_json::to_value(failure).unwrap()),
            BulkItem::Unrecognized(item) => Class::Unrecognized(item.raw),
        })
        .collect())
}

/// An entity's response items: the fixtures that hold them and the
/// decoder of its responses.
struct Entity {
    dir: &'static str,
    classify: fn(&[u8]) -> serde_json::Result<Vec<Class>>,
    /// Whether an element decodes as the record type.
    is_record: fn(&Value) -> bool,
    /// Whether an element decodes as the failure type.
    is_failure_item: fn(&Value) -> bool,
}

macro_rules! entity {
    ($dir:literal, $record:ty, $failure:ty) => {
        Entity {
            dir: $dir,
            classify: classify::<$record, $failure>,
            is_record: |raw| <$record>::deserialize(raw).is_ok(),
            is_failure_item: |raw| <$failure>::deserialize(raw).is_ok(),
        }
    };
}

/// Every directory of response fixtures, with the types its items are.
const ENTITIES: [Entity; 7] = [
    entity!("update", types::Person, BulkUpdateFailure),
    entity!("create", types::Person, BulkCreateFailure),
    entity!("companies", types::Company, BulkUpdateFailure),
    entity!("leads", types::Lead, BulkUpdateFailure),
    entity!("leads-create", types::Lead, BulkCreateFailure),
    entity!("opportunities", types::Opportunity, BulkCreateFailure),
    entity!("activities", types::Activity, BulkCreateFailure),
];

/// The items of every fixture of `dir`, as Copper sent them.
fn fixture_items(dir: &str) -> Vec<Value> {
    let dir = crate::support::root()
        .join("tests/fixtures/responses")
        .join(dir);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .flat_map(|path| {
            let items: Vec<Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            items
        })
        .collect()
}

/// A change to one item of a fixture. Each names its target by an index
/// into the places of the item where the change applies, so that any item
/// can take any change (one with no such place is left alone).
#[derive(Clone, Debug)]
enum Mutation {
    /// Copper may add fields: a field no record has, with any value, in
    /// the item or in an object nested in it.
    AddUnknownField(prop::sample::Index, String, Value),
    /// Copper may send `null` where an array was expected.
    NullForArray(prop::sample::Index),
    /// A field that disappears.
    DropField(prop::sample::Index),
    /// Any value that turns `null`.
    Null(prop::sample::Index),
    /// Any value that turns into another JSON type.
    Retype(prop::sample::Index, Value),
    /// A number that turns into one at or beyond the edges of the integer
    /// types, or a fraction.
    HugeNumber(prop::sample::Index, Value),
    /// The item gains (or changes) a `success` field: `false` makes any
    /// item, even a whole record, a failure.
    Success(Value),
}

impl Mutation {
    fn apply(&self, item: &mut Value) {
        let pick = |index: &prop::sample::Index, places: Vec<String>| {
            (!places.is_empty()).then(|| places[index.index(places.len())].clone())
        };
        match self {
            Mutation::AddUnknownField(index, name, value) => {
                // A failure's `message` maps field names to their errors:
                // a key there is a field of the record, not of the item, and
                // its errors are not an optional array.
                let objects = places(item, &|v| v.is_object())
                    .into_iter()
                    .filter(|place| !place.starts_with("/message"))
                    .collect();
                if let Some(place) = pick(index, objects)
                    && let Some(Value::Object(fields)) = item.pointer_mut(&place)
                {
                    fields.insert(name.clone(), value.clone());
                }
            }
            Mutation::NullForArray(index) => {
                let arrays = places(item, &|v| v.is_array())
                    .into_iter()
                    .filter(|place| !place.starts_with("/message"))
                    .collect();
                if let Some(place) = pick(index, arrays) {
                    *item.pointer_mut(&place).unwrap() = Value::Null;
                }
            }
            Mutation::DropField(index) => {
                let fields = places(item, &|_| true)
                    .into_iter()
                    .filter(|place| is_field(item, place))
                    .collect();
                if let Some(place) = pick(index, fields) {
                    let (parent, name) = place.rsplit_once('/').unwrap();
                    if let Some(Value::Object(fields)) = item.pointer_mut(parent) {
                        fields.remove(&unescape(name));
                    }
                }
            }
            Mutation::Null(index) => {
                if let Some(place) = pick(index, places(item, &|_| true)) {
                    *item.pointer_mut(&place).unwrap() = Value::Null;
                }
            }
            Mutation::Retype(index, value) => {
                if let Some(place) = pick(index, places(item, &|_| true)) {
                    *item.pointer_mut(&place).unwrap() = value.clone();
                }
            }
            Mutation::Success(value) => {
                if let Value::Object(fields) = item {
                    fields.insert("success".into(), value.clone());
                }
            }
            Mutation::HugeNumber(index, value) => {
                if let Some(place) = pick(index, places(item, &|v| v.is_number())) {
                    *item.pointer_mut(&place).unwrap() = value.clone();
                }
            }
        }
    }
}

/// The JSON pointers of every value in `value` (itself included) that
/// `wanted` accepts, in document order.
fn places(value: &Value, wanted: &dyn Fn(&Value) -> bool) -> Vec<String> {
    fn walk(value: &Value, at: String, wanted: &dyn Fn(&Value) -> bool, out: &mut Vec<String>) {
        if wanted(value) {
            out.push(at.clone());
        }
        match value {
            Value::Object(fields) => {
                for (name, field) in fields {
                    let name = name.replace('~', "~0").replace('/', "~1");
                    walk(field, format!("{at}/{name}"), wanted, out);
                }
            }
            Value::Array(elements) => {
                for (i, element) in elements.iter().enumerate() {
                    walk(element, format!("{at}/{i}"), wanted, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, String::new(), wanted, &mut out);
    out
}

/// Whether `place` is a field of an object (not the item, nor an element).
fn is_field(item: &Value, place: &str) -> bool {
    place
        .rsplit_once('/')
        .and_then(|(parent, _)| item.pointer(parent))
        .is_some_and(Value::is_object)
}

fn unescape(name: &str) -> String {
    name.replace("~1", "/").replace("~0", "~")
}

/// Removes every field [`Mutation::AddUnknownField`] added from `value`.
fn strip_new_fields(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.retain(|name, _| !name.starts_with("added_by_fuzz_"));
            fields.values_mut().for_each(strip_new_fields);
        }
        Value::Array(elements) => elements.iter_mut().for_each(strip_new_fields),
        _ => {}
    }
}

/// Writes `value` as JSON with the fields of every object in an order
/// drawn from `seed`: Copper promises no order.
fn write_shuffled(value: &Value, seed: u64, out: &mut String) {
    match value {
        Value::Object(fields) => {
            let mut fields: Vec<_> = fields.iter().collect();
            // A Fisher-Yates shuffle, drawn from splitmix64 on the seed.
            let mut state = seed;
            for i in (1..fields.len()).rev() {
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^= z >> 31;
                fields.swap(i, (z % (i as u64 + 1)) as usize);
            }
            out.push('{');
            for (i, (name, field)) in fields.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(name).unwrap());
                out.push(':');
                write_shuffled(field, seed.wrapping_add(i as u64 + 1), out);
            }
            out.push('}');
        }
        Value::Array(elements) => {
            out.push('[');
            for (i, element) in elements.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_shuffled(element, seed.wrapping_add(i as u64 + 1), out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A leaf of some JSON type, for a value that changes type.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,8}".prop_map(Value::String),
        Just(json!([])),
        Just(json!({})),
        Just(json!([1, "a", null])),
        Just(json!({"id": 1})),
    ]
}

/// Numbers at and beyond the edges of what the record types hold.
fn huge_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(i64::MAX)),
        Just(json!(f64::MAX)),
        Just(json!(-f64::MAX)),
        Just(json!(1.5)),
        Just(json!(-1)),
        Just(json!(0)),
        // One past u64::MAX: JSON holds it, Rust's integers do not.
        Just(serde_json::from_str("18446744073709551616").unwrap()),
        Just(serde_json::from_str("-9223372036854775809").unwrap()),
    ]
}

fn mutation(tolerated_only: bool) -> BoxedStrategy<Mutation> {
    let index = any::<prop::sample::Index>;
    let tolerated = prop_oneof![
        (index(), "added_by_fuzz_[a-z_]{1,8}", any_json())
            .prop_map(|(at, name, value)| Mutation::AddUnknownField(at, name, value)),
        index().prop_map(Mutation::NullForArray),
    ];
    if tolerated_only {
        return tolerated.boxed();
    }
    prop_oneof![
        2 => tolerated,
        2 => index().prop_map(Mutation::DropField),
        1 => index().prop_map(Mutation::Null),
        2 => (index(), leaf()).prop_map(|(at, value)| Mutation::Retype(at, value)),
        1 => (index(), huge_number()).prop_map(|(at, value)| Mutation::HugeNumber(at, value)),
        1 => prop_oneof![Just(json!(false)), Just(json!(true)), Just(json!("false"))]
            .prop_map(Mutation::Success),
    ]
    .boxed()
}

/// One element of a response array: a fixture item (chosen by index), the
/// changes made to it, and the seed of its field order.
type Element = (prop::sample::Index, Vec<Mutation>, u64);

fn elements(tolerated_only: bool) -> impl Strategy<Value = (prop::sample::Index, Vec<Element>)> {
    let element = (
        any::<prop::sample::Index>(),
        prop::collection::vec(mutation(tolerated_only), 0..4),
        any::<u64>(),
    );
    (
        any::<prop::sample::Index>(),
        prop::collection::vec(element, 0..8),
    )
}

/// The response body for `elements` of `pool`, and its elements as JSON.
fn body(pool: &[Value], elements: &[Element]) -> (String, Vec<Value>) {
    let mut text = String::from("[");
    let mut items = Vec::new();
    for (i, (which, mutations, seed)) in elements.iter().enumerate() {
        let mut item = pool[which.index(pool.len())].clone();
        for mutation in mutations {
            mutation.apply(&mut item);
        }
        if i > 0 {
            text.push_str(",\n");
        }
        let mut written = String::new();
        write_shuffled(&item, *seed, &mut written);
        text.push_str(&written);
        // The element as a reader of the text sees it, which is not always
        // the value written: serde_json reads some floats a unit off.
        items.push(serde_json::from_str(&written).unwrap());
    }
    text.push(']');
    (text, items)
}

/// Arrays of real items of every entity, changed in every way Copper or a
/// broken proxy might: whatever the items hold, the array decodes, one item
/// per element, and each element is a record when it says nothing of
/// failure and reads as one, a failure when it says `success: false` and
/// reads as one, and otherwise an unrecognized item that keeps the element
/// exactly as it came.
#[test]
fn mutated_fixture_items_are_each_classified() {
    let pools: Vec<Vec<Value>> = ENTITIES.iter().map(|e| fixture_items(e.dir)).collect();
    check(
        "mutated fixture arrays",
        elements(false),
        |(entity, elements)| {
            let at = entity.index(ENTITIES.len());
            let (entity, pool) = (&ENTITIES[at], &pools[at]);
            let (text, items) = body(pool, &elements);
            let classes = (entity.classify)(text.as_bytes())
                .map_err(|e| TestCaseError::fail(format!("{}: {e}\n{text}", entity.dir)))?;
            prop_assert_eq!(classes.len(), items.len());
            for (class, raw) in classes.iter().zip(&items) {
                let says_failure = raw.get("success") == Some(&Value::Bool(false));
                match class {
                    Class::Record(_) => {
                        prop_assert!(!says_failure && (entity.is_record)(raw), "{raw}");
                    }
                    Class::Failure(_) => {
                        prop_assert!(says_failure && (entity.is_failure_item)(raw), "{raw}");
                    }
                    Class::Unrecognized(kept) => {
                        prop_assert_eq!(kept, raw);
                        let decodes = if says_failure {
                            (entity.is_failure_item)(raw)
                        } else {
                            raw.is_object() && (entity.is_record)(raw)
                        };
                        prop_assert!(
                            !decodes,
                            "{}: decodes but was not recognized: {raw}",
                            entity.dir
                        );
                    }
                }
            }
            Ok(())
        },
    );
}

/// The changes Copper's change policy allows (new fields anywhere, `null`
/// for an array, fields in any order) change nothing in what an item
/// decodes as, nor in the record or failure read from it.
#[test]
fn tolerated_changes_keep_each_item_as_it_was() {
    let pools: Vec<Vec<Value>> = ENTITIES.iter().map(|e| fixture_items(e.dir)).collect();
    check("tolerated changes", elements(true), |(entity, elements)| {
        let at = entity.index(ENTITIES.len());
        let (entity, pool) = (&ENTITIES[at], &pools[at]);
        let (text, _) = body(pool, &elements);
        let changed = (entity.classify)(text.as_bytes()).unwrap();
        let unchanged: Vec<Element> = elements
            .iter()
            .map(|(which, _, _)| (*which, Vec::new(), 0))
            .collect();
        let (original, _) = body(pool, &unchanged);
        let original = (entity.classify)(original.as_bytes()).unwrap();
        for ((before, after), (_, mutations, _)) in original.iter().zip(&changed).zip(&elements) {
            let arrays_nulled = mutations
                .iter()
                .any(|m| matches!(m, Mutation::NullForArray(_)));
            match (before, after) {
                // A new field changes nothing that was read; a `null` array
                // reads as absent, so only the kind of item must stay.
                (Class::Record(a), Class::Record(b)) | (Class::Failure(a), Class::Failure(b)) => {
                    // Free-form values (an activity's `new_value`, custom
                    // field values) keep new fields as they came.
                    let mut b = b.clone();
                    strip_new_fields(&mut b);
                    prop_assert!(arrays_nulled || *a == b, "{}: {a} became {b}", entity.dir);
                }
                (Class::Unrecognized(_), Class::Unrecognized(_)) => {}
                _ => prop_assert!(
                    false,
                    "{}: {before:?} became {after:?} after {mutations:?}",
                    entity.dir
                ),
            }
        }
        Ok(())
    });
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
