//! The facade against the fake server, with tokio's clock paused: rate
//! limits, backoff and server delays take no real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use copper_bulk::{
    Config, Copper, Error, InvalidRecord, Outcome, Person, PersonCreate, PersonUpdate, RateLimit,
    Reconcile, RecordResult, RetryPolicy,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

use copper_bulk_tests::fake::{FakeCopper, Received, Reply};

const TOKEN: &str = "tok-77c1e0-facade-secret";

/// The fake answers only what each test scripts, and serves no search, so
/// Copper is not read back here: these tests see the outcomes the answers
/// alone allow (reading back is tested against the sandbox, in
/// `reconcile.rs`).
fn config(fake: &FakeCopper) -> Config {
    Config::new(TOKEN, "me@example.com")
        .unwrap()
        .with_base_url(fake.url())
        .unwrap()
        .with_reconcile(Reconcile::off())
}

fn client(config: Config) -> Copper {
    Copper::new(config).unwrap()
}

fn updates(ids: std::ops::Range<i64>) -> Vec<PersonUpdate> {
    ids.map(|id| PersonUpdate::new(id).title(format!("Title {id}")))
        .collect()
}

fn applied_ids(outcomes: &[Outcome<Person>]) -> Vec<Option<i64>> {
    outcomes
        .iter()
        .map(|outcome| outcome.result.applied().map(|person| person.id))
        .collect()
}

fn batch_sizes(received: &[Received]) -> Vec<usize> {
    received.iter().map(|r| r.records().len()).collect()
}

#[tokio::test(start_paused = true)]
async fn outcomes_come_in_input_order_across_batches_whatever_order_batches_finish() {
    // Earlier batches answer later, so batches finish in reverse order.
    let fake = FakeCopper::start(|n, _| {
        Reply::After(
            Duration::from_millis(2_000 - 100 * n as u64),
            Box::new(Reply::Echo),
        )
    })
    .await;
    let copper = client(config(&fake).with_concurrency(6).unwrap());
    let outcomes: Vec<_> = copper.people().bulk_update(updates(1..58)).collect().await;

    let indices: Vec<usize> = outcomes.iter().map(|o| o.index).collect();
    assert_eq!(indices, (0..57).collect::<Vec<_>>());
    assert_eq!(
        applied_ids(&outcomes),
        (1..58).map(Some).collect::<Vec<_>>()
    );
    assert_eq!(batch_sizes(&fake.received()), [10, 10, 10, 10, 10, 7]);
}

#[tokio::test(start_paused = true)]
async fn the_server_sees_batches_of_at_most_the_batch_size() {
    let fake = FakeCopper::echo().await;
    let copper = client(config(&fake).with_batch_size(4).unwrap());
    let report = copper.people().bulk_update(updates(1..12)).report().await;
    assert_eq!(report.applied.len(), 11);
    assert_eq!(batch_sizes(&fake.received()), [4, 4, 3]);
    // Each record went exactly once, in order.
    let sent: Vec<i64> = fake
        .received()
        .iter()
        .flat_map(|r| {
            r.records()
                .iter()
                .map(|p| p["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(sent, (1..12).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn no_more_requests_in_flight_than_the_concurrency() {
    let fake =
        FakeCopper::start(|_, _| Reply::After(Duration::from_secs(3), Box::new(Reply::Echo))).await;
    let copper = client(
        config(&fake)
            .with_rate_limits([])
            .with_concurrency(3)
            .unwrap(),
    );
    let report = copper.people().bulk_update(updates(1..201)).report().await;
    assert_eq!(report.applied.len(), 200);
    assert_eq!(fake.max_in_flight(), 3);
}

#[tokio::test(start_paused = true)]
async fn never_more_requests_in_a_second_than_the_rate_limit() {
    let fake =
        FakeCopper::start(|_, _| Reply::After(Duration::from_millis(250), Box::new(Reply::Echo)))
            .await;
    let copper = client(config(&fake));
    let started = tokio::time::Instant::now();
    let report = copper.people().bulk_update(updates(1..301)).report().await;
    let elapsed = started.elapsed();
    assert_eq!(report.applied.len(), 300);

    let times: Vec<_> = fake.received().iter().map(|r| r.at).collect();
    assert_eq!(times.len(), 30);
    for (i, at) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .filter(|t| t.duration_since(*at) < Duration::from_secs(1))
            .count();
        assert!(
            in_window <= 3,
            "{in_window} requests in the second after request {i}"
        );
    }
    // And the limit is used: 30 requests at 3 a second take about 10 s.
    assert!(elapsed < Duration::from_millis(10_600), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn clones_share_one_rate_limiter() {
    let fake = FakeCopper::echo().await;
    let copper = client(config(&fake).with_rate_limits([RateLimit::per_second(2)]));
    let other = copper.clone();
    let (a, b) = tokio::join!(
        copper.people().bulk_update(updates(1..51)).report(),
        other.people().bulk_update(updates(51..101)).report(),
    );
    assert_eq!(a.applied.len() + b.applied.len(), 100);
    let times: Vec<_> = fake.received().iter().map(|r| r.at).collect();
    for pair in times.windows(2) {
        assert!(pair[1].duration_since(pair[0]) >= Duration::from_millis(500));
    }
}

#[tokio::test(start_paused = true)]
async fn a_429_is_retried_after_retry_after_then_succeeds() {
    let fake = FakeCopper::start(|n, _| match n {
        0 => Reply::Status(429, vec![("retry-after", "2".into())], String::new()),
        _ => Reply::Echo,
    })
    .await;
    let copper = client(config(&fake));
    let report = copper.people().bulk_update(updates(1..4)).report().await;
    assert!(report.all_applied(), "{report:?}");
    let received = fake.received();
    assert_eq!(received.len(), 2);
    assert!(received[1].at.duration_since(received[0].at) >= Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_create_refused_with_429_is_sent_again() {
    let fake = FakeCopper::start(|n, _| match n {
        0 | 1 => Reply::Status(429, vec![], String::new()),
        _ => Reply::Echo,
    })
    .await;
    let copper = client(config(&fake));
    let report = copper
        .people()
        .bulk_create([PersonCreate::new("Ada"), PersonCreate::new("Grace")])
        .report()
        .await;
    assert!(report.all_applied());
    assert_eq!(fake.received().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_for_updates() {
    let fake = FakeCopper::start(|n, _| match n {
        0 | 1 => Reply::Status(503, vec![], "busy".into()),
        _ => Reply::Echo,
    })
    .await;
    let copper = client(config(&fake));
    let report = copper.people().bulk_update(updates(1..6)).report().await;
    assert!(report.all_applied(), "{report:?}");
    assert_eq!(fake.received().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_create_is_not_sent_again_after_a_500() {
    let fake = FakeCopper::start(|_, _| Reply::Status(500, vec![], "oops".into())).await;
    let copper = client(config(&fake));
    let outcomes: Vec<_> = copper
        .people()
        .bulk_create([PersonCreate::new("Ada"), PersonCreate::new("Grace")])
        .collect()
        .await;
    assert_eq!(
        fake.received().len(),
        1,
        "a create that may have been applied was re-sent"
    );
    for outcome in &outcomes {
        let RecordResult::Unknown(failure) = &outcome.result else {
            panic!("{outcome:?}")
        };
        assert!(failure.may_have_reached_copper());
        assert!(failure.may_have_been_applied());
        assert_eq!(failure.attempts(), 1);
        assert!(matches!(failure.error(), Error::Server { status: 500, .. }));
    }
}

#[tokio::test(start_paused = true)]
async fn updates_that_keep_failing_end_as_unknown_within_the_budget() {
    let fake = FakeCopper::start(|_, _| Reply::Status(502, vec![], String::new())).await;
    let copper = client(config(&fake).with_retry(RetryPolicy::standard().with_max_attempts(4)));
    let report = copper.people().bulk_update(updates(1..3)).report().await;
    assert_eq!(report.unknown.len(), 2);
    assert_eq!(report.unknown[0].1.attempts(), 4);
    assert_eq!(fake.received().len(), 4);
}

/// A 429 says Copper processed nothing, so a storm of them is waited out
/// however many attempts it takes: only the time budget ends it.
#[tokio::test(start_paused = true)]
async fn a_429_storm_longer_than_the_attempts_is_waited_out() {
    let fake = FakeCopper::start(|n, _| match n {
        0..12 => Reply::Status(429, vec![], String::new()),
        _ => Reply::Echo,
    })
    .await;
    let copper = client(config(&fake).with_retry(RetryPolicy::standard().with_max_attempts(4)));
    let report = copper
        .people()
        .bulk_create([PersonCreate::new("Ada"), PersonCreate::new("Grace")])
        .report()
        .await;
    assert!(report.all_applied(), "{report:?}");
    assert_eq!(fake.received().len(), 13);
}

#[tokio::test(start_paused = true)]
async fn a_429_storm_ends_as_not_applied_when_the_budget_runs_out() {
    let fake = FakeCopper::start(|_, _| {
        Reply::Status(429, vec![("retry-after", "10".into())], String::new())
    })
    .await;
    let policy = RetryPolicy::standard()
        .with_max_attempts(2)
        .with_budget(Duration::from_secs(60));
    let copper = client(config(&fake).with_retry(policy));
    let report = copper.people().bulk_update(updates(1..3)).report().await;
    assert_eq!(report.not_applied.len(), 2, "{report:?}");
    let failure = &report.not_applied[0].1;
    assert!(
        matches!(failure.error(), Error::RateLimited { .. }),
        "{failure}"
    );
    // Waits of 10 s from the first attempt: the sixth retry would end at
    // 60 s, which the budget does not allow.
    assert_eq!(failure.attempts(), 6);
    let received = fake.received();
    assert_eq!(received.len(), 6);
    let spent = received[5].at.duration_since(received[0].at);
    assert!(spent < Duration::from_secs(60), "{spent:?}");
}

#[tokio::test(start_paused = true)]
async fn refused_credentials_stop_the_run_and_nothing_is_applied() {
    let fake = FakeCopper::start(|_, _| {
        Reply::Status(
            401,
            vec![],
            format!(r#"{{"success": false, "status": 401, "message": "bad key {TOKEN}"}}"#),
        )
    })
    .await;
    let copper = client(config(&fake).with_concurrency(2).unwrap());
    let report = copper.people().bulk_update(updates(1..501)).report().await;
    assert_eq!(report.not_applied.len(), 500);
    let failure = &report.not_applied[0].1;
    assert!(matches!(failure.error(), Error::Unauthorized { .. }));
    assert!(!failure.may_have_been_applied());
    assert_eq!(failure.attempts(), 1, "a refusal is not retried");
    // A server that echoes the token does not get it into our messages.
    let text = failure.to_string();
    assert!(text.contains("bad key <redacted>"), "{text}");
    assert!(!text.contains(TOKEN));
    // The credentials will not work for the next batch either: the rest of
    // the run is not sent, and says why.
    assert!(
        fake.received().len() <= 3,
        "{} requests",
        fake.received().len()
    );
    let (_, last) = report.not_applied.last().unwrap();
    assert!(
        matches!(last.error(), Error::Halted(cause) if matches!(cause.error(), Error::Unauthorized { .. }))
    );
    assert_eq!(last.attempts(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_server_stops_the_run_after_a_few_batches() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = Config::new(TOKEN, "me@example.com")
        .unwrap()
        .with_base_url(&format!("http://127.0.0.1:{port}"))
        .unwrap()
        .with_concurrency(2)
        .unwrap()
        .with_reconcile(Reconcile::off());
    let report = client(config)
        .people()
        .bulk_update(updates(1..1001))
        .report()
        .await;
    assert_eq!(report.not_applied.len(), 1000);
    let tried: Vec<u32> = report
        .not_applied
        .chunks(10)
        .map(|batch| batch[0].1.attempts())
        .filter(|attempts| *attempts > 0)
        .collect();
    assert!(tried.len() <= 4, "{} batches were tried", tried.len());
    assert!(
        tried
            .iter()
            .all(|attempts| *attempts == RetryPolicy::standard().max_attempts())
    );
    assert!(
        report
            .not_applied
            .iter()
            .all(|(_, f)| !f.may_have_reached_copper())
    );
}

#[tokio::test(start_paused = true)]
async fn a_wrong_length_response_reports_no_record_of_its_batch_as_applied() {
    let fake = FakeCopper::start(|n, _| match n {
        0 => Reply::EchoThen(Box::new(|mut items| {
            items.pop();
            items
        })),
        _ => Reply::Echo,
    })
    .await;
    let copper = client(config(&fake));
    let outcomes: Vec<_> = copper.people().bulk_update(updates(1..16)).collect().await;
    for outcome in &outcomes[..10] {
        let RecordResult::Unknown(failure) = &outcome.result else {
            panic!("{outcome:?}")
        };
        assert!(matches!(
            failure.error(),
            Error::WrongLength {
                sent: 10,
                received: 9
            }
        ));
    }
    assert!(outcomes[10..].iter().all(|o| o.result.is_applied()));
}

#[tokio::test(start_paused = true)]
async fn an_unrecognised_item_is_reported_and_the_rest_of_its_batch_is_read() {
    let fake = FakeCopper::start(|_, _| {
        Reply::EchoThen(Box::new(|mut items| {
            items[1] = json!({"surprise": true});
            items[2] = json!({"success": false, "message": 7, "id": 3});
            items
        }))
    })
    .await;
    let copper = client(config(&fake));
    let outcomes: Vec<_> = copper.people().bulk_update(updates(1..5)).collect().await;
    assert!(outcomes[0].result.is_applied());
    let RecordResult::Unknown(failure) = &outcomes[1].result else {
        panic!("{:?}", outcomes[1])
    };
    assert!(
        matches!(failure.error(), Error::UnrecognizedItem { raw, .. } if raw["surprise"] == true)
    );
    // A failure in an undocumented shape is still a rejection.
    let RecordResult::Rejected(rejection) = &outcomes[2].result else {
        panic!("{:?}", outcomes[2])
    };
    assert_eq!(
        (rejection.id, rejection.message.as_deref()),
        (Some(3), Some("7"))
    );
    assert!(outcomes[3].result.is_applied());
}

#[tokio::test(start_paused = true)]
async fn an_update_answered_for_another_id_is_flagged_not_trusted() {
    let fake = FakeCopper::start(|_, _| {
        Reply::EchoThen(Box::new(|mut items| {
            items.swap(0, 1);
            items
        }))
    })
    .await;
    let copper = client(config(&fake));
    let outcomes: Vec<_> = copper.people().bulk_update(updates(1..4)).collect().await;
    for (outcome, (sent, returned)) in outcomes.iter().zip([(1, 2), (2, 1)]) {
        let RecordResult::Unknown(failure) = &outcome.result else {
            panic!("{outcome:?}")
        };
        assert!(
            matches!(failure.error(), Error::IdMismatch { sent: s, returned: r } if *s == sent && *r == returned)
        );
    }
    assert!(outcomes[2].result.is_applied());
}

#[tokio::test(start_paused = true)]
async fn rejections_carry_copper_field_errors_and_the_id() {
    let fake = FakeCopper::start(|_, _| {
        Reply::EchoThen(Box::new(|mut items| {
            items[0] =
                json!({"success": false, "id": 1, "message": {"emails": [{"error": "invalid"}]}});
            items
        }))
    })
    .await;
    let copper = client(config(&fake));
    let report = copper.people().bulk_update(updates(1..3)).report().await;
    let (index, rejection) = &report.rejected[0];
    assert_eq!(*index, 0);
    assert_eq!(rejection.id, Some(1));
    assert_eq!(rejection.errors["emails"], ["invalid"]);
    assert_eq!(rejection.to_string(), "emails: invalid");
    assert_eq!(report.applied.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn invalid_records_are_never_sent_and_keep_their_place() {
    let fake = FakeCopper::echo().await;
    let copper = client(config(&fake).with_batch_size(2).unwrap());
    let records: Vec<Result<PersonUpdate, InvalidRecord>> = vec![
        Ok(PersonUpdate::new(1).title("a")),
        Ok(PersonUpdate::new(0).title("no id")),
        Ok(PersonUpdate::new(2)),
        Err(InvalidRecord::new("line 4: expected `,` or `}`")),
        Ok(PersonUpdate::new(3).clear_title()),
        Ok(PersonUpdate::new(-5).title("negative")),
        Ok(PersonUpdate::new(4).title("d")),
    ];
    let outcomes: Vec<_> = copper.people().bulk_update(records).collect().await;
    let kinds: Vec<&str> = outcomes.iter().map(|o| o.result.kind()).collect();
    assert_eq!(
        kinds,
        [
            "applied", "invalid", "invalid", "invalid", "applied", "invalid", "applied"
        ]
    );
    let reason = |i: usize| match &outcomes[i].result {
        RecordResult::Invalid(invalid) => invalid.reason().to_owned(),
        other => panic!("{other:?}"),
    };
    assert!(reason(1).contains("no valid id"), "{}", reason(1));
    assert!(reason(2).contains("changes no field"), "{}", reason(2));
    assert_eq!(reason(3), "line 4: expected `,` or `}`");
    let sent: Vec<Value> = fake
        .received()
        .iter()
        .flat_map(|r| {
            r.records()
                .iter()
                .map(|p| p["id"].clone())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(sent, [json!(1), json!(3), json!(4)]);
}

#[tokio::test(start_paused = true)]
async fn a_batch_refused_as_too_large_is_split() {
    // Copper lowered its limit to 3.
    let fake = FakeCopper::start(|_, received| {
        if received.records().len() > 3 {
            Reply::Status(
                422,
                vec![],
                r#"{"error": "Request size too large, limit is 3"}"#.into(),
            )
        } else {
            Reply::Echo
        }
    })
    .await;
    let copper = client(config(&fake));
    let report = copper.people().bulk_update(updates(1..11)).report().await;
    assert!(report.all_applied(), "{report:?}");
    assert_eq!(batch_sizes(&fake.received()), [10, 5, 2, 3, 5, 2, 3]);
}

/// An update that timed out may have been applied; when Copper then
/// refuses its batch as too large and a half of it fails without being
/// applied, the records are still unknown: the first attempt may have
/// landed.
#[tokio::test(start_paused = true)]
async fn a_split_batch_remembers_that_an_earlier_attempt_may_have_landed() {
    let fake = FakeCopper::start(|n, _| match n {
        0 => Reply::After(Duration::from_secs(10), Box::new(Reply::Echo)),
        1 => Reply::Status(
            422,
            vec![],
            r#"{"error": "Request size too large, limit is 2"}"#.into(),
        ),
        _ => Reply::Status(400, vec![], r#"{"message": "Bad request"}"#.into()),
    })
    .await;
    let config = config(&fake).with_timeouts(Duration::from_secs(1), Duration::from_secs(2));
    let copper = client(config);
    let report = copper.people().bulk_update(updates(1..5)).report().await;
    assert_eq!(batch_sizes(&fake.received()), [4, 4, 2, 2]);
    assert_eq!(report.unknown.len(), 4, "{report:?}");
    for (_, failure) in &report.unknown {
        assert!(failure.may_have_reached_copper());
        assert!(failure.may_have_been_applied());
        assert_eq!(failure.attempts(), 3, "{failure}");
        assert!(
            matches!(failure.error(), Error::Refused { status: 400, .. }),
            "{failure}"
        );
    }
}

/// The same holds for the half that is never sent because the first half
/// stopped the run: its records were in the request that timed out.
#[tokio::test(start_paused = true)]
async fn a_half_left_unsent_by_a_halted_run_remembers_the_attempts_before_the_split() {
    let fake = FakeCopper::start(|n, _| match n {
        0 => Reply::After(Duration::from_secs(10), Box::new(Reply::Echo)),
        1 => Reply::Status(
            422,
            vec![],
            r#"{"error": "Request size too large, limit is 2"}"#.into(),
        ),
        _ => Reply::Status(401, vec![], String::new()),
    })
    .await;
    let config = config(&fake).with_timeouts(Duration::from_secs(1), Duration::from_secs(2));
    let copper = client(config);
    let report = copper.people().bulk_update(updates(1..5)).report().await;
    assert_eq!(batch_sizes(&fake.received()), [4, 4, 2]);
    assert_eq!(report.unknown.len(), 4, "{report:?}");
    let (_, halted) = &report.unknown[3];
    assert!(matches!(halted.error(), Error::Halted(_)), "{halted}");
    assert_eq!(halted.attempts(), 2, "{halted}");
}

#[tokio::test(start_paused = true)]
async fn a_slow_stream_is_sent_as_records_arrive() {
    let fake = FakeCopper::echo().await;
    let copper = client(config(&fake).with_rate_limits([]));
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = produced.clone();
    let records = futures_util::stream::iter(1..=3).then(move |id| {
        let counter = counter.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            counter.fetch_add(1, Ordering::SeqCst);
            PersonUpdate::new(id).title("t")
        }
    });
    let report = copper.people().bulk_update_stream(records).report().await;
    assert_eq!(report.applied.len(), 3);
    // Each record went as soon as it came, not held back for a full batch.
    assert_eq!(batch_sizes(&fake.received()), [1, 1, 1]);
    assert_eq!(produced.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn requests_carry_the_auth_headers_and_computed_values_when_asked() {
    let fake = FakeCopper::echo().await;
    let copper = client(config(&fake));
    copper
        .people()
        .with_computed_custom_field_values()
        .bulk_update(updates(1..2))
        .report()
        .await;
    let received = &fake.received()[0];
    assert_eq!(received.headers["x-pw-accesstoken"], TOKEN);
    assert_eq!(received.headers["x-pw-application"], "developer_api");
    assert_eq!(received.headers["x-pw-useremail"], "me@example.com");
    assert_eq!(received.path, "/developer_api/v1/people/bulk_update");
    assert_eq!(
        received.body["people"][0],
        json!({"id": 1, "title": "Title 1"})
    );
}

#[test]
fn the_token_is_absent_from_debug_output() {
    let config = Config::new(TOKEN, "me@example.com").unwrap();
    let copper = Copper::new(config.clone()).unwrap();
    for text in [
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{copper:?}"),
        format!("{:?}", copper.people()),
        format!("{:?}", copper.raw()),
    ] {
        assert!(!text.contains(TOKEN), "{text}");
    }
}

/// Everything every test of this binary logs, at every level: one global
/// subscriber, because tracing caches per callsite whether anyone listens,
/// and a subscriber scoped to one test's thread loses that race against
/// the tests running beside it.
fn captured_tracing() -> &'static Arc<std::sync::Mutex<Vec<u8>>> {
    use std::io::Write;
    use std::sync::OnceLock;

    #[derive(Clone)]
    struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static CAPTURED: OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let buffer = Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = Capture(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buffer
    })
}

#[tokio::test(start_paused = true)]
async fn the_token_is_absent_from_tracing_output() {
    let captured = captured_tracing();
    let fake = FakeCopper::start(|n, _| match n {
        0 => Reply::Status(
            503,
            vec![],
            format!(r#"{{"message": "token {TOKEN} rejected"}}"#),
        ),
        _ => Reply::Echo,
    })
    .await;
    let copper = client(config(&fake));
    let report = copper.people().bulk_update(updates(1..3)).report().await;
    assert!(report.all_applied());

    let output = String::from_utf8_lossy(&captured.lock().unwrap()).into_owned();
    assert!(output.contains("copper_request"), "{output}");
    assert!(
        output.contains("operation=\"people_bulk_update\""),
        "{output}"
    );
    assert!(output.contains("batch_size=2"), "{output}");
    assert!(output.contains("attempt=2"), "{output}");
    assert!(output.contains("status=200"), "{output}");
    assert!(output.contains("duration_ms="), "{output}");
    assert!(!output.contains(TOKEN), "{output}");
}

#[tokio::test(start_paused = true)]
async fn records_that_trickle_in_while_a_request_is_out_fill_the_next_one() {
    let fake =
        FakeCopper::start(|_, _| Reply::After(Duration::from_secs(5), Box::new(Reply::Echo))).await;
    let copper = client(
        config(&fake)
            .with_rate_limits([])
            .with_concurrency(1)
            .unwrap(),
    );
    // A producer of its own (a file reader, say) makes one record a second,
    // while each request takes five.
    let (sender, receiver) = tokio::sync::mpsc::channel(100);
    tokio::spawn(async move {
        for id in 1..=12 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            sender.send(PersonUpdate::new(id).title("t")).await.unwrap();
        }
    });
    let records = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|record| (record, receiver))
    });
    let report = copper.people().bulk_update_stream(records).report().await;
    assert_eq!(report.applied.len(), 12);
    // The first goes alone (nothing was in flight); the rest wait for the
    // request out and go together.
    assert_eq!(batch_sizes(&fake.received()), [1, 5, 5, 1]);
}

#[tokio::test]
async fn a_dry_run_plans_the_requests_without_a_client() {
    use copper_bulk::{Planned, ops::PeopleUpdate, plan};
    let records = vec![
        Ok(PersonUpdate::new(1).title("a")),
        Ok(PersonUpdate::new(2)),
        Err(InvalidRecord::new("line 3: not JSON")),
        Ok(PersonUpdate::new(3).clear_title()),
        Ok(PersonUpdate::new(4).title("d")),
    ];
    let planned: Vec<Planned> = plan::<PeopleUpdate, _>(futures_util::stream::iter(records), 2)
        .collect()
        .await;
    let shown: Vec<String> = planned
        .iter()
        .map(|p| match p {
            Planned::Batch { indices, request } => format!("batch {indices:?} {request}"),
            Planned::Invalid { index, reason } => format!("invalid {index}: {reason}"),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shown,
        [
            "invalid 1: the update of id 2 changes no field",
            "invalid 2: line 3: not JSON",
            r#"batch [0, 3] {"people":[{"id":1,"title":"a"},{"id":3,"title":null}]}"#,
            r#"batch [4] {"people":[{"id":4,"title":"d"}]}"#,
        ]
    );
}

#[tokio::test]
async fn a_redirect_never_carries_the_token_to_another_host() {
    let elsewhere = FakeCopper::echo().await;
    let target = format!("{}/developer_api/v1/people/bulk_update", elsewhere.url());
    let fake = FakeCopper::start(move |_, _| {
        Reply::Status(307, vec![("location", target.clone())], String::new())
    })
    .await;
    let copper = client(config(&fake));
    let report = copper.people().bulk_update(updates(1..4)).report().await;
    assert_eq!(report.not_applied.len(), 3);
    assert!(matches!(
        report.not_applied[0].1.error(),
        Error::Redirected { status: 307 }
    ));
    assert!(elsewhere.received().is_empty(), "the redirect was followed");
    assert!(!format!("{report:?}").contains(TOKEN));
}

#[tokio::test(start_paused = true)]
async fn a_server_echoing_the_token_does_not_get_it_into_outcomes() {
    let fake = FakeCopper::start(|_, _| {
        Reply::EchoThen(Box::new(|mut items| {
            items[0] =
                json!({"success": false, "id": 1, "message": format!("token {TOKEN} is odd")});
            items[1] = json!({"surprise": TOKEN, TOKEN: [TOKEN]});
            items
        }))
    })
    .await;
    let copper = client(config(&fake));
    let outcomes: Vec<_> = copper.people().bulk_update(updates(1..4)).collect().await;
    let mut shown = format!("{outcomes:?}");
    for outcome in &outcomes {
        match &outcome.result {
            RecordResult::Rejected(rejection) => shown.push_str(&rejection.to_string()),
            RecordResult::Unknown(failure) => shown.push_str(&failure.to_string()),
            _ => {}
        }
    }
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_answer_quoting_the_token_does_not_get_it_into_outcomes() {
    // serde's message about a body it cannot read quotes the value it met.
    let fake = FakeCopper::start(|_, _| {
        Reply::Status(
            200,
            vec![("content-type", "application/json".to_owned())],
            format!(r#""{TOKEN}""#),
        )
    })
    .await;
    let copper = client(config(&fake).with_retry(RetryPolicy::none()));
    let report = copper.people().bulk_update(updates(1..3)).report().await;
    assert_eq!(report.unknown.len(), 2, "{report:?}");
    let failure = &report.unknown[0].1;
    assert!(
        matches!(failure.error(), Error::UnreadableResponse { .. }),
        "{failure}"
    );
    let shown = format!("{failure} {report:?}");
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
}
