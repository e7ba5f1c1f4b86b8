//! The journal kept beside the output file: which records each request
//! carries, written before it is sent, and each outcome as soon as it is
//! known, so that a run killed at any point can be resumed without sending
//! a record twice.
//!
//! The journal of `OUT` is `OUT.journal`, NDJSON, append-only:
//!
//! - its first line identifies the job, and its version:
//!   `{"copper_bulk_journal":1,"operation":"people_create","input":{"size":1234,"blake3":"…"}}`;
//! - `{"sending":[[0,9],[12,12]],"at":1767225600000}` before each request,
//!   the input indices it carries (inclusive ranges) and when it left, in
//!   milliseconds since the Unix epoch;
//! - `{"settled":LINE}` as soon as a record's outcome is known, `LINE` being
//!   the outcome line `OUT` gets.
//!
//! It is flushed to disk before each request is sent and once each
//! request's outcomes are all settled. A line cut off by a crash is the
//! last one, and is ignored when the journal is read back.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use copper_bulk::ops::{Kind, Operation};
use copper_bulk::{Action, Journal, Outcome, Stopper};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::output::line;

/// The version of the journal's format, in its first line.
pub const VERSION: u32 = 1;

/// The journal kept beside `out`.
pub fn journal_path(out: &Path) -> PathBuf {
    beside(out, "journal")
}

/// The file a resumed run writes its output to, renamed over `out` when
/// the run ends.
pub fn resuming_path(out: &Path) -> PathBuf {
    beside(out, "resuming")
}

/// `out` with `.suffix` added to its name.
pub fn beside(out: &Path, suffix: &str) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// What identifies an input file: its size and a hash of its content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputId {
    /// Its size in bytes.
    pub size: u64,
    /// The BLAKE3 hash of its content, in hex.
    pub blake3: String,
}

impl InputId {
    /// Reads the file at `path` to its end. BLAKE3 hashes faster than the
    /// disk reads, so a file of a million records takes well under a
    /// second.
    pub fn of(path: &Path) -> Result<Self, String> {
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let mut hasher = blake3::Hasher::new();
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut size = 0;
        loop {
            let buffer = reader
                .fill_buf()
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if buffer.is_empty() {
                break;
            }
            hasher.update(buffer);
            let read = buffer.len();
            size += read as u64;
            reader.consume(read);
        }
        Ok(InputId {
            size,
            blake3: hasher.finalize().to_hex().to_string(),
        })
    }
}

/// The first line of a journal: which job it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The format's version, [`VERSION`].
    pub copper_bulk_journal: u32,
    /// The operation, such as `people_create`.
    pub operation: String,
    /// The input the job reads.
    pub input: InputId,
}

impl Header {
    /// The header of a job running `operation` over `input`.
    pub fn new(operation: &str, input: InputId) -> Self {
        Header {
            copper_bulk_journal: VERSION,
            operation: operation.to_owned(),
            input,
        }
    }

    /// Reads the header of the journal at `path`.
    pub fn read(path: &Path) -> Result<Self, String> {
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let mut first = String::new();
        BufReader::new(file)
            .take(64 * 1024)
            .read_line(&mut first)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let header: Header = serde_json::from_str(&first).map_err(|e| {
            format!(
                "{} is not a journal of this tool (its first line: {e})",
                path.display()
            )
        })?;
        if header.copper_bulk_journal != VERSION {
            return Err(format!(
                "{} is a journal of version {}, which this version of the tool cannot read (it reads version {VERSION})",
                path.display(),
                header.copper_bulk_journal
            ));
        }
        Ok(header)
    }

    /// Writes a journal at `path` holding only this header and `carried`
    /// requests (see [`Sending`]), through a temporary file renamed over
    /// `path`, so that a crash leaves either the old journal or the new.
    pub fn write_new(&self, path: &Path, carried: &[Sending]) -> Result<(), String> {
        let temporary = beside(path, "new");
        let written = (|| -> std::io::Result<()> {
            let mut file = BufWriter::new(File::create(&temporary)?);
            serde_json::to_writer(&mut file, self)?;
            file.write_all(b"\n")?;
            for sending in carried {
                serde_json::to_writer(&mut file, sending)?;
                file.write_all(b"\n")?;
            }
            let file = file.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            std::fs::rename(&temporary, path)?;
            sync_dir(path)
        })();
        written.map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

/// Makes a rename or a new file in the directory of `path` durable.
pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// A request's entry: the indices it carries and when it left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sending {
    /// Inclusive ranges of input indices.
    pub sending: Vec<(usize, usize)>,
    /// Milliseconds since the Unix epoch.
    pub at: u64,
}

impl Sending {
    /// The entry of a request carrying `indices`, leaving at `at`.
    pub fn new(indices: &[usize], at: SystemTime) -> Self {
        Sending {
            sending: ranges(indices.iter().copied()),
            at: millis(at),
        }
    }

    /// When the request left.
    pub fn time(&self) -> SystemTime {
        time(self.at)
    }
}

/// The time `at` milliseconds after the Unix epoch.
pub fn time(at: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(at)
}

/// Milliseconds since the Unix epoch.
pub fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Runs of consecutive indices, as inclusive ranges.
pub fn ranges(indices: impl IntoIterator<Item = usize>) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for index in indices {
        match ranges.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(index) => *last = index,
            _ => ranges.push((index, index)),
        }
    }
    ranges
}

/// One entry of a journal after its header, as read back.
#[derive(Debug, Deserialize)]
pub struct Entry<'a> {
    /// A request's indices.
    #[serde(default)]
    pub sending: Option<Vec<(usize, usize)>>,
    /// When the request left.
    #[serde(default)]
    pub at: Option<u64>,
    /// An outcome line.
    #[serde(borrow, default)]
    pub settled: Option<&'a RawValue>,
}

/// What the tool reads of an outcome line: whose it is, and what became of
/// it.
#[derive(Debug, Deserialize)]
pub struct Head<'a> {
    /// The record's input index.
    pub index: usize,
    /// Its outcome.
    #[serde(borrow)]
    pub outcome: &'a str,
}

/// Reads the complete lines of a file one by one, leaving out a last line
/// a crash cut off (one without its newline).
pub struct LineReader<R> {
    reader: R,
    bytes: Vec<u8>,
    number: usize,
}

impl<R: BufRead> LineReader<R> {
    /// Reads `reader`.
    pub fn new(reader: R) -> Self {
        LineReader {
            reader,
            bytes: Vec::new(),
            number: 0,
        }
    }

    /// The next complete line, without its newline.
    pub fn next_line(&mut self) -> Result<Option<&str>, String> {
        self.bytes.clear();
        let read = self
            .reader
            .read_until(b'\n', &mut self.bytes)
            .map_err(|e| format!("cannot read: {e}"))?;
        if read == 0 || self.bytes.last() != Some(&b'\n') {
            return Ok(None);
        }
        self.number += 1;
        let number = self.number;
        std::str::from_utf8(&self.bytes[..self.bytes.len() - 1])
            .map(Some)
            .map_err(|_| format!("line {number} is not UTF-8 text"))
    }
}

/// The journal of a running job, told by the run what it sends and
/// settles. A failure to write it stops the run: without it, a crash could
/// lead a resumed run to send a record twice.
pub struct JournalFile<O> {
    state: Mutex<State>,
    /// The id each record in flight named, by input index: its outcome
    /// line reports it even when Copper returned nothing.
    ids: Arc<Mutex<HashMap<usize, i64>>>,
    stopper: OnceLock<Stopper>,
    operation: PhantomData<fn(O)>,
}

struct State {
    file: BufWriter<File>,
    /// The request each record in flight was last sent in.
    requests: HashMap<usize, u64>,
    /// How many records of each request in flight are not yet settled.
    unsettled: HashMap<u64, usize>,
    next_request: u64,
    failed: Option<std::io::Error>,
}

impl<O: Operation> JournalFile<O> {
    /// Opens the journal at `path`, which holds at least its header, to
    /// append to it.
    pub fn append(path: &Path) -> Result<Self, String> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(JournalFile {
            state: Mutex::new(State {
                file: BufWriter::with_capacity(64 * 1024, file),
                requests: HashMap::new(),
                unsettled: HashMap::new(),
                next_request: 0,
                failed: None,
            }),
            ids: Arc::default(),
            stopper: OnceLock::new(),
            operation: PhantomData,
        })
    }

    /// The id each record in flight named, by input index, for the run to
    /// fill in as it reads the records.
    pub fn ids(&self) -> Arc<Mutex<HashMap<usize, i64>>> {
        self.ids.clone()
    }

    /// The run to stop should the journal fail.
    pub fn stops(&self, stopper: Stopper) {
        let _ = self.stopper.set(stopper);
    }

    /// Writes what is buffered to disk, and says whether the journal was
    /// written in full.
    pub fn finish(&self) -> Result<(), std::io::Error> {
        let mut state = self.state.lock().expect("not poisoned");
        if let Some(error) = state.failed.take() {
            return Err(error);
        }
        state.sync()
    }

    fn write(&self, state: &mut State, entry: &impl Serialize, sync: bool) {
        if state.failed.is_some() {
            return;
        }
        let written = (|| {
            serde_json::to_writer(&mut state.file, entry)?;
            state.file.write_all(b"\n")?;
            if sync { state.sync() } else { Ok(()) }
        })();
        if let Err(error) = written {
            state.failed = Some(error);
            if let Some(stopper) = self.stopper.get() {
                stopper.stop();
            }
        }
    }
}

impl State {
    fn sync(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_data()
    }
}

impl<O: Operation> Journal<O::Output> for JournalFile<O> {
    fn sending(&self, indices: &[usize]) {
        let mut state = self.state.lock().expect("not poisoned");
        let request = state.next_request;
        state.next_request += 1;
        for &index in indices {
            if let Some(earlier) = state.requests.insert(index, request)
                && let Some(count) = state.unsettled.get_mut(&earlier)
            {
                *count -= 1;
                if *count == 0 {
                    state.unsettled.remove(&earlier);
                }
            }
        }
        state.unsettled.insert(request, indices.len());
        // The entry reaches the disk before the request leaves: a crash
        // after it leaves must find it.
        self.write(&mut state, &Sending::new(indices, SystemTime::now()), true);
    }

    fn settled(&self, outcome: &Outcome<O::Output>) {
        let sent_id = self
            .ids
            .lock()
            .expect("not poisoned")
            .get(&outcome.index)
            .copied();
        self.settle(outcome, O::KIND, sent_id);
    }

    fn settled_as(&self, outcome: &Outcome<O::Output>, action: Action) {
        match action {
            Action::Update(id) => self.settle(outcome, Kind::Update, Some(id)),
            Action::Create => self.settle(outcome, Kind::Create, None),
        }
    }
}

impl<O: Operation> JournalFile<O> {
    /// Writes the line of a record sent as an update or a create (`kind`)
    /// that named `sent_id`.
    fn settle(&self, outcome: &Outcome<O::Output>, kind: Kind, sent_id: Option<i64>) {
        let line = line(outcome, kind, sent_id, O::returned_id);
        let mut state = self.state.lock().expect("not poisoned");
        // A request's outcomes reach the disk once all of them are known;
        // the others (invalid records, records looked up) are written with
        // the next request's entry, and found again by a resumed run if a
        // crash loses them.
        let mut sync = false;
        if let Some(request) = state.requests.remove(&outcome.index)
            && let Some(count) = state.unsettled.get_mut(&request)
        {
            *count -= 1;
            if *count == 0 {
                state.unsettled.remove(&request);
                sync = true;
            }
        }
        self.write(&mut state, &Settled { settled: &line }, sync);
    }
}

#[derive(Serialize)]
struct Settled<'a, T> {
    settled: &'a T,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_join_runs_of_consecutive_indices() {
        assert_eq!(ranges([0, 1, 2, 5, 7, 8]), [(0, 2), (5, 5), (7, 8)]);
        assert_eq!(ranges([]), []);
    }

    #[test]
    fn a_line_cut_off_is_left_out() {
        let mut lines = LineReader::new("a\nb\nc".as_bytes());
        let mut seen = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            seen.push(line.to_owned());
        }
        assert_eq!(seen, ["a", "b"]);
    }
}
