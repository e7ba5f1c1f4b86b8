//! What every request gets, and the state the client carries for it.
//!
//! progenitor calls these hooks around each request; they live in this
//! crate because the generated `Client` does (Rust's orphan rule).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};

use crate::Client;
pub use crate::auth::{
    ACCESS_TOKEN, APPLICATION, AccessToken, Credentials, InvalidCredentials, SharedToken,
    TOKEN_SOURCE_TIMEOUT, TokenError, TokenFuture, TokenSource, USER_EMAIL,
};
use crate::retry_after::retry_after;
use crate::throttle::{RequestKind, Throttle};

/// How long every request of a client is held back after a 429 that says
/// nothing usable about how long to wait: Copper's shorter window is one
/// second, so a second is when the refused request's window has passed. A
/// `Retry-After` of zero, or a date already past (the server's clock ahead
/// of ours), counts as saying nothing: a 429 that paused nothing would let
/// every other request keep sending into the limit.
pub const PAUSE_WITHOUT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The longest a 429 holds back every request of a client: Copper's longest
/// window is a minute, so a longer `Retry-After` is left to the refused
/// request itself (its retry waits for it, or gives up), while the other
/// requests try after a minute and get their own answer.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);

/// The state the generated client carries for its hooks.
#[derive(Clone, Debug)]
pub struct Inner {
    credentials: Credentials,
    throttle: Option<Arc<Throttle>>,
}

impl Inner {
    /// State that authenticates every request with `credentials`, and does
    /// not limit the rate of requests.
    pub fn new(credentials: Credentials) -> Self {
        Inner {
            credentials,
            throttle: None,
        }
    }

    /// The same state, with every request waiting for `throttle` first.
    /// Clients given the same `Arc` share one schedule.
    pub fn with_throttle(self, throttle: Arc<Throttle>) -> Self {
        Inner {
            throttle: Some(throttle),
            ..self
        }
    }

    /// The credentials every request is sent with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The throttle every request waits for, if any.
    pub fn throttle(&self) -> Option<&Arc<Throttle>> {
        self.throttle.as_ref()
    }
}

/// A `reqwest` client builder with the settings the raw client should be
/// used with: no redirects (Copper's API does not redirect, and following
/// one would carry the access token to wherever it points), and the given
/// connect and total timeouts.
///
/// The generated `Client::new` follows redirects; prefer
/// `Client::new_with_client(url, http_client_builder(..).build()?, inner)`.
pub fn http_client_builder(connect_timeout: Duration, timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .user_agent(concat!("copper-bulk/", env!("CARGO_PKG_VERSION")))
}

impl ClientHooks<Inner> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        // progenitor sends `api-version: <info.version>`, the version of our
        // spec, which means nothing to Copper.
        request.headers_mut().remove("api-version");
        // A token source that cannot give a token fails the request before
        // it is sent, so that nothing goes out unauthenticated.
        self.inner()
            .credentials
            .apply(request)
            .await
            .map_err(|error| Error::Custom(error.to_string()))
    }

    /// Waits for a rate-limit permit, then sends the request. A search
    /// (a path ending in `/search`) waits only for the limits that count
    /// searches; see [`RequestKind`].
    ///
    /// A 429 pauses the throttle, so that every request of the client (and
    /// of its clones) waits for what Copper asked of one of them: the
    /// `Retry-After`, at most [`MAX_PAUSE`], or
    /// [`PAUSE_WITHOUT_RETRY_AFTER`] when there is none that can be read or
    /// it asks for no wait at all. A 429 for a bulk request also widens the
    /// spacing of bulk requests ([`Throttle::note_refused`]), which quiet
    /// narrows back.
    ///
    /// The timings go into the current tracing span, when it has these
    /// fields (the `copper-bulk` facade's span per HTTP request does):
    /// `rate_limit_wait_ms`, `pace_ms` (the spacing of bulk requests then),
    /// `status` and `duration_ms`. Nothing about the
    /// request's headers is recorded.
    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let span = tracing::Span::current();
        let kind = RequestKind::of_path(request.url().path());
        if let Some(throttle) = &self.inner().throttle {
            let waited = throttle.acquire_for(kind).await;
            span.record("rate_limit_wait_ms", millis(waited));
            if let Some(pace) = throttle.pace() {
                span.record("pace_ms", millis(pace));
            }
        }
        let started = tokio::time::Instant::now();
        let result = self.client().execute(request).await;
        span.record("duration_ms", millis(started.elapsed()));
        if let Ok(response) = &result {
            span.record("status", response.status().as_u16());
            if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS
                && let Some(throttle) = &self.inner().throttle
            {
                throttle.pause_for(pause_after_429(response.headers()));
                throttle.note_refused(kind, started);
            }
        }
        result
    }
}

/// How long a 429 with these headers holds back every request.
fn pause_after_429(headers: &reqwest::header::HeaderMap) -> Duration {
    retry_after(headers, SystemTime::now())
        .filter(|wait| !wait.is_zero())
        .map_or(PAUSE_WITHOUT_RETRY_AFTER, |wait| wait.min(MAX_PAUSE))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_pauses_for_its_retry_after_within_bounds() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(pause_after_429(&headers), PAUSE_WITHOUT_RETRY_AFTER);
        for (value, pause) in [
            ("2", Duration::from_secs(2)),
            ("0.5", Duration::from_millis(500)),
            ("1e20", MAX_PAUSE),
            ("-5", PAUSE_WITHOUT_RETRY_AFTER),
            ("NaN", PAUSE_WITHOUT_RETRY_AFTER),
            // A wait of nothing would let every other request keep sending
            // into the limit, as would a date already past (clock skew).
            ("0", PAUSE_WITHOUT_RETRY_AFTER),
            ("Wed, 21 Oct 2015 07:28:00 GMT", PAUSE_WITHOUT_RETRY_AFTER),
        ] {
            headers.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
            assert_eq!(pause_after_429(&headers), pause, "{value}");
        }
    }
}
