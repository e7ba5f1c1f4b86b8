//! Running one bulk operation over the input, for any entity.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};

use copper_bulk::ops::Operation;
use copper_bulk::{Copper, Planned, plan};
use futures_util::StreamExt;
use futures_util::stream::{self, Stream};
use serde_json::json;

use crate::input::{InputRecord, Records};
use crate::output::{Line, Summary, line, write_line};

/// The records of `records` as a stream.
fn stream_of<R: Send + 'static>(
    records: Records<R>,
) -> impl Stream<Item = Result<R, copper_bulk::InvalidRecord>> + Send + 'static {
    stream::unfold(records, |mut records| async move {
        records.recv().await.map(|record| (record, records))
    })
}

/// Sends every record with operation `O` and writes one line per record.
pub async fn send<O>(
    copper: &Copper,
    records: Records<O::Record>,
    out: &mut dyn Write,
    summary: &mut Summary,
) -> std::io::Result<()>
where
    O: Operation,
    O::Record: InputRecord,
{
    // The id each record named, in input order: an outcome reports it even
    // when Copper returned nothing. Only records between the reader and
    // their outcome are here, so it stays small.
    let sent_ids = Arc::new(Mutex::new(VecDeque::new()));
    let noted = sent_ids.clone();
    let input = stream_of(records).inspect(move |record| {
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
    out.flush()
}

/// Writes the requests operation `O` would send, and the records it would
/// refuse, without sending anything. Returns how many requests and how many
/// invalid records there were.
pub async fn dry_run<O>(
    records: Records<O::Record>,
    batch_size: usize,
    out: &mut dyn Write,
    summary: &mut Summary,
) -> std::io::Result<usize>
where
    O: Operation,
    O::Record: InputRecord,
{
    let mut batches = 0;
    let mut planned = std::pin::pin!(plan::<O, _>(stream_of(records), batch_size));
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
    Ok(batches)
}
