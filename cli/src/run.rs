//! Running one bulk operation over the input, for any entity: what to
//! send (all of it, or what an interrupted run left), and one line per
//! record, in input order.

use std::fs::File;
use std::io::{BufReader, Write};
use std::sync::Arc;

use copper_bulk::ops::{Operation, Upsert};
use copper_bulk::{Copper, Entry, InvalidRecord, Journal, Match, Planned, Stopper, plan};
use futures_util::StreamExt;
use serde_json::json;
use tokio_stream::wrappers::ReceiverStream;

use crate::input::{Input, InputRecord, Reading};
use crate::journal::{Head, JournalFile, LineReader};
use crate::output::{Line, Summary, line, matched_line, outcome_name, write_line};
use crate::resume::{Next, Plan};

/// Why a run stopped before its end.
#[derive(Debug)]
pub enum Stop {
    /// The input could not be read to its end; every record read before
    /// the failure has its line.
    Input(String),
    /// An outcome line could not be written; the run stopped there.
    Output(std::io::Error),
    /// The journal could not be written; the run stopped sending, and
    /// every record has its line.
    Journal(std::io::Error),
}

impl From<std::io::Error> for Stop {
    fn from(error: std::io::Error) -> Self {
        Stop::Output(error)
    }
}

/// What a resumed run takes up: which records to send, and the output the
/// earlier runs left, whose lines for the records not sent again are
/// copied.
#[derive(Debug)]
pub struct Resume {
    /// What to do with each record.
    pub plan: Plan,
    /// The output the earlier runs left, folded (see
    /// [`consolidate`](crate::resume::consolidate)).
    pub earlier: BufReader<File>,
}

/// Sends every record with operation `O` (or, resuming, the records an
/// earlier run did not settle) and writes one line per record. The records
/// read before a failure of the input are still sent, and the failure is
/// returned once they have their lines. `journal`, when given, learns of
/// every request and outcome; `started` receives the run's [`Stopper`].
pub async fn send<O>(
    copper: &Copper,
    input: Input<O::Record>,
    resume: Option<Resume>,
    journal: Option<JournalFile<O>>,
    out: &mut dyn Write,
    summary: &mut Summary,
    started: impl FnOnce(Stopper),
) -> Result<(), Stop>
where
    O: Operation,
    O::Record: InputRecord,
{
    // The id each record named, by input index: an outcome reports it even
    // when Copper returned nothing. Only records between the reader and
    // their outcome are here, so it stays small.
    let ids = journal
        .as_ref()
        .map_or_else(Default::default, JournalFile::ids);
    let noted = ids.clone();
    let (entries, mut earlier, reading) = entries(input, resume, false, move |index, record| {
        if let Some(id) = record.as_ref().ok().and_then(O::sent_id) {
            noted.lock().expect("not poisoned").insert(index, id);
        }
    });
    let (journal, told) = shared(journal);
    let mut outcomes = copper.bulk_entries::<O, _>(entries, false, told);
    if let Some(journal) = &journal {
        journal.stops(outcomes.stopper());
    }
    started(outcomes.stopper());
    while let Some(outcome) = outcomes.next().await {
        summary.set_pace(copper.pace());
        let sent_id = ids.lock().expect("not poisoned").remove(&outcome.index);
        let line = line(&outcome, O::KIND, sent_id, O::returned_id);
        write_in_order(&mut earlier, &line, out, summary)?;
    }
    finish(earlier, journal.as_deref(), reading, out, summary)
}

/// The entries of a run over `input`, leaving out the records `resume`
/// says were settled before (or giving them as [`Entry::settled`], with
/// `settled`), and the earlier output to copy their lines from. `noting`
/// sees each record sent.
#[allow(clippy::type_complexity)]
fn entries<R: Send + 'static>(
    input: Input<R>,
    resume: Option<Resume>,
    settled: bool,
    mut noting: impl FnMut(usize, &Result<R, InvalidRecord>) + Send + 'static,
) -> (
    impl futures_util::Stream<Item = Entry<R>> + Send + 'static,
    Option<Earlier>,
    Reading,
) {
    let (mut plan, earlier) = match resume {
        Some(Resume { plan, earlier }) => {
            let len = plan.len();
            (plan, Some(Earlier::new(earlier, len)))
        }
        None => (Plan::fresh(), None),
    };
    let Input { records, reading } = input;
    let entries = ReceiverStream::new(records)
        .enumerate()
        .filter_map(move |(index, record)| {
            let sent_before = match plan.next(index) {
                Next::Skip if settled => {
                    return std::future::ready(Some(Entry::settled(index, record)));
                }
                Next::Skip => return std::future::ready(None),
                Next::Send => None,
                Next::SentBefore(sent) => Some(sent),
            };
            noting(index, &record);
            std::future::ready(Some(Entry {
                sent_before,
                ..Entry::new(index, record)
            }))
        });
    (entries, earlier, reading)
}

/// The journal shared with the run, and as the run is told of it.
#[allow(clippy::type_complexity)]
fn shared<O: Operation>(
    journal: Option<JournalFile<O>>,
) -> (
    Option<Arc<JournalFile<O>>>,
    Option<Arc<dyn Journal<O::Output>>>,
) {
    let journal = journal.map(Arc::new);
    let told = journal
        .clone()
        .map(|journal| journal as Arc<dyn Journal<O::Output>>);
    (journal, told)
}

/// Writes `line`, after the lines the earlier output holds for the records
/// before it, and counts it.
fn write_in_order(
    earlier: &mut Option<Earlier>,
    line: &Line<'_>,
    out: &mut dyn Write,
    summary: &mut Summary,
) -> Result<(), Stop> {
    if let Some(earlier) = earlier {
        earlier.copy_until(line.index, out, summary)?;
    }
    summary.add(line.outcome);
    write_line(out, line)?;
    Ok(())
}

/// Ends a run whose outcomes were all written: copies the earlier output's
/// lines left after the last record sent, and makes sure the output, the
/// journal and the input came through whole.
fn finish<O: Operation>(
    mut earlier: Option<Earlier>,
    journal: Option<&JournalFile<O>>,
    reading: Reading,
    out: &mut dyn Write,
    summary: &mut Summary,
) -> Result<(), Stop> {
    if let Some(earlier) = &mut earlier {
        earlier.copy_until(usize::MAX, out, summary)?;
    }
    out.flush()?;
    if let Some(journal) = journal {
        journal.finish().map_err(Stop::Journal)?;
    }
    reading.end().map_err(Stop::Input)
}

/// Which records a run matched by key sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matched {
    /// Updates the record found, or creates one.
    Upsert,
    /// Updates the record found; a record no record matches is `not_found`.
    Update,
}

impl Matched {
    /// The operation's name in the journal of a run of `C` matched by
    /// `by`, such as `people_upsert_by_email`: a job is resumed only by the
    /// command that started it.
    pub fn operation<C: Upsert>(self, by: Match) -> String {
        let entity = C::OPERATION.trim_end_matches("_bulk_create");
        let verb = match self {
            Matched::Upsert => "upsert",
            Matched::Update => "update",
        };
        let key = match by {
            Match::EmailDomain => "email_domain",
            _ => "email",
        };
        format!("{entity}_{verb}_by_{key}")
    }
}

/// Sends records of create operation `C` matched by key `by` (`people
/// upsert|update --match email`, the same for leads, and companies'
/// `--match email_domain`) and writes one line per record, in input order.
/// The records read before a failure of the input are still sent, and the
/// failure is returned once they have their lines. `started` receives the
/// run's [`Stopper`]. As [`send`] does, it takes up what `resume` says an
/// earlier run left, and tells `journal` what it sends and settles.
#[allow(clippy::too_many_arguments)]
pub async fn send_matched<C: Upsert>(
    copper: &Copper,
    input: Input<C::Record>,
    matched: Matched,
    by: Match,
    resume: Option<Resume>,
    journal: Option<JournalFile<C>>,
    out: &mut dyn Write,
    summary: &mut Summary,
    started: impl FnOnce(Stopper),
) -> Result<(), Stop> {
    // The records settled before go to the run too, for their keys.
    let (entries, mut earlier, reading) = entries(input, resume, true, |_, _| {});
    let (journal, told) = shared(journal);
    let mut outcomes = match matched {
        Matched::Upsert => copper.bulk_upsert_entries::<C, _>(entries, by, false, told),
        Matched::Update => copper.bulk_update_matched_entries::<C, _>(entries, by, false, told),
    };
    if let Some(journal) = &journal {
        journal.stops(outcomes.stopper());
    }
    started(outcomes.stopper());
    while let Some(outcome) = outcomes.next().await {
        summary.set_pace(copper.pace());
        let line = matched_line(&outcome, C::returned_id);
        write_in_order(&mut earlier, &line, out, summary)?;
    }
    finish(earlier, journal.as_deref(), reading, out, summary)
}

struct Earlier {
    lines: LineReader<BufReader<File>>,
    /// The index of the next line.
    next: usize,
    len: usize,
}

impl Earlier {
    fn new(file: BufReader<File>, len: usize) -> Self {
        Earlier {
            lines: LineReader::new(file),
            next: 0,
            len,
        }
    }

    /// Copies the lines of the records before `index` (records not sent
    /// again), and passes over the line of `index`, which the new outcome
    /// replaces.
    fn copy_until(
        &mut self,
        index: usize,
        out: &mut dyn Write,
        summary: &mut Summary,
    ) -> Result<(), Stop> {
        let unreadable = |e: String| Stop::Output(std::io::Error::other(e));
        while self.next < self.len && self.next <= index {
            let line = self
                .lines
                .next_line()
                .map_err(unreadable)?
                .ok_or_else(|| unreadable("the earlier output ended early".into()))?;
            if self.next < index {
                let head: Head<'_> =
                    serde_json::from_str(line).map_err(|e| unreadable(e.to_string()))?;
                summary.add(outcome_name(head.outcome));
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
            self.next += 1;
        }
        Ok(())
    }
}

/// Writes the requests operation `O` would send, and the records it would
/// refuse, without sending anything. Returns how many requests and how many
/// invalid records there were.
pub async fn dry_run<O>(
    input: Input<O::Record>,
    batch_size: usize,
    out: &mut dyn Write,
    summary: &mut Summary,
) -> Result<usize, Stop>
where
    O: Operation,
    O::Record: InputRecord,
{
    let mut batches = 0;
    let Input { records, reading } = input;
    let mut planned = std::pin::pin!(plan::<O, _>(ReceiverStream::new(records), batch_size));
    while let Some(step) = planned.next().await {
        match step {
            Planned::Batch { indices, request } => {
                for _ in &indices {
                    summary.add("valid");
                }
                write_line(
                    out,
                    &json!({"batch": batches, "indices": indices, "request": request}),
                )?;
                batches += 1;
            }
            Planned::Invalid { index, reason } => {
                summary.add("invalid");
                let line = Line {
                    index,
                    outcome: "invalid",
                    id: None,
                    errors: None,
                    message: Some(reason.to_string()),
                    ids: None,
                };
                write_line(out, &line)?;
            }
            _ => {}
        }
    }
    out.flush()?;
    reading.end().map_err(Stop::Input)?;
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use copper_bulk::{Config, PersonUpdate, ops};
    use copper_bulk_sandbox::{Sandbox, SandboxConfig};
    use serde_json::Value;

    use super::*;
    use crate::input::tests::{Failing, Failure};
    use crate::input::{Format, read};

    #[tokio::test]
    async fn a_reader_failure_stops_the_run_after_every_record_read_has_its_line() {
        let sandbox = Sandbox::start(
            SandboxConfig::new()
                .with_rate_limit(None)
                .with_applied_log(false),
        )
        .await
        .unwrap();
        let config = Config::new(sandbox.config().token(), sandbox.config().user_email())
            .unwrap()
            .with_base_url(sandbox.url())
            .unwrap();
        let copper = Copper::new(config).unwrap();
        let text = "{\"id\": 1, \"title\": \"a\"}\nnot json\n{\"id\": 2, \"title\": \"b\"}\n";
        for then in [Failure::Error, Failure::Panic] {
            let input = read::<PersonUpdate>(Failing::reader(text, then), Format::Ndjson).unwrap();
            let mut out = Vec::new();
            let mut summary = Summary::start(None, true);
            let stopped = send::<ops::PeopleUpdate>(
                &copper,
                input,
                None,
                None,
                &mut out,
                &mut summary,
                |_| {},
            )
            .await;
            assert!(
                matches!(stopped, Err(Stop::Input(_))),
                "{then:?}: {stopped:?}"
            );
            let outcomes: Vec<String> = String::from_utf8(out)
                .unwrap()
                .lines()
                .map(|line| {
                    let line: Value = serde_json::from_str(line).unwrap();
                    line["outcome"].as_str().unwrap().to_owned()
                })
                .collect();
            assert_eq!(outcomes, ["updated", "invalid", "updated"], "{then:?}");
        }
    }
}
