//! Opening the input once, and reading its records on a thread of their
//! own, so that a file of any size is read in constant memory, with an
//! explicit word on how reading ended.

use std::any::Any;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::thread::JoinHandle;

use copper_bulk::InvalidRecord;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::csv_input::{CsvRecord, open_csv, read_csv};
use crate::ndjson::read_ndjson;

/// A record type the tool can read.
pub trait InputRecord: DeserializeOwned + CsvRecord + Send + 'static {}

impl<T: DeserializeOwned + CsvRecord + Send + 'static> InputRecord for T {}

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
    /// A file, which may be a named pipe or a device.
    File(PathBuf),
}

/// An opened input.
pub type Reader = Box<dyn Read + Send>;

impl Source {
    /// The source a `--input` argument names: `-` is standard input.
    pub fn from_arg(arg: &str) -> Self {
        if arg == "-" {
            Source::Stdin
        } else {
            Source::File(PathBuf::from(arg))
        }
    }

    /// Opens the source, once: a pipe can be read only once. Returns the
    /// reader and, for a regular file, its size in bytes, which a progress
    /// bar can count against; a pipe or standard input has none.
    pub fn open(&self) -> Result<(Reader, Option<u64>), String> {
        match self {
            Source::Stdin => Ok((Box::new(std::io::stdin()), None)),
            Source::File(path) => {
                let file =
                    File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                let size = file
                    .metadata()
                    .ok()
                    .filter(std::fs::Metadata::is_file)
                    .map(|metadata| metadata.len());
                Ok((Box::new(file), size))
            }
        }
    }
}

/// Records read so far, in input order; a record that could not be read is
/// an error saying where and why. The channel closes when reading ends, for
/// whatever reason: [`Reading::end`] says which.
pub type Records<R> = mpsc::Receiver<Result<R, InvalidRecord>>;

/// How many records may wait between the reader and the sender.
const READ_AHEAD: usize = 1_024;

/// The records being read, and the thread reading them.
#[derive(Debug)]
pub struct Input<R> {
    /// The records, as they are read.
    pub records: Records<R>,
    /// How reading ends.
    pub reading: Reading,
}

/// The thread reading the input, which says how reading ended: at the end
/// of the input, or with a failure (an I/O error, or a panic of the
/// reader). A closed channel alone cannot tell these apart.
#[derive(Debug)]
pub struct Reading(JoinHandle<Result<(), String>>);

impl Reading {
    /// Whether the input was read to its end. Call it once the records'
    /// channel has closed: the thread has then finished or is finishing, so
    /// this does not wait.
    pub fn end(self) -> Result<(), String> {
        match self.0.join() {
            Ok(ended) => ended,
            Err(panic) => Err(format!(
                "the reader stopped unexpectedly: {}",
                panic_message(panic.as_ref())
            )),
        }
    }
}

/// The text a panic was raised with, when it has one.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

/// Starts reading `input`. Fails, before anything is read, when a CSV
/// header cannot be read or names a column the record type does not have.
pub fn read<R: InputRecord>(input: Reader, format: Format) -> Result<Input<R>, String> {
    read_skipping(input, format, None)
}

/// Says, record index by record index in increasing order, which records
/// need not be parsed.
pub type Skip = Box<dyn FnMut(usize) -> bool + Send>;

/// [`read`], leaving the NDJSON records `skip` names unparsed: each takes
/// its index as an error that no one is meant to see (a resumed run leaves
/// these records out). CSV rows are all parsed.
pub fn read_skipping<R: InputRecord>(
    input: Reader,
    format: Format,
    skip: Option<Skip>,
) -> Result<Input<R>, String> {
    let (sender, records) = mpsc::channel(READ_AHEAD);
    let thread = match format {
        Format::Ndjson => std::thread::spawn(move || read_ndjson::<R>(input, &sender, skip)),
        Format::Csv => {
            let reader = open_csv::<R, _>(input)?;
            std::thread::spawn(move || read_csv::<R>(reader, &sender))
        }
    };
    Ok(Input {
        records,
        reading: Reading(thread),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Cursor;

    use copper_bulk::PersonUpdate;

    use super::*;

    /// How a [`Failing`] reader fails once its bytes are read.
    #[derive(Clone, Copy, Debug)]
    pub enum Failure {
        Error,
        Panic,
    }

    /// A reader that gives its bytes, then fails.
    #[derive(Debug)]
    pub struct Failing {
        pub bytes: Cursor<Vec<u8>>,
        pub then: Failure,
    }

    impl Failing {
        pub fn reader(bytes: &str, then: Failure) -> Reader {
            Box::new(Failing {
                bytes: Cursor::new(bytes.as_bytes().to_vec()),
                then,
            })
        }
    }

    impl Read for Failing {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            match self.bytes.read(buffer)? {
                0 => match self.then {
                    Failure::Error => Err(std::io::Error::other("the disk went away")),
                    Failure::Panic => panic!("the reader broke"),
                },
                read => Ok(read),
            }
        }
    }

    /// The records read from `input`, and how reading ended.
    fn read_to_end(
        input: Reader,
        format: Format,
    ) -> (Vec<Result<PersonUpdate, InvalidRecord>>, Result<(), String>) {
        let Input {
            mut records,
            reading,
        } = read::<PersonUpdate>(input, format).unwrap();
        let mut all = Vec::new();
        while let Some(record) = records.blocking_recv() {
            all.push(record);
        }
        (all, reading.end())
    }

    #[test]
    fn records_skipped_are_not_parsed_and_keep_their_index() {
        let ndjson = "{\"id\": 1}\n\nnot json\n{\"id\": 3}\n{\"id\": 4}\n";
        let skip: Skip = Box::new(|index| index == 1 || index == 2);
        let Input {
            mut records,
            reading,
        } = read_skipping::<PersonUpdate>(
            Box::new(Cursor::new(ndjson)),
            Format::Ndjson,
            Some(skip),
        )
        .unwrap();
        let mut read = Vec::new();
        while let Some(record) = records.blocking_recv() {
            read.push(record.map(|r| r.id).map_err(|e| e.to_string()));
        }
        reading.end().unwrap();
        assert_eq!(read.len(), 4);
        assert_eq!(read[0], Ok(1));
        // The line that is not JSON is skipped, not read: no error says so.
        assert!(
            read[1].as_ref().unwrap_err().contains("not read"),
            "{read:?}"
        );
        assert!(
            read[2].as_ref().unwrap_err().contains("not read"),
            "{read:?}"
        );
        assert_eq!(read[3], Ok(4));
    }

    #[test]
    fn a_reader_failure_is_not_the_end_of_the_input() {
        let ndjson = "{\"id\": 1, \"title\": \"a\"}\n{\"id\": 2, \"title\": \"b\"}\n";
        let csv = "id,title\n1,a\n2,b\n";
        for (format, text) in [(Format::Ndjson, ndjson), (Format::Csv, csv)] {
            let (records, ended) = read_to_end(Failing::reader(text, Failure::Error), format);
            assert_eq!(records.len(), 2, "{format:?}: every record before it");
            assert!(records.iter().all(Result::is_ok), "{format:?}");
            let error = ended.unwrap_err();
            assert!(
                error.contains("cannot read the input") && error.contains("the disk went away"),
                "{format:?}: {error}"
            );

            let (records, ended) = read_to_end(Failing::reader(text, Failure::Panic), format);
            assert_eq!(records.len(), 2, "{format:?}: every record before it");
            let error = ended.unwrap_err();
            assert!(error.contains("the reader broke"), "{format:?}: {error}");
        }
    }

    #[test]
    fn the_end_of_the_input_ends_reading_well() {
        let input = Box::new(Cursor::new(b"{\"id\": 1, \"title\": \"a\"}\n".to_vec()));
        let (records, ended) = read_to_end(input, Format::Ndjson);
        assert_eq!(records.len(), 1);
        assert_eq!(ended, Ok(()));
    }
}

/// Property tests of the readers: whatever the input holds, they never
/// panic, and every line (NDJSON) or row (CSV) gives exactly one result, in
/// order, so that no record is lost. The case counts are printed
/// (`--nocapture`) and recorded in RELIABILITY.md.
#[cfg(test)]
mod properties {
    use std::io::Cursor;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use copper_bulk::{PersonCreate, PersonUpdate};
    use proptest::prelude::*;
    use proptest::test_runner::{TestCaseError, TestRunner};

    use super::*;
    use crate::ndjson::is_blank;

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

    /// Every result the reader gives for `bytes`; an error when reading
    /// does not end well, a panic of the reader included.
    fn read_all<R: InputRecord>(
        bytes: &[u8],
        format: Format,
    ) -> Result<Vec<Result<R, InvalidRecord>>, String> {
        let Input {
            mut records,
            reading,
        } = read::<R>(Box::new(Cursor::new(bytes.to_vec())), format)?;
        let mut all = Vec::new();
        while let Some(record) = records.blocking_recv() {
            all.push(record);
        }
        reading.end()?;
        Ok(all)
    }

    /// Any bytes: raw ones, most of them not UTF-8, and text made of the
    /// characters that shape CSV and JSON (separators, quotes, brackets,
    /// line breaks, white space of every kind), which gets past the UTF-8
    /// check to the parsers.
    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            "[a-z0-9 ,;:\"'{}\\[\\]\t\r\n\u{b}\u{85}\u{a0}\u{1}é]{0,200}"
                .prop_map(String::into_bytes),
        ]
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
        check("NDJSON bytes", bytes(), |bytes| {
            let results = read_all::<PersonUpdate>(&bytes, Format::Ndjson);
            prop_assert!(results.is_ok(), "{:?}", results.err());
            let lines = bytes
                .split(|b| *b == b'\n')
                .filter(|l| !is_blank(l))
                .count();
            prop_assert_eq!(results.unwrap_or_default().len(), lines);
            Ok(())
        });
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
        check("CSV bytes", bytes(), |bytes| {
            let mut input = b"name,title\n".to_vec();
            input.extend(bytes);
            let results = read_all::<PersonCreate>(&input, Format::Csv);
            prop_assert!(results.is_ok(), "{:?}", results.err());
            for invalid in results
                .unwrap_or_default()
                .iter()
                .filter_map(|r| r.as_ref().err())
            {
                prop_assert!(invalid.reason().starts_with("line "), "{}", invalid);
            }
            Ok(())
        });
    }
}
