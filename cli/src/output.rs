//! The outcome lines, the progress bar and the summary.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use copper_bulk::ops::Kind;
use copper_bulk::{Action, MatchedOutcome, MatchedResult, Outcome, RecordResult};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

/// One line of output: what became of one input record.
#[derive(Debug, Serialize)]
pub struct Line<'a> {
    /// The record's position in the input, from 0.
    pub index: usize,
    /// `updated`, `created`, `rejected`, `invalid`, `unknown` or
    /// `not_applied`; with `--match`, also `not_found` or `ambiguous`.
    pub outcome: &'static str,
    /// The person's id: the one Copper returned, or the one the update sent.
    pub id: Option<i64>,
    /// Copper's error codes per field, for a rejected record.
    pub errors: Option<&'a BTreeMap<String, Vec<String>>>,
    /// What went wrong, in words.
    pub message: Option<String>,
    /// The ids of the records a key matched, for an `ambiguous` record;
    /// absent from every other line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<i64>>,
}

/// The line for `outcome`; `sent_id` is the id the record named, if any.
pub fn line<T>(
    outcome: &Outcome<T>,
    kind: Kind,
    sent_id: Option<i64>,
    returned_id: impl Fn(&T) -> i64,
) -> Line<'_> {
    result_line(outcome.index, &outcome.result, kind, sent_id, returned_id)
}

/// The line for the record at `index` that was sent and ended as `result`.
fn result_line<T>(
    index: usize,
    result: &RecordResult<T>,
    kind: Kind,
    sent_id: Option<i64>,
    returned_id: impl Fn(&T) -> i64,
) -> Line<'_> {
    let (name, id, errors, message) = match result {
        RecordResult::Applied(record) => {
            let name = match kind {
                Kind::Update => "updated",
                Kind::Create => "created",
            };
            (name, Some(returned_id(record)), None, None)
        }
        RecordResult::Rejected(rejection) => (
            "rejected",
            rejection.id.or(sent_id),
            (!rejection.errors.is_empty()).then_some(&rejection.errors),
            rejection.message.clone(),
        ),
        RecordResult::Invalid(invalid) => ("invalid", sent_id, None, Some(invalid.to_string())),
        RecordResult::NotApplied(failure) => {
            ("not_applied", sent_id, None, Some(failure.to_string()))
        }
        RecordResult::Unknown(failure) => ("unknown", sent_id, None, Some(failure.to_string())),
        _ => (
            "unknown",
            sent_id,
            None,
            Some("an outcome this tool does not know".to_owned()),
        ),
    };
    Line {
        index,
        outcome: name,
        id,
        errors,
        message,
        ids: None,
    }
}

/// The line for the outcome of a record matched by key: `updated` or
/// `created` (or how its update or create failed), `not_found`,
/// `ambiguous` with the ids matched, `invalid` or `not_applied`.
pub fn matched_line<T>(outcome: &MatchedOutcome<T>, returned_id: impl Fn(&T) -> i64) -> Line<'_> {
    let index = outcome.index;
    let plain = |outcome: &'static str, message: Option<String>| Line {
        index,
        outcome,
        id: None,
        errors: None,
        message,
        ids: None,
    };
    match &outcome.result {
        MatchedResult::Sent { action, result } => {
            let (kind, sent_id) = match action {
                Action::Update(id) => (Kind::Update, Some(*id)),
                Action::Create => (Kind::Create, None),
            };
            result_line(index, result, kind, sent_id, returned_id)
        }
        MatchedResult::NotFound => plain(
            "not_found",
            Some("no record in copper has its key".to_owned()),
        ),
        MatchedResult::Ambiguous(ids) => Line {
            ids: Some(ids.clone()),
            ..plain(
                "ambiguous",
                Some("several records in copper have its keys; nothing was sent".to_owned()),
            )
        },
        MatchedResult::Invalid(invalid) => plain("invalid", Some(invalid.to_string())),
        MatchedResult::NotApplied(failure) => plain("not_applied", Some(failure.to_string())),
        MatchedResult::Unknown(failure) => plain("unknown", Some(failure.to_string())),
        _ => plain(
            "unknown",
            Some("an outcome this tool does not know".to_owned()),
        ),
    }
}

/// The name of an outcome read back from an output file, as the summary
/// counts it.
pub fn outcome_name(outcome: &str) -> &'static str {
    match outcome {
        "created" => "created",
        "updated" => "updated",
        "rejected" => "rejected",
        "invalid" => "invalid",
        "not_applied" => "not_applied",
        "not_found" => "not_found",
        "ambiguous" => "ambiguous",
        _ => "unknown",
    }
}

/// The outcomes other than applied, in the order the summary lists them.
const NOT_APPLIED: [&str; 6] = [
    "rejected",
    "invalid",
    "not_found",
    "ambiguous",
    "unknown",
    "not_applied",
];

/// Counts of outcomes, and the time they took.
#[derive(Debug)]
pub struct Summary {
    started: Instant,
    counts: BTreeMap<&'static str, u64>,
    progress: ProgressBar,
    /// Whether the progress bar counts the bytes of the input read (a
    /// regular file, whose size is known) rather than the outcomes.
    counts_bytes: bool,
    /// The spacing bulk requests kept last, when rate-limited.
    pace: Option<Duration>,
}

impl Summary {
    /// Starts counting; shows progress on standard error when it is a
    /// terminal and `quiet` is off. `size` is the input's size in bytes,
    /// when known: the bar then counts the bytes read (see
    /// [`Summary::track`]); otherwise a spinner counts the outcomes.
    pub fn start(size: Option<u64>, quiet: bool) -> Self {
        let template = match size {
            Some(_) => "{bar:40} {bytes}/{total_bytes} read, {msg}, {eta} left",
            None => "{spinner} {pos} records, {per_sec}{msg}",
        };
        let progress = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::with_draw_target(size, ProgressDrawTarget::stderr())
                .with_style(ProgressStyle::with_template(template).expect("a valid template"))
                .with_message(if size.is_some() { "0 records" } else { "" });
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        };
        Summary {
            started: Instant::now(),
            counts: BTreeMap::new(),
            progress,
            counts_bytes: size.is_some(),
            pace: None,
        }
    }

    /// The input, counted by the progress bar as it is read when its size
    /// is known. The reader runs a bounded number of records ahead of the
    /// outcomes, so the bytes read are a close measure of the work done.
    pub fn track(&self, input: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        if self.counts_bytes {
            Box::new(self.progress.wrap_read(input))
        } else {
            input
        }
    }

    /// Counts one outcome.
    pub fn add(&mut self, outcome: &'static str) {
        *self.counts.entry(outcome).or_insert(0) += 1;
        if self.counts_bytes {
            self.show_message();
        } else {
            self.progress.inc(1);
        }
    }

    /// Shows the spacing bulk requests keep now (see `Copper::pace`): it
    /// widens after a 429 and narrows back, so the line says how fast the
    /// run can go.
    pub fn set_pace(&mut self, pace: Option<Duration>) {
        if pace != self.pace {
            self.pace = pace;
            self.show_message();
        }
    }

    fn show_message(&self) {
        let pace = self.pace_text();
        if self.counts_bytes {
            let total: u64 = self.counts.values().sum();
            self.progress.set_message(format!("{total} records{pace}"));
        } else {
            self.progress.set_message(pace);
        }
    }

    /// `, pace 343 ms`, or nothing without a pace.
    fn pace_text(&self) -> String {
        self.pace
            .map(|pace| format!(", pace {} ms", pace.as_millis()))
            .unwrap_or_default()
    }

    /// How many outcomes named `outcome` were counted.
    pub fn count(&self, outcome: &str) -> u64 {
        self.counts.get(outcome).copied().unwrap_or(0)
    }

    /// How many records were applied (updated or created).
    pub fn applied(&self) -> u64 {
        self.count("updated") + self.count("created")
    }

    /// Whether every record was applied.
    pub fn all_applied(&self) -> bool {
        self.counts
            .iter()
            .all(|(outcome, _)| matches!(*outcome, "updated" | "created"))
    }

    /// Ends the progress bar and returns the one-line summary; `applied`
    /// names applied records (`updated` or `created`).
    pub fn finish(&self, applied: &'static str) -> String {
        self.finish_with(&[applied], false)
    }

    /// [`Summary::finish`] for a run that both updates and creates.
    pub fn finish_matched(&self) -> String {
        self.finish_with(&["updated", "created"], true)
    }

    /// The summary; `matched` when the run matched records by key, the
    /// only runs that have `not_found` and `ambiguous` records.
    fn finish_with(&self, applied: &[&'static str], matched: bool) -> String {
        self.progress.finish_and_clear();
        let total: u64 = self.counts.values().sum();
        let elapsed = self.started.elapsed();
        let rate = total as f64 / elapsed.as_secs_f64().max(1e-9);
        // Outcomes only a run matched by key has are left out of the
        // others' summaries.
        let counts: Vec<String> = applied
            .iter()
            .copied()
            .chain(NOT_APPLIED)
            .filter(|name| matched || !matches!(*name, "not_found" | "ambiguous"))
            .map(|name| format!("{} {name}", self.count(name)))
            .collect();
        format!(
            "{total} record{}: {} in {:.1} s ({rate:.1} records/s{})",
            if total == 1 { "" } else { "s" },
            counts.join(", "),
            elapsed.as_secs_f64(),
            self.pace_text(),
        )
    }

    /// Ends the progress bar.
    pub fn clear(&self) {
        self.progress.finish_and_clear();
    }
}

/// Where the outcome lines go: standard output, or a file that is made
/// durable when the run ends, and renamed over the output when it was
/// written beside it (by a resumed run).
pub struct Output {
    writer: Box<dyn Write>,
    file: Option<OutputFile>,
}

struct OutputFile {
    path: PathBuf,
    rename_to: Option<PathBuf>,
}

impl Output {
    /// Standard output.
    pub fn stdout() -> Self {
        Output {
            writer: Box::new(BufWriter::new(std::io::stdout().lock())),
            file: None,
        }
    }

    /// A new file at `path`, or a device such as `/dev/null`; a resumed
    /// run gives `rename_to`, the output it takes up.
    pub fn create(path: &Path, rename_to: Option<&Path>) -> Result<Self, String> {
        let file =
            File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        Ok(Output {
            writer: Box::new(BufWriter::with_capacity(64 * 1024, file)),
            file: regular.then(|| OutputFile {
                path: path.to_owned(),
                rename_to: rename_to.map(Path::to_owned),
            }),
        })
    }

    /// The lines' writer.
    pub fn writer(&mut self) -> &mut dyn Write {
        &mut *self.writer
    }

    /// Flushes the lines to disk and, for a resumed run, puts them in place
    /// of the output it took up.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.writer.flush()?;
        drop(self.writer);
        if let Some(file) = self.file {
            File::open(&file.path)?.sync_all()?;
            if let Some(target) = &file.rename_to {
                std::fs::rename(&file.path, target)?;
                crate::journal::sync_dir(target)?;
            }
        }
        Ok(())
    }
}

/// Writes one JSON value as a line.
pub fn write_line(out: &mut dyn Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}
