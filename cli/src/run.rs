//! Running one bulk operation over the input, for any entity.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};

use copper_bulk::ops::Operation;
use copper_bulk::{Copper, Planned, plan};
use futures_util::StreamExt;
use serde_json::json;
use tokio_stream::wrappers::ReceiverStream;

use crate::input::{Input, InputRecord};
use crate::output::{Line, Summary, line, write_line};

/// Why a run stopped before its end.
#[derive(Debug)]
pub enum Stop {
    /// The input could not be read to its end; every record read before
    /// the failure has its line.
    Input(String),
    /// An outcome line could not be written; the run stopped there.
    Output(std::io::Error),
}

impl From<std::io::Error> for Stop {
    fn from(error: std::io::Error) -> Self {
        Stop::Output(error)
    }
}

/// Sends every record with operation `O` and writes one line per record.
/// The records read before a failure of the input are still sent, and the
/// failure is returned once they have their lines.
pub async fn send<O>(
    copper: &Copper,
    input: Input<O::Record>,
    out: &mut dyn Write,
    summary: &mut Summary,
) -> Result<(), Stop>
where
    O: Operation,
    O::Record: InputRecord,
{
    // The id each record named, in input order: an outcome reports it even
    // when Copper returned nothing. Only records between the reader and
    // their outcome are here, so it stays small.
    let sent_ids = Arc::new(Mutex::new(VecDeque::new()));
    let noted = sent_ids.clone();
    let Input { records, reading } = input;
    let input = ReceiverStream::new(records).inspect(move |record| {
        let id = record.as_ref().ok().and_then(O::sent_id);
        noted.lock().expect("not poisoned").push_back(id);
    });
    let mut outcomes = copper.bulk_stream::<O, _>(input, false);
    while let Some(outcome) = outcomes.next().await {
        let sent_id = sent_ids.lock().expect("not poisoned").pop_front().flatten();
        let line = line(&outcome, O::KIND, sent_id, O::returned_id);
        summary.add(line.outcome);
        write_line(out, &line)?;
    }
    out.flush()?;
    reading.end().map_err(Stop::Input)
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
            let stopped = send::<ops::PeopleUpdate>(&copper, input, &mut out, &mut summary).await;
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
