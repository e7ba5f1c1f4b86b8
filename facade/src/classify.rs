//! Classifies a failed attempt: the facade's [`Error`] it is reported
//! with, and the [`AttemptFailure`] the retry policy decides on.

use std::time::SystemTime;

use copper_bulk_raw::error_body::ErrorBody;
use copper_bulk_raw::hooks::{Credentials, NotSent};

use crate::error::Error;
use crate::retry::{AttemptFailure, parse_retry_after};

/// The longest server message kept in an error.
const MAX_MESSAGE: usize = 500;

/// Turns a failed raw call into the facade's error and what the retry
/// policy needs to know. Server text in the error has the `credentials`'
/// secret redacted, and a 401 says which kind of credentials was refused.
pub(crate) async fn classify(
    error: copper_bulk_raw::Error<()>,
    credentials: &Credentials,
) -> (Error, AttemptFailure) {
    let redact = |text: &str| credentials.redact(text);
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
                401 => Error::Unauthorized {
                    message,
                    oauth: credentials.is_oauth(),
                },
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
                    Error::Request(redact(&error.to_string())),
                    AttemptFailure::Unsendable,
                )
            } else if error.is_decode() {
                // serde's message quotes the value it could not read, which
                // is the server's text.
                let reason = redact(&error.to_string());
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
                reason: redact(&error.to_string()),
            },
            AttemptFailure::NoAnswer,
        ),
        // The raw client's hooks fail a request with a custom error only
        // when they did not send it. An OAuth token source that gave no
        // token may give one to a later attempt. A limiter that could not
        // decide has already waited its grace for its store: the run stops
        // rather than send unshared.
        Raw::Custom(reason) => match NotSent::of(&reason) {
            NotSent::Limiter(reason) => (
                Error::LimiterUnavailable(redact(&reason)),
                AttemptFailure::Unsendable,
            ),
            NotSent::NoToken(reason) => (
                Error::NoToken(redact(&reason)),
                AttemptFailure::NotConnected,
            ),
            // The run was asked to stop while the request waited for its
            // permit.
            NotSent::GaveUp => (Error::Stopped, AttemptFailure::Unsendable),
            other => (
                Error::Request(redact(&format!("{other:?}"))),
                AttemptFailure::Unsendable,
            ),
        },
        other => (
            Error::Request(redact(&other.to_string())),
            AttemptFailure::Unsendable,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::{Decision, RetryPolicy, decide};

    /// The error a status is reported with and the retry decision for it
    /// must agree: a create is retried only when the error says Copper
    /// certainly did not apply it.
    #[tokio::test]
    async fn errors_and_retries_agree_on_what_may_have_been_applied() {
        for status in [
            200, 201, 301, 307, 400, 401, 403, 404, 408, 422, 429, 500, 502, 503, 504,
        ] {
            let response = http::Response::builder()
                .status(status)
                .body(Vec::<u8>::new())
                .unwrap();
            let raw = copper_bulk_raw::Error::UnexpectedResponse(reqwest::Response::from(response));
            let credentials = Credentials::new("key", "me@example.com").unwrap();
            let (error, failure) = classify(raw, &credentials).await;
            let create_retried = matches!(
                decide(
                    &RetryPolicy::standard(),
                    &failure,
                    1,
                    u32::from(failure.is_rate_limited()),
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
}
