//! A long run's whole life: stopping it gracefully, the journal it keeps,
//! and entries that take up where an interrupted run left off.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use copper_bulk::{
    Config, Copper, Entry, Error, Journal, Outcome, Person, PersonUpdate, Reconcile, RecordResult,
    RetryPolicy, ops,
};
use copper_bulk_tests::fake::{FakeCopper, Reply};
use futures_util::StreamExt;

const TOKEN: &str = "tok-3a91f2-stopping-secret";

fn copper(fake: &FakeCopper, retry: RetryPolicy) -> Copper {
    let config = Config::new(TOKEN, "me@example.com")
        .unwrap()
        .with_base_url(fake.url())
        .unwrap()
        .with_rate_limits([])
        .with_concurrency(2)
        .unwrap()
        .with_retry(retry)
        // The fake serves no search; updates are what these tests send.
        .with_reconcile(Reconcile::off());
    Copper::new(config).unwrap()
}

fn updates(ids: std::ops::Range<i64>) -> Vec<PersonUpdate> {
    ids.map(|id| PersonUpdate::new(id).title(format!("Title {id}")))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_stopped_run_finishes_its_requests_in_flight_and_reports_the_rest_not_sent() {
    let fake =
        FakeCopper::start(|_, _| Reply::After(Duration::from_secs(1), Box::new(Reply::Echo))).await;
    let copper = copper(&fake, RetryPolicy::standard());
    let mut outcomes = copper.people().bulk_update(updates(1..51));
    let stopper = outcomes.stopper();
    let first = outcomes.next().await.unwrap();
    assert!(first.result.is_applied(), "{first:?}");
    // The second request is in flight: it finishes and is reported.
    stopper.stop();
    let rest: Vec<Outcome<Person>> = outcomes.collect().await;
    assert_eq!(rest.len(), 49, "every record has its outcome");
    let indices: Vec<usize> = rest.iter().map(|outcome| outcome.index).collect();
    assert_eq!(indices, (1..50).collect::<Vec<_>>(), "in input order");
    let applied = rest.iter().filter(|o| o.result.is_applied()).count();
    assert_eq!(applied, 19, "the two requests in flight finished");
    for outcome in &rest[19..] {
        let RecordResult::NotApplied(failure) = &outcome.result else {
            panic!("{outcome:?}")
        };
        assert!(matches!(failure.error(), Error::Stopped), "{failure}");
        assert!(!failure.may_have_reached_copper());
    }
    assert_eq!(fake.received().len(), 2, "nothing was sent after the stop");
}

#[tokio::test(start_paused = true)]
async fn a_request_waiting_to_be_retried_gives_up_when_the_run_stops() {
    let fake = FakeCopper::start(|_, _| Reply::Status(503, vec![], String::new())).await;
    let retry = RetryPolicy::standard()
        .with_max_attempts(1_000)
        .with_budget(Duration::from_secs(3_600));
    let copper = copper(&fake, retry);
    let outcomes = copper.people().bulk_update(updates(1..4));
    let stopper = outcomes.stopper();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        stopper.stop();
    });
    let outcomes: Vec<Outcome<Person>> = outcomes.collect().await;
    assert_eq!(outcomes.len(), 3);
    for outcome in &outcomes {
        // A 503 may have been applied, so the update stays unknown: the
        // stop does not pretend otherwise.
        let RecordResult::Unknown(failure) = &outcome.result else {
            panic!("{outcome:?}")
        };
        assert!(matches!(failure.error(), Error::Server { status: 503, .. }));
    }
    let requests = fake.received().len();
    assert!(
        (2..100).contains(&requests),
        "the retries stopped with the run: {requests} requests"
    );
}

/// A journal that remembers every call.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

impl Journal<Person> for Recorder {
    fn sending(&self, indices: &[usize]) {
        self.calls
            .lock()
            .unwrap()
            .push(format!("sending {indices:?}"));
    }

    fn settled(&self, outcome: &Outcome<Person>) {
        self.calls.lock().unwrap().push(format!(
            "settled {} {}",
            outcome.index,
            outcome.result.kind()
        ));
    }
}

#[tokio::test]
async fn the_journal_hears_of_each_request_before_it_is_sent_and_of_each_outcome() {
    let fake = FakeCopper::echo().await;
    let copper = copper(&fake, RetryPolicy::standard());
    let journal = Arc::new(Recorder::default());
    // Index 2 was settled by an earlier run and is left out; the entries
    // keep their own indices.
    let entries = [0, 1, 3, 4]
        .into_iter()
        .map(|index| Entry::new(index, PersonUpdate::new(index as i64 + 1).title("t")));
    let config = copper.config().clone().with_batch_size(3).unwrap();
    let copper = Copper::new(config.with_concurrency(1).unwrap()).unwrap();
    let outcomes: Vec<Outcome<Person>> = copper
        .bulk_entries::<ops::PeopleUpdate, _>(
            futures_util::stream::iter(entries),
            false,
            Some(journal.clone()),
        )
        .collect()
        .await;
    let indices: Vec<usize> = outcomes.iter().map(|outcome| outcome.index).collect();
    assert_eq!(indices, [0, 1, 3, 4]);
    assert!(outcomes.iter().all(|outcome| outcome.result.is_applied()));
    assert_eq!(
        *journal.calls.lock().unwrap(),
        [
            "sending [0, 1, 3]",
            "settled 0 applied",
            "settled 1 applied",
            "settled 3 applied",
            "sending [4]",
            "settled 4 applied",
        ]
    );
}

#[tokio::test]
async fn an_update_an_earlier_run_may_have_sent_is_sent_again() {
    let fake = FakeCopper::echo().await;
    let copper = copper(&fake, RetryPolicy::standard());
    let entries = [Entry::new(0, PersonUpdate::new(7).title("CTO"))
        .sent_before(SystemTime::now() - Duration::from_secs(60))];
    let outcomes: Vec<Outcome<Person>> = copper
        .bulk_entries::<ops::PeopleUpdate, _>(futures_util::stream::iter(entries), false, None)
        .collect()
        .await;
    assert_eq!(outcomes.len(), 1);
    assert_eq!(
        outcomes[0].result.applied().map(|person| person.id),
        Some(7)
    );
    assert_eq!(fake.received().len(), 1);
}

#[tokio::test]
async fn a_resumed_update_not_sent_again_stays_unknown() {
    let fake = FakeCopper::echo().await;
    let copper = copper(&fake, RetryPolicy::standard());
    let entries = [Entry::new(0, PersonUpdate::new(7).title("CTO"))
        .sent_before(SystemTime::now() - Duration::from_secs(60))];
    let outcomes = copper.bulk_entries::<ops::PeopleUpdate, _>(
        futures_util::stream::iter(entries),
        false,
        None,
    );
    // Stopped before anything is sent: the earlier run may have applied it.
    outcomes.stopper().stop();
    let outcomes: Vec<Outcome<Person>> = outcomes.collect().await;
    let RecordResult::Unknown(failure) = &outcomes[0].result else {
        panic!("{:?}", outcomes[0])
    };
    assert!(matches!(failure.error(), Error::Stopped), "{failure}");
    assert!(fake.received().is_empty());
}
