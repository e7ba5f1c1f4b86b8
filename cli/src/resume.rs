//! Taking up an interrupted job: folding what the interrupted runs left
//! (the output file, the partial output of a resumed run, the journal)
//! into one output in input order, and saying which records are still to
//! be sent.
//!
//! What a crash at any point leaves, and what the next `--resume` makes of
//! it:
//!
//! - A run writes `OUT` (a first run) or `OUT.resuming` (a resumed run)
//!   in input order, and the journal `OUT.journal` as it goes. The journal
//!   says more than the output: outcomes settled but not yet written in
//!   order, and the records of requests in flight.
//! - Resuming folds them into a new `OUT` (written beside it, then renamed
//!   over it), removes `OUT.resuming`, then starts a new journal (also
//!   renamed over the old). Each step can be repeated: a crash between two
//!   of them leaves files whose fold is the same.
//! - The resumed run then reads `OUT` to copy the lines of records already
//!   settled, writes `OUT.resuming`, and renames it over `OUT` at its end.
//!
//! Memory stays small whatever the size of the job: the output files are
//! streamed, and only the journal's entries beyond what the output holds
//! (the requests then in flight) and the records whose outcome is
//! `unknown` are held.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::time::SystemTime;

use serde_json::value::RawValue;

use crate::journal::{
    Entry, Head, Header, LineReader, Sending, beside, journal_path, resuming_path, sync_dir, time,
};
use crate::output::{Line, write_line};

/// Whether an outcome is final: a record with a final outcome is never
/// sent again, nor looked up again by a run matched by key. `not_applied`
/// records are sent again; `unknown` ones are looked up first.
pub fn is_final(outcome: &str) -> Result<bool, String> {
    match outcome {
        "created" | "updated" | "rejected" | "invalid" | "not_found" | "ambiguous" => Ok(true),
        "not_applied" | "unknown" => Ok(false),
        other => Err(format!("`{other}` is not an outcome of this tool")),
    }
}

/// What a resumed run does with each record of the input.
#[derive(Clone, Debug)]
pub struct Plan {
    /// How many records the output holds a line for, from index 0.
    len: usize,
    /// The records whose line says `not_applied`, as inclusive ranges in
    /// order: a run stopped early leaves long runs of them.
    resend: Vec<(usize, usize)>,
    /// The records whose line says `unknown`, and when the request that
    /// last carried them left.
    unknown: BTreeMap<usize, SystemTime>,
    /// The first range of `resend` that may still hold the next index.
    cursor: usize,
}

/// What to do with one record of a resumed run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Its outcome is final: copy its line.
    Skip,
    /// It was never applied: send it.
    Send,
    /// A request that left at this time carried it, and its outcome is
    /// unknown: look it up, then send it if it was not applied.
    SentBefore(SystemTime),
}

impl Plan {
    /// A plan for a job nothing was done of yet.
    pub fn fresh() -> Self {
        Plan {
            len: 0,
            resend: Vec::new(),
            unknown: BTreeMap::new(),
            cursor: 0,
        }
    }

    /// How many records the output holds a line for.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the output holds no line.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many records of the output are to be sent again or looked up.
    pub fn pending(&self) -> usize {
        self.resend.iter().map(|(a, b)| b - a + 1).sum::<usize>() + self.unknown.len()
    }

    /// What to do with the record at `index`; call it in increasing order
    /// of index.
    pub fn next(&mut self, index: usize) -> Next {
        if index >= self.len {
            return Next::Send;
        }
        if let Some(sent) = self.unknown.get(&index) {
            return Next::SentBefore(*sent);
        }
        while let Some(&(_, last)) = self.resend.get(self.cursor) {
            if last >= index {
                break;
            }
            self.cursor += 1;
        }
        match self.resend.get(self.cursor) {
            Some(&(first, _)) if first <= index => Next::Send,
            _ => Next::Skip,
        }
    }
}

/// Folds what earlier runs left beside `out` into `out`, and returns what
/// is left to do. `header` is the journal's header, already checked
/// against the input.
pub fn consolidate(out: &Path, header: &Header) -> Result<Plan, String> {
    let journal = journal_path(out);
    let resuming = resuming_path(out);
    let resuming = resuming.exists().then_some(resuming);

    // The lines of each output, and which say `unknown`: those need the
    // time of their last request, which only the journal knows.
    let mut unknown_lines = BTreeSet::new();
    let written = match &resuming {
        Some(path) => scan(path, &mut unknown_lines)?,
        None => 0,
    };
    let old = if out.exists() {
        scan(out, &mut unknown_lines)?
    } else {
        0
    };
    // The output the interrupted run was writing: its lines are the
    // newest word on the records they cover.
    let written = if resuming.is_some() { written } else { old };

    // The journal, beyond what that output holds.
    let mut settled: BTreeMap<usize, Box<RawValue>> = BTreeMap::new();
    let mut sent: BTreeMap<usize, SystemTime> = BTreeMap::new();
    let mut end = written.max(old);
    let mut lines = LineReader::new(BufReader::new(open(&journal)?));
    let _header = lines.next_line().map_err(|e| at(&journal, e))?;
    let mut number = 1;
    while let Some(text) = lines.next_line().map_err(|e| at(&journal, e))? {
        number += 1;
        let bad = |e: String| format!("{}: line {number}: {e}", journal.display());
        let entry: Entry<'_> = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        match (entry.sending, entry.at, entry.settled) {
            (Some(ranges), Some(at), None) => {
                let time = time(at);
                for (first, last) in ranges {
                    for index in first..=last {
                        if index >= written || unknown_lines.contains(&index) {
                            sent.insert(index, time);
                        }
                    }
                    if last >= written {
                        end = end.max(last + 1);
                    }
                }
            }
            (None, None, Some(line)) => {
                let head: Head<'_> =
                    serde_json::from_str(line.get()).map_err(|e| bad(e.to_string()))?;
                is_final(head.outcome).map_err(bad)?;
                if head.index >= written {
                    end = end.max(head.index + 1);
                    settled.insert(head.index, line.to_owned());
                }
            }
            _ => return Err(bad("neither a request nor an outcome".into())),
        }
    }

    // The fold, record by record, into a file renamed over `out`.
    let folded = beside(out, "folding");
    let mut plan = Plan::fresh();
    let mut newest = match &resuming {
        Some(path) => Some(LineReader::new(BufReader::new(open(path)?))),
        None => None,
    };
    let mut oldest = if old > 0 {
        Some(LineReader::new(BufReader::new(open(out)?)))
    } else {
        None
    };
    let write = (|| -> Result<(), String> {
        let file = File::create(&folded).map_err(|e| format!("cannot create: {e}"))?;
        let mut file = BufWriter::with_capacity(1 << 16, file);
        let cannot = |e: std::io::Error| format!("cannot write: {e}");
        let synthetic = |index: usize, outcome: &'static str, message: &str| Line {
            index,
            outcome,
            id: None,
            errors: None,
            message: Some(message.to_owned()),
            ids: None,
        };
        for index in 0..end {
            // Both outputs are read in step, whichever line is kept.
            let newer = match (&mut newest, resuming.is_some() && index < written) {
                (Some(lines), true) => lines.next_line()?.map(str::to_owned),
                _ => None,
            };
            let older = match (&mut oldest, index < old) {
                (Some(lines), true) => lines.next_line()?.map(str::to_owned),
                _ => None,
            };
            let outcome: String = if let Some(line) = newer.as_deref() {
                write_text(&mut file, line).map_err(cannot)?;
                head_of(line)?
            } else if let Some(line) = settled.remove(&index) {
                write_text(&mut file, line.get()).map_err(cannot)?;
                head_of(line.get())?
            } else if index >= written && sent.contains_key(&index) {
                let line = synthetic(
                    index,
                    "unknown",
                    "sent by a run that was interrupted before it learnt the outcome",
                );
                write_line(&mut file, &line).map_err(cannot)?;
                "unknown".into()
            } else if let Some(line) = older.as_deref() {
                write_text(&mut file, line).map_err(cannot)?;
                head_of(line)?
            } else {
                let line = synthetic(
                    index,
                    "not_applied",
                    "not sent: the run was interrupted first",
                );
                write_line(&mut file, &line).map_err(cannot)?;
                "not_applied".into()
            };
            match outcome.as_str() {
                "not_applied" => match plan.resend.last_mut() {
                    Some((_, last)) if *last + 1 == index => *last = index,
                    _ => plan.resend.push((index, index)),
                },
                // A request whose time the journal lost (it cannot, short
                // of a hand-edited file) is taken to have left now: the
                // lookup then waits out the longest it could take.
                "unknown" => {
                    let time = sent.get(&index).copied().unwrap_or_else(SystemTime::now);
                    plan.unknown.insert(index, time);
                }
                _ => {}
            }
        }
        let file = file.into_inner().map_err(|e| cannot(e.into_error()))?;
        file.sync_all().map_err(cannot)?;
        std::fs::rename(&folded, out).map_err(|e| format!("cannot rename it: {e}"))?;
        sync_dir(out).map_err(cannot)
    })();
    write.map_err(|e| at(&folded, e))?;
    plan.len = end;
    if let Some(path) = &resuming {
        std::fs::remove_file(path).map_err(|e| at(path, format!("cannot remove: {e}")))?;
    }

    // The new journal carries the requests of the records still unknown.
    let mut carried: BTreeMap<SystemTime, Vec<usize>> = BTreeMap::new();
    for (&index, &time) in &plan.unknown {
        carried.entry(time).or_default().push(index);
    }
    let carried: Vec<Sending> = carried
        .into_iter()
        .map(|(time, indices)| Sending::new(&indices, time))
        .collect();
    header.write_new(&journal, &carried)?;
    Ok(plan)
}

fn open(path: &Path) -> Result<File, String> {
    File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))
}

fn at(path: &Path, error: String) -> String {
    format!("{}: {error}", path.display())
}

fn write_text(file: &mut impl Write, line: &str) -> std::io::Result<()> {
    file.write_all(line.as_bytes())?;
    file.write_all(b"\n")
}

fn head_of(line: &str) -> Result<String, String> {
    let head: Head<'_> = serde_json::from_str(line).map_err(|e| e.to_string())?;
    Ok(head.outcome.to_owned())
}

/// Checks the output at `path` (each line the outcome of the record at its
/// position), notes the records whose outcome is unknown, and returns how
/// many complete lines it holds.
fn scan(path: &Path, unknown: &mut BTreeSet<usize>) -> Result<usize, String> {
    let mut lines = LineReader::new(BufReader::with_capacity(1 << 16, open(path)?));
    let mut count = 0;
    while let Some(line) = lines.next_line().map_err(|e| at(path, e))? {
        let bad = |e: String| format!("{}: line {}: {e}", path.display(), count + 1);
        let head: Head<'_> = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        if head.index != count {
            return Err(bad(format!(
                "the outcome of record {} where that of record {count} was expected: the file was not written by this tool, or was edited",
                head.index
            )));
        }
        if !is_final(head.outcome).map_err(bad)? && head.outcome == "unknown" {
            unknown.insert(count);
        }
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use crate::journal::{InputId, time};

    use super::*;

    fn header() -> Header {
        Header::new(
            "people_bulk_update",
            InputId {
                size: 1,
                blake3: "00".into(),
            },
        )
    }

    fn line(index: usize, outcome: &str) -> String {
        format!(
            "{{\"index\":{index},\"outcome\":\"{outcome}\",\"id\":null,\"errors\":null,\"message\":null}}\n"
        )
    }

    fn outcomes(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .enumerate()
            .map(|(i, text)| {
                let head: Head<'_> = serde_json::from_str(text).unwrap();
                assert_eq!(head.index, i);
                head.outcome.to_owned()
            })
            .collect()
    }

    #[test]
    fn the_fold_takes_the_newest_word_on_each_record_and_can_be_repeated() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.ndjson");
        // The output a kill cut off in the middle of its fourth line.
        let text = [
            line(0, "created"),
            line(1, "not_applied"),
            line(2, "unknown"),
            "{\"index\":3,\"outc".into(),
        ]
        .concat();
        std::fs::write(&out, text).unwrap();
        let journal = [
            serde_json::to_string(&header()).unwrap() + "\n",
            "{\"sending\":[[2,2]],\"at\":1000}\n".into(),
            "{\"sending\":[[3,5]],\"at\":2000}\n".into(),
            format!("{{\"settled\":{}}}\n", line(4, "created").trim()),
            format!("{{\"settled\":{}}}\n", line(3, "rejected").trim()),
            "{\"sending\":[[7,7]],\"at\":3000}\n".into(),
            // A line the kill cut off.
            "{\"settled\":{\"ind".into(),
        ]
        .concat();
        std::fs::write(journal_path(&out), &journal).unwrap();

        let expected = [
            "created",
            "not_applied",
            "unknown",
            "rejected",
            "created",
            "unknown",
            "not_applied",
            "unknown",
        ];
        let mut plan = consolidate(&out, &header()).unwrap();
        assert_eq!(outcomes(&out), expected);
        let next: Vec<Next> = (0..9).map(|index| plan.next(index)).collect();
        assert_eq!(
            next,
            [
                Next::Skip,
                Next::Send,
                Next::SentBefore(time(1000)),
                Next::Skip,
                Next::Skip,
                Next::SentBefore(time(2000)),
                Next::Send,
                Next::SentBefore(time(3000)),
                Next::Send,
            ]
        );

        // A crash after the new output was renamed in, before the new
        // journal was: folding with the old journal gives the same.
        let new_journal = std::fs::read_to_string(journal_path(&out)).unwrap();
        std::fs::write(journal_path(&out), &journal).unwrap();
        let mut refolded = consolidate(&out, &header()).unwrap();
        assert_eq!(outcomes(&out), expected);
        assert_eq!(
            std::fs::read_to_string(journal_path(&out)).unwrap(),
            new_journal
        );
        for (index, next) in next.iter().enumerate() {
            assert_eq!(refolded.next(index), *next, "record {index}");
        }

        // A resumed run then settles record 1 and is killed while record 2
        // is in flight: its partial output and the journal are folded in.
        std::fs::write(
            resuming_path(&out),
            [line(0, "created"), line(1, "updated")].concat(),
        )
        .unwrap();
        let mut journal = std::fs::read_to_string(journal_path(&out)).unwrap();
        journal.push_str("{\"sending\":[[2,2]],\"at\":4000}\n");
        std::fs::write(journal_path(&out), journal).unwrap();
        let mut plan = consolidate(&out, &header()).unwrap();
        let mut expected = expected.map(str::to_owned);
        expected[1] = "updated".into();
        assert_eq!(outcomes(&out), expected);
        assert!(!resuming_path(&out).exists());
        assert_eq!(plan.next(2), Next::SentBefore(time(4000)));

        // Folding again changes nothing.
        let mut again = consolidate(&out, &header()).unwrap();
        assert_eq!(outcomes(&out), expected);
        for index in 0..9 {
            assert_eq!(again.next(index), plan.next(index), "record {index}");
        }
    }

    #[test]
    fn a_plan_skips_final_records_and_sends_the_rest() {
        let sent = SystemTime::UNIX_EPOCH;
        let mut plan = Plan {
            len: 8,
            resend: vec![(1, 2), (5, 5)],
            unknown: BTreeMap::from([(3, sent)]),
            cursor: 0,
        };
        let next: Vec<Next> = (0..10).map(|index| plan.next(index)).collect();
        assert_eq!(
            next,
            [
                Next::Skip,
                Next::Send,
                Next::Send,
                Next::SentBefore(sent),
                Next::Skip,
                Next::Send,
                Next::Skip,
                Next::Skip,
                Next::Send,
                Next::Send,
            ]
        );
        assert_eq!(plan.pending(), 4);
    }
}
