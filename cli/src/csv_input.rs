//! Reading CSV records: a header naming known columns, then one record per
//! row, read through the record type's row type.

use std::io::Read;

use copper_bulk::InvalidRecord;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

/// A record type that can be read from a CSV row.
pub trait CsvRecord: Sized {
    /// One row: a field per column, `None` for an empty cell or a column
    /// the header does not name.
    type Row: DeserializeOwned;

    /// The columns a header may name, in the documented order.
    const COLUMNS: &'static [&'static str];

    /// The record a row holds.
    fn from_row(row: Self::Row) -> Result<Self, String>;
}

/// Reads the header of `input` and checks that it names only columns of
/// `R`, each once, in any case. Fails before any record is read otherwise.
pub fn open_csv<R: CsvRecord, I: Read>(input: I) -> Result<csv::Reader<I>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = reader
        .headers()
        .map_err(|e| format!("cannot read the CSV header: {e}"))?;
    let columns = header_columns::<R>(header)?;
    // The rows are read by the documented names, whatever their case here.
    reader.set_headers(csv::StringRecord::from(columns));
    Ok(reader)
}

/// The documented name of each column the header names.
fn header_columns<R: CsvRecord>(header: &csv::StringRecord) -> Result<Vec<&'static str>, String> {
    let mut columns: Vec<&'static str> = Vec::with_capacity(header.len());
    for name in header {
        let column = R::COLUMNS
            .iter()
            .find(|column| column.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!(
                    "the CSV header names the column `{name}`, which this command does not take; the columns are: {}",
                    R::COLUMNS.join(", ")
                )
            })?;
        if columns.contains(column) {
            return Err(format!("the CSV header names the column `{column}` twice"));
        }
        columns.push(column);
    }
    Ok(columns)
}

/// Reads every row of `reader` and sends one result per row, in order.
/// Returns when the input ends, or when nobody receives the records any
/// more; fails when the input cannot be read to its end.
pub fn read_csv<R: CsvRecord>(
    mut reader: csv::Reader<impl Read>,
    sender: &mpsc::Sender<Result<R, InvalidRecord>>,
) -> Result<(), String> {
    let header = reader
        .headers()
        .map_err(|e| format!("cannot read the CSV header: {e}"))?
        .clone();
    let mut row = csv::StringRecord::new();
    loop {
        let read = reader.read_record(&mut row);
        let line = row.position().map_or(0, |p| p.line());
        let record = match read {
            Ok(false) => return Ok(()),
            Ok(true) if row.len() != header.len() => Err(format!(
                "{} cells for the header's {} columns",
                row.len(),
                header.len()
            )),
            Ok(true) => row
                .deserialize::<R::Row>(Some(&header))
                .map_err(|e| e.to_string())
                .and_then(R::from_row),
            Err(e) if e.is_io_error() => {
                return Err(format!("line {line}: cannot read the input: {e}"));
            }
            Err(e) => Err(e.to_string()),
        };
        let record = record.map_err(|e| InvalidRecord::new(format!("line {line}: {e}")));
        if sender.blocking_send(record).is_err() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use copper_bulk::{PersonCreate, PersonUpdate};

    use super::*;

    fn header(names: &[&str]) -> Result<Vec<&'static str>, String> {
        header_columns::<PersonUpdate>(&csv::StringRecord::from(names.to_vec()))
    }

    #[test]
    fn a_header_names_known_columns_once_in_any_case() {
        assert_eq!(header(&["ID", "Title"]).unwrap(), ["id", "title"]);
        assert!(header(&["id", "titel"]).unwrap_err().contains("`titel`"));
        assert!(
            header(&["id", "title", "TITLE"])
                .unwrap_err()
                .contains("twice")
        );
        let create = csv::StringRecord::from(vec!["id", "name"]);
        assert!(
            header_columns::<PersonCreate>(&create)
                .unwrap_err()
                .contains("`id`")
        );
    }
}
