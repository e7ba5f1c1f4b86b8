//! A library user authenticated by OAuth 2.0 alone, against the sandbox:
//! every operation, a token replaced while the client runs, and a token
//! source that fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use copper_bulk::{
    AccessToken, ActivityCreate, CompanyCreate, CompanyUpdate, Config, Copper, Error, LeadCreate,
    LeadUpdate, Match, MatchedOutcome, OpportunityCreate, PersonCreate, PersonUpdate, Report,
    RetryPolicy, SharedToken, TokenError,
};
use copper_bulk_sandbox::{Entity, Sandbox, SandboxConfig};
use futures_util::StreamExt;
use serde_json::json;

/// A sandbox whose API key nobody here knows: only its OAuth access token
/// gets in.
async fn sandbox(access_token: &str) -> Sandbox {
    Sandbox::start(
        SandboxConfig::new()
            .with_rate_limit(None)
            .with_credentials("a-key-nobody-sends", "owner@example.com")
            .with_oauth_token(Some(access_token)),
    )
    .await
    .unwrap()
}

fn copper(sandbox: &Sandbox, config: Config) -> Copper {
    Copper::new(
        config
            .with_base_url(sandbox.url())
            .unwrap()
            .with_rate_limits([]),
    )
    .unwrap()
}

fn all_applied<T: std::fmt::Debug>(what: &str, report: &Report<T>, records: usize) {
    assert_eq!(report.applied.len(), records, "{what}: {report:?}");
}

fn all_sent<T: std::fmt::Debug>(what: &str, outcomes: &[MatchedOutcome<T>], kinds: &[&str]) {
    let got: Vec<&str> = outcomes.iter().map(|o| o.result.kind()).collect();
    assert_eq!(got, kinds, "{what}: {outcomes:?}");
}

#[tokio::test]
async fn every_operation_runs_with_an_access_token_alone() {
    let sandbox = sandbox("oauth-every-op").await;
    let copper = copper(&sandbox, Config::oauth("oauth-every-op").unwrap());
    assert_eq!(copper.config().user_email(), None);

    let people = copper.people();
    let report = people
        .bulk_update([PersonUpdate::new(1).title("By OAuth")])
        .report()
        .await;
    all_applied("people update", &report, 1);
    let report = people
        .bulk_create([PersonCreate::new("Ada Lovelace")])
        .report()
        .await;
    all_applied("people create", &report, 1);
    let found = people.ids_by_email(["person2@example.com"]).await.unwrap();
    assert_eq!(found["person2@example.com"], [2]);
    let upsert = |name: &str, email: &str| {
        PersonCreate::new(name).emails([copper_bulk::EmailInput::new(email)])
    };
    let outcomes: Vec<_> = people
        .bulk_upsert(
            [
                upsert("Person Three", "person3@example.com"),
                upsert("Grace Hopper", "grace@example.com"),
            ],
            Match::Email,
        )
        .collect()
        .await;
    all_sent("people upsert", &outcomes, &["updated", "created"]);
    let outcomes: Vec<_> = people
        .bulk_update_matched([upsert("Person Four", "person4@example.com")], Match::Email)
        .collect()
        .await;
    all_sent("people update matched", &outcomes, &["updated"]);

    let leads = copper.leads();
    all_applied(
        "leads update",
        &leads
            .bulk_update([LeadUpdate::new(1).status("Qualified")])
            .report()
            .await,
        1,
    );
    all_applied(
        "leads create",
        &leads
            .bulk_create([LeadCreate::new("New Lead")])
            .report()
            .await,
        1,
    );
    let lead: LeadCreate = serde_json::from_value(
        json!({"name": "Lead Two", "email": {"email": "lead2@example.com"}}),
    )
    .unwrap();
    assert_eq!(
        leads.ids_by_email(["lead2@example.com"]).await.unwrap()["lead2@example.com"],
        [2]
    );
    let outcomes: Vec<_> = leads.bulk_upsert([lead], Match::Email).collect().await;
    all_sent("leads upsert", &outcomes, &["updated"]);
    let lead: LeadCreate = serde_json::from_value(
        json!({"name": "Lead Three", "email": {"email": "lead3@example.com"}}),
    )
    .unwrap();
    let outcomes: Vec<_> = leads
        .bulk_update_matched([lead], Match::Email)
        .collect()
        .await;
    all_sent("leads update matched", &outcomes, &["updated"]);

    let companies = copper.companies();
    all_applied(
        "companies update",
        &companies
            .bulk_update([CompanyUpdate::new(1).details("By OAuth")])
            .report()
            .await,
        1,
    );
    let company: CompanyCreate =
        serde_json::from_value(json!({"name": "Engines", "email_domain": "engines.example.com"}))
            .unwrap();
    all_applied(
        "companies create",
        &companies.bulk_create([company.clone()]).report().await,
        1,
    );
    let found = companies
        .ids_by_email_domain(["engines.example.com"])
        .await
        .unwrap();
    assert_eq!(found["engines.example.com"].len(), 1);
    let outcomes: Vec<_> = companies
        .bulk_upsert([company.clone()], Match::EmailDomain)
        .collect()
        .await;
    all_sent("companies upsert", &outcomes, &["updated"]);
    let outcomes: Vec<_> = companies
        .bulk_update_matched([company], Match::EmailDomain)
        .collect()
        .await;
    all_sent("companies update matched", &outcomes, &["updated"]);

    let deal: OpportunityCreate =
        serde_json::from_value(json!({"name": "Paper", "primary_contact_id": 1})).unwrap();
    all_applied(
        "opportunities create",
        &copper.opportunities().bulk_create([deal]).report().await,
        1,
    );
    let note: ActivityCreate = serde_json::from_value(json!({
        "parent": {"type": "person", "id": 1},
        "type": {"category": "user", "id": 0},
        "details": "Called, by OAuth",
    }))
    .unwrap();
    all_applied(
        "activities create",
        &copper.activities().bulk_create([note]).report().await,
        1,
    );

    let stats = sandbox.stats();
    assert_eq!(stats.by_status.get(&401), None, "{stats:?}");
    assert_eq!(
        sandbox.record(Entity::People, 1).unwrap()["title"],
        "By OAuth"
    );
}

/// A token replaced through a [`SharedToken`] is sent from the next
/// request on, by the same client: a run refused with the old token
/// succeeds once the new one is set, without building the client again.
#[tokio::test]
async fn a_token_replaced_while_the_client_runs_is_used_without_rebuilding_it() {
    let sandbox = sandbox("token-two").await;
    let token = SharedToken::new("token-one").unwrap();
    let copper = copper(&sandbox, Config::oauth_source(token.clone()));
    let people = copper.people();

    let report = people
        .bulk_update([PersonUpdate::new(1).title("First")])
        .report()
        .await;
    assert_eq!(report.not_applied.len(), 1, "{report:?}");
    let refused = report.not_applied[0].1.error();
    assert!(matches!(refused, Error::Unauthorized { oauth: true, .. }));
    assert!(
        refused.to_string().contains("OAuth access token"),
        "{refused}"
    );

    token.set("token-two").unwrap();
    let report = people
        .bulk_update([PersonUpdate::new(1).title("Second")])
        .report()
        .await;
    all_applied("after the refresh", &report, 1);
    assert_eq!(
        sandbox.record(Entity::People, 1).unwrap()["title"],
        "Second"
    );
}

/// The source is asked before every request. When it fails, the request
/// is not sent: it is retried like a connection that could not be made,
/// its records end not applied with the source's reason, and after three
/// batches in a row the rest of the run is not sent at all.
#[tokio::test]
async fn a_token_source_is_asked_each_request_and_its_failure_sends_nothing() {
    let sandbox = sandbox("from-the-source").await;
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let retry = RetryPolicy::standard()
        .with_max_attempts(3)
        .with_backoff(Duration::from_millis(1), Duration::from_millis(1));
    let copper = copper(
        &sandbox,
        Config::oauth_source(move || {
            let asked = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if asked <= 2 {
                    Ok(AccessToken::new("from-the-source")?)
                } else {
                    Err(TokenError::new("the token store is unreachable"))
                }
            }
        })
        .with_retry(retry)
        .with_batch_size(1)
        .unwrap()
        .with_concurrency(1)
        .unwrap(),
    );
    let report = copper
        .people()
        .bulk_update((1..=2).map(|id| PersonUpdate::new(id).title("Sourced")))
        .report()
        .await;
    all_applied("two requests, two tokens", &report, 2);
    assert_eq!(asked.load(Ordering::SeqCst), 2);

    let report = copper
        .people()
        .bulk_update((3..=7).map(|id| PersonUpdate::new(id).title("Never sent")))
        .report()
        .await;
    assert_eq!(report.not_applied.len(), 5, "{report:?}");
    for (index, failure) in &report.not_applied {
        assert!(!failure.may_have_reached_copper(), "{index}: {failure}");
        assert!(!failure.may_have_been_applied(), "{index}: {failure}");
        assert!(
            failure
                .to_string()
                .contains("the token store is unreachable"),
            "{index}: {failure}"
        );
    }
    let first = &report.not_applied[0].1;
    assert!(matches!(first.error(), Error::NoToken(_)), "{first}");
    assert_eq!(first.attempts(), 3);
    let last = &report.not_applied[4].1;
    assert!(matches!(last.error(), Error::Halted(_)), "{last}");
    assert_eq!(
        asked.load(Ordering::SeqCst),
        2 + 3 * 3,
        "three batches of three attempts, then none"
    );
    assert_eq!(sandbox.stats().requests(), 2, "nothing more was sent");
}
