//! When a failed request is sent again, and after how long.
//!
//! [`decide`] is a pure function of what happened, how many attempts were
//! made (and how many of them Copper answered 429), whether the operation
//! may be repeated, the time spent so far and a random number: no clock, no
//! I/O, so every rule is unit-tested below.

use std::time::Duration;

/// How persistently failed requests are retried.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    budget: Duration,
}

impl RetryPolicy {
    /// Up to 8 attempts per request, not counting those Copper answered
    /// 429, waiting 0.5 s, 1 s, 2 s, ... (at most 30 s) between them, with
    /// jitter, and no retry that would end 10 minutes or more after the
    /// first attempt.
    ///
    /// A 429 means Copper processed nothing, so a storm of them is waited
    /// out for as long as the budget allows, however many attempts that
    /// takes: a request whose answers are all 429 is retried until 10
    /// minutes after its first attempt.
    pub fn standard() -> Self {
        RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            budget: Duration::from_secs(600),
        }
    }

    /// One attempt per request, never retried, not even after a 429.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            budget: Duration::ZERO,
            ..RetryPolicy::standard()
        }
    }

    /// At most `attempts` attempts per request, the first included (at
    /// least 1). Attempts Copper answered 429 do not count: the budget
    /// alone limits them.
    pub fn with_max_attempts(self, attempts: u32) -> Self {
        RetryPolicy {
            max_attempts: attempts.max(1),
            ..self
        }
    }

    /// The wait before the first retry, doubled for each further retry up
    /// to `max`.
    pub fn with_backoff(self, initial: Duration, max: Duration) -> Self {
        RetryPolicy {
            initial_backoff: initial,
            max_backoff: max.max(initial),
            ..self
        }
    }

    /// No retry is started if waiting for it would end `budget` or more
    /// after the first attempt started. This is what limits retries after
    /// 429s; a zero budget allows no retry at all.
    pub fn with_budget(self, budget: Duration) -> Self {
        RetryPolicy { budget, ..self }
    }

    /// The most attempts per request, not counting those Copper answered
    /// 429.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// How long after the first attempt of a request a retry may still end.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// The backoff before retry `retry` (1 for the first retry), before
    /// jitter: `initial * 2^(retry - 1)`, at most the maximum.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_backoff
            .checked_mul(factor)
            .map_or(self.max_backoff, |d| d.min(self.max_backoff))
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::standard()
    }
}

/// What went wrong with one attempt, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptFailure {
    /// The server answered with this status (never 200).
    Status {
        /// The HTTP status.
        status: u16,
        /// The wait the server asked for with `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// No connection was established: the request never left.
    NotConnected,
    /// The request may have reached Copper, but no answer was read: a
    /// timeout, a connection broken mid-request, or a 200 whose body could
    /// not be read.
    NoAnswer,
    /// The request could not even be built: sending it again cannot help.
    Unsendable,
}

impl AttemptFailure {
    /// Whether Copper answered 429: it processed nothing and asks the
    /// client to slow down.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, AttemptFailure::Status { status: 429, .. })
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send the request again after this wait.
    RetryAfter(Duration),
    /// Stop, and report the failure.
    GiveUp(GiveUpReason),
}

/// Why [`decide`] stopped retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUpReason {
    /// Sending again cannot help (401, 403, 422, a redirect, ...).
    NotRetryable,
    /// The request may have been applied and is not safe to repeat: a
    /// bulk create that Copper may have processed would create duplicates.
    NotIdempotent,
    /// The policy's attempts are used up (attempts answered 429 do not
    /// count).
    AttemptsExhausted,
    /// The next wait would end past the policy's time budget.
    BudgetExhausted,
}

/// Decides what follows a failed attempt.
///
/// - `attempts` is the number of attempts made so far (1 after the first).
/// - `rate_limited` is how many of them Copper answered 429, the last one
///   included when it did; they do not count against the policy's
///   attempts.
/// - `idempotent` says whether sending the request twice is harmless (a
///   bulk update) or not (a bulk create).
/// - `elapsed` is the time since the first attempt started.
/// - `jitter` is a random number in `[0, 1)`; the wait is between half and
///   all of the backoff, so that clients that failed together do not retry
///   together.
///
/// The rules:
///
/// - 429 (rate limited) means Copper did not process the request: retried
///   for every operation, waiting at least `Retry-After`, until the time
///   budget runs out, however many attempts that takes.
/// - A connection that was never established: always retried.
/// - 5xx, 408, a timeout, a broken connection or an unreadable 200: Copper
///   may have applied the request, so only an idempotent request is retried.
/// - Any other status (401, 403, 422, 3xx, ...), or a request that could
///   not be built: never retried.
/// - Every other retry is limited by the policy's attempts and its budget;
///   the backoff grows with the failures of the same kind: answers 429
///   for a 429, other failures otherwise.
pub fn decide(
    policy: &RetryPolicy,
    failure: &AttemptFailure,
    attempts: u32,
    rate_limited: u32,
    idempotent: bool,
    elapsed: Duration,
    jitter: f64,
) -> Decision {
    let (retryable, retry_after) = match *failure {
        AttemptFailure::Status {
            status: 429,
            retry_after,
        } => (true, retry_after),
        AttemptFailure::Status { status, .. } if status >= 500 || status == 408 => {
            (idempotent, None)
        }
        AttemptFailure::Status { .. } | AttemptFailure::Unsendable => {
            return Decision::GiveUp(GiveUpReason::NotRetryable);
        }
        AttemptFailure::NotConnected => (true, None),
        AttemptFailure::NoAnswer => (idempotent, None),
    };
    if !retryable {
        return Decision::GiveUp(GiveUpReason::NotIdempotent);
    }
    let retry = if failure.is_rate_limited() {
        rate_limited
    } else {
        let counted = attempts.saturating_sub(rate_limited);
        if counted >= policy.max_attempts {
            return Decision::GiveUp(GiveUpReason::AttemptsExhausted);
        }
        counted
    };
    let backoff = policy.backoff(retry);
    let jittered = backoff.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    let wait = retry_after.map_or(jittered, |asked| asked.max(jittered));
    if elapsed + wait >= policy.budget {
        return Decision::GiveUp(GiveUpReason::BudgetExhausted);
    }
    Decision::RetryAfter(wait)
}

/// Reads a `Retry-After` value; it lives in the raw crate because the
/// client's hooks read it too, to pause every request after a 429.
pub use copper_bulk_raw::retry_after::{MAX_RETRY_AFTER, parse_retry_after};

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn status(status: u16) -> AttemptFailure {
        AttemptFailure::Status {
            status,
            retry_after: None,
        }
    }

    fn decide_now(failure: AttemptFailure, idempotent: bool) -> Decision {
        let rate_limited = u32::from(failure.is_rate_limited());
        decide(
            &RetryPolicy::standard(),
            &failure,
            1,
            rate_limited,
            idempotent,
            Duration::ZERO,
            0.0,
        )
    }

    #[test]
    fn rate_limited_and_unconnected_requests_are_retried_for_every_operation() {
        for idempotent in [true, false] {
            for failure in [status(429), AttemptFailure::NotConnected] {
                assert!(
                    matches!(decide_now(failure, idempotent), Decision::RetryAfter(_)),
                    "{failure:?} idempotent={idempotent}"
                );
            }
        }
    }

    #[test]
    fn possibly_applied_requests_are_retried_only_when_idempotent() {
        for failure in [
            status(500),
            status(502),
            status(503),
            status(504),
            status(408),
            AttemptFailure::NoAnswer,
        ] {
            assert!(matches!(decide_now(failure, true), Decision::RetryAfter(_)));
            assert_eq!(
                decide_now(failure, false),
                Decision::GiveUp(GiveUpReason::NotIdempotent),
                "{failure:?}"
            );
        }
    }

    #[test]
    fn refusals_are_never_retried() {
        for code in [301, 307, 400, 401, 403, 404, 422] {
            for idempotent in [true, false] {
                assert_eq!(
                    decide_now(status(code), idempotent),
                    Decision::GiveUp(GiveUpReason::NotRetryable)
                );
            }
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum_with_jitter_between_half_and_all() {
        let policy = RetryPolicy::standard().with_backoff(Duration::from_millis(100), SECOND);
        let wait = |attempts, jitter| {
            decide(
                &policy,
                &status(503),
                attempts,
                0,
                true,
                Duration::ZERO,
                jitter,
            )
        };
        assert_eq!(
            wait(1, 0.0),
            Decision::RetryAfter(Duration::from_millis(50))
        );
        assert_eq!(
            wait(1, 0.999_999),
            Decision::RetryAfter(Duration::from_nanos(99_999_950))
        );
        assert_eq!(
            wait(2, 0.0),
            Decision::RetryAfter(Duration::from_millis(100))
        );
        assert_eq!(
            wait(3, 0.0),
            Decision::RetryAfter(Duration::from_millis(200))
        );
        assert_eq!(
            wait(6, 0.0),
            Decision::RetryAfter(Duration::from_millis(500))
        );
        assert_eq!(policy.backoff(40), SECOND);
    }

    #[test]
    fn retry_after_is_honoured_as_a_minimum() {
        let policy = RetryPolicy::standard();
        let asked = |secs| AttemptFailure::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            decide(&policy, &asked(7), 1, 1, false, Duration::ZERO, 0.5),
            Decision::RetryAfter(Duration::from_secs(7))
        );
        // A Retry-After shorter than the backoff does not shorten it.
        assert_eq!(
            decide(&policy, &asked(0), 3, 3, false, Duration::ZERO, 0.0),
            Decision::RetryAfter(Duration::from_secs(1))
        );
    }

    #[test]
    fn attempts_and_budget_are_limits() {
        let policy = RetryPolicy::standard()
            .with_max_attempts(3)
            .with_budget(Duration::from_secs(10));
        assert!(matches!(
            decide(&policy, &status(503), 2, 0, true, Duration::ZERO, 0.0),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            decide(&policy, &status(503), 3, 0, true, Duration::ZERO, 0.0),
            Decision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
        assert_eq!(
            decide(
                &policy,
                &status(503),
                1,
                0,
                true,
                Duration::from_secs(10),
                0.0
            ),
            Decision::GiveUp(GiveUpReason::BudgetExhausted)
        );
        for failure in [status(503), status(429), AttemptFailure::NotConnected] {
            let rate_limited = u32::from(failure.is_rate_limited());
            assert!(
                matches!(
                    decide(
                        &RetryPolicy::none(),
                        &failure,
                        1,
                        rate_limited,
                        true,
                        Duration::ZERO,
                        0.0
                    ),
                    Decision::GiveUp(_)
                ),
                "{failure:?}"
            );
        }
    }

    #[test]
    fn answers_429_do_not_use_up_the_attempts() {
        let policy = RetryPolicy::standard().with_max_attempts(3);
        // Twenty 429s in a row, far more than the attempts, well within the
        // budget: sent again, for a create too.
        for idempotent in [true, false] {
            assert!(matches!(
                decide(&policy, &status(429), 20, 20, idempotent, SECOND, 0.0),
                Decision::RetryAfter(_)
            ));
        }
        // Other failures count only the attempts that were not 429s.
        assert!(matches!(
            decide(&policy, &status(503), 5, 3, true, SECOND, 0.0),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            decide(&policy, &status(503), 6, 3, true, SECOND, 0.0),
            Decision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
    }

    #[test]
    fn a_429_storm_ends_when_the_budget_does() {
        let policy = RetryPolicy::standard();
        assert_eq!(policy.budget(), Duration::from_secs(600));
        let asked = AttemptFailure::Status {
            status: 429,
            retry_after: Some(20 * SECOND),
        };
        assert_eq!(
            decide(&policy, &asked, 90, 90, true, 579 * SECOND, 0.0),
            Decision::RetryAfter(20 * SECOND)
        );
        assert_eq!(
            decide(&policy, &asked, 91, 91, true, 580 * SECOND, 0.0),
            Decision::GiveUp(GiveUpReason::BudgetExhausted)
        );
    }

    #[test]
    fn the_backoff_after_a_429_grows_with_the_429s() {
        let policy = RetryPolicy::standard().with_backoff(Duration::from_millis(100), 60 * SECOND);
        // One timeout, then three 429s: the wait is the third backoff.
        assert_eq!(
            decide(&policy, &status(429), 4, 3, true, SECOND, 0.0),
            Decision::RetryAfter(Duration::from_millis(200))
        );
        // One 429, then a 503: the wait is the first backoff.
        assert_eq!(
            decide(&policy, &status(503), 2, 1, true, SECOND, 0.0),
            Decision::RetryAfter(Duration::from_millis(50))
        );
    }
}
