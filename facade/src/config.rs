//! How a [`Copper`](crate::Copper) client talks to Copper.

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use copper_bulk_raw::hooks::{Credentials, InvalidCredentials, TokenSource};
use copper_bulk_raw::limiter::Limiter;
use copper_bulk_raw::throttle::RateLimit;
use reqwest::Url;

use crate::reconcile::Reconcile;
use crate::retry::RetryPolicy;

/// The settings of a client: credentials, where Copper is, and how fast and
/// how persistently to send.
///
/// [`Config::new`] (an API key) and [`Config::oauth`] (an OAuth 2.0 access
/// token) start from Copper's documented limits; every `with_*` setter
/// changes one setting. `Debug` never shows the key or the token.
///
/// ```
/// use std::time::Duration;
/// use copper_bulk::Config;
///
/// let config = Config::new("my-token", "me@example.com")?
///     .with_concurrency(8)?
///     .with_timeouts(Duration::from_secs(5), Duration::from_secs(30));
/// assert!(!format!("{config:?}").contains("my-token"));
/// # Ok::<(), copper_bulk::ConfigError>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    credentials: Credentials,
    base_url: Url,
    http_client: Option<reqwest::Client>,
    connect_timeout: Duration,
    request_timeout: Duration,
    retry: RetryPolicy,
    reconcile: Reconcile,
    rate_limits: Vec<RateLimit>,
    limiter: Option<Arc<dyn Limiter>>,
    batch_size: NonZeroUsize,
    concurrency: NonZeroUsize,
}

impl Config {
    /// Copper's API.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.copper.com";
    /// The most records Copper takes in one bulk request today. Copper calls
    /// the bulk endpoints beta and may change it, so it is a setting.
    pub const DEFAULT_BATCH_SIZE: usize = 10;
    /// Requests in flight at once: enough for Copper's 3 requests a second
    /// to be kept up while each takes up to two seconds to answer.
    pub const DEFAULT_CONCURRENCY: usize = 6;
    /// How long connecting to Copper may take.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// How long one request may take, from sending to the end of the answer.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

    /// Settings for the user with this e-mail and API key (Copper's
    /// "access token" of its API-key authentication), with every other
    /// setting at its default:
    ///
    /// - base URL [`Config::DEFAULT_BASE_URL`];
    /// - timeouts [`Config::DEFAULT_CONNECT_TIMEOUT`] and
    ///   [`Config::DEFAULT_REQUEST_TIMEOUT`];
    /// - retries [`RetryPolicy::standard`];
    /// - reading Copper back when a request's fate is unknown
    ///   [`Reconcile::standard`];
    /// - rate limits of Copper's bulk endpoints: 3 requests per second and
    ///   180 per minute, shared by every clone of the client;
    /// - [`Config::DEFAULT_BATCH_SIZE`] records per request and
    ///   [`Config::DEFAULT_CONCURRENCY`] requests in flight.
    pub fn new(token: &str, user_email: &str) -> Result<Self, ConfigError> {
        Ok(Self::from_credentials(Credentials::new(token, user_email)?))
    }

    /// Settings for an OAuth 2.0 access token (the `access_token` Copper's
    /// token endpoint gave), sent as `Authorization: Bearer` with every
    /// request; every other setting as for [`Config::new`].
    ///
    /// Copper documents no expiry for its access tokens. When yours can
    /// change while a client runs, use [`Config::oauth_source`].
    ///
    /// ```
    /// use copper_bulk::Config;
    ///
    /// let config = Config::oauth("my-access-token")?;
    /// assert!(!format!("{config:?}").contains("my-access-token"));
    /// assert_eq!(config.user_email(), None);
    /// # Ok::<(), copper_bulk::ConfigError>(())
    /// ```
    pub fn oauth(access_token: &str) -> Result<Self, ConfigError> {
        Ok(Self::from_credentials(Credentials::oauth(access_token)?))
    }

    /// Settings for OAuth 2.0 with the access token asked of `source`
    /// before each request, so that a refreshed token is used from the next
    /// request on, by this client and every clone of it, without building
    /// them again.
    ///
    /// A [`SharedToken`](crate::SharedToken) is the simplest source: keep a
    /// clone, and call `set` from the task that refreshes the token ahead
    /// of its expiry. A request the source gives no token for is not sent;
    /// its records are reported as not applied, safe to send again. A token
    /// Copper refuses (401) stops the run like a refused API key, with
    /// nothing more sent: refresh the token, then resume the job from its
    /// journal.
    ///
    /// ```
    /// use copper_bulk::{Config, SharedToken};
    ///
    /// let token = SharedToken::new("first-token")?;
    /// let config = Config::oauth_source(token.clone());
    /// // ... from the task that refreshes it:
    /// token.set("refreshed-token")?;
    /// # Ok::<(), copper_bulk::ConfigError>(())
    /// ```
    pub fn oauth_source(source: impl TokenSource) -> Self {
        Self::from_credentials(Credentials::oauth_source(source))
    }

    /// Settings for these credentials, every other setting as for
    /// [`Config::new`].
    pub fn from_credentials(credentials: Credentials) -> Self {
        Config {
            credentials,
            base_url: Url::parse(Self::DEFAULT_BASE_URL).expect("the default base URL is valid"),
            http_client: None,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::standard(),
            reconcile: Reconcile::standard(),
            rate_limits: Self::copper_rate_limits(),
            limiter: None,
            batch_size: NonZeroUsize::new(Self::DEFAULT_BATCH_SIZE).expect("not zero"),
            concurrency: NonZeroUsize::new(Self::DEFAULT_CONCURRENCY).expect("not zero"),
        }
    }

    /// The bulk requests a second Copper accepts; it answers more with 429.
    pub const COPPER_REQUESTS_PER_SECOND: u32 = 3;

    /// Copper's limits for the bulk endpoints: 3 requests per second, and
    /// the account-wide 180 requests per minute.
    pub fn copper_rate_limits() -> Vec<RateLimit> {
        Self::rate_limits_per_second(Self::COPPER_REQUESTS_PER_SECOND)
    }

    /// The limits for `requests` bulk requests a second: at most `requests`
    /// bulk requests in any second, spaced evenly, and `requests * 60`
    /// requests of any kind (searches too) in any minute, as a rolling
    /// window, so that the minute's limit (Copper's 180 at 3 a second) never
    /// slows a faster rate down and a burst of searches is not spaced out.
    /// Zero is no limit at all.
    ///
    /// ```
    /// use copper_bulk::{Config, RateLimit};
    ///
    /// assert_eq!(
    ///     Config::rate_limits_per_second(6),
    ///     [
    ///         RateLimit::per_second(6).bulk_only(),
    ///         RateLimit::per_minute(360).rolling(),
    ///     ],
    /// );
    /// assert_eq!(Config::rate_limits_per_second(3), Config::copper_rate_limits());
    /// assert!(Config::rate_limits_per_second(0).is_empty());
    /// ```
    pub fn rate_limits_per_second(requests: u32) -> Vec<RateLimit> {
        if requests == 0 {
            return Vec::new();
        }
        vec![
            RateLimit::per_second(requests).bulk_only(),
            RateLimit::per_minute(requests.saturating_mul(60)).rolling(),
        ]
    }

    /// Sends requests to `url` instead of Copper's API.
    ///
    /// The URL must be `https`, except on a loopback host (`localhost`,
    /// `127.0.0.0/8`, `::1`), where `http` is allowed for local servers such
    /// as the sandbox: anything else would send the access token in clear.
    pub fn with_base_url(self, url: &str) -> Result<Self, ConfigError> {
        let base_url = parse_base_url(url)?;
        Ok(Config { base_url, ..self })
    }

    /// Sends requests with this `reqwest` client instead of one built from
    /// these settings; its own timeouts and redirect policy then apply.
    /// The authentication headers are still added to every request.
    ///
    /// The client built by default follows no redirects, so the token cannot
    /// be carried to another host; give a client the same policy
    /// (`reqwest::redirect::Policy::none()`).
    pub fn with_http_client(self, client: reqwest::Client) -> Self {
        Config {
            http_client: Some(client),
            ..self
        }
    }

    /// How long connecting, and a whole request, may take.
    pub fn with_timeouts(self, connect: Duration, request: Duration) -> Self {
        Config {
            connect_timeout: connect,
            request_timeout: request,
            ..self
        }
    }

    /// How failed requests are retried.
    pub fn with_retry(self, retry: RetryPolicy) -> Self {
        Config { retry, ..self }
    }

    /// Whether, and how, Copper is read back when a request's fate is
    /// unknown ([`Reconcile`]).
    pub fn with_reconcile(self, reconcile: Reconcile) -> Self {
        Config { reconcile, ..self }
    }

    /// The rate limits every request keeps to; an empty list sends as fast
    /// as the concurrency allows (for local servers and tests).
    pub fn with_rate_limits(self, limits: impl IntoIterator<Item = RateLimit>) -> Self {
        Config {
            rate_limits: limits.into_iter().collect(),
            ..self
        }
    }

    /// Every request waits for `limiter` instead of a limiter of the
    /// client's own built from [`Config::rate_limits`]: for a limit shared
    /// with other processes of the same account (`RedisLimiter`, with the
    /// `redis` feature), or with other clients of this one. The limiter
    /// keeps its own limits; [`Config::with_rate_limits`] no longer applies.
    ///
    /// A limiter that cannot decide (a shared limiter that lost its store
    /// for longer than it waits for it) fails its request before it is
    /// sent with [`Error::LimiterUnavailable`](crate::Error::LimiterUnavailable),
    /// and the run stops: nothing is sent unshared.
    pub fn with_limiter(self, limiter: Arc<dyn Limiter>) -> Self {
        Config {
            limiter: Some(limiter),
            ..self
        }
    }

    /// At most `requests` bulk requests a second, and 60 times as many a
    /// minute ([`Config::rate_limits_per_second`]); zero sends as fast as
    /// the concurrency allows.
    ///
    /// A rate above [`Config::COPPER_REQUESTS_PER_SECOND`] is kept as given,
    /// not capped: Copper answers the excess with 429s, which are retried.
    pub fn with_requests_per_second(self, requests: u32) -> Self {
        self.with_rate_limits(Self::rate_limits_per_second(requests))
    }

    /// At most `records` records per request.
    pub fn with_batch_size(self, records: usize) -> Result<Self, ConfigError> {
        let batch_size = NonZeroUsize::new(records).ok_or(ConfigError::ZeroBatchSize)?;
        Ok(Config { batch_size, ..self })
    }

    /// At most `requests` requests in flight at once.
    pub fn with_concurrency(self, requests: usize) -> Result<Self, ConfigError> {
        let concurrency = NonZeroUsize::new(requests).ok_or(ConfigError::ZeroConcurrency)?;
        Ok(Config {
            concurrency,
            ..self
        })
    }

    /// The e-mail of the API key's owner; `None` with OAuth, whose token
    /// names its user.
    pub fn user_email(&self) -> Option<&str> {
        self.credentials.user_email()
    }

    /// Whether requests are authenticated with OAuth 2.0 rather than an API
    /// key.
    pub fn is_oauth(&self) -> bool {
        self.credentials.is_oauth()
    }

    /// Where requests go.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The connect and request timeouts.
    pub fn timeouts(&self) -> (Duration, Duration) {
        (self.connect_timeout, self.request_timeout)
    }

    /// How failed requests are retried.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Whether, and how, Copper is read back.
    pub fn reconcile(&self) -> &Reconcile {
        &self.reconcile
    }

    /// The rate limits every request keeps to, unless a limiter was given
    /// ([`Config::with_limiter`]).
    pub fn rate_limits(&self) -> &[RateLimit] {
        &self.rate_limits
    }

    /// The limiter given with [`Config::with_limiter`], if one was.
    pub fn limiter(&self) -> Option<&Arc<dyn Limiter>> {
        self.limiter.as_ref()
    }

    /// The most records per request.
    pub fn batch_size(&self) -> usize {
        self.batch_size.get()
    }

    /// The most requests in flight at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency.get()
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub(crate) fn http_client(&self) -> Option<&reqwest::Client> {
        self.http_client.as_ref()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("credentials", &self.credentials)
            .field("base_url", &self.base_url.as_str())
            .field("custom_http_client", &self.http_client.is_some())
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("reconcile", &self.reconcile)
            .field("rate_limits", &self.rate_limits)
            .field("limiter", &self.limiter)
            .field("batch_size", &self.batch_size)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

fn parse_base_url(url: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidBaseUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
    let Some(host) = parsed.host_str() else {
        return Err(invalid("it has no host"));
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("it carries a user name or password"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("it carries a query or fragment"));
    }
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(ConfigError::InsecureBaseUrl {
                url: url.to_owned(),
            });
        }
        other => {
            return Err(invalid(&format!(
                "the scheme `{other}` is not http or https"
            )));
        }
    }
    // The generated client appends `/developer_api/...` to the base URL.
    let mut parsed = parsed;
    let trimmed = parsed.path().trim_end_matches('/').to_owned();
    parsed.set_path(&trimmed);
    Ok(parsed)
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The API key, user e-mail or OAuth access token cannot be sent.
    #[error("invalid credentials: {0}")]
    Credentials(#[from] InvalidCredentials),
    /// The base URL cannot be parsed or used.
    #[error("invalid base URL `{url}`: {reason}")]
    InvalidBaseUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The base URL is plain `http` to a host that is not loopback.
    #[error(
        "refusing the base URL `{url}`: plain http would send the access token in clear; use https (http is allowed only for localhost)"
    )]
    InsecureBaseUrl {
        /// The URL given.
        url: String,
    },
    /// The batch size is zero.
    #[error("the batch size must be at least 1")]
    ZeroBatchSize,
    /// The concurrency is zero.
    #[error("the concurrency must be at least 1")]
    ZeroConcurrency,
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    HttpClient(#[source] reqwest::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        for ok in [
            "https://api.copper.com",
            "https://api.copper.com/",
            "http://127.0.0.1:8080",
            "http://localhost:3000/",
            "http://[::1]:9000",
            "http://127.10.0.1",
        ] {
            assert!(parse_base_url(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            parse_base_url("https://api.copper.com/").unwrap().as_str(),
            "https://api.copper.com/"
        );
        assert!(matches!(
            parse_base_url("http://api.copper.com"),
            Err(ConfigError::InsecureBaseUrl { .. })
        ));
        assert!(matches!(
            parse_base_url("http://localhost.evil.com"),
            Err(ConfigError::InsecureBaseUrl { .. })
        ));
        for bad in [
            "ftp://x",
            "not a url",
            "https://user:pw@api.copper.com",
            "https://x/?q=1",
        ] {
            assert!(
                matches!(parse_base_url(bad), Err(ConfigError::InvalidBaseUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let config = Config::new("tok-1234-secret", "me@example.com").unwrap();
        let text = format!("{config:?} {config:#?}");
        assert!(!text.contains("tok-1234-secret"), "{text}");
        assert!(text.contains("me@example.com"));
    }

    #[test]
    fn zero_batch_size_and_concurrency_are_refused() {
        let config = Config::new("t", "e@x.com").unwrap();
        assert!(matches!(
            config.clone().with_batch_size(0),
            Err(ConfigError::ZeroBatchSize)
        ));
        assert!(matches!(
            config.with_concurrency(0),
            Err(ConfigError::ZeroConcurrency)
        ));
    }

    #[test]
    fn a_huge_rate_saturates_rather_than_overflowing() {
        assert_eq!(
            Config::rate_limits_per_second(u32::MAX)[1].requests(),
            u32::MAX
        );
    }

    /// Requests the throttle of `config` lets through in the first second.
    async fn sent_in_the_first_second(config: &Config) -> usize {
        let throttle = copper_bulk_raw::throttle::Throttle::new(config.rate_limits().to_vec());
        let start = tokio::time::Instant::now();
        let mut sent = 0;
        while start.elapsed() < Duration::from_secs(1) {
            throttle.acquire().await;
            if start.elapsed() < Duration::from_secs(1) {
                sent += 1;
            }
        }
        sent
    }

    /// When the throttle of `config` lets each request through, over the
    /// first `seconds`.
    async fn send_times(config: &Config, seconds: u64) -> Vec<Duration> {
        let throttle = copper_bulk_raw::throttle::Throttle::new(config.rate_limits().to_vec());
        let start = tokio::time::Instant::now();
        let mut sent = Vec::new();
        loop {
            throttle.acquire().await;
            if start.elapsed() >= Duration::from_secs(seconds) {
                return sent;
            }
            sent.push(start.elapsed());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_of_n_is_sustained_at_n_a_second() {
        // The first second alone cannot tell: n requests fit in it even when
        // the margin between them slows the rate down for good.
        for n in [6, 50] {
            let config = Config::new("t", "e@x.com")
                .unwrap()
                .with_requests_per_second(n);
            let sent = send_times(&config, 60).await;
            let rate = sent.len() as f64 / 60.0;
            assert!(rate >= 0.97 * f64::from(n), "{n}/s sustained only {rate}/s");
            for (i, at) in sent.iter().enumerate() {
                let in_window = sent[i..]
                    .iter()
                    .take_while(|t| **t - *at < Duration::from_secs(1))
                    .count();
                assert!(in_window <= n as usize, "{in_window} in a second at {n}/s");
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_of_6_sends_6_a_second() {
        let config = Config::new("t", "e@x.com").unwrap();
        assert_eq!(sent_in_the_first_second(&config).await, 3);
        let six = config.with_requests_per_second(6);
        assert_eq!(sent_in_the_first_second(&six).await, 6);
    }
}
