//! The rate limiter shared through Redis: two `RedisLimiter`s stand for two
//! processes of one account. Each test starts its own `redis-server`.
//!
//! Time is real (Redis keeps its own clock), so the assertions are on what
//! the script decided, read back from Redis on Redis's clock (a rolling
//! limit's log holds the instant of every grant), or on waits of seconds
//! that only a shared schedule would impose.

use std::sync::Arc;
use std::time::Duration;

use copper_bulk_raw::limiter::Limiter;
use copper_bulk_raw::limiter::redis::{Account, RedisLimiter};
use copper_bulk_raw::throttle::{RateLimit, RequestKind};
use copper_bulk_tests::redis::{RedisServer, free_port};

fn account() -> Account {
    Account::new("https://api.copper.com", "me@example.com")
}

/// A rolling limit that never fills, kept only for its log: the instant,
/// on Redis's clock, of every request granted.
fn log() -> RateLimit {
    RateLimit::new(1_000, Duration::from_secs(60)).rolling()
}

/// One bulk request every 10 seconds: long enough that a request made to
/// wait for it is told apart from one that was not by any machine.
fn one_per_ten_seconds() -> RateLimit {
    RateLimit::new(1, Duration::from_secs(10)).bulk_only()
}

async fn limiter(server: &RedisServer, account: Account, limits: &[RateLimit]) -> RedisLimiter {
    RedisLimiter::connect(&server.url(), account, limits)
        .await
        .unwrap()
}

/// The Redis key of `limit`'s state for `account`, as the module docs name
/// it: by its role (its window and what it counts), not by its rate.
fn key(account: &Account, kind: &str, limit: &RateLimit) -> String {
    format!(
        "copper-bulk:limit:v1:{{{}}}:{kind}:{}:{}",
        account.key(),
        limit.per().as_micros(),
        if limit.is_bulk_only() { "bulk" } else { "all" }
    )
}

fn connection(server: &RedisServer) -> redis::Connection {
    redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

/// The instants (microseconds on Redis's clock) at which the rolling
/// `limit` of `account` granted requests, in order.
fn grants(server: &RedisServer, account: &Account, limit: &RateLimit) -> Vec<i64> {
    let scores: Vec<(String, i64)> = redis::cmd("ZRANGE")
        .arg(key(account, "rolling", limit))
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut connection(server))
        .unwrap();
    scores.into_iter().map(|(_, at)| at).collect()
}

/// Tells `limiter` of a 429 for a request of `kind` sent just now, which
/// asked every request to wait `pause`.
async fn refused_now(limiter: &RedisLimiter, kind: RequestKind, pause: Duration) {
    limiter
        .refused(kind, tokio::time::Instant::now(), pause)
        .await;
}

/// What [`RedisLimiter::connect`] says when it fails for `url`, which it
/// must do within seconds.
async fn connect_error(url: &str) -> String {
    tokio::time::timeout(
        Duration::from_secs(10),
        RedisLimiter::connect(url, account(), &[log()]),
    )
    .await
    .expect("connect did not give up")
    .unwrap_err()
    .to_string()
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap()
}

/// How many times `server` has run a script by its hash, the command every
/// permit and every 429 sends.
fn script_calls(server: &RedisServer) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut connection(server))
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_evalsha:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().unwrap())
}

/// Queues a bulk request in each of `limiters` at once, and waits until
/// all are granted.
async fn acquire_all(limiters: &[&Arc<RedisLimiter>]) {
    let tasks: Vec<_> = limiters
        .iter()
        .map(|limiter| {
            let limiter = Arc::clone(limiter);
            tokio::spawn(async move { limiter.acquire(RequestKind::Bulk).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
}

/// Asserts that each of `granted` follows the one before it by at least
/// `spacing` on Redis's clock.
fn assert_spaced(granted: &[i64], spacing: Duration) {
    for pair in granted.windows(2) {
        assert!(
            pair[1] - pair[0] >= micros(spacing),
            "grants {} µs apart: {granted:?}",
            pair[1] - pair[0]
        );
    }
}

#[tokio::test]
async fn two_processes_of_one_account_keep_one_spacing() {
    let server = RedisServer::start();
    let bulk = RateLimit::new(10, Duration::from_secs(1)).bulk_only();
    let limits = [bulk, log()];
    let a = Arc::new(limiter(&server, account(), &limits).await);
    let b = Arc::new(limiter(&server, account(), &limits).await);
    // Four requests queued at once in each process.
    acquire_all(&[&a, &b, &a, &b, &a, &b, &a, &b]).await;
    let granted = grants(&server, &account(), &log());
    assert_eq!(granted.len(), 8);
    // Each grant follows the one before it, whichever process took it, by
    // the whole spacing.
    assert_spaced(&granted, bulk.spacing());
}

#[tokio::test]
async fn processes_with_different_rates_share_one_schedule() {
    let server = RedisServer::start();
    let faster = RateLimit::per_second(3).bulk_only();
    let slower = RateLimit::per_second(2).bulk_only();
    let a = Arc::new(limiter(&server, account(), &[faster, log()]).await);
    let b = Arc::new(limiter(&server, account(), &[slower, log()]).await);
    acquire_all(&[&a, &b, &a, &b, &a, &b]).await;
    let granted = grants(&server, &account(), &log());
    assert_eq!(granted.len(), 6);
    // Each process spaces from the other's grants too, by its own spacing:
    // never closer than the smaller of the two.
    assert_spaced(&granted, faster.spacing());
}

#[tokio::test]
async fn the_shared_spacing_is_never_shorter_than_the_throttles() {
    let server = RedisServer::start();
    // A third of a second is no whole number of microseconds.
    let bulk = RateLimit::per_second(3).bulk_only();
    let a = limiter(&server, account(), &[bulk, log()]).await;
    a.acquire(RequestKind::Bulk).await.unwrap();
    let next: i64 = redis::cmd("HGET")
        .arg(key(&account(), "spaced", &bulk))
        .arg("next")
        .query(&mut connection(&server))
        .unwrap();
    let granted = grants(&server, &account(), &log());
    let spaced = Duration::from_micros(u64::try_from(next - granted[0]).unwrap());
    assert!(
        spaced >= bulk.spacing(),
        "{spaced:?} < {:?}",
        bulk.spacing()
    );
}

#[tokio::test]
async fn an_endless_pause_is_waited_for_not_spun_on() {
    let server = RedisServer::start();
    let a = limiter(&server, account(), &[log()]).await;
    refused_now(&a, RequestKind::Bulk, Duration::MAX).await;
    let before = script_calls(&server);
    let waited =
        tokio::time::timeout(Duration::from_millis(500), a.acquire(RequestKind::Bulk)).await;
    assert!(waited.is_err(), "{waited:?}");
    // One call finds the pause and sleeps; a loop that asked again without
    // sleeping would make thousands.
    let calls = script_calls(&server) - before;
    assert!(calls <= 3, "{calls} scripts run while paused");
    assert_eq!(grants(&server, &account(), &log()), Vec::<i64>::new());
}

#[tokio::test]
async fn accounts_are_kept_apart() {
    let server = RedisServer::start();
    let limits = [one_per_ten_seconds()];
    let other = Account::new("https://api.copper.com", "you@example.com");
    let a = limiter(&server, account(), &limits).await;
    let b = limiter(&server, account(), &limits).await;
    let c = limiter(&server, other, &limits).await;
    a.acquire(RequestKind::Bulk).await.unwrap();
    // Another account's request goes at once...
    tokio::time::timeout(Duration::from_secs(5), c.acquire(RequestKind::Bulk))
        .await
        .expect("another account waited for this one's spacing")
        .unwrap();
    // ...while another process of the same account waits its 10 seconds.
    let waited = tokio::time::timeout(Duration::from_secs(1), b.acquire(RequestKind::Bulk)).await;
    assert!(waited.is_err(), "{waited:?}");
}

#[tokio::test]
async fn searches_are_not_spaced_but_count_toward_the_window() {
    let server = RedisServer::start();
    let window = RateLimit::new(4, Duration::from_secs(2)).rolling();
    let limits = [one_per_ten_seconds(), window, log()];
    let a = limiter(&server, account(), &limits).await;
    let b = limiter(&server, account(), &limits).await;
    a.acquire(RequestKind::Bulk).await.unwrap();
    // Three searches go without the bulk spacing of 10 seconds...
    tokio::time::timeout(Duration::from_secs(5), async {
        for _ in 0..3 {
            b.acquire(RequestKind::Search).await.unwrap();
        }
    })
    .await
    .expect("searches waited for the bulk spacing");
    // ...and fill the window with the bulk request: a fifth waits until the
    // first has left it.
    a.acquire(RequestKind::Search).await.unwrap();
    let granted = grants(&server, &account(), &log());
    assert_eq!(granted.len(), 5, "{granted:?}");
    assert!(
        granted[4] - granted[0] >= micros(window.per() + window.margin()),
        "{granted:?}"
    );
}

#[tokio::test]
async fn a_pause_set_by_one_process_holds_back_the_other() {
    let server = RedisServer::start();
    let a = limiter(&server, account(), &[log()]).await;
    let b = limiter(&server, account(), &[log()]).await;
    let pause_key = format!("copper-bulk:limit:v1:{{{}}}:pause", account().key());
    let paused_until = || -> i64 {
        redis::cmd("GET")
            .arg(&pause_key)
            .query(&mut connection(&server))
            .unwrap()
    };
    refused_now(&a, RequestKind::Search, Duration::from_millis(1_500)).await;
    let until = paused_until();
    // A shorter pause does not cut the longer one short.
    refused_now(&b, RequestKind::Bulk, Duration::from_millis(100)).await;
    assert_eq!(paused_until(), until);
    b.acquire(RequestKind::Search).await.unwrap();
    let granted = grants(&server, &account(), &log());
    assert_eq!(granted.len(), 1);
    assert!(
        granted[0] >= until,
        "granted at {granted:?}, paused until {until}"
    );
}

#[tokio::test]
async fn a_429_in_one_process_widens_the_spacing_of_both() {
    let server = RedisServer::start();
    // A spaced limit that counts searches too: a refused search still says
    // nothing about how crowded bulk requests arrive.
    let limits = [RateLimit::new(10, Duration::from_secs(1))];
    let a = limiter(&server, account(), &limits).await;
    let b = limiter(&server, account(), &limits).await;
    let base = limits[0].spacing();
    assert_eq!(a.pace(), Some(base));
    a.acquire(RequestKind::Bulk).await.unwrap();
    b.acquire(RequestKind::Bulk).await.unwrap();
    // A refused search widens nothing.
    refused_now(&a, RequestKind::Search, Duration::from_millis(1)).await;
    assert_eq!(a.pace(), Some(base));
    refused_now(&a, RequestKind::Bulk, Duration::from_millis(1)).await;
    let wider = a.pace().unwrap();
    assert!(wider > base, "{wider:?}");
    assert!(wider <= base + base / 16, "{wider:?}");
    // The other process learns of it with its next answer from Redis...
    assert_eq!(b.pace(), Some(base));
    b.acquire(RequestKind::Bulk).await.unwrap();
    assert_eq!(b.pace(), Some(wider));
    // ...and a 429 it meets for a request sent within a window of that
    // widening is the same crowding, already answered.
    refused_now(&b, RequestKind::Bulk, Duration::from_millis(1)).await;
    assert_eq!(b.pace(), Some(wider));
    // A request sent more than a window after it meets new crowding: its
    // time, converted to Redis's clock, tells the two apart.
    tokio::time::sleep(limits[0].per() + Duration::from_millis(100)).await;
    refused_now(&b, RequestKind::Bulk, Duration::from_millis(1)).await;
    assert!(b.pace().unwrap() > wider, "{:?}", b.pace());
}

#[tokio::test]
async fn quiet_narrows_the_shared_spacing_by_the_places_of_both() {
    let server = RedisServer::start();
    let limits = [RateLimit::new(20, Duration::from_secs(1)).bulk_only()];
    let a = limiter(&server, account(), &limits).await;
    let b = limiter(&server, account(), &limits).await;
    refused_now(&a, RequestKind::Bulk, Duration::from_millis(1)).await;
    let wider = a.pace().unwrap();
    // Sixteen places without a 429, eight in each process, take a
    // millisecond off the spacing (a 64th of a widening this small is
    // less).
    for _ in 0..8 {
        a.acquire(RequestKind::Bulk).await.unwrap();
        b.acquire(RequestKind::Bulk).await.unwrap();
    }
    assert_eq!(b.pace(), Some(wider - Duration::from_millis(1)));
}

#[tokio::test]
async fn an_idle_account_leaves_nothing_behind() {
    let server = RedisServer::start();
    let limits = [RateLimit::per_second(3).bulk_only(), log()];
    let a = limiter(&server, account(), &limits).await;
    a.acquire(RequestKind::Bulk).await.unwrap();
    refused_now(&a, RequestKind::Bulk, Duration::from_millis(1)).await;
    let mut connection = connection(&server);
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut connection).unwrap();
    // The pause, the counter, the spaced limit and the log.
    assert_eq!(keys.len(), 4, "{keys:?}");
    let prefix = format!("copper-bulk:limit:v1:{{{}}}:", account().key());
    for key in keys {
        assert!(key.starts_with(&prefix), "{key}");
        let expires_in: i64 = redis::cmd("PTTL").arg(&key).query(&mut connection).unwrap();
        assert!(
            (1..=180_000).contains(&expires_in),
            "{key} expires in {expires_in} ms"
        );
    }
}

#[tokio::test]
async fn a_request_told_to_wait_takes_no_place() {
    let server = RedisServer::start();
    // One request of any kind a second, spaced, and one bulk request a
    // minute.
    let second = RateLimit::new(1, Duration::from_secs(1));
    let minute = RateLimit::new(1, Duration::from_secs(60))
        .rolling()
        .bulk_only();
    let limits = [second, minute, log()];
    let a = limiter(&server, account(), &limits).await;
    let b = limiter(&server, account(), &limits).await;
    a.acquire(RequestKind::Bulk).await.unwrap();
    tokio::time::sleep(second.spacing() + Duration::from_millis(100)).await;
    // The second bulk request finds the second's place free and the minute
    // full: it takes neither...
    let waited =
        tokio::time::timeout(Duration::from_millis(300), b.acquire(RequestKind::Bulk)).await;
    assert!(waited.is_err(), "{waited:?}");
    let next: i64 = redis::cmd("HGET")
        .arg(key(&account(), "spaced", &second))
        .arg("next")
        .query(&mut connection(&server))
        .unwrap();
    let granted = grants(&server, &account(), &log());
    assert_eq!(next, granted[0] + micros(second.spacing()), "{granted:?}");
    // ...so a search, which the minute does not count, goes at once.
    tokio::time::timeout(Duration::from_secs(5), a.acquire(RequestKind::Search))
        .await
        .expect("a search waited for a place no request used")
        .unwrap();
}

#[tokio::test]
async fn a_lost_redis_fails_acquire_after_the_grace() {
    let mut server = RedisServer::start();
    let grace = Duration::from_secs(1);
    let limiter = limiter(&server, account(), &[log()])
        .await
        .with_outage_grace(grace);
    limiter.acquire(RequestKind::Bulk).await.unwrap();
    server.kill();
    let started = tokio::time::Instant::now();
    let error = limiter.acquire(RequestKind::Bulk).await.unwrap_err();
    assert!(started.elapsed() >= grace, "{:?}", started.elapsed());
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "lost the shared rate limiter at {} for 1 s: ",
            server.url()
        )),
        "{message}"
    );
    // A 429 told to a lost limiter is logged, not waited on for long.
    tokio::time::timeout(
        Duration::from_secs(10),
        limiter.refused(
            RequestKind::Bulk,
            tokio::time::Instant::now(),
            Duration::from_secs(1),
        ),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_redis_that_stops_answering_fails_acquire_soon_after_the_grace() {
    let server = RedisServer::start();
    let limiter = limiter(&server, account(), &[log()])
        .await
        .with_outage_grace(Duration::from_secs(1));
    limiter.acquire(RequestKind::Bulk).await.unwrap();
    // The server still holds its connections but answers nothing, as a
    // host that froze or a network that drops packets would.
    server.stop();
    // The grace and a step of the retry, not attempts of seconds each
    // started after it ran out.
    let bound = Duration::from_secs(4);
    let error = tokio::time::timeout(bound, limiter.acquire(RequestKind::Bulk))
        .await
        .expect("acquire waited far beyond the grace")
        .unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "lost the shared rate limiter at {} for 1 s: ",
            server.url()
        )),
        "{error}"
    );
    // A 429 holds its response back only as long as one command may take.
    tokio::time::timeout(
        bound,
        limiter.refused(
            RequestKind::Bulk,
            tokio::time::Instant::now(),
            Duration::from_secs(1),
        ),
    )
    .await
    .expect("telling a silent limiter of a 429 hung");
}

#[tokio::test]
async fn a_redis_back_within_the_grace_is_used_again() {
    let mut server = RedisServer::start();
    let limiter = Arc::new(
        limiter(&server, account(), &[log()])
            .await
            .with_outage_grace(Duration::from_secs(20)),
    );
    limiter.acquire(RequestKind::Bulk).await.unwrap();
    server.kill();
    let waiting = {
        let limiter = Arc::clone(&limiter);
        tokio::spawn(async move { limiter.acquire(RequestKind::Bulk).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The restarted server has forgotten the script too.
    server.restart();
    waiting.await.unwrap().unwrap();
    assert_eq!(grants(&server, &account(), &log()).len(), 1);
}

#[test]
fn a_test_server_never_takes_another_for_itself() {
    let first = RedisServer::start();
    // A second server on the same port cannot bind it, while the first
    // answers every PING there.
    let second = RedisServer::start_at(first.port(), &[]);
    let why = second.unwrap_err();
    assert!(why.contains(&first.port().to_string()), "{why}");
}

#[tokio::test]
async fn a_server_not_listening_fails_connect_saying_which() {
    let url = format!("redis://127.0.0.1:{}/0", free_port());
    let message = connect_error(&url).await;
    assert!(
        message.starts_with(&format!("cannot reach the shared rate limiter at {url}: ")),
        "{message}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_fails_connect_saying_which() {
    // The system completes the handshake for a listener that never
    // accepts, so the connection is made and nothing ever answers on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "redis://127.0.0.1:{}/0",
        listener.local_addr().unwrap().port()
    );
    let message = connect_error(&url).await;
    assert!(
        message.starts_with(&format!("cannot reach the shared rate limiter at {url}: ")),
        "{message}"
    );
    assert!(message.contains("no answer within"), "{message}");
}

#[tokio::test]
async fn an_invalid_url_is_an_error() {
    for url in [
        "",
        "127.0.0.1:6379",
        "http://127.0.0.1:6379/0",
        "redis://127.0.0.1:6379/not-a-number",
        "redis://:secret@127.0.0.1:notaport/0",
        // A slash in a password is no path, and is never shown.
        "redis://:se/cret+ab==@127.0.0.1:6379/0",
    ] {
        let message = connect_error(url).await;
        assert!(
            message.starts_with("the shared rate limiter's URL "),
            "{url}: {message}"
        );
        assert!(
            message.contains("(expected redis://HOST:PORT/DB)"),
            "{url}: {message}"
        );
        assert!(!message.contains("secret"), "{url}: {message}");
    }
    // TLS is not built in, and saying so beats a failed handshake.
    assert_eq!(
        connect_error("rediss://:secret@127.0.0.1:6379/0").await,
        "the shared rate limiter at rediss://:***@127.0.0.1:6379/0 asks for TLS (rediss://), \
         which copper-bulk does not support: use redis:// on a trusted network, or through a \
         TLS tunnel"
    );
}

#[tokio::test]
async fn a_password_is_used_and_never_shown() {
    let server = RedisServer::start_with(&["--requirepass", "s3cret-pw"]);
    let port = server.port();
    let url = format!("redis://:s3cret-pw@127.0.0.1:{port}/0");
    let limiter = RedisLimiter::connect(&url, account(), &[log()])
        .await
        .unwrap();
    limiter.acquire(RequestKind::Bulk).await.unwrap();
    let shown = format!("redis://:***@127.0.0.1:{port}/0");
    assert_eq!(limiter.display_url(), shown);
    let debug = format!("{limiter:?}");
    assert!(debug.contains(&shown), "{debug}");
    assert!(!debug.contains("s3cret-pw"), "{debug}");
    for url in [
        format!("redis://:wrong-pw@127.0.0.1:{port}/0"),
        server.url(),
    ] {
        let message = connect_error(&url).await;
        assert!(
            message.starts_with("cannot reach the shared rate limiter at redis://"),
            "{message}"
        );
        assert!(!message.contains("wrong-pw"), "{message}");
        assert!(message.to_lowercase().contains("auth"), "{message}");
    }
}

/// A user Redis's ACLs keep from `INFO` (a `@dangerous` command), as a
/// least-privilege user for the limiter would be, still connects: the
/// server's version is then unknown, and a PING checks that it answers.
#[tokio::test]
async fn a_user_not_allowed_info_still_connects() {
    let server =
        RedisServer::start_with(&["--user", "limiter", "on", ">lim-pw", "~*", "+@all", "-info"]);
    let url = format!("redis://limiter:lim-pw@127.0.0.1:{}/0", server.port());
    let limiter = RedisLimiter::connect(&url, account(), &[log()])
        .await
        .unwrap();
    limiter.acquire(RequestKind::Bulk).await.unwrap();
}
