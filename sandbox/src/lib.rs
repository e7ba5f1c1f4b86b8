//! A local server that behaves like Copper's bulk endpoints, for trying
//! copper-bulk without a Copper account and for testing against it.
//!
//! It serves every bulk endpoint of the spec (people, leads and companies:
//! create and update; opportunities and activities: create) and the five
//! searches over an in-memory store seeded with the same records every
//! time, and follows Copper's documented behaviour:
//!
//! - results in request order, the full person or a failure item each;
//! - more than 10 records: 422 `{"error": "Request size too large, limit is 10"}`;
//! - more than 3 bulk requests in a second, or 180 requests of any kind in
//!   a minute: 429 (configurable, or off); searches count toward the
//!   minute only;
//! - searches match the records, created in bulk or seeded, that meet
//!   every criterion (AND), sorted (by `date_created`, `date_modified`,
//!   `name`, `first_name` or `id`; ties by id), a page of at most 200 at a
//!   time (a larger `page_size` is refused with 422, as Copper documents no
//!   answer for it), with the number of matches in `X-Pw-Total`; e-mail
//!   addresses and domains compare without case (Copper keeps addresses
//!   unique whatever their case), names match by part, without case;
//! - a record's `date_created` is the sandbox's clock, in unix seconds, when
//!   it was created;
//! - missing or wrong `X-PW-*` headers, or a bearer token other than the
//!   OAuth access token it was given (or without `X-PW-Application`): 401;
//! - an e-mail that belongs to another person, an e-mail domain that
//!   belongs to another company, a malformed e-mail, an empty name, an
//!   unknown category, priority or status, a missing primary contact or
//!   activity parent (the sandbox holds no projects or tasks) fail that
//!   record with field errors; an unknown id fails it with `Resource not
//!   found`; an opportunity without a primary contact is created;
//! - with Leads switched off, the leads endpoints answer 403 `Feature not
//!   enabled`;
//! - updates change only the fields sent, `null` clears, lists are
//!   replaced whole; creates get ids and timestamps.
//!
//! Requests and answers are read and written with the types generated from
//! the same spec as the client, so the two cannot drift apart.
//!
//! Tests can make it misbehave, one request at a time: see [`Fault`].
//!
//! ```no_run
//! use copper_bulk_sandbox::{Fault, Sandbox, SandboxConfig};
//!
//! # async fn run() -> std::io::Result<()> {
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! sandbox.inject(Fault::Status(503));
//! println!("try me at {}", sandbox.url());
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod faults;
mod search;
mod seed;
mod server;
mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use copper_bulk_raw::types::Person;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::oneshot;

pub use faults::Fault;
pub use store::{Applied, Entity};

/// How a sandbox behaves.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SandboxConfig {
    token: String,
    user_email: String,
    oauth_token: Option<String>,
    rate_limit: Option<(u32, Duration)>,
    account_rate_limit: Option<(u32, Duration)>,
    batch_limit: usize,
    seed: u64,
    people: usize,
    latency: Duration,
    jitter: Duration,
    keep_applied_log: bool,
    keep_request_log: bool,
    leads_enabled: bool,
}

impl SandboxConfig {
    /// The access token the sandbox accepts by default. It guards nothing
    /// but the sandbox, so it can be written down.
    pub const TOKEN: &'static str = "sandbox-token";
    /// The user e-mail the sandbox accepts by default.
    pub const USER_EMAIL: &'static str = "sandbox@example.com";
    /// The OAuth 2.0 access token the sandbox accepts by default, sent as
    /// `Authorization: Bearer sandbox-oauth-token`.
    pub const OAUTH_TOKEN: &'static str = "sandbox-oauth-token";

    /// Copper's behaviour: the API key [`SandboxConfig::TOKEN`] of
    /// [`SandboxConfig::USER_EMAIL`] or the OAuth access token
    /// [`SandboxConfig::OAUTH_TOKEN`], 3 bulk requests a second and 180
    /// requests of any kind a minute, 10 records a request, 100 people
    /// seeded with seed 42, answers without delay.
    pub fn new() -> Self {
        SandboxConfig {
            token: Self::TOKEN.to_owned(),
            user_email: Self::USER_EMAIL.to_owned(),
            oauth_token: Some(Self::OAUTH_TOKEN.to_owned()),
            rate_limit: Some((3, Duration::from_secs(1))),
            account_rate_limit: Some((180, Duration::from_secs(60))),
            batch_limit: 10,
            seed: 42,
            people: 100,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            keep_applied_log: true,
            keep_request_log: false,
            leads_enabled: true,
        }
    }

    /// Accepts this OAuth access token instead (`Some`), or no bearer
    /// token at all (`None`, or an empty one). A request carrying
    /// `Authorization: Bearer` is judged by that token (and its
    /// `X-PW-Application: developer_api`), never by API-key headers beside
    /// it; a wrong one is answered 401.
    pub fn with_oauth_token(self, access_token: Option<&str>) -> Self {
        // The token a request carries is compared trimmed, so an empty one
        // could never match: it is no token at all.
        let oauth_token = access_token
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .map(str::to_owned);
        SandboxConfig {
            oauth_token,
            ..self
        }
    }

    /// Accepts this API key and user e-mail instead.
    pub fn with_credentials(self, token: &str, user_email: &str) -> Self {
        SandboxConfig {
            token: token.to_owned(),
            user_email: user_email.to_owned(),
            ..self
        }
    }

    /// Answers 429 to a bulk request when `requests` bulk requests were
    /// accepted in the `per` before it; `None` accepts every one. Searches
    /// do not count toward this limit, as they do not toward Copper's 3 a
    /// second.
    ///
    /// The account's limit, which every request counts toward, is set to
    /// the same rate over a minute (Copper's 180 for 3 a second), so that
    /// it never refuses bulk requests this limit lets through; `None`
    /// turns it off too. Set it apart, afterwards, with
    /// [`SandboxConfig::with_account_rate_limit`].
    pub fn with_rate_limit(self, limit: Option<(u32, Duration)>) -> Self {
        SandboxConfig {
            rate_limit: limit,
            account_rate_limit: limit
                .map(|(requests, per)| (requests.saturating_mul(60), per.saturating_mul(60))),
            ..self
        }
    }

    /// Answers 429 to any request, bulk or search, when `requests` were
    /// accepted in the `per` before it (Copper's 180 a minute); `None`
    /// accepts every one.
    pub fn with_account_rate_limit(self, limit: Option<(u32, Duration)>) -> Self {
        SandboxConfig {
            account_rate_limit: limit,
            ..self
        }
    }

    /// Refuses requests of more than `records` records.
    pub fn with_batch_limit(self, records: usize) -> Self {
        SandboxConfig {
            batch_limit: records,
            ..self
        }
    }

    /// Seeds `people` people (ids `1..=people`, e-mails
    /// `person<id>@example.com`) from `seed`, beside 10 companies, 10 leads
    /// (e-mails `lead<id>@example.com`) and 5 opportunities.
    pub fn with_seed(self, seed: u64, people: usize) -> Self {
        SandboxConfig {
            seed,
            people,
            ..self
        }
    }

    /// Waits this long before answering every request.
    pub fn with_latency(self, latency: Duration) -> Self {
        SandboxConfig { latency, ..self }
    }

    /// Simulates transit jitter: each request counts as arrived a random 0
    /// to `jitter` after the sandbox received it, before the rate limits
    /// (or anything else) see it, as a request crossing the internet
    /// reaches Copper later than it left by a varying delay. Requests sent
    /// evenly apart then arrive unevenly, and Copper counts arrivals. The
    /// delays are drawn from a generator seeded with the seed of
    /// [`SandboxConfig::with_seed`], so the delays come in the same
    /// sequence every run (which request meets which depends on the order
    /// requests arrive in). Zero (the
    /// default) turns it off.
    pub fn with_jitter(self, jitter: Duration) -> Self {
        SandboxConfig { jitter, ..self }
    }

    /// Whether to keep the log of every change applied ([`Sandbox::applied`]):
    /// on by default, for tests; a long-running sandbox turns it off so that
    /// its memory does not grow with every record it is sent.
    pub fn with_applied_log(self, keep: bool) -> Self {
        SandboxConfig {
            keep_applied_log: keep,
            ..self
        }
    }

    /// Whether to keep, for every request answered, when it arrived and its
    /// status ([`Stats::answered`]): off by default, because the log grows
    /// with every request; a benchmark turns it on to draw requests over time.
    pub fn with_request_log(self, keep: bool) -> Self {
        SandboxConfig {
            keep_request_log: keep,
            ..self
        }
    }

    /// Switches the account's Leads feature on or off: off, the leads
    /// endpoints answer 403 `Feature not enabled`, as Copper's do.
    pub fn with_leads_enabled(self, enabled: bool) -> Self {
        SandboxConfig {
            leads_enabled: enabled,
            ..self
        }
    }

    /// The access token it accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The user e-mail it accepts.
    pub fn user_email(&self) -> &str {
        &self.user_email
    }

    /// The OAuth access token it accepts, if any.
    pub fn oauth_token(&self) -> Option<&str> {
        self.oauth_token.as_deref()
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig::new()
    }
}

/// How many requests a sandbox answered, by status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Requests received, answered or not yet.
    pub received: usize,
    /// Of those, searches (the rest are bulk requests).
    pub searches: usize,
    /// Requests answered, by HTTP status.
    pub by_status: BTreeMap<u16, usize>,
    /// Every request answered, in the order answered, when the
    /// configuration keeps the log ([`SandboxConfig::with_request_log`]).
    pub answered: Vec<Answered>,
}

/// One request the sandbox answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Answered {
    /// When the sandbox received it, counted from the sandbox's start:
    /// before its transit delay, when jitter is simulated
    /// ([`SandboxConfig::with_jitter`]), so that these instants are the
    /// client's spacing.
    pub arrived: Duration,
    /// The status it was answered with.
    pub status: u16,
}

impl Stats {
    fn count(&mut self, status: u16, arrived: Option<Duration>) {
        *self.by_status.entry(status).or_insert(0) += 1;
        if let Some(arrived) = arrived {
            self.answered.push(Answered { arrived, status });
        }
    }

    /// Requests answered in all (see `received` for those still being
    /// answered too).
    pub fn requests(&self) -> usize {
        self.by_status.values().sum()
    }

    /// Requests answered with `status`.
    pub fn with_status(&self, status: u16) -> usize {
        self.by_status.get(&status).copied().unwrap_or(0)
    }
}

/// A running sandbox. It stops when dropped.
#[derive(Debug)]
pub struct Sandbox {
    url: String,
    addr: SocketAddr,
    state: Arc<server::State>,
    stop: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for server::State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts a sandbox on 127.0.0.1, on a free port.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        Sandbox::bind(config, "127.0.0.1:0").await
    }

    /// Starts a sandbox on `addr`, on the current tokio runtime.
    pub async fn bind(config: SandboxConfig, addr: impl ToSocketAddrs) -> std::io::Result<Sandbox> {
        let mut store = store::Store::new(config.keep_applied_log);
        seed::seed(&mut store, config.seed, config.people);
        let state = Arc::new(server::State::new(config, store));
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = server::router(state.clone());
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::error!(%error, "the sandbox stopped");
            }
        });
        Ok(Sandbox {
            url: format!("http://{addr}"),
            addr,
            state,
            stop: Some(stop),
        })
    }

    /// Its base URL, such as `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How it behaves.
    pub fn config(&self) -> &SandboxConfig {
        &self.state.config
    }

    /// Makes the next request that has no fault yet commit `fault`.
    pub fn inject(&self, fault: Fault) {
        self.inject_times(fault, 1);
    }

    /// Makes each of the next `times` requests commit `fault` (a burst).
    ///
    /// Only bulk requests take these faults; searches take theirs from
    /// [`Sandbox::inject_search`], so that a look-up never spends a fault a
    /// test meant for a bulk request.
    pub fn inject_times(&self, fault: Fault, times: usize) {
        let mut faults = self.state.faults.lock().unwrap();
        faults.extend(std::iter::repeat_n(fault, times));
    }

    /// Makes the next search that has no fault yet commit `fault`. A search
    /// applies nothing, so a fault "after applying" strikes as its
    /// counterpart before: a status, a dropped connection.
    pub fn inject_search(&self, fault: Fault) {
        self.state.search_faults.lock().unwrap().push_back(fault);
    }

    /// Adds a record of this kind past Copper's rules for new records, as
    /// a create would make it (an id, timestamps, every field it does not
    /// give), and returns its id. It stands for what an account may hold
    /// although Copper refuses it now, such as two companies of one e-mail
    /// domain made before the domain was a unique key. It is not in
    /// [`Sandbox::applied`].
    ///
    /// The rules still hold for what comes after: an update of such a
    /// company that sends its shared domain again fails, as another company
    /// holds it (what Copper does then is not documented). Seeding a person
    /// whose e-mail another person has is not supported: the sandbox keeps
    /// one person per address in the index its uniqueness rule reads.
    pub fn seed(&self, entity: Entity, record: serde_json::Map<String, serde_json::Value>) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let fields = self.state.fields(entity);
        let mut store = self.state.store.lock().unwrap();
        let record = store.seed_new(entity, &record, fields, now);
        record["id"].as_i64().expect("stored records have ids")
    }

    /// The person with this id, as stored now.
    pub fn person(&self, id: i64) -> Option<Person> {
        self.record(Entity::People, id)
            .map(|record| serde_json::from_value(record).expect("stored people are people"))
    }

    /// Every person, in id order.
    pub fn people(&self) -> Vec<Person> {
        self.records(Entity::People)
            .into_iter()
            .map(|record| serde_json::from_value(record).expect("stored people are people"))
            .collect()
    }

    /// The record of this kind with this id, as stored now.
    pub fn record(&self, entity: Entity, id: i64) -> Option<serde_json::Value> {
        let store = self.state.store.lock().unwrap();
        store
            .get(entity, id)
            .cloned()
            .map(serde_json::Value::Object)
    }

    /// Every record of this kind, in id order.
    pub fn records(&self, entity: Entity) -> Vec<serde_json::Value> {
        let store = self.state.store.lock().unwrap();
        store
            .all(entity)
            .cloned()
            .map(serde_json::Value::Object)
            .collect()
    }

    /// Every change applied, in order (empty when the configuration turned
    /// the log off).
    pub fn applied(&self) -> Vec<Applied> {
        self.state.store.lock().unwrap().log().to_vec()
    }

    /// How many requests it answered, by status.
    pub fn stats(&self) -> Stats {
        self.state.stats.lock().unwrap().clone()
    }

    /// Stops serving.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shut_down();
    }
}
