//! A rate limiter shared through Redis by every process of one Copper
//! account (the `redis` feature).
//!
//! Copper's limits belong to the account, not to a process: two jobs that
//! each keep to 3 bulk requests a second together send 6, and Copper
//! refuses half. [`RedisLimiter`] keeps one schedule per account in Redis,
//! which every process given the same [`Account`] and server shares.
//!
//! # When to use it
//!
//! When more than one process sends requests for one account at a time: a
//! nightly sync and an import started by hand, or several workers of one
//! service. A single process is better served by the in-process
//! [`Throttle`](crate::throttle::Throttle), which needs nothing else
//! running.
//!
//! # How it decides
//!
//! One Lua script decides each permit atomically, for every limit at once,
//! with the rules of [`Throttle`](crate::throttle::Throttle): a spaced limit
//! (Copper's 3 bulk requests a second) gives its next place one spacing
//! after the last, widened after 429s and narrowed back by quiet exactly as
//! [`Throttle::note_refused`](crate::throttle::Throttle::note_refused)
//! describes (the widening is kept in Redis, so one process's 429 widens
//! every process's spacing); a rolling limit (Copper's 180 a minute) keeps a
//! log of the requests in its window. A request takes its place in every
//! limit that counts its kind, or in none and waits as long as the script
//! says. A 429 sets a pause that every process's requests wait for; a
//! shorter pause never cuts a longer one short, and none is longer than
//! [`MAX_RETRY_AFTER`].
//!
//! Places are given on Redis's clock when the script runs, not when the
//! request reaches Copper: hosts with different round trips to Redis may
//! send two requests slightly closer than the spacing. The 10 ms margin of
//! Copper's limits, and the widening after 429s, absorb it.
//!
//! # Failure modes
//!
//! - Redis unreachable at start: [`RedisLimiter::connect`] fails within a
//!   few seconds, saying which server and why.
//! - Redis lost mid-run: requests wait while the connection is retried, for
//!   the outage grace ([`RedisLimiter::DEFAULT_OUTAGE_GRACE`], counted from
//!   the start of the first attempt of a request's wait that failed); when
//!   Redis comes back within it they go on, and after it
//!   [`Limiter::acquire`] fails and the request is not sent. Each attempt is
//!   cut off where the grace ends (and after 2 seconds in any case), so the
//!   wait lasts at most the grace and a tenth of a second, however the
//!   server is lost (refusing connections, or holding them without an
//!   answer). A 429 told to a lost Redis holds its response back at most 2
//!   seconds. The limiter never falls back to pacing this
//!   process alone, which would send more than the account's share without
//!   anyone noticing. A 429 reported while Redis is lost is logged and its
//!   pause is lost with it.
//! - Clocks: every time is Redis's own (`TIME`), so hosts whose clocks
//!   disagree still compare times on one clock; a process converts only
//!   durations, and the moment a refused request was sent, by the offset
//!   between its clock and Redis's measured at the last reply.
//! - A restarted Redis has forgotten the schedule and the script: the script
//!   is loaded again by itself, and the schedule starts anew (so a window
//!   that straddles the restart may hold more than its limit: the 429s that
//!   follow pause and widen as usual).
//!
//! It needs Redis 5 or later (a script that reads `TIME` and then writes is
//! replicated by its effects): [`RedisLimiter::connect`] asks the server's
//! version and refuses an older one.
//!
//! # Keys
//!
//! Every key starts with `copper-bulk:limit:v1:{<account>}:`, where
//! `<account>` is [`Account::key`], a SHA-256 hash of the base URL and the
//! user (never the token); the braces make it a hash tag, so that all keys
//! of an account sit in one slot of a Redis cluster. The hash is not
//! salted: it names the account without spelling out the e-mail, but
//! anyone who can read Redis and guesses the e-mail can confirm the guess.
//! After the prefix: `pause` (when requests may go again), `seq` (a
//! counter), `spaced:<per µs>:<bulk|all>` (a hash) and
//! `rolling:<per µs>:<bulk|all>` (a sorted set of request times). Each
//! expires a few minutes after the account's last request, so an idle
//! account leaves nothing behind.
//!
//! A limit is known by its role, its window and which requests it counts,
//! not by its rate: processes given different rates (or versions with
//! different margins) still share one schedule. Each keeps to its own rate
//! within it: a process with a shorter spacing sets the next place closer
//! to its grant than one with a longer spacing does, and a rolling window's
//! log is compared with each process's own number of requests. Of two
//! limits given to one process that share a window and count the same
//! requests, the stricter is kept.

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};

use crate::limiter::{Limiter, LimiterError, LimiterFuture};
use crate::retry_after::MAX_RETRY_AFTER;
use crate::throttle::{RateLimit, RequestKind};

/// The account whose limits are shared, known by a hash of its base URL
/// and user.
///
/// ```
/// use copper_bulk_raw::limiter::redis::Account;
///
/// let account = Account::new("https://API.copper.com/", " Me@Example.com ");
/// assert_eq!(account, Account::new("https://api.copper.com", "me@example.com"));
/// assert_eq!(account.key().len(), 64);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    key: String,
}

impl Account {
    /// The account of `user` at `base_url`: the base URL without a trailing
    /// `/`, its scheme and host lowercased, and the user trimmed and
    /// lowercased (an e-mail, or any name given to an OAuth user). Never
    /// give it a token: the key is stored in Redis, in plain sight.
    pub fn new(base_url: &str, user: &str) -> Account {
        let mut hash = Sha256::new();
        hash.update(normalized_base_url(base_url).as_bytes());
        // A line break cannot end a URL, so no two pairs hash alike.
        hash.update(b"\n");
        hash.update(user.trim().to_lowercase().as_bytes());
        let key = hash
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Account { key }
    }

    /// The hash that names the account's keys in Redis (64 hex digits).
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// `base_url` as [`Account::new`] hashes it: two spellings of one server
/// name one account.
fn normalized_base_url(base_url: &str) -> String {
    let base_url = base_url.trim();
    match reqwest::Url::parse(base_url) {
        // The URL parser lowercases the scheme and host and drops a default
        // port.
        Ok(url) => url.as_str().trim_end_matches('/').to_owned(),
        Err(_) => base_url.trim_end_matches('/').to_lowercase(),
    }
}

/// The rate limiter that every process given the same [`Account`] and
/// Redis server shares; see the [module docs](self).
pub struct RedisLimiter {
    manager: ConnectionManager,
    script: redis::Script,
    display_url: String,
    keys: Keys,
    spaced: Vec<RateLimit>,
    rolling: Vec<RateLimit>,
    outage_grace: Duration,
    /// The instant local times are counted from, to convert them to Redis's.
    epoch: tokio::time::Instant,
    /// Redis's clock minus this process's (microseconds since `epoch`), at
    /// the last reply; [`NO_OFFSET`] before the first.
    offset_us: AtomicI64,
    /// The spacing of bulk requests at the last reply, in microseconds.
    pace_us: AtomicU64,
}

/// `offset_us` before any reply has measured it.
const NO_OFFSET: i64 = i64::MIN;

/// The names of an account's keys, for the limits given.
#[derive(Debug)]
struct Keys {
    pause: String,
    seq: String,
    spaced: Vec<String>,
    rolling: Vec<String>,
}

impl Keys {
    fn new(account: &Account, spaced: &[RateLimit], rolling: &[RateLimit]) -> Keys {
        let prefix = format!("copper-bulk:limit:v1:{{{}}}:", account.key());
        // A limit is named by its role, its window and what it counts, and
        // not by its rate or margin: processes given different rates (or
        // versions with different margins) still share one schedule, each
        // keeping to its own rate within it.
        let name = |kind: &str, limit: &RateLimit| {
            format!(
                "{prefix}{kind}:{}:{}",
                limit.per().as_micros(),
                if limit.is_bulk_only() { "bulk" } else { "all" }
            )
        };
        Keys {
            pause: format!("{prefix}pause"),
            seq: format!("{prefix}seq"),
            spaced: spaced.iter().map(|limit| name("spaced", limit)).collect(),
            rolling: rolling.iter().map(|limit| name("rolling", limit)).collect(),
        }
    }
}

impl fmt::Debug for RedisLimiter {
    /// Shows the server by [`RedisLimiter::display_url`], never with its
    /// password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("url", &self.display_url)
            .field("pause_key", &self.keys.pause)
            .field("spaced", &self.spaced)
            .field("rolling", &self.rolling)
            .field("outage_grace", &self.outage_grace)
            .finish_non_exhaustive()
    }
}

/// How long one command may take before it counts as failed: a Redis that
/// does not answer is as good as lost, and a request must not hang on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long [`RedisLimiter::connect`] tries before it gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The first wait before asking a lost Redis again, doubled up to
/// [`MAX_RETRY_WAIT`].
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(50);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(1);
/// The least time an attempt is given, even at the end of the grace: a
/// healthy Redis answers well within it.
const MIN_ATTEMPT: Duration = Duration::from_millis(100);
/// The least a request told to wait sleeps before it asks again.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// What the script answers: see `redis.lua`.
struct Reply {
    granted: bool,
    wait: Duration,
    now_us: i64,
    pace_us: i64,
}

impl redis::FromRedisValue for Reply {
    fn from_redis_value(value: redis::Value) -> Result<Self, redis::ParsingError> {
        let (granted, wait, now_us, pace_us): (i64, i64, i64, i64) =
            redis::FromRedisValue::from_redis_value(value)?;
        Ok(Reply {
            granted: granted == 1,
            wait: Duration::from_micros(u64::try_from(wait).unwrap_or(0)),
            now_us,
            pace_us,
        })
    }
}

impl RedisLimiter {
    /// How long requests wait for a lost Redis before they fail.
    pub const DEFAULT_OUTAGE_GRACE: Duration = Duration::from_secs(30);

    /// Connects to the Redis server at `url` (`redis://[[USER]:PASSWORD@]HOST:PORT/DB`;
    /// TLS, `rediss://`, is not supported), checks it answers and loads the script;
    /// `account`'s requests will keep to every one of `limits`, together
    /// with every other process's that shares the account and server.
    ///
    /// Fails within about 5 seconds, with an error saying which server
    /// (with any password replaced by `***`) and why: an invalid URL, a
    /// server that cannot be reached or does not answer, a wrong password,
    /// a Redis older than 5.0.
    pub async fn connect(
        url: &str,
        account: Account,
        limits: &[RateLimit],
    ) -> Result<RedisLimiter, LimiterError> {
        let display_url = redact(url);
        let invalid = |why: &dyn fmt::Display| {
            LimiterError::new(format!(
                "the shared rate limiter's URL {display_url} is not valid \
                 (expected redis://HOST:PORT/DB): {why}"
            ))
        };
        if url.trim().is_empty() {
            return Err(LimiterError::new(
                "the shared rate limiter's URL is empty (expected redis://HOST:PORT/DB)",
            ));
        }
        match url.trim().split_once("://").map(|(scheme, _)| scheme) {
            Some("redis") => {}
            // The Redis client is built without TLS, which would bring a
            // second TLS stack and its certificate roots into every build
            // that enables the feature.
            Some("rediss") => {
                return Err(LimiterError::new(format!(
                    "the shared rate limiter at {display_url} asks for TLS (rediss://), \
                     which copper-bulk does not support: use redis:// on a trusted network, \
                     or through a TLS tunnel"
                )));
            }
            _ => return Err(invalid(&"it must start with redis://")),
        }
        let client = redis::Client::open(url.trim()).map_err(|error| invalid(&error))?;
        let unreachable = |why: &dyn fmt::Display| {
            LimiterError::new(format!(
                "cannot reach the shared rate limiter at {display_url}: {why}"
            ))
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(MAX_RETRY_WAIT);
        let script = redis::Script::new(include_str!("redis.lua"));
        let (manager, info) = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let mut manager = ConnectionManager::new_with_config(client, config).await?;
            // A user limited by Redis's ACLs may not run INFO (it is
            // `@dangerous`): its version is then unknown, and PING checks
            // that the server answers.
            let info = match redis::cmd("INFO")
                .arg("server")
                .query_async::<String>(&mut manager)
                .await
            {
                Ok(info) => info,
                Err(error)
                    if error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoPerm) =>
                {
                    redis::cmd("PING")
                        .query_async::<String>(&mut manager)
                        .await?;
                    String::new()
                }
                Err(error) => return Err(error),
            };
            script.prepare_invoke().load_async(&mut manager).await?;
            Ok::<_, redis::RedisError>((manager, info))
        })
        .await
        .map_err(|_| {
            unreachable(&format_args!(
                "no answer within {}",
                seconds(CONNECT_TIMEOUT)
            ))
        })?
        .map_err(|error| unreachable(&error))?;
        if let Some(version) = too_old(&info) {
            return Err(LimiterError::new(format!(
                "the shared rate limiter at {display_url} runs Redis {version}, which is too \
                 old: copper-bulk needs Redis {MIN_VERSION}.0 or later, whose scripts may read \
                 the time before they write"
            )));
        }
        let (spaced, rolling): (Vec<RateLimit>, Vec<RateLimit>) =
            limits.iter().partition(|limit| !limit.is_rolling());
        let (spaced, rolling) = (one_per_key(spaced), one_per_key(rolling));
        let pace = spaced
            .iter()
            .filter(|limit| limit.counts(RequestKind::Bulk))
            .map(RateLimit::spacing)
            .max()
            .unwrap_or_default();
        Ok(RedisLimiter {
            manager,
            script,
            display_url,
            keys: Keys::new(&account, &spaced, &rolling),
            spaced,
            rolling,
            outage_grace: Self::DEFAULT_OUTAGE_GRACE,
            epoch: tokio::time::Instant::now(),
            offset_us: AtomicI64::new(NO_OFFSET),
            pace_us: AtomicU64::new(micros_up(pace)),
        })
    }

    /// The same limiter, waiting `grace` for a lost Redis before its
    /// requests fail (instead of [`Self::DEFAULT_OUTAGE_GRACE`]).
    pub fn with_outage_grace(self, grace: Duration) -> Self {
        RedisLimiter {
            outage_grace: grace,
            ..self
        }
    }

    /// The server's URL with any password replaced by `***`, for messages.
    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// Runs the script once for a request of `kind`: `refused` is
    /// `Some((pause, sent_at on Redis's clock, may widen))` for a 429, and
    /// `None` to ask for a permit.
    async fn run(
        &self,
        kind: RequestKind,
        refused: Option<(Duration, Option<i64>, bool)>,
    ) -> redis::RedisResult<Reply> {
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(&self.keys.pause)
            .key(&self.keys.seq)
            .key(&self.keys.spaced)
            .key(&self.keys.rolling)
            .arg(if refused.is_some() {
                "refused"
            } else {
                "acquire"
            })
            .arg(self.spaced.len())
            .arg(self.rolling.len());
        let (pause, sent_at, widen) = refused.unwrap_or_default();
        // A pause longer than any Retry-After is believed is as good as an
        // endless one, and one too long for Redis's numbers would overflow
        // them.
        invocation
            .arg(micros(pause.min(MAX_RETRY_AFTER)))
            .arg(sent_at.map(|at| at.to_string()).unwrap_or_default())
            .arg(u8::from(widen));
        for limit in &self.spaced {
            invocation
                .arg(micros_up(limit.spacing()))
                .arg(micros(limit.per()))
                .arg(u8::from(limit.counts(kind)))
                .arg(u8::from(limit.counts(RequestKind::Bulk)));
        }
        for limit in &self.rolling {
            invocation
                .arg(limit.requests())
                .arg(micros(limit.per() + limit.margin()))
                .arg(u8::from(limit.counts(kind)));
        }
        // The connection manager is a handle to one shared connection:
        // cloning it is how concurrent requests use it.
        let reply: Reply = invocation.invoke_async(&mut self.manager.clone()).await?;
        self.offset_us.store(
            reply.now_us - self.local_us(tokio::time::Instant::now()),
            Ordering::Relaxed,
        );
        if let Ok(pace) = u64::try_from(reply.pace_us) {
            self.pace_us.store(pace, Ordering::Relaxed);
        }
        Ok(reply)
    }

    /// `at` in microseconds since this limiter's epoch (negative before it).
    fn local_us(&self, at: tokio::time::Instant) -> i64 {
        match at.checked_duration_since(self.epoch) {
            Some(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
            None => -i64::try_from((self.epoch - at).as_micros()).unwrap_or(i64::MAX),
        }
    }

    async fn acquire_for(&self, kind: RequestKind) -> Result<Duration, LimiterError> {
        let started = tokio::time::Instant::now();
        let mut lost_since: Option<tokio::time::Instant> = None;
        let mut retry_wait = FIRST_RETRY_WAIT;
        loop {
            // The outage is counted from the start of the attempt that
            // failed, and each attempt is cut off where the grace ends (or
            // after a command's time, which is shorter), so that the whole
            // wait is at most the grace and one attempt's shortest time.
            let attempt_started = tokio::time::Instant::now();
            let left = match lost_since {
                Some(since) => self.outage_grace.saturating_sub(since.elapsed()),
                None => self.outage_grace,
            };
            let limit = left.clamp(MIN_ATTEMPT, COMMAND_TIMEOUT);
            let error = match tokio::time::timeout(limit, self.run(kind, None)).await {
                Ok(Ok(reply)) if reply.granted => return Ok(started.elapsed()),
                Ok(Ok(reply)) => {
                    lost_since = None;
                    retry_wait = FIRST_RETRY_WAIT;
                    // Never asks again without sleeping, whatever the
                    // script said: a wait of nothing would spin on Redis.
                    tokio::time::sleep(reply.wait.max(MIN_WAIT)).await;
                    continue;
                }
                // An error Redis answered with on purpose (a script that
                // fails), or an answer of the wrong shape, will not go away
                // by asking again.
                Ok(Err(error)) if is_lasting(&error) => {
                    return Err(LimiterError::new(format!(
                        "the shared rate limiter at {} failed: {error}; the request was not sent",
                        self.display_url
                    )));
                }
                Ok(Err(error)) => error.to_string(),
                Err(_) => format!("no answer within {}", seconds(limit)),
            };
            if lost_since.is_none() {
                // Said once per request held back, so that an outage Redis
                // recovers from is still on record.
                tracing::warn!(
                    url = %self.display_url,
                    %error,
                    "lost the shared rate limiter; requests wait for it"
                );
            }
            let since = *lost_since.get_or_insert(attempt_started);
            let lost_for = since.elapsed();
            if lost_for >= self.outage_grace {
                return Err(LimiterError::new(format!(
                    "lost the shared rate limiter at {} for {}: {error}; nothing more \
                     is sent, since without it nothing keeps the account's processes \
                     within Copper's limits",
                    self.display_url,
                    seconds(self.outage_grace),
                )));
            }
            tokio::time::sleep(retry_wait.min(self.outage_grace - lost_for)).await;
            retry_wait = (retry_wait * 2).min(MAX_RETRY_WAIT);
        }
    }
}

impl Limiter for RedisLimiter {
    /// Waits until every limit that counts `kind` has a place and no pause
    /// is in effect, on Redis's clock, and takes the places. Fails when
    /// Redis is lost for longer than the outage grace; see the
    /// [module docs](self).
    fn acquire(&self, kind: RequestKind) -> LimiterFuture<'_, Result<Duration, LimiterError>> {
        Box::pin(self.acquire_for(kind))
    }

    /// Pauses every sharer of the account for `pause` from now (on Redis's
    /// clock), unless a longer pause is in effect, and widens the spacing
    /// of bulk requests for all of them by the rule of
    /// [`Throttle::note_refused`](crate::throttle::Throttle::note_refused).
    /// A lost Redis is logged, and the next acquire finds it lost.
    fn refused(
        &self,
        kind: RequestKind,
        sent_at: tokio::time::Instant,
        pause: Duration,
    ) -> LimiterFuture<'_, ()> {
        Box::pin(async move {
            let offset = self.offset_us.load(Ordering::Relaxed);
            let sent_at =
                (offset != NO_OFFSET).then(|| self.local_us(sent_at).saturating_add(offset));
            let widen = kind == RequestKind::Bulk;
            // The 429's response is held back while Redis hears of it: no
            // longer than one command may take.
            let told = tokio::time::timeout(
                COMMAND_TIMEOUT,
                self.run(kind, Some((pause, sent_at, widen))),
            )
            .await;
            let error = match told {
                Ok(Ok(_)) => None,
                Ok(Err(error)) => Some(error.to_string()),
                Err(_) => Some(format!("no answer within {}", seconds(COMMAND_TIMEOUT))),
            };
            if let Some(error) = error {
                tracing::warn!(
                    url = %self.display_url,
                    %error,
                    "could not tell the shared rate limiter of a 429; other requests do not \
                     pause for it"
                );
            }
        })
    }

    /// The spacing of bulk requests at the last answer from Redis, which
    /// every sharer's 429s widen; `None` when no spaced limit counts them.
    fn pace(&self) -> Option<Duration> {
        self.spaced
            .iter()
            .any(|limit| limit.counts(RequestKind::Bulk))
            .then(|| Duration::from_micros(self.pace_us.load(Ordering::Relaxed)))
    }
}

/// `limits` with one limit per key: of two that share a window and count
/// the same requests, and so one key in Redis, the stricter (the wider
/// spacing) is kept, since the script would otherwise keep whichever it
/// wrote last.
fn one_per_key(limits: Vec<RateLimit>) -> Vec<RateLimit> {
    let mut kept: Vec<RateLimit> = Vec::new();
    for limit in limits {
        let same_key = kept
            .iter_mut()
            .find(|k| k.per() == limit.per() && k.is_bulk_only() == limit.is_bulk_only());
        match same_key {
            Some(k) if limit.spacing() > k.spacing() => *k = limit,
            Some(_) => {}
            None => kept.push(limit),
        }
    }
    kept
}

/// The oldest major version of Redis the script runs on: before 5, a script
/// that read `TIME` could not write (scripts were replicated as code, and
/// the time is not the same on a replica).
const MIN_VERSION: u32 = 5;

/// The version a server reports in its answer to `INFO server`, when it is
/// older than [`MIN_VERSION`]. A server that reports none, or one that does
/// not read as a number, is given the benefit of the doubt: the script's
/// first run says so if it cannot run it.
fn too_old(info: &str) -> Option<&str> {
    let version = info
        .lines()
        .find_map(|line| line.strip_prefix("redis_version:"))?
        .trim();
    let major: u32 = version.split('.').next()?.parse().ok()?;
    (major < MIN_VERSION).then_some(version)
}

/// Whether `error` is an answer from Redis that asking again would only
/// repeat, rather than a lost or busy server.
fn is_lasting(error: &redis::RedisError) -> bool {
    matches!(
        error.kind(),
        redis::ErrorKind::Server(_) | redis::ErrorKind::UnexpectedReturnType
    ) && matches!(error.retry_method(), redis::RetryMethod::NoRetry)
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// `duration` in whole microseconds, rounded up: a spacing kept in Redis is
/// never shorter than the one the in-process throttle keeps.
fn micros_up(duration: Duration) -> u64 {
    micros(duration.saturating_add(Duration::from_nanos(999)))
}

/// `duration` for a message: whole seconds as `30 s`, less as `500 ms`.
fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 && !duration.is_zero() {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// `url` with any password replaced by `***`, for messages: what sits
/// between `scheme://` and the last `@` is credentials. A password may hold
/// a `/` (a base64 one often does), so the host is not looked for first: a
/// path with an `@` in it (no Redis URL has one) hides more than it needs
/// to, never less.
fn redact(url: &str) -> String {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        // Without a scheme there is no telling where a password would be;
        // everything up to an `@` is hidden.
        return match url.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => url.to_owned(),
        };
    };
    match rest.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            // A user name is not secret, unless it holds a `/`: then it may
            // be the start of a password cut off by a mistyped `:`.
            Some((user, _)) if !user.contains('/') => format!("{scheme}://{user}:***@{host}"),
            Some(_) => format!("{scheme}://***@{host}"),
            // A name alone may be a password: before Redis 6 there were no
            // users, and some clients read `redis://PASSWORD@host` so.
            None => format!("{scheme}://***@{host}"),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_its_server_and_user_normalized() {
        let account = Account::new("https://api.copper.com", "me@example.com");
        for (base_url, user) in [
            ("https://API.Copper.com/", "Me@Example.com"),
            ("HTTPS://api.copper.com:443", " me@example.com\n"),
        ] {
            assert_eq!(Account::new(base_url, user), account, "{base_url} {user}");
        }
        for (base_url, user) in [
            ("https://api.copper.com", "you@example.com"),
            ("http://127.0.0.1:8080", "me@example.com"),
            ("https://api.copper.com/other", "me@example.com"),
        ] {
            assert_ne!(Account::new(base_url, user), account, "{base_url} {user}");
        }
        assert!(account.key().chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            format!("{account:?}"),
            format!("Account {{ key: {:?} }}", account.key())
        );
    }

    #[test]
    fn a_url_is_shown_without_its_password() {
        for (url, shown) in [
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            (
                "redis://:secret@127.0.0.1:6379/0",
                "redis://:***@127.0.0.1:6379/0",
            ),
            ("rediss://me:s3:cr@t@host:1/2", "rediss://me:***@host:1/2"),
            ("redis://secret@host", "redis://***@host"),
            ("secret@host:1", "***@host:1"),
            // A password may hold a `/`, which is no path.
            (
                "redis://:ab/cd+ef==@127.0.0.1:6379/0",
                "redis://:***@127.0.0.1:6379/0",
            ),
            ("redis://me:pa/ss@host:1/0", "redis://me:***@host:1/0"),
            ("redis://pa/ss@host:1/0", "redis://***@host:1/0"),
            ("redis://me/x:pa/ss@host:1/0", "redis://***@host:1/0"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn limits_that_would_share_a_key_keep_the_stricter() {
        let bulk = |requests| RateLimit::per_second(requests).bulk_only();
        let kept = one_per_key(vec![
            bulk(5),
            RateLimit::per_second(5),
            bulk(3),
            bulk(4),
            RateLimit::new(5, Duration::from_secs(2)).bulk_only(),
        ]);
        assert_eq!(
            kept,
            [
                bulk(3),
                RateLimit::per_second(5),
                RateLimit::new(5, Duration::from_secs(2)).bulk_only()
            ]
        );
    }

    #[test]
    fn a_redis_older_than_5_is_too_old() {
        let info = |version: &str| {
            format!("# Server\r\nredis_version:{version}\r\nredis_mode:standalone\r\n")
        };
        assert_eq!(too_old(&info("4.0.14")), Some("4.0.14"));
        assert_eq!(too_old(&info("3.2.12")), Some("3.2.12"));
        for version in ["5.0.0", "6.2.14", "7.0.15", "10.1.0"] {
            assert_eq!(too_old(&info(version)), None, "{version}");
        }
        // A server that does not say, or says something else, is tried.
        assert_eq!(too_old("# Server\r\n"), None);
        assert_eq!(too_old(&info("unknown")), None);
    }
}
