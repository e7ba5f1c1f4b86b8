//! The one implementation of batching, concurrency, retries and per-record
//! outcomes that serves every bulk operation.
//!
//! Input records are numbered, checked, and grouped into batches of at most
//! the batch size; batches are sent with up to `concurrency` in flight, each
//! retried by [`crate::retry::decide`], and their outcomes are yielded in
//! input order. Nothing holds more than the batches in flight, so a stream
//! of a million records runs in constant memory.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;

use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::error_body::ErrorBody;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use serde_json::Value;
use tracing::{Instrument, field};

use crate::client::Shared;
use crate::error::{Error, InvalidRecord, RequestFailure};
use crate::matching::{Expected, match_items};
use crate::ops::{Kind, Operation};
use crate::outcome::{Outcome, Outcomes, RecordResult};
use crate::retry::{AttemptFailure, Decision, decide, parse_retry_after};

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

/// What a dry run shows: the requests a bulk operation would send, and the
/// records it would refuse before sending.
#[derive(Debug)]
#[non_exhaustive]
pub enum Planned {
    /// One request.
    Batch {
        /// The input indices of its records, in order.
        indices: Vec<usize>,
        /// Its body, exactly as it would be sent.
        request: Value,
    },
    /// A record refused before sending.
    Invalid {
        /// Its input index.
        index: usize,
        /// Why.
        reason: InvalidRecord,
    },
}

/// The requests operation `O` would send for `records`, without sending
/// anything (a dry run).
///
/// Records are checked and batched as [`Copper::bulk`](crate::Copper::bulk)
/// would, except that batches are always filled when the input allows: a
/// live run sends a smaller batch rather than wait for a slow input.
pub fn plan<O, S>(records: S, batch_size: usize) -> impl Stream<Item = Planned> + Send
where
    O: Operation,
    S: Stream + Send + 'static,
    S::Item: crate::IntoRecord<O::Record>,
{
    let input = records.map(crate::IntoRecord::into_record).boxed();
    Batcher::new(checked::<O>(input), batch_size.max(1), None).flat_map(|unit| {
        let mut planned: Vec<Planned> = unit
            .invalid
            .into_iter()
            .map(|(index, reason)| Planned::Invalid { index, reason })
            .collect();
        if !unit.records.is_empty() {
            let (indices, records): (Vec<usize>, Vec<O::Record>) = unit.records.into_iter().unzip();
            let request = serde_json::to_value(O::body(records))
                .expect("checked records serialize, and so does their request");
            planned.push(Planned::Batch { indices, request });
        }
        stream::iter(planned)
    })
}

/// Numbers the input and checks each record.
fn checked<O: Operation>(
    input: BoxStream<'static, Result<O::Record, InvalidRecord>>,
) -> BoxStream<'static, (usize, Result<O::Record, InvalidRecord>)> {
    input
        .enumerate()
        .map(|(index, record)| (index, record.and_then(check::<O>)))
        .boxed()
}

/// Counts a unit as in flight while it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Refuses, before sending, a record Copper cannot take: one that does not
/// serialize to a JSON object, an update without a valid id, or an update
/// that changes nothing.
fn check<O: Operation>(record: O::Record) -> Result<O::Record, InvalidRecord> {
    let value = serde_json::to_value(&record)
        .map_err(|e| InvalidRecord::new(format!("the record cannot be serialized: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(InvalidRecord::new(
            "the record does not serialize to a JSON object",
        ));
    };
    if let Some(id) = O::sent_id(&record) {
        if id <= 0 {
            return Err(InvalidRecord::new(format!(
                "the update has no valid id: `id` is {id}, and Copper's ids are positive"
            )));
        }
        if fields.keys().all(|key| key == "id") {
            return Err(InvalidRecord::new(format!(
                "the update of id {id} changes no field"
            )));
        }
    }
    Ok(record)
}

/// The records of one batch, with the refused records whose indices fall
/// among them, so that outcomes come out in input order.
struct Unit<I> {
    records: Vec<(usize, I)>,
    invalid: Vec<(usize, InvalidRecord)>,
}

impl<I> Unit<I> {
    fn new() -> Self {
        Unit {
            records: Vec::new(),
            invalid: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.invalid.is_empty()
    }
}

/// Refused records carried by one unit at most, so that a long run of bad
/// input does not pile up in memory.
const MAX_INVALID_PER_UNIT: usize = 1_000;

/// Groups checked records into units of at most `batch_size` records.
///
/// A unit is closed when it is full or when the input ends. When the input
/// has nothing ready, a partial unit is closed only if no unit is in flight
/// (`in_flight` counts them): while requests are out, waiting for more
/// records costs nothing and fills the next request, but an idle client
/// sends what it has rather than keep a slow stream's records waiting.
/// Without a counter (a dry run), partial units wait for the input.
struct Batcher<I> {
    input: BoxStream<'static, (usize, Result<I, InvalidRecord>)>,
    batch_size: usize,
    in_flight: Option<Arc<AtomicUsize>>,
    unit: Unit<I>,
    done: bool,
}

impl<I> Batcher<I> {
    fn new(
        input: BoxStream<'static, (usize, Result<I, InvalidRecord>)>,
        batch_size: usize,
        in_flight: Option<Arc<AtomicUsize>>,
    ) -> Self {
        Batcher {
            input,
            batch_size,
            in_flight,
            unit: Unit::new(),
            done: false,
        }
    }

    fn idle(&self) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|count| count.load(Ordering::SeqCst) == 0)
    }

    fn close_unit(&mut self) -> Poll<Option<Unit<I>>> {
        Poll::Ready(Some(std::mem::replace(&mut self.unit, Unit::new())))
    }
}

impl<I> Unpin for Batcher<I> {}

impl<I> Stream for Batcher<I> {
    type Item = Unit<I>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Unit<I>>> {
        loop {
            if self.done {
                return if self.unit.is_empty() {
                    Poll::Ready(None)
                } else {
                    self.close_unit()
                };
            }
            match self.input.poll_next_unpin(cx) {
                Poll::Ready(Some((index, Ok(record)))) => {
                    self.unit.records.push((index, record));
                    if self.unit.records.len() >= self.batch_size {
                        return self.close_unit();
                    }
                }
                Poll::Ready(Some((index, Err(invalid)))) => {
                    self.unit.invalid.push((index, invalid));
                    if self.unit.invalid.len() >= MAX_INVALID_PER_UNIT {
                        return self.close_unit();
                    }
                }
                Poll::Ready(None) => self.done = true,
                Poll::Pending if !self.unit.is_empty() && self.idle() => return self.close_unit(),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

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
        outcomes.extend(execute_batch::<O>(&run, indices, records).await);
    }
    outcomes.sort_by_key(|outcome| outcome.index);
    outcomes
}

/// Sends one batch and turns the answer into one outcome per record. A
/// batch Copper refuses as too large is split in two and each half sent
/// (Copper may lower its limit below the configured batch size).
fn execute_batch<'a, O: Operation>(
    run: &'a Run,
    mut indices: Vec<usize>,
    records: Vec<O::Record>,
) -> BoxFuture<'a, Vec<Outcome<O::Output>>> {
    Box::pin(async move {
        if let Some(cause) = run.halted() {
            let failure = Arc::new(RequestFailure::new(Error::Halted(cause), 0, false, false));
            return not_applied(indices, &failure);
        }
        let expected: Vec<Expected> = records.iter().map(Expected::of::<O>).collect();
        let body = O::body(records);
        match send::<O>(run, &body, indices.len()).await {
            Sent::Items { items, attempts } => {
                run.note_answer();
                let redact = |text: &str| run.shared.config.credentials().redact(text);
                match_items::<O>(indices, &expected, items, attempts, &redact)
            }
            Sent::TooLarge(_) if indices.len() > 1 => {
                let mut first = O::into_records(body);
                let second = first.split_off(first.len() / 2);
                let second_indices = indices.split_off(first.len());
                tracing::warn!(
                    operation = O::OPERATION,
                    batch_size = indices.len() + second_indices.len(),
                    "copper refused the batch as too large; sending it in two halves (lower the batch size)"
                );
                let mut outcomes = execute_batch::<O>(run, indices, first).await;
                outcomes.extend(execute_batch::<O>(run, second_indices, second).await);
                outcomes
            }
            Sent::TooLarge(failure) | Sent::Failed(failure) => {
                let failure = Arc::new(failure);
                run.note_failure(&failure);
                not_applied(indices, &failure)
            }
        }
    })
}

/// The outcomes of records whose request failed: unknown when Copper may
/// have applied it, not applied otherwise.
fn not_applied<T>(indices: Vec<usize>, failure: &Arc<RequestFailure>) -> Vec<Outcome<T>> {
    indices
        .into_iter()
        .map(|index| Outcome {
            index,
            result: if failure.may_have_been_applied() {
                RecordResult::Unknown(failure.clone())
            } else {
                RecordResult::NotApplied(failure.clone())
            },
        })
        .collect()
}

enum Sent<T, F> {
    Items {
        items: Vec<BulkItem<T, F>>,
        attempts: u32,
    },
    TooLarge(RequestFailure),
    Failed(RequestFailure),
}

/// Sends a batch until Copper answers 200 or the retry policy gives up.
async fn send<O: Operation>(
    run: &Run,
    body: &O::Body,
    batch_size: usize,
) -> Sent<O::Output, O::Failure> {
    let shared = &*run.shared;
    let policy = shared.config.retry();
    let started = tokio::time::Instant::now();
    let mut reached = false;
    let mut applied = false;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let span = tracing::info_span!(
            "copper_request",
            operation = O::OPERATION,
            batch_size,
            attempt = attempts,
            status = field::Empty,
            duration_ms = field::Empty,
            rate_limit_wait_ms = field::Empty,
        );
        let result = O::send(&shared.raw, run.computed_values, body)
            .instrument(span.clone())
            .await;
        let (error, failure) = match result {
            Ok(response) => {
                let items = response.into_inner();
                span.in_scope(|| tracing::info!(items = items.len(), "answered"));
                return Sent::Items { items, attempts };
            }
            Err(error) => {
                let redact = |text: &str| shared.config.credentials().redact(text);
                classify(error, &redact).await
            }
        };
        reached |= error.may_have_reached_copper();
        applied |= error.may_have_been_applied();
        let decision = decide(
            policy,
            &failure,
            attempts,
            O::KIND == Kind::Update,
            started.elapsed(),
            fastrand::f64(),
        );
        match decision {
            Decision::RetryAfter(wait) => {
                span.in_scope(|| {
                    tracing::warn!(error = %error, wait_ms = wait.as_millis() as u64, "retrying");
                });
                tokio::time::sleep(wait).await;
            }
            Decision::GiveUp(reason) => {
                span.in_scope(|| tracing::warn!(error = %error, ?reason, "giving up"));
                let too_large = matches!(error, Error::RequestTooLarge { .. });
                let failure = RequestFailure::new(error, attempts, reached, applied);
                return if too_large {
                    Sent::TooLarge(failure)
                } else {
                    Sent::Failed(failure)
                };
            }
        }
    }
}

/// The longest server message kept in an error.
const MAX_MESSAGE: usize = 500;

/// Turns a failed raw call into the facade's error and what the retry
/// policy needs to know.
/// Server text in the error goes through `redact`.
async fn classify(
    error: copper_bulk_raw::Error<()>,
    redact: &(dyn Fn(&str) -> String + Sync),
) -> (Error, AttemptFailure) {
    use copper_bulk_raw::Error as Raw;
    match error {
        Raw::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, SystemTime::now()));
            let body = ErrorBody::read(response).await.unwrap_or(ErrorBody::Empty);
            let message = body.message().map(|message| {
                let message = redact(message);
                match message.char_indices().nth(MAX_MESSAGE) {
                    Some((cut, _)) => format!("{}...", &message[..cut]),
                    None => message,
                }
            });
            let error = match status {
                401 => Error::Unauthorized { message },
                422 if matches!(body, ErrorBody::SizeLimit(_)) => {
                    Error::RequestTooLarge { message }
                }
                429 => Error::RateLimited { retry_after },
                // The server gave up waiting for the request; a proxy may
                // say so after Copper got it, so it is not a refusal.
                408 => Error::UnexpectedStatus { status },
                300..=399 => Error::Redirected { status },
                400..=499 => Error::Refused { status, message },
                500..=599 => Error::Server { status, message },
                _ => Error::UnexpectedStatus { status },
            };
            (
                error,
                AttemptFailure::Status {
                    status,
                    retry_after,
                },
            )
        }
        Raw::CommunicationError(error) | Raw::ResponseBodyError(error) => {
            if error.is_connect() {
                (Error::Connect(error), AttemptFailure::NotConnected)
            } else if error.is_timeout() {
                (Error::Timeout(error), AttemptFailure::NoAnswer)
            } else if error.is_builder() {
                (
                    Error::Request(error.to_string()),
                    AttemptFailure::Unsendable,
                )
            } else if error.is_decode() {
                let reason = error.to_string();
                (
                    Error::UnreadableResponse { reason },
                    AttemptFailure::NoAnswer,
                )
            } else {
                (Error::Transport(error), AttemptFailure::NoAnswer)
            }
        }
        Raw::InvalidResponsePayload(_, error) => (
            Error::UnreadableResponse {
                reason: error.to_string(),
            },
            AttemptFailure::NoAnswer,
        ),
        other => (
            Error::Request(other.to_string()),
            AttemptFailure::Unsendable,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::PeopleUpdate;
    use copper_bulk_raw::types::PersonUpdate;

    #[test]
    fn updates_need_a_positive_id_and_a_change() {
        assert!(check::<PeopleUpdate>(PersonUpdate::new(7).clear_title()).is_ok());
        let no_id = check::<PeopleUpdate>(PersonUpdate::new(0).title("x")).unwrap_err();
        assert_eq!(
            no_id.reason(),
            "the update has no valid id: `id` is 0, and Copper's ids are positive"
        );
        let empty = check::<PeopleUpdate>(PersonUpdate::new(7)).unwrap_err();
        assert_eq!(empty.reason(), "the update of id 7 changes no field");
        // An empty list is a change: it clears the list.
        assert!(check::<PeopleUpdate>(PersonUpdate::new(7).tags(Vec::<String>::new())).is_ok());
    }

    /// A record whose serialization fails, as a user's type could.
    struct Unserializable;

    impl serde::Serialize for Unserializable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("a float that is not a number"))
        }
    }

    struct Broken;

    impl crate::ops::sealed::Sealed for Broken {}

    impl Operation for Broken {
        type Record = Unserializable;
        type Output = copper_bulk_raw::types::Person;
        type Failure = copper_bulk_raw::types::BulkCreateFailure;
        type Body = ();
        const ENTITY: &'static str = "broken";
        const KIND: Kind = Kind::Create;
        const OPERATION: &'static str = "broken";
        const COMPUTED_VALUES: bool = false;

        fn body(_: Vec<Self::Record>) -> Self::Body {}

        fn into_records(_: Self::Body) -> Vec<Self::Record> {
            Vec::new()
        }

        async fn send(
            _: &copper_bulk_raw::Client,
            _: Option<bool>,
            _: &(),
        ) -> crate::ops::RawResult<Self::Output, Self::Failure> {
            unreachable!("records that fail the check are never sent")
        }

        fn sent_id(_: &Self::Record) -> Option<i64> {
            None
        }

        fn returned_id(record: &Self::Output) -> i64 {
            record.id
        }
    }

    /// The error a status is reported with and the retry decision for it
    /// must agree: a create is retried only when the error says Copper
    /// certainly did not apply it.
    #[tokio::test]
    async fn errors_and_retries_agree_on_what_may_have_been_applied() {
        use crate::retry::{RetryPolicy, decide};

        for status in [
            200, 201, 301, 307, 400, 401, 403, 404, 408, 422, 429, 500, 502, 503, 504,
        ] {
            let response = http::Response::builder()
                .status(status)
                .body(Vec::<u8>::new())
                .unwrap();
            let raw = copper_bulk_raw::Error::UnexpectedResponse(reqwest::Response::from(response));
            let (error, failure) = classify(raw, &|text: &str| text.to_owned()).await;
            let create_retried = matches!(
                decide(
                    &RetryPolicy::standard(),
                    &failure,
                    1,
                    false,
                    std::time::Duration::ZERO,
                    0.0
                ),
                Decision::RetryAfter(_)
            );
            if create_retried {
                assert!(!error.may_have_been_applied(), "{status}: {error}");
            }
            let certainly_not_applied = matches!(status, 300..=407 | 409..=499);
            assert_eq!(
                error.may_have_been_applied(),
                !certainly_not_applied,
                "{status}: {error}"
            );
        }
    }

    #[test]
    fn a_record_that_cannot_be_serialized_is_invalid() {
        let error = check::<Broken>(Unserializable).err().unwrap();
        assert_eq!(
            error.reason(),
            "the record cannot be serialized: a float that is not a number"
        );
    }
}
