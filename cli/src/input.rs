//! Reading records from NDJSON or CSV, one at a time, on a thread of its
//! own, so that a file of any size is read in constant memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use copper_bulk::InvalidRecord;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::csv_records::{Cells, CsvRecord};

/// A record type the tool can read.
pub trait InputRecord: DeserializeOwned + JsonSchema + CsvRecord + Send + 'static {}

impl<T: DeserializeOwned + JsonSchema + CsvRecord + Send + 'static> InputRecord for T {}

/// How the input is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON record per line, as the spec describes it.
    Ndjson,
    /// A header row, then one record per row.
    Csv,
}

/// Where records come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// Standard input.
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Source {
    pub fn from_arg(arg: &str) -> Self {
        if arg == "-" {
            Source::Stdin
        } else {
            Source::File(PathBuf::from(arg))
        }
    }

    fn open(&self) -> Result<Box<dyn Read + Send>, String> {
        match self {
            Source::Stdin => Ok(Box::new(std::io::stdin())),
            Source::File(path) => File::open(path)
                .map(|file| Box::new(file) as Box<dyn Read + Send>)
                .map_err(|e| format!("cannot open {}: {e}", path.display())),
        }
    }

    /// How many records a file holds at most (its lines), for a progress
    /// bar; unknown for standard input.
    pub fn count_lines(&self) -> Option<u64> {
        let Source::File(path) = self else {
            return None;
        };
        let mut reader = BufReader::new(File::open(path).ok()?);
        let mut count = 0;
        loop {
            let buffer = reader.fill_buf().ok()?;
            if buffer.is_empty() {
                return Some(count);
            }
            count += buffer.iter().filter(|b| **b == b'\n').count() as u64;
            let consumed = buffer.len();
            reader.consume(consumed);
        }
    }
}

/// Records read so far, in input order; a record that could not be read is
/// an error saying where and why.
pub type Records<R> = mpsc::Receiver<Result<R, InvalidRecord>>;

/// How many records may wait between the reader and the sender.
const READ_AHEAD: usize = 1_024;

/// Opens `source` and starts reading it. Fails, before anything is read,
/// when the source cannot be opened or a CSV header names a column the
/// record type does not have.
pub fn read<R: InputRecord>(source: &Source, format: Format) -> Result<Records<R>, String> {
    read_from(source.open()?, format)
}

/// Starts reading records from `input`, as [`read`] does from a source.
pub fn read_from<R: InputRecord>(
    input: Box<dyn Read + Send>,
    format: Format,
) -> Result<Records<R>, String> {
    let (sender, receiver) = mpsc::channel(READ_AHEAD);
    match format {
        Format::Ndjson => {
            let schema = serde_json::to_value(schemars::schema_for!(R)).expect("schemas are JSON");
            std::thread::spawn(move || read_ndjson::<R>(input, &schema, &sender));
        }
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .trim(csv::Trim::All)
                .from_reader(input);
            let header = reader
                .headers()
                .map_err(|e| format!("cannot read the CSV header: {e}"))?
                .clone();
            let columns = header_columns::<R>(&header)?;
            std::thread::spawn(move || read_csv::<R>(reader, &columns, &sender));
        }
    }
    Ok(receiver)
}

fn read_ndjson<R: InputRecord>(
    input: Box<dyn Read + Send>,
    schema: &Value,
    sender: &mpsc::Sender<Result<R, InvalidRecord>>,
) {
    let mut reader = BufReader::new(input);
    let mut bytes = Vec::new();
    let mut line = 0;
    loop {
        bytes.clear();
        line += 1;
        match reader.read_until(b'\n', &mut bytes) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                let _ = sender.blocking_send(Err(InvalidRecord::new(format!(
                    "line {line}: cannot read the input: {e}"
                ))));
                return;
            }
        }
        let record = match std::str::from_utf8(&bytes) {
            Err(_) => Err(InvalidRecord::new(format!("line {line}: not UTF-8 text"))),
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => parse_json::<R>(text, schema)
                .map_err(|e| InvalidRecord::new(format!("line {line}: {e}"))),
        };
        if sender.blocking_send(record).is_err() {
            return;
        }
    }
}

/// Reads one JSON record, refusing fields the record type does not have:
/// a misspelt field would otherwise be dropped without a word.
pub fn parse_json<R: DeserializeOwned>(text: &str, schema: &Value) -> Result<R, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if !value.is_object() {
        return Err(format!("expected a JSON object, found {}", kind(&value)));
    }
    if let Some(path) = unknown_field(&value, schema, schema, "") {
        return Err(format!("unknown field `{path}`"));
    }
    serde_path_to_error::deserialize::<_, R>(value).map_err(|e| {
        let path = e.path().to_string();
        let error = e.into_inner();
        if path == "." {
            error.to_string()
        } else {
            format!("`{path}`: {error}")
        }
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The path of the first field in `value` that `schema` does not define.
fn unknown_field(value: &Value, schema: &Value, root: &Value, path: &str) -> Option<String> {
    let schema = resolve(schema, root);
    for key in ["anyOf", "oneOf"] {
        if let Some(members) = schema.get(key).and_then(Value::as_array) {
            return members
                .iter()
                .map(|member| resolve(member, root))
                .find(|member| member.get("properties").is_some() || member.get("items").is_some())
                .and_then(|member| unknown_field(value, member, root, path));
        }
    }
    match value {
        Value::Object(fields) => {
            let properties = schema.get("properties").and_then(Value::as_object)?;
            for (name, field) in fields {
                let path = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                match properties.get(name) {
                    None => return Some(path),
                    Some(property) => {
                        if let Some(unknown) = unknown_field(field, property, root, &path) {
                            return Some(unknown);
                        }
                    }
                }
            }
            None
        }
        Value::Array(items) => {
            let item_schema = schema.get("items")?;
            items.iter().enumerate().find_map(|(i, item)| {
                unknown_field(item, item_schema, root, &format!("{path}[{i}]"))
            })
        }
        _ => None,
    }
}

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix("#/")
            .map(|pointer| format!("/{pointer}"))
            .and_then(|pointer| root.pointer(&pointer))
            .unwrap_or(schema),
        None => schema,
    }
}

/// The position of each known column in the header.
fn header_columns<R: CsvRecord>(header: &csv::StringRecord) -> Result<Vec<&'static str>, String> {
    header
        .iter()
        .map(|name| {
            R::COLUMNS
                .iter()
                .find(|column| column.eq_ignore_ascii_case(name))
                .copied()
                .ok_or_else(|| {
                    format!(
                        "the CSV header names the column `{name}`, which this command does not take; the columns are: {}",
                        R::COLUMNS.join(", ")
                    )
                })
        })
        .collect()
}

fn read_csv<R: InputRecord>(
    mut reader: csv::Reader<Box<dyn Read + Send>>,
    columns: &[&'static str],
    sender: &mpsc::Sender<Result<R, InvalidRecord>>,
) {
    let mut row = csv::StringRecord::new();
    loop {
        let read = reader.read_record(&mut row);
        let line = row.position().map_or(0, |p| p.line());
        let record = match read {
            Ok(false) => return,
            Ok(true) if row.len() != columns.len() => Err(format!(
                "line {line}: {} cells for the header's {} columns",
                row.len(),
                columns.len()
            )),
            Ok(true) => {
                let cells: BTreeMap<&str, &str> = columns
                    .iter()
                    .zip(row.iter())
                    .filter(|(_, cell)| !cell.is_empty())
                    .map(|(column, cell)| (*column, cell))
                    .collect();
                R::from_cells(&Cells(cells)).map_err(|e| format!("line {line}: {e}"))
            }
            Err(e) => Err(format!("line {line}: {e}")),
        };
        if sender
            .blocking_send(record.map_err(InvalidRecord::new))
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use copper_bulk::PersonUpdate;

    use super::*;

    fn parse(text: &str) -> Result<PersonUpdate, String> {
        let schema = serde_json::to_value(schemars::schema_for!(PersonUpdate)).unwrap();
        parse_json(text, &schema)
    }

    #[test]
    fn records_are_read_with_three_states() {
        let update = parse(r#"{"id": 5, "title": null, "tags": ["a"]}"#).unwrap();
        assert_eq!(update, PersonUpdate::new(5).clear_title().tags(["a"]));
    }

    #[test]
    fn bad_records_say_what_and_where() {
        assert_eq!(
            parse(r#"{"id": 5, "titel": "CTO"}"#).unwrap_err(),
            "unknown field `titel`"
        );
        assert_eq!(
            parse(r#"{"id": 5, "emails": [{"email": "a@b.co", "kind": "work"}]}"#).unwrap_err(),
            "unknown field `emails[0].kind`"
        );
        assert_eq!(
            parse(r#"{"id": 5, "address": {"town": "x"}}"#).unwrap_err(),
            "unknown field `address.town`"
        );
        assert_eq!(
            parse(r#"{"title": "CTO"}"#).unwrap_err(),
            "missing field `id`"
        );
        assert!(
            parse(r#"{"id": "five"}"#)
                .unwrap_err()
                .starts_with("`id`: invalid type")
        );
        assert!(
            parse("[1]")
                .unwrap_err()
                .contains("expected a JSON object, found an array")
        );
        assert!(parse("{").unwrap_err().starts_with("not JSON"));
        // Custom field values are free-form.
        assert!(parse(r#"{"id": 5, "custom_fields": [{"custom_field_definition_id": 1, "value": {"x": 1}}]}"#).is_ok());
    }
}

/// Property tests of the readers: whatever the input holds, they never
/// panic, and every line (NDJSON) or row (CSV) gives exactly one result, in
/// order, so that no record is lost. The case counts are printed
/// (`--nocapture`) and recorded in RELIABILITY.md.
#[cfg(test)]
mod properties {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use copper_bulk::{PersonCreate, PersonUpdate};
    use proptest::prelude::*;
    use proptest::test_runner::{TestCaseError, TestRunner};

    use super::*;

    const CASES: u32 = 300;

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

    /// Every result the reader gives for `bytes`.
    fn read_all<R: InputRecord>(
        bytes: &[u8],
        format: Format,
    ) -> Result<Vec<Result<R, InvalidRecord>>, String> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        let mut records = read::<R>(&Source::File(file.path().to_owned()), format)?;
        let mut all = Vec::new();
        while let Some(record) = records.blocking_recv() {
            all.push(record);
        }
        Ok(all)
    }

    /// NDJSON lines: good records, broken JSON, other JSON, blank lines.
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            (1..1_000i64, "[a-zA-Z ]{0,12}").prop_map(|(id, title)| {
                serde_json::json!({"id": id, "title": title}).to_string()
            }),
            (1..1_000i64).prop_map(|id| format!(r#"{{"id": {id}, "titel": "typo"}}"#)),
            "[^\n]{0,40}",
            "[ \t]{0,3}",
            "\\{[^\n]{0,20}",
        ]
    }

    #[test]
    fn ndjson_gives_one_result_per_non_blank_line() {
        check(
            "NDJSON lines",
            prop::collection::vec(line(), 0..30),
            |lines| {
                let text = lines.join("\n");
                let results = read_all::<PersonUpdate>(text.as_bytes(), Format::Ndjson).unwrap();
                let expected = lines.iter().filter(|l| !l.trim().is_empty()).count();
                prop_assert_eq!(results.len(), expected);
                // An invalid line names its own line number.
                let numbered: Vec<usize> = lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                    .map(|(i, _)| i + 1)
                    .collect();
                for (result, line) in results.iter().zip(numbered) {
                    if let Err(invalid) = result {
                        let prefix = format!("line {line}: ");
                        prop_assert!(invalid.reason().starts_with(&prefix), "{}", invalid);
                    }
                }
                Ok(())
            },
        );
    }

    #[test]
    fn ndjson_never_panics_on_any_bytes() {
        check(
            "NDJSON bytes",
            prop::collection::vec(any::<u8>(), 0..300),
            |bytes| {
                let results = read_all::<PersonUpdate>(&bytes, Format::Ndjson).unwrap();
                let lines = bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                    .count();
                prop_assert_eq!(results.len(), lines);
                Ok(())
            },
        );
    }

    /// CSV rows of the create columns, with any text in the cells (quotes,
    /// commas and line breaks included), some rows short or long.
    fn rows() -> impl Strategy<Value = Vec<Vec<String>>> {
        let cell = prop_oneof!["[a-zA-Z@. ]{0,10}", "[^\u{0}]{0,12}", Just(String::new()),];
        prop::collection::vec(prop::collection::vec(cell, 1..6), 0..20)
    }

    #[test]
    fn csv_gives_one_result_per_row() {
        check("CSV rows", rows(), |rows| {
            let mut writer = csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(Vec::new());
            writer
                .write_record(["name", "title", "email", "tags", "city"])
                .unwrap();
            for row in &rows {
                writer.write_record(row).unwrap();
            }
            let bytes = writer.into_inner().unwrap();
            let results = read_all::<PersonCreate>(&bytes, Format::Csv).unwrap();
            prop_assert_eq!(results.len(), rows.len());
            for (result, row) in results.iter().zip(&rows) {
                if row.len() != 5 {
                    prop_assert!(result.is_err(), "a ragged row is invalid: {:?}", row);
                }
            }
            Ok(())
        });
    }

    #[test]
    fn csv_never_panics_on_any_bytes() {
        check(
            "CSV bytes",
            prop::collection::vec(any::<u8>(), 0..300),
            |bytes| {
                let mut input = b"name,title\n".to_vec();
                input.extend(bytes);
                let _ = read_all::<PersonCreate>(&input, Format::Csv);
                Ok(())
            },
        );
    }
}
