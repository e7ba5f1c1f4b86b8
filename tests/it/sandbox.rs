//! The sandbox behaves as Copper documents, and commits the faults asked of it.

use std::time::Duration;

use copper_bulk_sandbox::{Applied, Entity, Fault, Sandbox, SandboxConfig};
use serde_json::{Value, json};

const UPDATE: &str = "/developer_api/v1/people/bulk_update";
const CREATE: &str = "/developer_api/v1/people/bulk_create";
const SEARCH: &str = "/developer_api/v1/people/search";

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::new().with_rate_limit(None))
        .await
        .unwrap()
}

fn post(sandbox: &Sandbox, path: &str, body: Value) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(format!("{}{path}", sandbox.url()))
        .header("x-pw-accesstoken", SandboxConfig::TOKEN)
        .header("x-pw-application", "developer_api")
        .header("x-pw-useremail", SandboxConfig::USER_EMAIL)
        .json(&body)
}

async fn send(sandbox: &Sandbox, path: &str, body: Value) -> (u16, Value) {
    let response = post(sandbox, path, body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn updates_change_only_what_is_sent_and_null_clears() {
    let sandbox = sandbox().await;
    let before = sandbox.person(1).unwrap();
    assert!(before.title.is_some() && before.address.is_some());
    let (status, items) = send(
        &sandbox,
        UPDATE,
        json!({"people": [{"id": 1, "title": null, "details": "VIP", "tags": ["a"], "emails": []}]}),
    )
    .await;
    assert_eq!(status, 200);
    let after = sandbox.person(1).unwrap();
    assert_eq!(after.title, None);
    assert_eq!(after.details.as_deref(), Some("VIP"));
    assert_eq!(after.tags, Some(vec!["a".to_owned()]));
    assert_eq!(after.emails, Some(vec![]));
    assert_eq!(
        after.address, before.address,
        "a field not sent is unchanged"
    );
    assert_eq!(after.name, before.name);
    // The answer is the whole person, with nulls as Copper sends them.
    assert_eq!(items[0]["id"], 1);
    assert_eq!(items[0]["title"], Value::Null);
    assert!(items[0].as_object().unwrap().contains_key("suffix"));
    assert_eq!(items[0]["details"], "VIP");
}

#[tokio::test]
async fn creates_get_ids_and_timestamps_and_results_keep_request_order() {
    let sandbox = sandbox().await;
    let (status, items) = send(
        &sandbox,
        CREATE,
        json!({"people": [
            {"name": "Ada Lovelace", "emails": [{"email": "ada@example.com", "category": "work"}]},
            {"name": ""},
            {"name": "Grace Hopper"},
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(items[0]["id"], 101);
    assert_eq!(items[0]["first_name"], "Ada");
    assert_eq!(items[0]["last_name"], "Lovelace");
    assert!(items[0]["date_created"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(
        items[1],
        json!({"success": false, "message": {"name": [{"error": "invalid"}]}})
    );
    assert_eq!(items[2]["id"], 102);
    assert_eq!(
        sandbox.applied(),
        [
            Applied::Created(Entity::People, 101),
            Applied::Created(Entity::People, 102)
        ]
    );
}

#[tokio::test]
async fn field_errors_unknown_ids_and_taken_emails_fail_only_their_record() {
    let sandbox = sandbox().await;
    let (status, items) = send(
        &sandbox,
        UPDATE,
        json!({"people": [
            {"id": 1, "emails": [{"email": "person2@example.com"}]},
            {"id": 2, "emails": [{"email": "person2@example.com", "category": "personal"}]},
            {"id": 3, "emails": [{"email": "not-an-email"}]},
            {"id": 4, "phone_numbers": [{"number": "1", "category": "pager"}]},
            {"id": 5, "name": " "},
            {"id": 999999, "title": "x"},
            {"id": 6, "name": 5},
            {"id": 7, "title": "fine"},
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    let invalid = |id: i64, field: &str| json!({"success": false, "message": {field: [{"error": "invalid"}]}, "id": id});
    assert_eq!(items[0], invalid(1, "emails"), "person 2's e-mail is taken");
    assert_eq!(items[1]["id"], 2, "a person may keep their own e-mail");
    assert_eq!(items[2], invalid(3, "emails"));
    assert_eq!(items[3], invalid(4, "phone_numbers"));
    assert_eq!(items[4], invalid(5, "name"));
    assert_eq!(
        items[5],
        json!({"success": false, "message": "Resource not found", "id": 999999})
    );
    assert_eq!(items[6], invalid(6, "name"));
    assert_eq!(items[7]["title"], "fine");
}

#[tokio::test]
async fn whole_request_refusals() {
    let sandbox = sandbox().await;
    let eleven: Vec<Value> = (1..=11).map(|id| json!({"id": id, "title": "t"})).collect();
    assert_eq!(
        send(&sandbox, UPDATE, json!({ "people": eleven })).await,
        (422, json!({"error": "Request size too large, limit is 10"}))
    );
    let (status, body) = send(&sandbox, UPDATE, json!({"people": [{"title": "no id"}]})).await;
    assert_eq!(
        (status, body["success"].clone(), body["status"].clone()),
        (422, json!(false), json!(422))
    );
    let (status, _) = send(&sandbox, UPDATE, json!({"persons": []})).await;
    assert_eq!(status, 422);

    for (header, value) in [
        ("x-pw-accesstoken", "wrong"),
        ("x-pw-application", "other"),
        ("x-pw-useremail", "someone@else.com"),
    ] {
        let mut request = post(&sandbox, UPDATE, json!({"people": [{"id": 1}]}))
            .build()
            .unwrap();
        request.headers_mut().insert(header, value.parse().unwrap());
        let response = reqwest::Client::new().execute(request).await.unwrap();
        assert_eq!(response.status(), 401, "{header}");
    }
    let response = reqwest::Client::new()
        .post(format!("{}{UPDATE}", sandbox.url()))
        .json(&json!({"people": [{"id": 1, "title": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "no headers at all");
    assert!(sandbox.applied().is_empty());
}

/// A request with `Authorization: Bearer` is judged by its token alone:
/// the configured one is accepted without any `X-PW-*` header, and any
/// other is refused with 401 even beside a valid API key.
#[tokio::test]
async fn an_oauth_bearer_token_is_accepted_only_when_it_is_the_configured_one() {
    let sandbox = Sandbox::start(
        SandboxConfig::new()
            .with_rate_limit(None)
            .with_oauth_token(Some("granted")),
    )
    .await
    .unwrap();
    let bearer = |authorization: &str| {
        reqwest::Client::new()
            .post(format!("{}{UPDATE}", sandbox.url()))
            .header("authorization", authorization)
            .header("x-pw-application", "developer_api")
            .json(&json!({"people": [{"id": 1, "title": "by oauth"}]}))
    };
    for refused in ["Bearer wrong", "Bearer ", "Basic granted", "granted"] {
        let response = bearer(refused).send().await.unwrap();
        assert_eq!(response.status(), 401, "{refused}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (body["success"].clone(), body["status"].clone()),
            (json!(false), json!(401))
        );
    }
    let beside_a_key = bearer("Bearer wrong")
        .header("x-pw-accesstoken", SandboxConfig::TOKEN)
        .header("x-pw-useremail", SandboxConfig::USER_EMAIL);
    assert_eq!(beside_a_key.send().await.unwrap().status(), 401);
    // The application header is asked of every call, OAuth's too.
    let without_application = reqwest::Client::new()
        .post(format!("{}{UPDATE}", sandbox.url()))
        .bearer_auth("granted")
        .json(&json!({"people": [{"id": 1, "title": "by oauth"}]}));
    assert_eq!(without_application.send().await.unwrap().status(), 401);
    assert!(sandbox.applied().is_empty());

    for accepted in ["Bearer granted", "bearer granted"] {
        let response = bearer(accepted).send().await.unwrap();
        assert_eq!(response.status(), 200, "{accepted}");
    }
    assert_eq!(
        sandbox.person(1).unwrap().title.as_deref(),
        Some("by oauth")
    );

    // Without an OAuth token configured, no bearer token is accepted.
    let keys_only = Sandbox::start(
        SandboxConfig::new()
            .with_rate_limit(None)
            .with_oauth_token(None),
    )
    .await
    .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}{UPDATE}", keys_only.url()))
        .bearer_auth(SandboxConfig::OAUTH_TOKEN)
        .header("x-pw-application", "developer_api")
        .json(&json!({"people": [{"id": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn more_than_three_requests_a_second_get_429() {
    let sandbox = Sandbox::start(SandboxConfig::new()).await.unwrap();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, _) = send(
            &sandbox,
            UPDATE,
            json!({"people": [{"id": 1, "title": "x"}]}),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(&statuses[..3], [200, 200, 200]);
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(sandbox.stats().with_status(429), 2);
}

/// Copper's limits are the account's: requests count toward them whatever
/// connection (or process) they come from, and whichever way they
/// authenticate, an API key or the account's OAuth token.
#[tokio::test]
async fn every_connection_and_way_of_authenticating_counts_toward_the_one_account() {
    // Limits of an hour make the 429s certain however slow the machine.
    let sandbox = Sandbox::start(
        SandboxConfig::new()
            .with_rate_limit(Some((3, Duration::from_secs(3600))))
            .with_account_rate_limit(Some((4, Duration::from_secs(3600)))),
    )
    .await
    .unwrap();
    let mut statuses = Vec::new();
    for n in 0..6 {
        // A client of its own each time: a connection of its own.
        let request = reqwest::Client::new()
            .post(format!(
                "{}{}",
                sandbox.url(),
                if n >= 4 { SEARCH } else { UPDATE }
            ))
            .header("x-pw-application", "developer_api");
        let request = if n % 2 == 0 {
            request
                .header("x-pw-accesstoken", SandboxConfig::TOKEN)
                .header("x-pw-useremail", SandboxConfig::USER_EMAIL)
        } else {
            request.bearer_auth(SandboxConfig::OAUTH_TOKEN)
        };
        let body = if n >= 4 {
            json!({})
        } else {
            json!({"people": [{"id": 1, "title": "x"}]})
        };
        statuses.push(request.json(&body).send().await.unwrap().status().as_u16());
    }
    // Three bulk requests fill the second's limit; a search, which only
    // the account's limit counts, takes its fourth place; then it is full
    // for the next search, sent with the other kind of credentials.
    assert_eq!(statuses, [200, 200, 200, 429, 200, 429]);
}

#[tokio::test]
async fn the_request_log_holds_each_answer_in_order_when_asked_for() {
    // A limit of 3 an hour makes the 429s certain however slow the machine.
    let config = SandboxConfig::new().with_rate_limit(Some((3, Duration::from_secs(3600))));
    let logged = Sandbox::start(config.clone().with_request_log(true))
        .await
        .unwrap();
    let unlogged = Sandbox::start(config).await.unwrap();
    for sandbox in [&logged, &unlogged] {
        for _ in 0..5 {
            send(
                sandbox,
                UPDATE,
                json!({"people": [{"id": 1, "title": "x"}]}),
            )
            .await;
        }
    }
    let answered = logged.stats().answered;
    let statuses: Vec<u16> = answered.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert!(answered.windows(2).all(|w| w[0].arrived <= w[1].arrived));
    assert!(unlogged.stats().answered.is_empty(), "off by default");
}

#[tokio::test]
async fn seeding_is_deterministic() {
    let a = sandbox().await;
    let b = sandbox().await;
    assert_eq!(a.people(), b.people());
    assert_eq!(a.people().len(), 100);
    let other = Sandbox::start(SandboxConfig::new().with_seed(7, 5))
        .await
        .unwrap();
    assert_eq!(other.people().len(), 5);
    assert_ne!(other.people()[0].name, a.people()[0].name);
}

#[tokio::test]
async fn faults_that_refuse_apply_nothing_and_faults_after_applying_apply_everything() {
    let body = json!({"people": [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}, {"id": 3, "title": "c"}]});
    for (fault, applied) in [
        (Fault::Status(503), false),
        (Fault::Status(429), false),
        (Fault::DropBeforeApplying, false),
        (Fault::StatusAfterApplying(500), true),
        (Fault::DropAfterApplying, true),
        (Fault::TruncatedBody, true),
        (Fault::ShortArray, true),
        (Fault::MalformedItem(1), true),
        (Fault::SwappedItems, true),
        (Fault::Delay(Duration::from_millis(50)), true),
    ] {
        let sandbox = sandbox().await;
        sandbox.inject(fault.clone());
        assert_eq!(fault.applies(), applied);
        let response = post(&sandbox, UPDATE, body.clone()).send().await;
        let answer = match response {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.bytes().await.map(|b| b.to_vec()))
            }
            Err(error) => (0, Err(error)),
        };
        assert_eq!(
            sandbox.applied().len(),
            if applied { 3 } else { 0 },
            "{fault:?}"
        );
        match fault {
            Fault::Status(code) | Fault::StatusAfterApplying(code) => assert_eq!(answer.0, code),
            Fault::DropBeforeApplying | Fault::DropAfterApplying | Fault::TruncatedBody => {
                assert!(
                    answer.1.is_err(),
                    "{fault:?}: the body should not arrive whole"
                );
            }
            Fault::ShortArray | Fault::MalformedItem(_) | Fault::SwappedItems | Fault::Delay(_) => {
                let items: Vec<Value> = serde_json::from_slice(&answer.1.unwrap()).unwrap();
                match fault {
                    Fault::ShortArray => assert_eq!(items.len(), 2),
                    Fault::MalformedItem(_) => assert!(items[1].get("id").is_none()),
                    Fault::SwappedItems => assert_eq!(
                        (items[0]["id"].clone(), items[1]["id"].clone()),
                        (json!(2), json!(1))
                    ),
                    _ => assert_eq!(items.len(), 3),
                }
            }
            _ => unreachable!(),
        }
        // The next request is answered normally.
        let (status, _) = send(&sandbox, UPDATE, body.clone()).await;
        assert_eq!(status, 200, "{fault:?}");
    }
}

#[tokio::test]
async fn the_computed_values_flag_is_checked_and_honoured() {
    let sandbox = sandbox().await;
    let body = json!({"people": [{"id": 1, "custom_fields": [{"custom_field_definition_id": 7, "value": [1, 2]}]}]});
    let (status, items) = send(
        &sandbox,
        &format!("{UPDATE}?custom_field_computed_values=true"),
        body.clone(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        items[0]["custom_fields"],
        json!([{"custom_field_definition_id": 7, "value": [1, 2], "computed_value": [1, 2]}])
    );
    let (_, items) = send(&sandbox, UPDATE, body.clone()).await;
    assert!(items[0]["custom_fields"][0].get("computed_value").is_none());
    for query in [
        "?custom_field_computed_values=null",
        "?custom_field_computed_values=true&custom_field_computed_values=false",
    ] {
        let (status, error) = send(&sandbox, &format!("{UPDATE}{query}"), body.clone()).await;
        assert_eq!(status, 422, "{query}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("custom_field_computed_values")
        );
    }
}

#[tokio::test]
async fn a_custom_value_of_an_undocumented_kind_fails_its_record() {
    let sandbox = sandbox().await;
    let (_, items) = send(
        &sandbox,
        UPDATE,
        json!({"people": [
            {"id": 1, "custom_fields": [{"custom_field_definition_id": 3, "value": {"an": "object"}}]},
            {"id": 2, "custom_fields": [{"custom_field_definition_id": 3, "value": [1, 2]}]},
        ]}),
    )
    .await;
    assert_eq!(
        items[0]["message"],
        json!({"custom_fields": [{"error": "invalid"}]})
    );
    assert_eq!(items[1]["custom_fields"][0]["value"], json!([1, 2]));
}

const COMPANIES_CREATE: &str = "/developer_api/v1/companies/bulk_create";
const COMPANIES_UPDATE: &str = "/developer_api/v1/companies/bulk_update";

#[tokio::test]
async fn an_email_domain_another_company_has_fails_only_its_record() {
    // The sandbox seeds companies 1 to 10, `company<n>.example.com`.
    let sandbox = sandbox().await;
    let invalid = json!({"success": false, "message": {"email_domain": [{"error": "invalid"}]}});
    let (status, items) = send(
        &sandbox,
        COMPANIES_CREATE,
        json!({"companies": [
            {"name": "Copycat", "email_domain": "company1.example.com"},
            {"name": "Loud copycat", "email_domain": " COMPANY1.Example.com "},
            {"name": "Fresh", "email_domain": "fresh.example.com"},
            {"name": "Fresh again", "email_domain": "fresh.example.com"},
            {"name": "No domain"},
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(items[0], invalid, "company 1 has the domain");
    assert_eq!(items[1], invalid, "domains compare without case");
    assert_eq!(items[2]["id"], 11);
    assert_eq!(items[3], invalid, "record 2 of the same request took it");
    assert_eq!(items[4]["id"], 12);

    let (status, items) = send(
        &sandbox,
        COMPANIES_UPDATE,
        json!({"companies": [
            {"id": 2, "email_domain": "company3.example.com"},
            {"id": 4, "email_domain": "company4.example.com", "details": "kept its own"},
            {"id": 5, "email_domain": "moved.example.com"},
            {"id": 6, "email_domain": "company5.example.com"},
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        items[0],
        json!({"success": false, "message": {"email_domain": [{"error": "invalid"}]}, "id": 2})
    );
    assert_eq!(items[1]["details"], "kept its own");
    assert_eq!(items[2]["email_domain"], "moved.example.com");
    assert_eq!(
        items[3]["email_domain"], "company5.example.com",
        "company 5 gave it up"
    );
}

#[tokio::test]
async fn companies_of_one_domain_can_be_seeded_past_the_rule() {
    let sandbox = sandbox().await;
    let mut twin = serde_json::Map::new();
    twin.insert("name".into(), json!("Twin of one"));
    twin.insert("email_domain".into(), json!("company1.example.com"));
    let id = sandbox.seed(Entity::Companies, twin);
    assert_eq!(id, 11);
    let seeded = sandbox.record(Entity::Companies, 11).unwrap();
    assert_eq!(seeded["email_domain"], "company1.example.com");
    assert_eq!(seeded["tags"], json!([]), "it has every field of a company");
    assert!(sandbox.applied().is_empty(), "seeding is not applying");
    // Neither twin can give its domain to a third company.
    let (_, items) = send(
        &sandbox,
        COMPANIES_CREATE,
        json!({"companies": [{"name": "Third", "email_domain": "company1.example.com"}]}),
    )
    .await;
    assert_eq!(items[0]["success"], false);
}

#[tokio::test]
async fn an_opportunity_without_a_primary_contact_is_created() {
    let sandbox = sandbox().await;
    let (status, items) = send(
        &sandbox,
        "/developer_api/v1/opportunities/bulk_create",
        json!({"opportunities": [
            {"name": "No contact yet"},
            {"name": "Lost contact", "primary_contact_id": 999_999},
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(items[0]["name"], "No contact yet");
    assert_eq!(items[0]["primary_contact_id"], Value::Null);
    assert_eq!(
        items[1],
        json!({"success": false, "message": {"primary_contact_id": [{"error": "invalid"}]}})
    );
}
