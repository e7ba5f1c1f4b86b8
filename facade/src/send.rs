//! Sends one batch: one attempt after another through the raw client, as
//! long as [`crate::retry::decide`] says to try again.

use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::hooks::giving_up_waits;
use futures_util::future::Either;
use tracing::{Instrument, field};

use crate::classify::classify;
use crate::client::Shared;
use crate::error::{Error, RequestFailure};
use crate::ops::{Kind, Operation};
use crate::resume::Stopper;
use crate::retry::{Decision, decide};

/// What earlier requests that carried a batch's records may have done.
///
/// A batch Copper refuses as too large is split in two, and each half is a
/// new request; but an attempt before the refusal (one that timed out, or
/// got a 5xx) may have been applied, so the halves carry that history into
/// their outcomes rather than report records not applied that may have
/// been.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct History {
    /// Attempts made to send these records.
    attempts: u32,
    /// Whether any of them may have reached Copper.
    reached: bool,
    /// Whether Copper may have applied any of them.
    applied: bool,
}

impl History {
    /// The history of the records of a request that failed.
    pub(crate) fn of(failure: &RequestFailure) -> Self {
        History {
            attempts: failure.attempts(),
            reached: failure.may_have_reached_copper(),
            applied: failure.may_have_been_applied(),
        }
    }

    /// The history of records an earlier run sent without learning what
    /// became of them.
    pub(crate) fn maybe_applied() -> Self {
        History {
            attempts: 0,
            reached: true,
            applied: true,
        }
    }

    /// A failure of records that have this history: `error` is the last
    /// error; `attempts`, `reached` and `applied` describe the last
    /// request's attempts.
    pub(crate) fn failure(
        self,
        error: Error,
        attempts: u32,
        reached: bool,
        applied: bool,
    ) -> RequestFailure {
        RequestFailure::new(
            error,
            self.attempts + attempts,
            self.reached || reached,
            self.applied || applied,
        )
    }
}

/// How sending a batch ended.
pub(crate) enum Sent<T, F> {
    /// Copper answered 200 with these items, after this many attempts
    /// (those of earlier requests of the same records included).
    Items {
        items: Vec<BulkItem<T, F>>,
        attempts: u32,
    },
    /// Copper refused the batch as larger than its limit.
    TooLarge(RequestFailure),
    /// The batch failed for another reason.
    Failed(RequestFailure),
}

/// Sends a batch until Copper answers 200 or the retry policy gives up.
///
/// The policy counts this request's attempts only; the failure reported
/// adds what `earlier` requests of the same records may have done.
pub(crate) async fn send<O: Operation>(
    shared: &Shared,
    computed_values: Option<bool>,
    body: &O::Body,
    batch_size: usize,
    earlier: History,
    stopper: &Stopper,
) -> Sent<O::Output, O::Failure> {
    let policy = shared.config.retry();
    let started = tokio::time::Instant::now();
    let mut reached = false;
    let mut applied = false;
    let mut attempts = 0;
    let mut rate_limited = 0;
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
            pace_ms = field::Empty,
        );
        // A request still waiting for its permit when the run is asked to
        // stop is not sent.
        let request = O::send(&shared.raw, computed_values, body).instrument(span.clone());
        let result = giving_up_waits(stopper.as_give_up(), request).await;
        let (error, failure) = match result {
            Ok(response) => {
                let items = response.into_inner();
                span.in_scope(|| tracing::info!(items = items.len(), "answered"));
                return Sent::Items {
                    items,
                    attempts: earlier.attempts + attempts,
                };
            }
            Err(error) => classify(error, shared.config.credentials()).await,
        };
        reached |= error.may_have_reached_copper();
        applied |= error.may_have_been_applied();
        rate_limited += u32::from(failure.is_rate_limited());
        let decision = decide(
            policy,
            &failure,
            attempts,
            rate_limited,
            O::KIND == Kind::Update,
            started.elapsed(),
            fastrand::f64(),
        );
        match decision {
            Decision::RetryAfter(wait) if !stopper.is_stopped() => {
                span.in_scope(|| {
                    tracing::warn!(error = %error, wait_ms = wait.as_millis() as u64, "retrying");
                });
                // A run asked to stop sends nothing more: a request waiting
                // to be retried ends with the failure it has.
                let sleep = std::pin::pin!(tokio::time::sleep(wait));
                let stopped = std::pin::pin!(stopper.stopped());
                if let Either::Right(_) = futures_util::future::select(sleep, stopped).await {
                    span.in_scope(|| tracing::warn!(error = %error, "stopped before retrying"));
                    return give_up(error, earlier, attempts, reached, applied);
                }
            }
            Decision::RetryAfter(_) => {
                span.in_scope(|| tracing::warn!(error = %error, "stopped before retrying"));
                return give_up(error, earlier, attempts, reached, applied);
            }
            Decision::GiveUp(reason) => {
                span.in_scope(|| tracing::warn!(error = %error, ?reason, "giving up"));
                return give_up(error, earlier, attempts, reached, applied);
            }
        }
    }
}

/// How a batch ends when it is not tried again after `error`.
fn give_up<T, F>(
    error: Error,
    earlier: History,
    attempts: u32,
    reached: bool,
    applied: bool,
) -> Sent<T, F> {
    let too_large = matches!(error, Error::RequestTooLarge { .. });
    let failure = earlier.failure(error, attempts, reached, applied);
    if too_large {
        Sent::TooLarge(failure)
    } else {
        Sent::Failed(failure)
    }
}
