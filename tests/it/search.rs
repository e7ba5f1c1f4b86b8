//! The sandbox's searches behave as Copper's, and the raw client's limiter
//! lets searches through without the bulk spacing.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use copper_bulk::Config;
use copper_bulk_raw::Client;
use copper_bulk_raw::hooks::{Credentials, Inner, http_client_builder};
use copper_bulk_raw::throttle::{RateLimit, Throttle};
use copper_bulk_raw::types::{PeopleBulkUpdateRequest, PeopleSearchRequest, PersonUpdate};
use copper_bulk_sandbox::{Fault, Sandbox, SandboxConfig};
use serde_json::{Value, json};

/// A sandbox with no rate limit, so that a test sends as fast as it likes.
async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::new().with_rate_limit(None))
        .await
        .unwrap()
}

/// POSTs `body` to `/developer_api/v1/<path>` with the sandbox's
/// credentials; the status, the body and the `X-Pw-Total` header.
async fn post(sandbox: &Sandbox, path: &str, body: Value) -> (u16, Value, Option<u64>) {
    let response = reqwest::Client::new()
        .post(format!("{}/developer_api/v1/{path}", sandbox.url()))
        .header("x-pw-accesstoken", SandboxConfig::TOKEN)
        .header("x-pw-application", "developer_api")
        .header("x-pw-useremail", SandboxConfig::USER_EMAIL)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let total = response
        .headers()
        .get("x-pw-total")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body, total)
}

/// The ids of a search's answer, in order.
async fn found(sandbox: &Sandbox, entity: &str, criteria: Value) -> Vec<i64> {
    let (status, body, _) = post(sandbox, &format!("{entity}/search"), criteria).await;
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|record| record["id"].as_i64().unwrap())
        .collect()
}

/// Creates `records` of `entity` through its bulk endpoint; their ids.
async fn create(sandbox: &Sandbox, entity: &str, records: Value) -> Vec<i64> {
    let (status, items, _) = post(
        sandbox,
        &format!("{entity}/bulk_create"),
        json!({ entity: records }),
    )
    .await;
    assert_eq!(status, 200, "{items}");
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap_or_else(|| panic!("{item}")))
        .collect()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn criteria_combine_with_and() {
    let sandbox = sandbox().await;
    let ids = create(
        &sandbox,
        "people",
        json!([
            {"name": "Twin Searchable", "emails": [{"email": "twin.one@example.com"}]},
            {"name": "Twin Searchable", "emails": [{"email": "twin.two@example.com"}]},
            {"name": "Other Person", "emails": [{"email": "other@example.com"}]},
        ]),
    )
    .await;
    let by_name = json!({"name": "Twin Searchable"});
    assert_eq!(found(&sandbox, "people", by_name).await, ids[..2]);
    // Each e-mail listed is one that may match...
    // (The default order is by first name, which puts "Other" first.)
    let by_emails = json!({"emails": ["twin.one@example.com", "other@example.com"]});
    assert_eq!(found(&sandbox, "people", by_emails).await, [ids[2], ids[0]]);
    // ...but every criterion must hold.
    let both =
        json!({"name": "Twin Searchable", "emails": ["twin.one@example.com", "other@example.com"]});
    assert_eq!(found(&sandbox, "people", both).await, [ids[0]]);
    let with_ids = json!({"name": "Twin Searchable", "ids": [ids[1], ids[2]]});
    assert_eq!(found(&sandbox, "people", with_ids).await, [ids[1]]);
    let too_late =
        json!({"emails": ["twin.one@example.com"], "minimum_created_date": unix_now() + 3600});
    assert!(found(&sandbox, "people", too_late).await.is_empty());
}

#[tokio::test]
async fn pages_split_the_matches_without_overlap() {
    let sandbox = sandbox().await;
    let mut created = Vec::new();
    for chunk in 0..3 {
        let records: Vec<Value> = (0..10)
            .map(|i| json!({"name": format!("Pager {:02}", chunk * 10 + i)}))
            .collect();
        created.extend(create(&sandbox, "companies", json!(records)).await);
    }
    let page = |number: u64, direction: &str| json!({"name": "Pager", "page_size": 12, "page_number": number, "sort_by": "name", "sort_direction": direction});
    let mut seen = Vec::new();
    for number in 1..=3 {
        let (status, body, total) = post(&sandbox, "companies/search", page(number, "asc")).await;
        assert_eq!(status, 200);
        assert_eq!(total, Some(30), "X-Pw-Total counts every page");
        let ids: Vec<i64> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), if number < 3 { 12 } else { 6 });
        seen.extend(ids);
    }
    assert_eq!(seen, created, "the names sort as they were created");
    assert!(
        found(&sandbox, "companies", page(4, "asc"))
            .await
            .is_empty()
    );
    let mut descending = found(&sandbox, "companies", page(1, "desc")).await;
    descending.reverse();
    assert_eq!(descending, created[18..]);
    // Without a page size, Copper's 20.
    assert_eq!(
        found(&sandbox, "companies", json!({"name": "Pager"}))
            .await
            .len(),
        20
    );
}

#[tokio::test]
async fn a_page_above_200_is_refused() {
    let sandbox = sandbox().await;
    assert_eq!(
        found(&sandbox, "people", json!({"page_size": 200}))
            .await
            .len(),
        100
    );
    for criteria in [
        json!({"page_size": 201}),
        json!({"page_size": 0}),
        json!({"page_number": 0}),
    ] {
        let (status, body, _) = post(&sandbox, "people/search", criteria.clone()).await;
        assert_eq!(status, 422, "{criteria}: {body}");
        assert_eq!(body["success"], false);
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with("Invalid input: page_"), "{message}");
    }
}

#[tokio::test]
async fn records_created_in_bulk_are_found_with_the_time_they_were_created() {
    let sandbox = sandbox().await;
    let before = unix_now();
    let person = create(
        &sandbox,
        "people",
        json!([{"name": "Found Later", "emails": [{"email": "found.later@example.com"}]}]),
    )
    .await[0];
    let lead = create(
        &sandbox,
        "leads",
        json!([{"name": "Lead Later", "email": {"email": "lead.later@example.com"}}]),
    )
    .await[0];
    let company = create(
        &sandbox,
        "companies",
        json!([{"name": "Later Inc", "email_domain": "later.example.com"}]),
    )
    .await[0];
    let opportunity = create(
        &sandbox,
        "opportunities",
        json!([{"name": "Later deal", "primary_contact_id": person}]),
    )
    .await[0];
    let activity = create(
        &sandbox,
        "activities",
        json!([{"parent": {"type": "person", "id": person}, "type": {"category": "user", "id": 0}, "details": "Called", "activity_date": 1_700_000_000}]),
    )
    .await[0];
    let after = unix_now();

    let (_, people, _) = post(
        &sandbox,
        "people/search",
        json!({"emails": ["found.later@example.com"]}),
    )
    .await;
    assert_eq!(people[0]["id"], person);
    let created = people[0]["date_created"].as_i64().unwrap();
    assert!(
        (before..=after).contains(&created),
        "{created} not in {before}..={after}"
    );
    let since = json!({"minimum_created_date": before, "maximum_created_date": after});
    assert_eq!(found(&sandbox, "people", since.clone()).await, [person]);

    let by_email = json!({"emails": "lead.later@example.com"});
    assert_eq!(found(&sandbox, "leads", by_email).await, [lead]);
    let by_domain = json!({"email_domains": "later.example.com"});
    assert_eq!(found(&sandbox, "companies", by_domain).await, [company]);
    let by_contact = json!({"name": "Later deal", "primary_contact_ids": [person]});
    assert_eq!(
        found(&sandbox, "opportunities", by_contact).await,
        [opportunity]
    );
    let by_parent = json!({
        "parent": {"type": "person", "id": person},
        "activity_types": [{"category": "user", "id": 0}],
        "minimum_activity_date": 1_700_000_000,
        "maximum_activity_date": 1_700_000_000,
    });
    assert_eq!(found(&sandbox, "activities", by_parent).await, [activity]);
    let other_type = json!({"parent": {"type": "person", "id": person}, "activity_types": [{"category": "user", "id": 1}]});
    assert!(found(&sandbox, "activities", other_type).await.is_empty());
    for entity in ["leads", "companies", "opportunities"] {
        assert_eq!(
            found(&sandbox, entity, since.clone()).await.len(),
            1,
            "{entity}"
        );
    }
}

#[tokio::test]
async fn e_mails_and_domains_compare_without_case() {
    let sandbox = sandbox().await;
    let person = create(
        &sandbox,
        "people",
        json!([{"name": "Mixed Case", "emails": [{"email": "Mixed.Case@Example.com"}]}]),
    )
    .await[0];
    let lead = create(
        &sandbox,
        "leads",
        json!([{"name": "Mixed Lead", "email": {"email": "Mixed.Lead@Example.com"}}]),
    )
    .await[0];
    let company = create(
        &sandbox,
        "companies",
        json!([{"name": "Mixed Co", "email_domain": "Mixed.Example.com"}]),
    )
    .await[0];
    let people = json!({"emails": ["mixed.case@example.COM"]});
    assert_eq!(found(&sandbox, "people", people).await, [person]);
    let leads = json!({"emails": "MIXED.LEAD@example.com"});
    assert_eq!(found(&sandbox, "leads", leads).await, [lead]);
    let companies = json!({"email_domains": "mixed.example.COM"});
    assert_eq!(found(&sandbox, "companies", companies).await, [company]);
    // Copper keeps an address unique whatever its case, so another person
    // cannot take it in another case.
    let (_, items, _) = post(
        &sandbox,
        "people/bulk_create",
        json!({"people": [{"name": "Copy", "emails": [{"email": "mixed.case@example.com"}]}]}),
    )
    .await;
    assert_eq!(items[0]["success"], false);
}

#[tokio::test]
async fn the_leads_e_mail_filter_is_one_string_as_copper_documents() {
    let sandbox = sandbox().await;
    // The seeded leads have e-mails `lead<id>@example.com`.
    assert_eq!(
        found(&sandbox, "leads", json!({"emails": "lead3@example.com"})).await,
        [3]
    );
    let (status, body, _) = post(
        &sandbox,
        "leads/search",
        json!({"emails": ["lead3@example.com"]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("emails"), "{message}");
    // The same holds for the companies' domain, and the people's filter is
    // a list.
    let (status, _, _) = post(
        &sandbox,
        "companies/search",
        json!({"email_domains": ["company1.example.com"]}),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _, _) = post(
        &sandbox,
        "people/search",
        json!({"emails": "person1@example.com"}),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn searches_count_toward_the_minute_but_not_the_bulk_second() {
    // Copper's limits: 3 bulk requests a second, 180 requests a minute.
    let sandbox = Sandbox::start(SandboxConfig::new()).await.unwrap();
    for _ in 0..10 {
        let (status, _, _) = post(&sandbox, "people/search", json!({})).await;
        assert_eq!(status, 200, "searches are not held to 3 a second");
    }
    let update = json!({"people": [{"id": 1, "title": "x"}]});
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(post(&sandbox, "people/bulk_update", update.clone()).await.0);
    }
    assert_eq!(statuses, [200, 200, 200, 429]);

    // A minute of 5, made an hour long so that the 429s are certain
    // however slow the machine: searches and bulk requests both count.
    let sandbox = Sandbox::start(
        SandboxConfig::new()
            .with_rate_limit(None)
            .with_account_rate_limit(Some((5, Duration::from_secs(3600)))),
    )
    .await
    .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(post(&sandbox, "people/search", json!({})).await.0);
    }
    for _ in 0..2 {
        statuses.push(post(&sandbox, "people/bulk_update", update.clone()).await.0);
    }
    statuses.push(post(&sandbox, "people/search", json!({})).await.0);
    statuses.push(post(&sandbox, "people/bulk_update", update.clone()).await.0);
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
}

#[tokio::test]
async fn searches_take_their_own_faults() {
    let sandbox = sandbox().await;
    sandbox.inject(Fault::Status(503));
    sandbox.inject_search(Fault::Status(502));
    let (status, _, _) = post(&sandbox, "people/search", json!({})).await;
    assert_eq!(status, 502);
    let (status, _, _) = post(&sandbox, "people/search", json!({})).await;
    assert_eq!(status, 200, "the bulk fault is not spent on a search");
    let (status, _, _) = post(
        &sandbox,
        "people/bulk_update",
        json!({"people": [{"id": 1, "title": "x"}]}),
    )
    .await;
    assert_eq!(status, 503);
}

#[tokio::test(start_paused = true)]
async fn the_raw_client_sends_searches_without_the_bulk_spacing() {
    let sandbox = sandbox().await;
    let http = http_client_builder(Duration::from_secs(30), Duration::from_secs(30))
        .build()
        .unwrap();
    let credentials = Credentials::new(SandboxConfig::TOKEN, SandboxConfig::USER_EMAIL).unwrap();
    let throttle = Arc::new(Throttle::new(Config::copper_rate_limits()));
    let client = Client::new_with_client(
        sandbox.url(),
        http,
        Inner::new(credentials).with_throttle(throttle),
    );
    let start = tokio::time::Instant::now();
    let search = PeopleSearchRequest::new().emails(["person1@example.com"]);
    for _ in 0..5 {
        let people = client.people_search(None, &search).await.unwrap();
        assert_eq!(people.into_inner()[0].id, 1);
    }
    assert_eq!(start.elapsed(), Duration::ZERO, "searches are not spaced");
    let update = PeopleBulkUpdateRequest {
        people: vec![PersonUpdate::new(1).title("x")],
    };
    for _ in 0..3 {
        client.people_bulk_update(None, &update).await.unwrap();
    }
    let spacing = RateLimit::per_second(3).spacing();
    assert!(start.elapsed() >= spacing * 2, "{:?}", start.elapsed());
}
