//! Whole-request error bodies, decoded leniently.
//!
//! Every non-2xx answer reaches the caller of the generated client as
//! `Error::UnexpectedResponse`, with its status, headers and body (see
//! `copper_bulk_codegen::adapt_for_progenitor`). [`ErrorBody::parse`] reads
//! such a body: Copper's two documented 422 shapes when it is one of them,
//! otherwise whatever JSON or text it holds.

use serde::Deserialize as _;
use serde_json::Value;

use crate::types::{ApiError, BulkRequestError, RequestSizeError};

/// The body of an answer that refused a whole request.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ErrorBody {
    /// `{"error": "Request size too large, limit is 10"}`: an `error`
    /// saying the request is too large.
    SizeLimit(RequestSizeError),
    /// `{"success": false, "status": 422, "message": "..."}`.
    Api(ApiError),
    /// JSON in neither documented shape.
    Json(Value),
    /// A body that is not JSON.
    Text(String),
    /// No body at all.
    Empty,
}

impl ErrorBody {
    /// Decodes a body, never failing.
    pub fn parse(body: &[u8]) -> Self {
        if body.iter().all(u8::is_ascii_whitespace) {
            return ErrorBody::Empty;
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(json) => match BulkRequestError::deserialize(&json) {
                // `{"error": ...}` is also how Copper says `not_found`: only
                // the size message is the size limit, which makes a client
                // split its batch.
                Ok(BulkRequestError::RequestSizeError(e)) if is_size_limit(&e.error) => {
                    ErrorBody::SizeLimit(e)
                }
                Ok(BulkRequestError::RequestSizeError(_)) => ErrorBody::Json(json),
                Ok(BulkRequestError::ApiError(e)) => ErrorBody::Api(e),
                Err(_) => ErrorBody::Json(json),
            },
            Err(_) => ErrorBody::Text(String::from_utf8_lossy(body).into_owned()),
        }
    }

    /// Reads and decodes the body of `response`.
    pub async fn read(response: reqwest::Response) -> Result<Self, reqwest::Error> {
        Ok(ErrorBody::parse(&response.bytes().await?))
    }

    /// The human-readable message, if the body has one.
    pub fn message(&self) -> Option<&str> {
        match self {
            ErrorBody::SizeLimit(e) => Some(&e.error),
            ErrorBody::Api(e) => Some(&e.message),
            ErrorBody::Json(json) => ["message", "error"]
                .iter()
                .find_map(|key| json.get(key).and_then(Value::as_str)),
            ErrorBody::Text(text) => Some(text),
            ErrorBody::Empty => None,
        }
    }
}

/// Whether an `error` text is Copper's refusal of a request larger than its
/// limit, `Request size too large, limit is 10`, whatever the limit.
fn is_size_limit(error: &str) -> bool {
    error.to_ascii_lowercase().contains("too large")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_size_message_is_the_size_limit() {
        assert!(matches!(
            ErrorBody::parse(br#"{"error": "Request size too large, limit is 10"}"#),
            ErrorBody::SizeLimit(_)
        ));
        // Recorded from Copper by the amp-labs/connectors project (MIT),
        // `providers/copper/test/not-found.json`.
        let not_found = ErrorBody::parse(br#"{"error": "not_found"}"#);
        assert!(matches!(not_found, ErrorBody::Json(_)), "{not_found:?}");
        assert_eq!(not_found.message(), Some("not_found"));
    }
}
