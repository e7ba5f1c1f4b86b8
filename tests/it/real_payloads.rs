//! Real Copper answers, recorded by other people, read with the generated
//! types and checked against the spec by Prism.
//!
//! The files sit in `tests/fixtures/real/<kind>/`: one directory per record
//! type, and `errors/` for answers that refused a whole request.
//! `SOURCES.md` there says where each file came from. A file holds one
//! endpoint's answer exactly as it was recorded: one record, a search page
//! of records, or a bulk failure item. These are the answers Copper gave
//! (or documented) rather than the ones the spec's authors imagined, so a
//! record type that refuses one of them refuses real data.

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::error_body::ErrorBody;
use copper_bulk_raw::types::{
    Activity, BulkCreateFailure, BulkUpdateFailure, Company, Lead, Opportunity, Person,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What a directory of the corpus holds.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    People,
    Leads,
    Companies,
    Opportunities,
    Activities,
    Errors,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::People,
        Kind::Leads,
        Kind::Companies,
        Kind::Opportunities,
        Kind::Activities,
        Kind::Errors,
    ];

    fn dir(self) -> &'static str {
        match self {
            Kind::People => "people",
            Kind::Leads => "leads",
            Kind::Companies => "companies",
            Kind::Opportunities => "opportunities",
            Kind::Activities => "activities",
            Kind::Errors => "errors",
        }
    }

    /// The operations whose answers hold this kind of record: the search
    /// that lists them, the bulk update (if Copper has one for them) and the
    /// bulk create, as paths under `/developer_api/v1/`.
    fn operations(self) -> (&'static str, Option<&'static str>, &'static str) {
        match self {
            Kind::People => (
                "people/search",
                Some("people/bulk_update"),
                "people/bulk_create",
            ),
            Kind::Leads => (
                "leads/search",
                Some("leads/bulk_update"),
                "leads/bulk_create",
            ),
            Kind::Companies => (
                "companies/search",
                Some("companies/bulk_update"),
                "companies/bulk_create",
            ),
            Kind::Opportunities => ("opportunities/search", None, "opportunities/bulk_create"),
            Kind::Activities => ("activities/search", None, "activities/bulk_create"),
            Kind::Errors => unreachable!("an error answers any operation"),
        }
    }
}

/// One recorded file.
struct Recorded {
    /// The path under `tests/fixtures/real`, as `SOURCES.md` names it.
    name: String,
    kind: Kind,
    /// The file's bytes, as recorded.
    raw: Vec<u8>,
    body: Value,
}

impl Recorded {
    /// The items of the answer: the elements of an array, or the one object.
    fn items(&self) -> Vec<&Value> {
        match &self.body {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        }
    }

    /// The HTTP status an error file was recorded with, from the number its
    /// name starts with.
    fn status(&self) -> u16 {
        let file = self.name.rsplit('/').next().unwrap();
        file.split('-')
            .next()
            .and_then(|status| status.parse().ok())
            .unwrap_or_else(|| panic!("{}: an error file's name starts with its status", self.name))
    }
}

fn says_failure(item: &Value) -> bool {
    item.get("success") == Some(&Value::Bool(false))
}

fn corpus_dir() -> PathBuf {
    crate::support::root().join("tests/fixtures/real")
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Every recorded file, in a stable order. Panics on anything the tests
/// would not know how to read, rather than skipping it: a directory that
/// names no record type, a file that is not JSON, or a kind with no file.
fn corpus() -> Vec<Recorded> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = file_name(&path);
        if !path.is_dir() {
            assert_eq!(
                name,
                "SOURCES.md",
                "{}: only SOURCES.md may sit beside the kinds' directories",
                path.display()
            );
            continue;
        }
        // The licences the sources are copied under, not answers.
        if name == "LICENSES" {
            continue;
        }
        let kind = Kind::ALL
            .into_iter()
            .find(|kind| kind.dir() == name)
            .unwrap_or_else(|| {
                panic!(
                    "{}: no record type is known for this directory; name it in `Kind`",
                    path.display()
                )
            });
        for file in std::fs::read_dir(&path).unwrap() {
            let path = file.unwrap().path();
            assert!(
                path.extension().is_some_and(|e| e == "json"),
                "{}: every recorded answer is a .json file",
                path.display()
            );
            let raw = std::fs::read(&path).unwrap();
            let body = serde_json::from_slice(&raw)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
            files.push(Recorded {
                name: format!("{name}/{}", file_name(&path)),
                kind,
                raw,
                body,
            });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    for kind in Kind::ALL {
        assert!(
            files.iter().any(|file| file.kind == kind),
            "the corpus holds no {} answer",
            kind.dir()
        );
    }
    files
}

/// Where a decoded custom field's value differs from the recorded one.
/// An absent key and `null` are the same answer.
fn custom_field_differences(at: &str, recorded: &Value, decoded: &Value) -> Vec<String> {
    let null = Value::Null;
    let fields = |record: &Value| match record.get("custom_fields") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(fields)) => fields.clone(),
        Some(other) => vec![other.clone()],
    };
    let (want, got) = (fields(recorded), fields(decoded));
    if want.len() != got.len() {
        return vec![format!(
            "{at}: {} custom fields recorded, {} decoded",
            want.len(),
            got.len()
        )];
    }
    let mut differences = Vec::new();
    for (want, got) in want.iter().zip(&got) {
        for key in ["custom_field_definition_id", "value", "computed_value"] {
            let (w, g) = (
                want.get(key).unwrap_or(&null),
                got.get(key).unwrap_or(&null),
            );
            if w != g {
                differences.push(format!(
                    "{at}: custom field {}: {key} {w} was recorded, {g} decoded",
                    want["custom_field_definition_id"]
                ));
            }
        }
    }
    differences
}

/// What went wrong reading `file`'s items as records of type `T` and
/// failure items.
fn decoding_problems<T: DeserializeOwned + Serialize + Debug>(file: &Recorded) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, item) in file.items().into_iter().enumerate() {
        let at = format!("{} item {i}", file.name);
        if says_failure(item) {
            // Every failure is at least a create's failure; one that names
            // the record's id is an update's.
            match serde_json::from_value::<BulkItem<T, BulkCreateFailure>>(item.clone()) {
                Ok(BulkItem::Failed(failure)) => {
                    let decoded = serde_json::to_value(&failure).unwrap();
                    if decoded["message"] != item["message"] {
                        problems.push(format!(
                            "{at}: message {} was recorded, {} decoded",
                            item["message"], decoded["message"]
                        ));
                    }
                }
                other => problems.push(format!("{at}: not a failure: {other:?}")),
            }
            if let Some(id) = item.get("id") {
                match serde_json::from_value::<BulkItem<T, BulkUpdateFailure>>(item.clone()) {
                    Ok(BulkItem::Failed(failure)) if Some(failure.id) == id.as_i64() => {}
                    other => problems.push(format!("{at}: not an update's failure: {other:?}")),
                }
            }
            continue;
        }
        match serde_json::from_value::<BulkItem<T, BulkUpdateFailure>>(item.clone()) {
            Ok(BulkItem::Ok(record)) => {
                let decoded = serde_json::to_value(&record).unwrap();
                if decoded.get("id") != item.get("id") {
                    problems.push(format!("{at}: id {:?} decoded", decoded.get("id")));
                }
                problems.extend(custom_field_differences(&at, item, &decoded));
            }
            Ok(BulkItem::Unrecognized(unrecognized)) => {
                problems.push(format!("{at}: not a record: {}", unrecognized.error));
            }
            other => problems.push(format!("{at}: not a record: {other:?}")),
        }
    }
    // A search page is read whole, as the raw client reads a search's
    // answer: one record it cannot read fails the page.
    if file.body.is_array()
        && !file.items().into_iter().any(says_failure)
        && let Err(e) = serde_json::from_value::<Vec<T>>(file.body.clone())
    {
        problems.push(format!("{}: the page does not decode: {e}", file.name));
    }
    problems
}

/// What went wrong reading an error file as the error body it is.
fn error_problems(file: &Recorded) -> Vec<String> {
    let body = &file.body;
    let ok = match ErrorBody::parse(&file.raw) {
        ErrorBody::Api(error) => {
            !error.success
                && Some(error.status) == body["status"].as_i64()
                && Some(error.message.as_str()) == body["message"].as_str()
                && i64::from(file.status()) == error.status
        }
        ErrorBody::SizeLimit(error) => {
            Some(error.error.as_str()) == body["error"].as_str()
                && body.as_object().is_some_and(|fields| fields.len() == 1)
        }
        _ => false,
    };
    if ok {
        Vec::new()
    } else {
        vec![format!(
            "{}: read as {:?}",
            file.name,
            ErrorBody::parse(&file.raw)
        )]
    }
}

fn problems(file: &Recorded) -> Vec<String> {
    match file.kind {
        Kind::People => decoding_problems::<Person>(file),
        Kind::Leads => decoding_problems::<Lead>(file),
        Kind::Companies => decoding_problems::<Company>(file),
        Kind::Opportunities => decoding_problems::<Opportunity>(file),
        Kind::Activities => decoding_problems::<Activity>(file),
        Kind::Errors => error_problems(file),
    }
}

#[test]
fn every_recorded_answer_decodes_exactly() {
    let problems: Vec<String> = corpus().iter().flat_map(problems).collect();
    assert!(
        problems.is_empty(),
        "{} problems reading real answers:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The fields of `value` that `schema` does not name, at any depth the
/// spec describes: a field the spec leaves out is one the generated types
/// drop, so no typed user can read it.
fn undeclared_fields(spec: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return undeclared_fields(spec, &spec["components"]["schemas"][name], value, at);
    }
    match value {
        Value::Object(fields) => {
            let Some(declared) = schema["properties"].as_object() else {
                return Vec::new();
            };
            fields
                .iter()
                .flat_map(|(name, field)| match declared.get(name) {
                    Some(schema) => undeclared_fields(spec, schema, field, &format!("{at}.{name}")),
                    None => vec![format!("{at}.{name}")],
                })
                .collect()
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(i, item)| {
                undeclared_fields(spec, &schema["items"], item, &format!("{at}[{i}]"))
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn every_recorded_field_is_one_the_spec_names() {
    let spec = crate::support::spec();
    let mut undeclared = Vec::new();
    for file in corpus() {
        let schema = match file.kind {
            Kind::People => "Person",
            Kind::Leads => "Lead",
            Kind::Companies => "Company",
            Kind::Opportunities => "Opportunity",
            Kind::Activities => "Activity",
            Kind::Errors => continue,
        };
        let schema = &spec["components"]["schemas"][schema];
        for (i, item) in file.items().into_iter().enumerate() {
            if !says_failure(item) {
                let at = format!("{} item {i}", file.name);
                undeclared.extend(undeclared_fields(&spec, schema, item, &at));
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "fields Copper sent that the spec does not name:\n{}",
        undeclared.join("\n")
    );
}

#[test]
fn the_corpus_holds_failures_and_custom_values_of_every_json_type() {
    let corpus = corpus();
    let items: Vec<&Value> = corpus
        .iter()
        .filter(|file| file.kind != Kind::Errors)
        .flat_map(Recorded::items)
        .collect();
    assert!(
        items.iter().any(|item| says_failure(item)),
        "no failure item"
    );
    let values: Vec<&Value> = items
        .iter()
        .filter_map(|item| item.get("custom_fields")?.as_array())
        .flatten()
        .filter_map(|field| field.get("value"))
        .collect();
    type Is = fn(&Value) -> bool;
    let kinds: [(&str, Is); 6] = [
        ("null", Value::is_null),
        ("a boolean", Value::is_boolean),
        ("an integer", |v| v.is_i64()),
        ("a fractional number", |v| v.is_f64()),
        ("a text", Value::is_string),
        ("a list of ids", |v| {
            v.as_array().is_some_and(|ids| !ids.is_empty())
        }),
    ];
    for (name, is) in kinds {
        assert!(values.iter().any(|v| is(v)), "no custom value is {name}");
    }
}

#[test]
fn every_recorded_file_has_its_source_listed() {
    let sources = std::fs::read_to_string(corpus_dir().join("SOURCES.md")).unwrap();
    let files: Vec<String> = corpus().into_iter().map(|file| file.name).collect();
    for file in &files {
        assert!(
            sources.contains(&format!("`{file}`")),
            "SOURCES.md does not list {file}"
        );
    }
    // Every licence copied beside the corpus is the one a source names.
    for licence in std::fs::read_dir(corpus_dir().join("LICENSES")).unwrap() {
        let licence = file_name(&licence.unwrap().path());
        assert!(
            sources.contains(&format!("`LICENSES/{licence}`")),
            "SOURCES.md names no source under LICENSES/{licence}"
        );
    }
    // Every file the list names is in the corpus.
    for line in sources.lines().filter(|line| line.starts_with("| `")) {
        let listed = line.split('`').nth(1).unwrap();
        assert!(
            files.iter().any(|file| file == listed),
            "SOURCES.md lists {listed}, which is not in the corpus"
        );
    }
}

/// One answer to replay through Prism: the operation (a path under
/// `/developer_api/v1/`), the status and the body.
struct Replay {
    operation: &'static str,
    status: u16,
    body: Vec<u8>,
}

/// The answers `file` is replayed as. A search page is the search's answer
/// as recorded; a single record or failure item is wrapped in an array, the
/// shape of the search or bulk answer that would carry it (the spec says a
/// bulk item is the record exactly as the single-record endpoint returns
/// it). An error is replayed as the answer of every operation that can
/// give it: Copper's usual error body any operation, the request-size error
/// (the body without `success`) only the bulk ones, which have a size limit.
fn replays(file: &Recorded, spec: &Value) -> Vec<Replay> {
    let wrapped = || [b"[".as_slice(), file.raw.trim_ascii(), b"]"].concat();
    if file.kind == Kind::Errors {
        let any_operation = file.body.get("success").is_some();
        return operations(spec)
            .into_iter()
            .filter(|operation| any_operation || operation.contains("/bulk_"))
            .map(|operation| Replay {
                operation,
                status: file.status(),
                body: file.raw.clone(),
            })
            .collect();
    }
    let (search, bulk_update, bulk_create) = file.kind.operations();
    let (operation, body) = match &file.body {
        Value::Array(_) => (search, file.raw.clone()),
        item if says_failure(item) && item.get("id").is_some() => (
            bulk_update
                .unwrap_or_else(|| panic!("{}: Copper has no bulk update for these", file.name)),
            wrapped(),
        ),
        item if says_failure(item) => (bulk_create, wrapped()),
        _ => (search, wrapped()),
    };
    vec![Replay {
        operation,
        status: 200,
        body,
    }]
}

/// Every operation of the spec, as paths under `/developer_api/v1/`.
fn operations(spec: &Value) -> Vec<&'static str> {
    let all = [
        "people/bulk_update",
        "people/bulk_create",
        "leads/bulk_update",
        "leads/bulk_create",
        "companies/bulk_update",
        "companies/bulk_create",
        "opportunities/bulk_create",
        "activities/bulk_create",
        "people/search",
        "leads/search",
        "companies/search",
        "opportunities/search",
        "activities/search",
    ];
    assert_eq!(
        spec["paths"].as_object().unwrap().len(),
        all.len(),
        "the spec's operations changed: list them here"
    );
    all.to_vec()
}

/// The first request example the spec gives for `operation`: a request
/// Prism finds valid, so that any violation it reports is the answer's.
fn request_example(spec: &Value, operation: &str) -> Value {
    let examples = &spec["paths"][format!("/developer_api/v1/{operation}")]["post"]["requestBody"]
        ["content"]["application/json"]["examples"];
    let example = examples
        .as_object()
        .and_then(|examples| examples.values().next())
        .unwrap_or_else(|| panic!("the spec has no request example for {operation}"));
    match example["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/examples/");
            spec["components"]["examples"][name]["value"].clone()
        }
        None => example["value"].clone(),
    }
}

const NEEDS_PROXY: &str = "needs Prism's proxy at COPPER_PRISM_PROXY_URL, replaying from COPPER_REPLAY_ADDR: run by cargo xtask test";

#[tokio::test]
#[ignore = "needs Prism's proxy at COPPER_PRISM_PROXY_URL, replaying from COPPER_REPLAY_ADDR: run by cargo xtask test"]
async fn prism_finds_every_recorded_answer_true_to_the_spec() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let proxy = std::env::var("COPPER_PRISM_PROXY_URL").expect(NEEDS_PROXY);
    let replay = std::env::var("COPPER_REPLAY_ADDR").expect(NEEDS_PROXY);
    // Prism forwards every request to this address, where the recorded
    // answer waits.
    let upstream = MockServer::builder()
        .listener(std::net::TcpListener::bind(&replay).unwrap())
        .start()
        .await;
    let spec = crate::support::spec();
    let http = reqwest::Client::new();

    // Sends one request through Prism with `answer` waiting upstream;
    // returns what Prism found wrong, if anything.
    let check = async |operation: &str, status: u16, answer: Vec<u8>| -> Option<String> {
        upstream.reset().await;
        Mock::given(method("POST"))
            .and(path(format!("/developer_api/v1/{operation}")))
            .respond_with(ResponseTemplate::new(status).set_body_raw(answer, "application/json"))
            .expect(1)
            .mount(&upstream)
            .await;
        let response = http
            .post(format!("{proxy}/developer_api/v1/{operation}"))
            .header("X-PW-AccessToken", "recorded-token")
            .header("X-PW-Application", "developer_api")
            .header("X-PW-UserEmail", "recorded@example.com")
            .json(&request_example(&spec, operation))
            .send()
            .await
            .unwrap();
        if response.status() != status {
            return Some(format!("{operation}: Prism answered {}", response.status()));
        }
        let violations = response.headers().get("sl-violations")?;
        Some(format!("{operation}: {}", violations.to_str().unwrap()))
    };

    // A record that breaks the spec must be caught, or nothing below proves
    // anything.
    let broken = br#"[{"id": "not a number", "name": "Broken"}]"#.to_vec();
    assert!(
        check("people/search", 200, broken).await.is_some(),
        "Prism let a broken answer through: is it proxying and validating?"
    );

    let mut problems = Vec::new();
    let mut replayed = 0;
    for file in corpus() {
        for replay in replays(&file, &spec) {
            if let Some(problem) = check(replay.operation, replay.status, replay.body).await {
                problems.push(format!("{}: {problem}", file.name));
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0);
    assert!(
        problems.is_empty(),
        "Prism found {} of {replayed} recorded answers in breach of the spec:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
