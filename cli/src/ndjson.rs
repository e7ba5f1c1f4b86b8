//! Reading NDJSON records: one JSON record per line, a misspelt field an
//! error that names it.

use std::io::{BufRead, BufReader, Read};

use copper_bulk::InvalidRecord;
use serde::de::DeserializeOwned;
use serde_ignored::Path;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::input::Skip;

/// Reads every line of `input` and sends one result per non-blank line, in
/// order. Returns when the input ends, or when nobody receives the records
/// any more; fails when the input cannot be read to its end. The records
/// `skip` names (by index) are not parsed: each is sent as an error.
pub fn read_ndjson<R: DeserializeOwned>(
    input: impl Read,
    sender: &mpsc::Sender<Result<R, InvalidRecord>>,
    mut skip: Option<Skip>,
) -> Result<(), String> {
    let mut reader = BufReader::new(input);
    let mut bytes = Vec::new();
    let mut line = 0;
    let mut index = 0;
    loop {
        bytes.clear();
        line += 1;
        let read = reader
            .read_until(b'\n', &mut bytes)
            .map_err(|e| format!("line {line}: cannot read the input: {e}"))?;
        if read == 0 {
            return Ok(());
        }
        if is_blank(&bytes) {
            continue;
        }
        index += 1;
        if skip.as_mut().is_some_and(|skip| skip(index - 1)) {
            let skipped = InvalidRecord::new(format!("line {line}: not read: settled before"));
            if sender.blocking_send(Err(skipped)).is_err() {
                return Ok(());
            }
            continue;
        }
        let record = match std::str::from_utf8(&bytes) {
            Err(_) => Err("not UTF-8 text".to_owned()),
            Ok(text) => parse_json::<R>(text),
        };
        let record = record.map_err(|e| InvalidRecord::new(format!("line {line}: {e}")));
        if sender.blocking_send(record).is_err() {
            return Ok(());
        }
    }
}

/// Whether a line holds no record: UTF-8 text of white space only (as
/// `str::trim` sees it). Such a line is skipped and takes no index.
pub fn is_blank(line: &[u8]) -> bool {
    std::str::from_utf8(line).is_ok_and(|text| text.trim().is_empty())
}

/// Reads one JSON record, refusing fields the record type does not have:
/// a misspelt field would otherwise be dropped without a word.
pub fn parse_json<R: DeserializeOwned>(text: &str) -> Result<R, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if !value.is_object() {
        return Err(format!("expected a JSON object, found {}", kind(&value)));
    }
    let mut unknown = None;
    let mut note_unknown = |path: Path<'_>| {
        unknown.get_or_insert_with(|| field_path(&path));
    };
    let parsed = serde_path_to_error::deserialize::<_, R>(serde_ignored::Deserializer::new(
        value,
        &mut note_unknown,
    ));
    // A misspelt field explains a missing or mistyped one better than the
    // other way round, so it is reported first.
    if let Some(path) = unknown {
        return Err(format!("unknown field `{path}`"));
    }
    parsed.map_err(|e| {
        let path = e.path().to_string();
        let error = e.into_inner();
        if path == "." {
            error.to_string()
        } else {
            format!("`{path}`: {error}")
        }
    })
}

/// A field's place in the record as a reader writes it: `emails[0].kind`.
fn field_path(path: &Path<'_>) -> String {
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        // An optional or wrapped value sits at its parent's place.
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
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

#[cfg(test)]
mod tests {
    use copper_bulk::PersonUpdate;

    use super::*;

    fn parse(text: &str) -> Result<PersonUpdate, String> {
        parse_json(text)
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
            parse(r#"{"titel": "CTO"}"#).unwrap_err(),
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

    #[test]
    fn blank_lines_are_white_space_as_trim_sees_it() {
        for blank in ["", "\n", " \t\r\n", "\u{b}", "\u{85}\u{a0}"] {
            assert!(is_blank(blank.as_bytes()), "{blank:?}");
        }
        for not_blank in [&b"{}"[..], b" x ", b"\xff"] {
            assert!(!is_blank(not_blank), "{not_blank:?}");
        }
    }
}
