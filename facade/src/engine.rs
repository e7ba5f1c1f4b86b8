//! Runs a bulk operation: wires the stages into one stream of outcomes,
//! and keeps the state the batches of a run share (whether it halted).
//!
//! Input records are numbered, checked, and grouped into batches of at most
//! the batch size (module `plan`); batches are sent with up to
//! `concurrency` in flight (module `send`), each retried by
//! [`crate::retry::decide`]; Copper's answers are matched to the records
//! (module `matching`), and outcomes are yielded in input order. Nothing
//! holds more than the batches in flight, so a stream of a million records
//! runs in constant memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};

use crate::client::Shared;
use crate::error::{Error, InvalidRecord, RequestFailure};
use crate::matching::{Expected, match_items};
use crate::ops::Operation;
use crate::outcome::{Outcome, Outcomes, RecordResult, outcomes_of_failed_request};
use crate::plan::{Batcher, InFlight, Unit, checked};
use crate::send::{History, Sent, send};

/// Runs operation `O` over `input`, yielding one outcome per input item.
pub(crate) fn run<O: Operation>(
    shared: Arc<Shared>,
    computed_values: Option<bool>,
    input: BoxStream<'static, Result<O::Record, InvalidRecord>>,
) -> Outcomes<O::Output> {
    let batch_size = shared.config.batch_size();
    let concurrency = shared.config.concurrency();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let run = Arc::new(Run {
        shared,
        computed_values,
        halted: Mutex::new(None),
        unreachable: AtomicUsize::new(0),
    });
    let outcomes = Batcher::new(checked::<O>(input), batch_size, Some(in_flight.clone()))
        .map(move |unit| {
            let guard = InFlight::enter(&in_flight);
            let run = run.clone();
            async move {
                let outcomes = execute_unit::<O>(run, unit).await;
                drop(guard);
                outcomes
            }
        })
        .buffered(concurrency)
        .flat_map(stream::iter);
    Outcomes::new(outcomes.boxed())
}

/// The state of one bulk operation's run, shared by its batches.
struct Run {
    shared: Arc<Shared>,
    computed_values: Option<bool>,
    /// Set when a request failed in a way every later request would too;
    /// later batches are then not sent.
    halted: Mutex<Option<Arc<RequestFailure>>>,
    /// Batches in a row that could not connect even after retrying.
    unreachable: AtomicUsize,
}

/// After this many batches in a row could not connect, the server is taken
/// to be down and the rest of the run is not sent.
const UNREACHABLE_BATCHES: usize = 3;

impl Run {
    fn halted(&self) -> Option<Arc<RequestFailure>> {
        self.halted.lock().expect("not poisoned").clone()
    }

    /// Stops the run when `failure` would strike every later request: the
    /// credentials were refused (401), the account may not use the
    /// endpoint (403, such as a disabled Leads feature), or the server has
    /// not been reachable for several batches. Sending a million records
    /// into any of these would only repeat the failure, at the rate limit.
    fn note_failure(&self, failure: &Arc<RequestFailure>) {
        let halt = match failure.error() {
            Error::Unauthorized { .. } | Error::Refused { status: 403, .. } => true,
            Error::Connect(_) => {
                self.unreachable.fetch_add(1, Ordering::SeqCst) + 1 >= UNREACHABLE_BATCHES
            }
            _ => false,
        };
        if halt {
            self.halted
                .lock()
                .expect("not poisoned")
                .get_or_insert_with(|| failure.clone());
        }
    }

    fn note_answer(&self) {
        self.unreachable.store(0, Ordering::SeqCst);
    }
}

/// Sends the records of one unit and returns their outcomes with those of
/// its refused records, in input order.
async fn execute_unit<O: Operation>(
    run: Arc<Run>,
    unit: Unit<O::Record>,
) -> Vec<Outcome<O::Output>> {
    let mut outcomes: Vec<Outcome<O::Output>> = unit
        .invalid
        .into_iter()
        .map(|(index, invalid)| Outcome {
            index,
            result: RecordResult::Invalid(invalid),
        })
        .collect();
    if !unit.records.is_empty() {
        let (indices, records): (Vec<usize>, Vec<O::Record>) = unit.records.into_iter().unzip();
        let history = History::default();
        outcomes.extend(execute_batch::<O>(&run, indices, records, history).await);
    }
    outcomes.sort_by_key(|outcome| outcome.index);
    outcomes
}

/// Sends one batch and turns the answer into one outcome per record. A
/// batch Copper refuses as too large is split in two and each half sent
/// (Copper may lower its limit below the configured batch size), carrying
/// the `history` of the attempts before the split.
fn execute_batch<'a, O: Operation>(
    run: &'a Run,
    mut indices: Vec<usize>,
    records: Vec<O::Record>,
    history: History,
) -> BoxFuture<'a, Vec<Outcome<O::Output>>> {
    Box::pin(async move {
        if let Some(cause) = run.halted() {
            let failure = Arc::new(history.failure(Error::Halted(cause), 0, false, false));
            return outcomes_of_failed_request(indices, &failure);
        }
        let expected: Vec<Expected> = records.iter().map(Expected::of::<O>).collect();
        let body = O::body(records);
        match send::<O>(
            &run.shared,
            run.computed_values,
            &body,
            indices.len(),
            history,
        )
        .await
        {
            Sent::Items { items, attempts } => {
                run.note_answer();
                let redact = |text: &str| run.shared.config.credentials().redact(text);
                match_items::<O>(indices, &expected, items, attempts, &redact)
            }
            Sent::TooLarge(failure) if indices.len() > 1 => {
                let history = History::of(&failure);
                let mut first = O::into_records(body);
                let second = first.split_off(first.len() / 2);
                let second_indices = indices.split_off(first.len());
                tracing::warn!(
                    operation = O::OPERATION,
                    batch_size = indices.len() + second_indices.len(),
                    "copper refused the batch as too large; sending it in two halves (lower the batch size)"
                );
                let mut outcomes = execute_batch::<O>(run, indices, first, history).await;
                outcomes.extend(execute_batch::<O>(run, second_indices, second, history).await);
                outcomes
            }
            Sent::TooLarge(failure) | Sent::Failed(failure) => {
                let failure = Arc::new(failure);
                run.note_failure(&failure);
                outcomes_of_failed_request(indices, &failure)
            }
        }
    })
}
