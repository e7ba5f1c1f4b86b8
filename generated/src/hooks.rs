//! What every request gets, and the state the client carries for it.
//!
//! progenitor calls these hooks around each request; they live in this
//! crate because the generated `Client` does (Rust's orphan rule).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};
use reqwest::header::{HeaderName, HeaderValue};

use crate::Client;
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

/// The header that carries the access token.
pub const ACCESS_TOKEN: HeaderName = HeaderName::from_static("x-pw-accesstoken");
/// The header that names the application; always `developer_api`.
pub const APPLICATION: HeaderName = HeaderName::from_static("x-pw-application");
/// The header that carries the e-mail of the token's owner.
pub const USER_EMAIL: HeaderName = HeaderName::from_static("x-pw-useremail");

/// The three values Copper authenticates a request with.
///
/// The token is held as a header value marked sensitive, so neither this
/// type's `Debug` nor that of a request carrying it shows the token.
#[derive(Clone)]
pub struct Credentials {
    token: HeaderValue,
    user_email: HeaderValue,
}

impl Credentials {
    /// Credentials for the user with this e-mail and access token.
    ///
    /// Fails when either value cannot be sent in an HTTP header (it is empty
    /// or holds a control character); the error never repeats the token.
    pub fn new(token: &str, user_email: &str) -> Result<Self, InvalidCredentials> {
        let token = token.trim();
        if token.is_empty() {
            return Err(InvalidCredentials::EmptyToken);
        }
        let mut token =
            HeaderValue::from_str(token).map_err(|_| InvalidCredentials::TokenNotAHeaderValue)?;
        token.set_sensitive(true);
        let user_email = user_email.trim();
        if user_email.is_empty() {
            return Err(InvalidCredentials::EmptyUserEmail);
        }
        let user_email = HeaderValue::from_str(user_email)
            .map_err(|_| InvalidCredentials::UserEmailNotAHeaderValue)?;
        Ok(Credentials { token, user_email })
    }

    /// The e-mail of the token's owner.
    pub fn user_email(&self) -> &str {
        self.user_email.to_str().unwrap_or_default()
    }

    /// `text` with every occurrence of the access token replaced by
    /// `<redacted>`: for text that came from elsewhere (a server's error
    /// message) before it is shown or logged.
    pub fn redact(&self, text: &str) -> String {
        match self.token.to_str() {
            Ok(token) if text.contains(token) => text.replace(token, "<redacted>"),
            _ => text.to_owned(),
        }
    }

    /// Sets the three authentication headers on `request`.
    pub fn apply(&self, request: &mut reqwest::Request) {
        let headers = request.headers_mut();
        headers.insert(ACCESS_TOKEN, self.token.clone());
        headers.insert(APPLICATION, HeaderValue::from_static("developer_api"));
        headers.insert(USER_EMAIL, self.user_email.clone());
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("token", &"<redacted>")
            .field("user_email", &self.user_email())
            .finish()
    }
}

/// Why [`Credentials::new`] refused its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidCredentials {
    /// The access token is empty.
    EmptyToken,
    /// The access token holds a character an HTTP header cannot carry.
    TokenNotAHeaderValue,
    /// The user e-mail is empty.
    EmptyUserEmail,
    /// The user e-mail holds a character an HTTP header cannot carry.
    UserEmailNotAHeaderValue,
}

impl fmt::Display for InvalidCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidCredentials::EmptyToken => "the access token is empty",
            InvalidCredentials::TokenNotAHeaderValue => {
                "the access token holds a character an HTTP header cannot carry"
            }
            InvalidCredentials::EmptyUserEmail => "the user e-mail is empty",
            InvalidCredentials::UserEmailNotAHeaderValue => {
                "the user e-mail holds a character an HTTP header cannot carry"
            }
        })
    }
}

impl std::error::Error for InvalidCredentials {}

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
        self.inner().credentials.apply(request);
        Ok(())
    }

    /// Waits for a rate-limit permit, then sends the request. A search
    /// (a path ending in `/search`) waits only for the limits that count
    /// searches; see [`RequestKind`].
    ///
    /// A 429 pauses the throttle, so that every request of the client (and
    /// of its clones) waits for what Copper asked of one of them: the
    /// `Retry-After`, at most [`MAX_PAUSE`], or
    /// [`PAUSE_WITHOUT_RETRY_AFTER`] when there is none that can be read or
    /// it asks for no wait at all.
    ///
    /// The timings go into the current tracing span, when it has these
    /// fields (the `copper-bulk` facade's span per HTTP request does):
    /// `rate_limit_wait_ms`, `status` and `duration_ms`. Nothing about the
    /// request's headers is recorded.
    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let span = tracing::Span::current();
        if let Some(throttle) = &self.inner().throttle {
            let kind = RequestKind::of_path(request.url().path());
            let waited = throttle.acquire_for(kind).await;
            span.record("rate_limit_wait_ms", millis(waited));
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
