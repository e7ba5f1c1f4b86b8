//! What every request gets, and the state the client carries for it.
//!
//! progenitor calls these hooks around each request; they live in this
//! crate because the generated `Client` does (Rust's orphan rule).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};

use crate::Client;
pub use crate::auth::{
    ACCESS_TOKEN, APPLICATION, AccessToken, Credentials, InvalidCredentials, SharedToken,
    TOKEN_SOURCE_TIMEOUT, TokenError, TokenFuture, TokenSource, USER_EMAIL,
};
use crate::limiter::Limiter;
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
    limiter: Option<Arc<dyn Limiter>>,
}

impl Inner {
    /// State that authenticates every request with `credentials`, and does
    /// not limit the rate of requests.
    pub fn new(credentials: Credentials) -> Self {
        Inner {
            credentials,
            limiter: None,
        }
    }

    /// The same state, with every request waiting for `throttle` first.
    /// Clients given the same `Arc` share one schedule.
    pub fn with_throttle(self, throttle: Arc<Throttle>) -> Self {
        self.with_limiter(throttle)
    }

    /// The same state, with every request waiting for `limiter` first:
    /// a [`Throttle`], or a limiter shared with other processes.
    pub fn with_limiter(self, limiter: Arc<dyn Limiter>) -> Self {
        Inner {
            limiter: Some(limiter),
            ..self
        }
    }

    /// The credentials every request is sent with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The limiter every request waits for, if any.
    pub fn limiter(&self) -> Option<&Arc<dyn Limiter>> {
        self.limiter.as_ref()
    }
}

/// Why the hooks did not send a request, as the generated client's
/// `Error::Custom` carries it: read it back with [`NotSent::of`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotSent {
    /// The OAuth token source gave no access token.
    NoToken(String),
    /// The rate limiter could not decide whether the request may be sent
    /// ([`crate::limiter::LimiterError`]).
    Limiter(String),
    /// The request gave up waiting for its permit ([`giving_up_waits`]).
    GaveUp,
}

/// What starts the custom error of a request its limiter did not let go.
const LIMITER_PREFIX: &str = "rate limiter: ";
/// The custom error of a request that gave up waiting for its permit.
const GAVE_UP: &str = "gave up waiting for a rate-limit permit";

/// Resolves when the requests waiting for a rate-limit permit should give
/// up waiting, such as when a run is asked to stop: see
/// [`giving_up_waits`].
pub trait GiveUp: Send + Sync {
    /// Resolves when waiting requests should give up.
    fn given_up(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

tokio::task_local! {
    static GIVE_UP: Arc<dyn GiveUp>;
}

/// Runs `request` (a call of the generated client) so that, while it waits
/// for its rate-limit permit, `give_up` resolving ends the wait: the
/// request is then not sent, and fails with [`NotSent::GaveUp`]. A request
/// already given its permit is sent as usual.
///
/// A permit can be a long wait: behind a 429's pause (up to
/// [`MAX_PAUSE`]), or a shared limiter's grace while its server is lost.
/// A run asked to stop should neither wait that long nor send afterwards.
pub async fn giving_up_waits<F: Future>(give_up: Arc<dyn GiveUp>, request: F) -> F::Output {
    GIVE_UP.scope(give_up, request).await
}

impl NotSent {
    /// Reads the text of the generated client's `Error::Custom`, which
    /// only these hooks make.
    pub fn of(custom: &str) -> NotSent {
        if custom == GAVE_UP {
            return NotSent::GaveUp;
        }
        match custom.strip_prefix(LIMITER_PREFIX) {
            Some(reason) => NotSent::Limiter(reason.to_owned()),
            None => NotSent::NoToken(custom.to_owned()),
        }
    }

    fn into_custom<E>(self) -> Error<E> {
        Error::Custom(match self {
            NotSent::NoToken(reason) => reason,
            NotSent::Limiter(reason) => format!("{LIMITER_PREFIX}{reason}"),
            NotSent::GaveUp => GAVE_UP.to_owned(),
        })
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
    /// Authenticates the request, then waits for a rate-limit permit. A
    /// search (a path ending in `/search`) waits only for the limits that
    /// count searches; see [`RequestKind`].
    ///
    /// The token comes first: a token source may take a while, and the
    /// permit is for a request sent at once. A request without a token or
    /// a permit fails here, before anything is sent ([`NotSent`]).
    ///
    /// The wait goes into the current tracing span, when it has these
    /// fields (the `copper-bulk` facade's span per HTTP request does):
    /// `rate_limit_wait_ms`, and `pace_ms` (the spacing of bulk requests
    /// then).
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
            .map_err(|error| NotSent::NoToken(error.to_string()).into_custom())?;
        if let Some(limiter) = &self.inner().limiter {
            let span = tracing::Span::current();
            let kind = RequestKind::of_path(request.url().path());
            let acquire = limiter.acquire(kind);
            let acquired = match GIVE_UP.try_with(Arc::clone) {
                // A permit given at once is taken, even by a request told
                // to give up: the caller decided to send it.
                Ok(give_up) => tokio::select! {
                    biased;
                    acquired = acquire => acquired,
                    () = give_up.given_up() => return Err(NotSent::GaveUp.into_custom()),
                },
                Err(_) => acquire.await,
            };
            let waited =
                acquired.map_err(|error| NotSent::Limiter(error.to_string()).into_custom())?;
            span.record("rate_limit_wait_ms", millis(waited));
            if let Some(pace) = limiter.pace() {
                span.record("pace_ms", millis(pace));
            }
        }
        Ok(())
    }

    /// Sends the request. A 429 tells the limiter, so that every request
    /// sharing it waits for what Copper asked of one of them: the
    /// `Retry-After`, at most [`MAX_PAUSE`], or
    /// [`PAUSE_WITHOUT_RETRY_AFTER`] when there is none that can be read or
    /// it asks for no wait at all. A 429 for a bulk request also widens the
    /// spacing of bulk requests ([`Throttle::note_refused`]), which quiet
    /// narrows back.
    ///
    /// The timings go into the current tracing span, when it has these
    /// fields: `status` and `duration_ms`. Nothing about the request's
    /// headers is recorded.
    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let span = tracing::Span::current();
        let kind = RequestKind::of_path(request.url().path());
        let started = tokio::time::Instant::now();
        let result = self.client().execute(request).await;
        span.record("duration_ms", millis(started.elapsed()));
        if let Ok(response) = &result {
            span.record("status", response.status().as_u16());
            if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS
                && let Some(limiter) = &self.inner().limiter
            {
                limiter
                    .refused(kind, started, pause_after_429(response.headers()))
                    .await;
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

    #[test]
    fn why_a_request_was_not_sent_reads_back_from_its_custom_error() {
        for not_sent in [
            NotSent::NoToken("the OAuth token source failed: sealed".into()),
            NotSent::Limiter("the shared rate limiter at redis://127.0.0.1:1/0 is lost".into()),
            NotSent::GaveUp,
        ] {
            let Error::<()>::Custom(text) = not_sent.clone().into_custom() else {
                panic!("not a custom error");
            };
            assert_eq!(NotSent::of(&text), not_sent);
        }
    }
}
