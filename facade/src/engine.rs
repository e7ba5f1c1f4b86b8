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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};

use crate::client::Shared;
use crate::error::{Error, RequestFailure};
use crate::matching::{Expected, match_items};
use crate::ops::{Kind, Operation};
use crate::outcome::{Outcome, Outcomes, RecordResult, outcomes_of_failed_request};
use crate::plan::{Batcher, InFlight, Pending, Unit, checked_entries};
use crate::reconcile;
use crate::resume::{Entry, Journal, Stopper};
use crate::send::{History, Sent, send};

/// Runs operation `O` over `input`, yielding one outcome per entry, and
/// telling `journal` what it sends and settles. `stopper` stops it and
/// `halt` halts it; several runs that make up one job share both.
pub(crate) fn run<O: Operation>(
    shared: Arc<Shared>,
    computed_values: Option<bool>,
    input: BoxStream<'static, Entry<O::Record>>,
    journal: Option<Arc<dyn Journal<O::Output>>>,
    stopper: Stopper,
    halt: Arc<Halt>,
) -> Outcomes<O::Output> {
    let batch_size = shared.config.batch_size();
    let concurrency = shared.config.concurrency();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let run = Arc::new(Run {
        shared,
        computed_values,
        halt,
        stopper: stopper.clone(),
        journal,
        recent: Mutex::new(VecDeque::new()),
    });
    let outcomes = Batcher::new(
        checked_entries::<O>(
            input
                .filter(|entry| std::future::ready(!entry.settled))
                .boxed(),
        ),
        batch_size,
        Some(in_flight.clone()),
    )
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
    Outcomes::new(outcomes.boxed()).with_stopper(stopper)
}

/// The state of one bulk operation's run, shared by its batches.
pub(crate) struct Run<T> {
    pub(crate) shared: Arc<Shared>,
    computed_values: Option<bool>,
    /// Whether the job halted, shared by every run of it.
    halt: Arc<Halt>,
    /// Asked to stop: no new request is sent.
    pub(crate) stopper: Stopper,
    /// Told of every request before it is sent, and of every outcome.
    journal: Option<Arc<dyn Journal<T>>>,
    /// The ids of records this run created lately, and when it learnt of
    /// them: a lookup for another create leaves them out, since each is
    /// already some record's.
    recent: Mutex<VecDeque<(Instant, i64)>>,
}

/// After this many batches in a row could not connect (or got no OAuth
/// token), the server (or the token source) is taken to be down and the
/// rest of the run is not sent.
const UNREACHABLE_BATCHES: usize = 3;

/// Whether a job halted: a request failed in a way every later request
/// would too, and no later request is sent. Every run of a job shares one
/// (a run matched by key runs an update and a create per window of records,
/// and looks the keys up before), so that what halts one halts the job.
#[derive(Debug, Default)]
pub(crate) struct Halt {
    /// Why the job halted, once it has.
    halted: Mutex<Option<Arc<RequestFailure>>>,
    /// Requests in a row that could not connect even after retrying.
    unreachable: AtomicUsize,
}

impl Halt {
    /// Why the job halted, if it has.
    pub(crate) fn halted(&self) -> Option<Arc<RequestFailure>> {
        self.halted.lock().expect("not poisoned").clone()
    }

    /// Halts the job when `failure` would strike every later request: the
    /// credentials were refused (401), the account may not use the
    /// endpoint (403, such as a disabled Leads feature), the shared rate
    /// limiter is lost (after its grace), or the server has not been
    /// reachable, or the OAuth token source has given no token, for
    /// several requests in a row. Sending a million records into any of
    /// these would only repeat the failure, at the rate limit.
    pub(crate) fn note_failure(&self, failure: &Arc<RequestFailure>) {
        let halt = match failure.error() {
            // A limiter that could not decide waited its grace already.
            Error::Unauthorized { .. }
            | Error::Refused { status: 403, .. }
            | Error::LimiterUnavailable(_) => true,
            Error::Connect(_) | Error::NoToken(_) => {
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

    /// A request was answered: the server is reachable.
    pub(crate) fn note_answer(&self) {
        self.unreachable.store(0, Ordering::SeqCst);
    }

    /// Why no new request may be sent, if none may: the job halted, or
    /// `stopper` asked it to stop.
    pub(crate) fn barred(&self, stopper: &Stopper) -> Option<Error> {
        if let Some(cause) = self.halted() {
            return Some(Error::Halted(cause));
        }
        stopper.is_stopped().then_some(Error::Stopped)
    }
}

impl<T> Run<T> {
    /// Why no new request may be sent, if none may: the job halted, or
    /// the run was asked to stop.
    pub(crate) fn barred(&self) -> Option<Error> {
        self.halt.barred(&self.stopper)
    }

    /// Remembers the records this run created, for as long as a lookup
    /// could find them: a request's first attempt, its retries, its
    /// timeout, the grace delay and the clocks' tolerance.
    pub(crate) fn note_created(&self, ids: impl IntoIterator<Item = i64>) {
        let config = &self.shared.config;
        let (_, timeout) = config.timeouts();
        let reconcile = config.reconcile();
        let horizon =
            config.retry().budget() + timeout * 2 + reconcile.grace() + reconcile.clock_tolerance();
        let now = Instant::now();
        let mut recent = self.recent.lock().expect("not poisoned");
        while recent
            .front()
            .is_some_and(|(when, _)| now.duration_since(*when) > horizon)
        {
            recent.pop_front();
        }
        recent.extend(ids.into_iter().map(|id| (now, id)));
    }

    /// Whether this run created the record `id` lately.
    pub(crate) fn recently_created(&self, id: i64) -> bool {
        self.recent
            .lock()
            .expect("not poisoned")
            .iter()
            .any(|(_, created)| *created == id)
    }

    fn sending(&self, indices: &[usize]) {
        if let Some(journal) = &self.journal {
            journal.sending(indices);
        }
    }

    fn settled(&self, outcomes: &[Outcome<T>]) {
        if let Some(journal) = &self.journal {
            for outcome in outcomes {
                journal.settled(outcome);
            }
        }
    }
}

/// Sends the records of one unit and returns their outcomes with those of
/// its refused records, in input order. Records an earlier run may have
/// applied are reconciled first.
async fn execute_unit<O: Operation>(
    run: Arc<Run<O::Output>>,
    unit: Unit<Pending<O::Record>>,
) -> Vec<Outcome<O::Output>> {
    let mut outcomes: Vec<Outcome<O::Output>> = unit
        .invalid
        .into_iter()
        .map(|(index, invalid)| Outcome {
            index,
            result: RecordResult::Invalid(invalid),
        })
        .collect();
    let (mut fresh, earlier): (Vec<_>, Vec<_>) = unit
        .records
        .into_iter()
        .partition(|(_, pending)| pending.sent_before.is_none());
    if !earlier.is_empty() {
        let earlier = earlier
            .into_iter()
            .map(|(index, pending)| {
                let sent = pending.sent_before.expect("partitioned on it");
                (index, pending.record, sent)
            })
            .collect();
        let (settled, again) = reconcile::earlier::<O>(&run, earlier).await;
        outcomes.extend(settled);
        if O::KIND == Kind::Update {
            // An update an earlier run sent may have been applied: if this
            // one is not sent after all (the run stops or halts first), it
            // stays unknown, never "not applied".
            let (indices, records) = again.into_iter().unzip();
            let history = History::maybe_applied();
            outcomes.extend(execute_batch::<O>(&run, indices, records, history, 0).await);
        } else {
            // A create found nowhere was not applied, and goes with the rest.
            fresh.extend(again.into_iter().map(|(index, record)| {
                (
                    index,
                    Pending {
                        record,
                        sent_before: None,
                    },
                )
            }));
            fresh.sort_by_key(|(index, _)| *index);
        }
    }
    if !fresh.is_empty() {
        let (indices, records): (Vec<usize>, Vec<O::Record>) = fresh
            .into_iter()
            .map(|(index, pending)| (index, pending.record))
            .unzip();
        let history = History::default();
        outcomes.extend(execute_batch::<O>(&run, indices, records, history, 0).await);
    }
    run.settled(&outcomes);
    outcomes.sort_by_key(|outcome| outcome.index);
    outcomes
}

/// Sends one batch and turns the answer into one outcome per record. A
/// batch Copper refuses as too large is split in two and each half sent
/// (Copper may lower its limit below the configured batch size), carrying
/// the `history` of the attempts before the split. Records whose fate the
/// answer leaves unknown are reconciled (module `reconcile`); `round`
/// counts how many times these records were sent again after that.
pub(crate) fn execute_batch<'a, O: Operation>(
    run: &'a Run<O::Output>,
    mut indices: Vec<usize>,
    records: Vec<O::Record>,
    history: History,
    round: u32,
) -> BoxFuture<'a, Vec<Outcome<O::Output>>> {
    Box::pin(async move {
        if let Some(barred) = run.barred() {
            let failure = Arc::new(history.failure(barred, 0, false, false));
            return outcomes_of_failed_request(indices, &failure);
        }
        let expected: Vec<Expected> = records.iter().map(Expected::of::<O>).collect();
        let body = O::body(records);
        let sent_at = std::time::SystemTime::now();
        run.sending(&indices);
        let sent = send::<O>(
            &run.shared,
            run.computed_values,
            &body,
            indices.len(),
            history,
            &run.stopper,
        )
        .await;
        let outcomes = match sent {
            Sent::Items { items, attempts } => {
                run.halt.note_answer();
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
                let mut outcomes = execute_batch::<O>(run, indices, first, history, round).await;
                outcomes
                    .extend(execute_batch::<O>(run, second_indices, second, history, round).await);
                return outcomes;
            }
            Sent::TooLarge(failure) | Sent::Failed(failure) => {
                let failure = Arc::new(failure);
                run.halt.note_failure(&failure);
                outcomes_of_failed_request(indices, &failure)
            }
        };
        if O::KIND == Kind::Create && run.shared.config.reconcile().is_on() {
            run.note_created(
                outcomes
                    .iter()
                    .filter_map(|outcome| outcome.result.applied().map(O::returned_id)),
            );
        }
        if !run.shared.config.reconcile().is_on()
            || !outcomes
                .iter()
                .any(|outcome| matches!(outcome.result, RecordResult::Unknown(_)))
        {
            return outcomes;
        }
        reconcile::after::<O>(run, outcomes, O::into_records(body), sent_at, round).await
    })
}
