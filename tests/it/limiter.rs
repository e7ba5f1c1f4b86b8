//! The rate limiter shared by every request of a client: a 429 holds all of
//! them back, not only the refused one. Time is tokio's, paused, but for
//! the last test, which needs the sandbox's jitter on real time: its
//! assertion is on what the sandbox counted, which scheduling delays only
//! make less likely to change (they widen the spacing, by far less than
//! the 300 ms of jitter).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use copper_bulk::{
    Config, Copper, EmailInput, Error, Limiter, LimiterError, LimiterFuture, Match, MatchedOutcome,
    MatchedResult, PersonCreate, PersonUpdate, RequestKind, Stopper,
};
use copper_bulk_tests::fake::{FakeCopper, Received, Reply};
use futures_util::StreamExt;

const TOKEN: &str = "tok-41d7aa-limiter-secret";

fn updates(ids: std::ops::Range<i64>) -> Vec<PersonUpdate> {
    ids.map(|id| PersonUpdate::new(id).title(format!("Title {id}")))
        .collect()
}

/// Settings for a client of `fake`, otherwise the defaults.
fn config(fake: &FakeCopper) -> Config {
    Config::new(TOKEN, "me@example.com")
        .unwrap()
        .with_base_url(fake.url())
        .unwrap()
}

/// `n` new people, each with an e-mail of its own, for runs matched by
/// e-mail.
fn new_people(n: usize) -> impl Iterator<Item = PersonCreate> + Send + 'static {
    (0..n).map(|n| {
        PersonCreate::new(format!("P {n}")).emails([EmailInput::new(format!("p{n}@example.com"))])
    })
}

/// A client of `fake` at Copper's rate, with six requests in flight.
fn client(fake: &FakeCopper) -> Copper {
    Copper::new(config(fake).with_concurrency(6).unwrap()).unwrap()
}

/// Fails when a request arrived after the first one (the refused one) and
/// before `pause` had passed since it.
fn assert_none_arrived_during_the_pause(received: &[Received], pause: Duration) {
    let refused = received[0].at;
    let during: Vec<Duration> = received[1..]
        .iter()
        .map(|r| r.at.duration_since(refused))
        .filter(|after| !after.is_zero() && *after < pause)
        .collect();
    assert!(
        during.is_empty(),
        "requests arrived {during:?} after the 429, within its pause of {pause:?}"
    );
}

/// The requests a fake received that answered the first with `refusal`
/// and echoed the rest, when sent 60 updates (6 batches) at once.
async fn received_after_refusing_the_first(refusal: Reply) -> Vec<Received> {
    let mut refusal = Some(refusal);
    let fake = FakeCopper::start(move |_, _| refusal.take().unwrap_or(Reply::Echo)).await;
    let report = client(&fake)
        .people()
        .bulk_update(updates(1..61))
        .report()
        .await;
    assert!(report.all_applied(), "{report:?}");
    fake.received()
}

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_holds_back_every_request_in_flight() {
    let received = received_after_refusing_the_first(Reply::Status(
        429,
        vec![("retry-after", "1".into())],
        String::new(),
    ))
    .await;
    assert_eq!(received.len(), 7);
    assert_none_arrived_during_the_pause(&received, Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_429_without_retry_after_holds_back_every_request_for_a_second() {
    let received =
        received_after_refusing_the_first(Reply::Status(429, vec![], String::new())).await;
    assert_none_arrived_during_the_pause(&received, Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_429_holds_back_the_clones_of_the_client() {
    let fake = FakeCopper::start(|n, _| match n {
        0 => Reply::Status(429, vec![("retry-after", "2".into())], String::new()),
        _ => Reply::Echo,
    })
    .await;
    let copper = client(&fake);
    let clone = copper.clone();
    let (first, second) = tokio::join!(
        copper.people().bulk_update(updates(1..31)).report(),
        clone.people().bulk_update(updates(31..61)).report(),
    );
    assert!(first.all_applied() && second.all_applied());
    let received = fake.received();
    assert_none_arrived_during_the_pause(&received, Duration::from_secs(2));
}

/// Over a network that delays each request a random 0 to 300 ms before
/// Copper counts it, requests that leave 343 ms apart arrive crowded and
/// some are refused: the client widens its spacing from those 429s (for
/// every request of the client), and every record is still applied. Real
/// time, against the sandbox: what matters is the sandbox's own count.
#[tokio::test]
async fn crowded_arrivals_widen_the_pace_and_every_record_is_still_applied() {
    use copper_bulk_sandbox::{Sandbox, SandboxConfig};
    let sandbox = Sandbox::start(
        SandboxConfig::new()
            .with_seed(3, 30)
            .with_jitter(Duration::from_millis(300)),
    )
    .await
    .unwrap();
    let config = Config::new(SandboxConfig::TOKEN, SandboxConfig::USER_EMAIL)
        .unwrap()
        .with_base_url(sandbox.url())
        .unwrap()
        .with_batch_size(1)
        .unwrap()
        .with_concurrency(4)
        .unwrap();
    let copper = Copper::new(config).unwrap();
    let limit = copper.pace().unwrap();
    let report = copper.people().bulk_update(updates(1..21)).report().await;
    assert_eq!(report.applied.len(), 20, "{report:?}");
    let refused = sandbox.stats().by_status.get(&429).copied().unwrap_or(0);
    assert!(refused > 0, "{:?}", sandbox.stats());
    assert!(copper.pace().unwrap() > limit, "{:?}", copper.pace());
}

/// A limiter of the test's own: grants `grants` permits, then cannot
/// decide, as a shared limiter does once its store has been lost for
/// longer than its grace. It records every 429 it is told of.
#[derive(Debug)]
struct Failing {
    grants: AtomicUsize,
    asked: AtomicUsize,
    refused: Mutex<Vec<(RequestKind, Duration)>>,
}

impl Failing {
    fn new(grants: usize) -> Arc<Self> {
        Arc::new(Failing {
            grants: AtomicUsize::new(grants),
            asked: AtomicUsize::new(0),
            refused: Mutex::new(Vec::new()),
        })
    }
}

impl Limiter for Failing {
    fn acquire(&self, _kind: RequestKind) -> LimiterFuture<'_, Result<Duration, LimiterError>> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let granted = self
            .grants
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        Box::pin(async move {
            if granted {
                Ok(Duration::ZERO)
            } else {
                Err(LimiterError::new(
                    "lost the shared rate limiter at redis://127.0.0.1:1/0",
                ))
            }
        })
    }

    fn refused(
        &self,
        kind: RequestKind,
        _sent_at: tokio::time::Instant,
        pause: Duration,
    ) -> LimiterFuture<'_, ()> {
        self.refused.lock().unwrap().push((kind, pause));
        Box::pin(std::future::ready(()))
    }

    fn pace(&self) -> Option<Duration> {
        None
    }
}

/// The limiter given in the settings is the one every request waits for
/// and every 429 is told to; when it cannot decide, nothing more is sent,
/// unshared or otherwise, and every record still gets its outcome.
#[tokio::test(start_paused = true)]
async fn a_limiter_that_cannot_decide_stops_the_run_with_nothing_more_sent() {
    let fake = FakeCopper::start(|n, _| match n {
        0 => Reply::Status(429, vec![("retry-after", "2".into())], String::new()),
        _ => Reply::Echo,
    })
    .await;
    let limiter = Failing::new(3);
    let config = config(&fake)
        .with_limiter(limiter.clone())
        .with_batch_size(1)
        .unwrap()
        .with_concurrency(1)
        .unwrap();
    let report = Copper::new(config)
        .unwrap()
        .people()
        .bulk_update(updates(1..6))
        .report()
        .await;
    // The first record's request was refused, then retried: three
    // permits for two records.
    assert_eq!(report.applied.len(), 2, "{report:?}");
    assert_eq!(
        *limiter.refused.lock().unwrap(),
        [(RequestKind::Bulk, Duration::from_secs(2))]
    );
    assert_eq!(fake.received().len(), 3, "nothing sent without a permit");
    assert_eq!(report.not_applied.len(), 3, "{report:?}");
    let (_, first) = &report.not_applied[0];
    assert!(
        matches!(first.error(), Error::LimiterUnavailable(_)),
        "{first}"
    );
    assert!(
        first.to_string().contains("redis://127.0.0.1:1/0"),
        "{first}"
    );
    assert_eq!(
        first.attempts(),
        1,
        "not retried: the limiter waited already"
    );
    for (index, failure) in &report.not_applied {
        assert!(!failure.may_have_reached_copper(), "{index}: {failure}");
    }
    for (_, failure) in &report.not_applied[1..] {
        assert!(matches!(failure.error(), Error::Halted(_)), "{failure}");
    }
}

/// A run matched by key stops too: the limiter that could not decide on
/// the first lookups halts every later window of records, which are not
/// looked up (each lookup would wait out the limiter's grace again).
#[tokio::test]
async fn a_limiter_that_cannot_decide_stops_a_run_matched_by_key() {
    let fake = FakeCopper::start(|_, _| Reply::Echo).await;
    let limiter = Failing::new(0);
    let config = config(&fake).with_limiter(limiter.clone());
    let people = new_people(1_000);
    let outcomes: Vec<MatchedOutcome<_>> = Copper::new(config)
        .unwrap()
        .people()
        .bulk_upsert(people, Match::Email)
        .collect()
        .await;
    assert_eq!(outcomes.len(), 1_000);
    assert!(fake.received().is_empty(), "nothing sent without a permit");
    // The two windows in flight at first asked; none after them did.
    let asked = limiter.asked.load(Ordering::SeqCst);
    assert!(asked <= 2, "{asked} lookups asked the limiter");
    let errors: Vec<&Error> = outcomes
        .iter()
        .map(|outcome| match &outcome.result {
            MatchedResult::NotApplied(failure) => failure.error(),
            other => panic!("{}: {other:?}", outcome.index),
        })
        .collect();
    assert!(
        matches!(errors[0], Error::LimiterUnavailable(_)),
        "{}",
        errors[0]
    );
    assert!(matches!(errors[999], Error::Halted(_)), "{}", errors[999]);
}

/// A fake that answers its first request 429, asking for a wait of 30 s,
/// and echoes the rest.
async fn refusing_the_first_for_30_seconds() -> FakeCopper {
    FakeCopper::start(|n, _| match n {
        0 => Reply::Status(429, vec![("retry-after", "30".into())], String::new()),
        _ => Reply::Echo,
    })
    .await
}

/// Asks `stopper` to stop 5 s from now on the test's paused clock, well
/// within the 30 s that its fake asks a 429 to wait; returns now.
fn stop_in_five_seconds(stopper: Stopper) -> tokio::time::Instant {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        stopper.stop();
    });
    tokio::time::Instant::now()
}

/// Fails when the run that began at `started` outlasted the 429's pause
/// of 30 s, which the stop should have cut short.
fn assert_stopped_before_the_pause_ended(started: tokio::time::Instant) {
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the run waited {:?}, past the stop",
        started.elapsed()
    );
}

/// A run asked to stop does not wait for a permit it may be given much
/// later (behind a 429's pause here; a lost shared limiter's grace
/// likewise), nor send the request once it is: the request waiting for its
/// permit gives up at once, unsent.
#[tokio::test(start_paused = true)]
async fn a_stop_ends_the_wait_for_a_permit_and_nothing_more_is_sent() {
    let fake = refusing_the_first_for_30_seconds().await;
    let config = config(&fake)
        .with_batch_size(1)
        .unwrap()
        .with_concurrency(2)
        .unwrap();
    let outcomes = Copper::new(config)
        .unwrap()
        .people()
        .bulk_update(updates(1..3));
    let stopper = outcomes.stopper();
    let started = stop_in_five_seconds(stopper);
    let report = outcomes.report().await;
    assert_stopped_before_the_pause_ended(started);
    assert_eq!(
        fake.received().len(),
        1,
        "only the refused request was sent"
    );
    assert_eq!(report.not_applied.len(), 2, "{report:?}");
    let (_, waiting) = &report.not_applied[1];
    assert!(matches!(waiting.error(), Error::Stopped), "{waiting}");
    assert!(!waiting.may_have_reached_copper(), "{waiting}");
}

/// A lookup of a run matched by key that is waiting to be retried after a
/// 429 ends when the run is asked to stop, and is not sent again.
#[tokio::test(start_paused = true)]
async fn a_stop_ends_a_lookups_wait_to_be_retried() {
    let fake = refusing_the_first_for_30_seconds().await;
    let config = config(&fake);
    let people = new_people(3);
    let outcomes = Copper::new(config)
        .unwrap()
        .people()
        .bulk_upsert(people, Match::Email);
    let stopper = outcomes.stopper();
    let started = stop_in_five_seconds(stopper);
    let outcomes: Vec<MatchedOutcome<_>> = outcomes.collect().await;
    assert_stopped_before_the_pause_ended(started);
    assert_eq!(fake.received().len(), 1, "only the refused lookup was sent");
    assert_eq!(outcomes.len(), 3);
    for outcome in &outcomes {
        assert!(
            matches!(outcome.result, MatchedResult::NotApplied(_)),
            "{}: {:?}",
            outcome.index,
            outcome.result
        );
    }
}
