//! What can go wrong with a request, and with one record.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

/// Why a request, or one record of it, was not applied or has an unknown
/// outcome.
///
/// Every variant says, through [`Error::may_have_reached_copper`], whether
/// the request may have reached Copper, and through
/// [`Error::may_have_been_applied`], whether Copper may have applied it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Copper refused the credentials (401).
    #[error(
        "copper refused the credentials (HTTP 401): {}{}",
        if *.oauth {
            "check that the OAuth access token is current (the user may have revoked it)"
        } else {
            "check the API key and that the user e-mail is its owner's"
        },
        suffix(.message)
    )]
    Unauthorized {
        /// Copper's message, if it sent one.
        message: Option<String>,
        /// Whether the credentials refused were an OAuth access token
        /// rather than an API key.
        oauth: bool,
    },
    /// Copper refused the request as larger than its limit (422).
    #[error("copper refused the request as too large (HTTP 422){}", suffix(.message))]
    RequestTooLarge {
        /// Copper's message, such as `Request size too large, limit is 10`.
        message: Option<String>,
    },
    /// Copper refused the whole request (403, 404, 422, other 4xx but 408
    /// and 429). A disabled feature, such as Leads, is a 403 `Feature not
    /// enabled`.
    #[error("copper refused the request (HTTP {status}){}", suffix(.message))]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Copper's message, if it sent one.
        message: Option<String>,
    },
    /// Copper kept answering 429 until the retry policy's time budget ran
    /// out.
    #[error("copper is limiting the rate of requests (HTTP 429){}", retry_after_text(.retry_after))]
    RateLimited {
        /// The wait Copper asked for last, if it did.
        retry_after: Option<Duration>,
    },
    /// Copper answered with a server error (5xx).
    #[error("copper answered with a server error (HTTP {status}){}", suffix(.message))]
    Server {
        /// The HTTP status.
        status: u16,
        /// The body's message, if it had one.
        message: Option<String>,
    },
    /// The server answered with a redirect, which is never followed: it
    /// would carry the access token wherever it points.
    #[error("the server answered with a redirect (HTTP {status}), which is not followed")]
    Redirected {
        /// The HTTP status.
        status: u16,
    },
    /// The server answered with a status no bulk endpoint uses.
    #[error("the server answered with the unexpected status HTTP {status}")]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
    },
    /// No connection to the server could be established.
    #[error("cannot connect to the server")]
    Connect(#[source] reqwest::Error),
    /// The OAuth token source gave no access token (it failed, or took
    /// longer than the raw client's `TOKEN_SOURCE_TIMEOUT`), so the request
    /// was not sent. Retried like a connection that could not be made.
    #[error("{0}")]
    NoToken(String),
    /// The rate limiter could not decide whether the request may be sent
    /// (a limiter shared through Redis lost its server for longer than its
    /// grace), so it was not: nothing is sent without the shared limit,
    /// and the run stops.
    #[error("{0}")]
    LimiterUnavailable(String),
    /// The request timed out after it was sent.
    #[error("the request timed out")]
    Timeout(#[source] reqwest::Error),
    /// The connection failed after the request was sent.
    #[error("the connection failed during the request")]
    Transport(#[source] reqwest::Error),
    /// Copper answered 200, but the body could not be read as a bulk
    /// response.
    #[error("copper answered 200 but the response could not be read: {reason}")]
    UnreadableResponse {
        /// What was wrong with it.
        reason: String,
    },
    /// Copper answered 200 with a different number of items than records
    /// sent, so no item can be matched to its record.
    #[error("copper answered with {received} items for the {sent} records sent")]
    WrongLength {
        /// Records sent.
        sent: usize,
        /// Items received.
        received: usize,
    },
    /// The record's item in the response is neither a record nor a
    /// failure item.
    #[error("the response item for this record is neither a record nor a failure: {reason}")]
    UnrecognizedItem {
        /// The item as Copper sent it.
        raw: Value,
        /// Why it did not decode.
        reason: String,
    },
    /// Copper's item for an update carries another id than the one sent, so
    /// it cannot be trusted to be this record's.
    #[error("copper answered the update of id {sent} with an item for id {returned}")]
    IdMismatch {
        /// The id sent.
        sent: i64,
        /// The id in Copper's item.
        returned: i64,
    },
    /// Copper's item for a create is a record other than the one sent (a
    /// field the record set, which Copper echoes, differs), so it cannot be
    /// trusted to be this record's: the answer's items may be out of order.
    #[error("copper answered the create of `{sent}` with a record for `{returned}`")]
    RecordMismatch {
        /// The field that differs and its value in the record sent.
        sent: String,
        /// The same field in Copper's record.
        returned: String,
    },
    /// Copper's item for a create, or its failure item, cannot be told
    /// apart from its item for another, different record of the same
    /// request: every field Copper echoes of the two is the same, or is
    /// left out of the answer, so either item may be the other record's,
    /// and so may its id.
    #[error(
        "copper's answer to this create cannot be told apart from its answer to the record at index {other} of the same request, from which it differs only in fields copper does not echo or left out of its answer"
    )]
    Indistinguishable {
        /// The input index of the other record.
        other: usize,
    },
    /// The request could not be built.
    #[error("the request could not be built: {0}")]
    Request(String),
    /// The run stopped before this record's request: an earlier request of
    /// the same run failed in a way every request would (credentials
    /// refused, the endpoint not allowed, the server unreachable). The
    /// record may still have been sent by an attempt before its batch was
    /// split, which the outcome (`unknown`) and the attempts then say.
    #[error("the run stopped, because an earlier request failed the same way: {0}")]
    Halted(Arc<RequestFailure>),
    /// The run was stopped ([`Stopper::stop`](crate::Stopper::stop)) before
    /// this record's request was sent, or while it waited to be retried.
    #[error("not sent: the run was stopped")]
    Stopped,
    /// Reading Copper back could not settle whether the create was
    /// applied; the reason says why (several candidates, no key to look
    /// the record up by, or the lookup failed).
    #[error("reading copper back could not settle whether it was applied: {0}")]
    Unsettled(String),
}

fn suffix(message: &Option<String>) -> String {
    message
        .as_ref()
        .map_or_else(String::new, |m| format!(": {m}"))
}

fn retry_after_text(retry_after: &Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |d| format!("; it asked to wait {d:?}"))
}

impl Error {
    /// Whether the request may have reached Copper.
    pub fn may_have_reached_copper(&self) -> bool {
        !matches!(
            self,
            Error::Connect(_)
                | Error::NoToken(_)
                | Error::LimiterUnavailable(_)
                | Error::Request(_)
                | Error::Halted(_)
                | Error::Stopped
        )
    }

    /// Whether Copper may have applied the record (or request): false only
    /// when it certainly did not, because the request never reached it or
    /// was refused as a whole before processing.
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            Error::Unauthorized { .. }
            | Error::RequestTooLarge { .. }
            | Error::Refused { .. }
            | Error::RateLimited { .. }
            | Error::Redirected { .. }
            | Error::Connect(_)
            | Error::NoToken(_)
            | Error::LimiterUnavailable(_)
            | Error::Request(_)
            | Error::Halted(_)
            | Error::Stopped => false,
            Error::Server { .. }
            | Error::UnexpectedStatus { .. }
            | Error::Timeout(_)
            | Error::Transport(_)
            | Error::UnreadableResponse { .. }
            | Error::WrongLength { .. }
            | Error::UnrecognizedItem { .. }
            | Error::IdMismatch { .. }
            | Error::RecordMismatch { .. }
            | Error::Indistinguishable { .. }
            | Error::Unsettled(_) => true,
        }
    }
}

/// A request that failed for good, as every record it carried sees it.
#[derive(Debug, thiserror::Error)]
#[error("{error} (after {attempts} attempt{})", if *.attempts == 1 { "" } else { "s" })]
pub struct RequestFailure {
    #[source]
    error: Error,
    attempts: u32,
    may_have_reached_copper: bool,
    may_have_been_applied: bool,
}

impl RequestFailure {
    pub(crate) fn new(
        error: Error,
        attempts: u32,
        may_have_reached_copper: bool,
        may_have_been_applied: bool,
    ) -> Self {
        RequestFailure {
            error,
            attempts,
            may_have_reached_copper,
            may_have_been_applied,
        }
    }

    /// The last error.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// How many times the record's request was sent: when Copper refused
    /// a batch as too large and it was split, the attempts before the split
    /// count too.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether any attempt may have reached Copper.
    pub fn may_have_reached_copper(&self) -> bool {
        self.may_have_reached_copper
    }

    /// Whether Copper may have applied any attempt: an update that timed
    /// out and then was refused with 429, or refused as too large and split,
    /// may still have been applied by the first attempt.
    pub fn may_have_been_applied(&self) -> bool {
        self.may_have_been_applied
    }
}

/// A record refused before sending: the caller's input was at fault, and
/// no request carried it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidRecord {
    reason: String,
}

impl InvalidRecord {
    /// A record refused for `reason`, which should say what is wrong and
    /// where (a field, a line number).
    pub fn new(reason: impl Into<String>) -> Self {
        InvalidRecord {
            reason: reason.into(),
        }
    }

    /// What is wrong with the record.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl From<String> for InvalidRecord {
    fn from(reason: String) -> Self {
        InvalidRecord::new(reason)
    }
}

impl From<&str> for InvalidRecord {
    fn from(reason: &str) -> Self {
        InvalidRecord::new(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_without_a_trailing_period() {
        let errors = [
            Error::Unauthorized {
                message: None,
                oauth: false,
            },
            Error::Unauthorized {
                message: None,
                oauth: true,
            },
            Error::NoToken("no OAuth access token: the vault is sealed".into()),
            Error::LimiterUnavailable(
                "lost the shared rate limiter at redis://127.0.0.1:6379/0 for 30s".into(),
            ),
            Error::RequestTooLarge {
                message: Some("Request size too large, limit is 10".into()),
            },
            Error::Refused {
                status: 403,
                message: Some("Feature not enabled".into()),
            },
            Error::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
            },
            Error::Server {
                status: 503,
                message: None,
            },
            Error::WrongLength {
                sent: 10,
                received: 9,
            },
            Error::IdMismatch {
                sent: 1,
                returned: 2,
            },
            Error::Indistinguishable { other: 3 },
        ];
        for error in errors {
            let text = error.to_string();
            assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
        assert_eq!(
            Error::Refused {
                status: 403,
                message: Some("Feature not enabled".into())
            }
            .to_string(),
            "copper refused the request (HTTP 403): Feature not enabled"
        );
    }

    #[test]
    fn refusals_were_not_applied_and_server_errors_may_have_been() {
        assert!(!Error::RateLimited { retry_after: None }.may_have_been_applied());
        assert!(Error::RateLimited { retry_after: None }.may_have_reached_copper());
        assert!(
            Error::Server {
                status: 500,
                message: None
            }
            .may_have_been_applied()
        );
        assert!(
            Error::WrongLength {
                sent: 2,
                received: 1
            }
            .may_have_been_applied()
        );
    }
}
