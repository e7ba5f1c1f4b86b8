//! Our client against Prism, an independent mock server that answers from
//! the spec and reports every request that breaks it.
//!
//! These tests need a running Prism (`prism mock openapi/copper.yaml`) at
//! `COPPER_PRISM_URL`; `cargo xtask test` starts one, runs them with
//! `--ignored`, and then fails if Prism logged a request that broke the spec.

use std::time::Duration;

use copper_bulk::{Config, Copper, PersonCreate, PersonUpdate, RecordResult};
use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::hooks::{Credentials, Inner, http_client_builder};
use copper_bulk_raw::types::{PeopleBulkCreateRequest, PeopleBulkUpdateRequest};
use copper_bulk_raw::{Client, ResponseValue};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

const NEEDS_PRISM: &str = "needs Prism at COPPER_PRISM_URL: run by cargo xtask test";

fn prism_url() -> String {
    std::env::var("COPPER_PRISM_URL").expect(NEEDS_PRISM)
}

/// An HTTP client that asks Prism for a given kind of answer.
fn http(prefer: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert("prefer", HeaderValue::from_str(prefer).unwrap());
    http_client_builder(Duration::from_secs(10), Duration::from_secs(30))
        .default_headers(headers)
        .build()
        .unwrap()
}

fn raw(prefer: &str) -> Client {
    let credentials = Credentials::new("contract-token", "me@example.com").unwrap();
    Client::new_with_client(&prism_url(), http(prefer), Inner::new(credentials))
}

fn copper(prefer: &str, batch_size: usize) -> Copper {
    let config = Config::new("contract-token", "me@example.com")
        .unwrap()
        .with_base_url(&prism_url())
        .unwrap()
        .with_http_client(http(prefer))
        .with_rate_limits([])
        .with_batch_size(batch_size)
        .unwrap();
    Copper::new(config).unwrap()
}

/// Fails when Prism found the request in breach of the spec.
fn assert_no_violations<T>(response: &ResponseValue<T>) {
    assert!(
        response.headers().get("sl-violations").is_none(),
        "Prism: {:?}",
        response.headers().get("sl-violations")
    );
}

fn update_body() -> PeopleBulkUpdateRequest {
    PeopleBulkUpdateRequest {
        people: vec![
            crate::support::update_every_field(),
            PersonUpdate::new(67890)
                .clear_title()
                .tags(Vec::<String>::new()),
        ],
    }
}

fn create_body() -> PeopleBulkCreateRequest {
    PeopleBulkCreateRequest {
        people: vec![
            crate::support::create("Contact One", "one@example.com"),
            PersonCreate::new("Contact Two"),
        ],
    }
}

#[tokio::test]
#[ignore = "needs Prism at COPPER_PRISM_URL: run by cargo xtask test"]
async fn the_raw_client_sends_what_the_spec_allows_and_reads_its_examples() {
    for (prefer, expected) in [
        ("example=documented", [false, false]),
        ("example=mixed", [false, true]),
    ] {
        let response = raw(prefer)
            .people_bulk_update(None, &update_body())
            .await
            .unwrap();
        assert_no_violations(&response);
        let failures: Vec<bool> = response
            .into_inner()
            .iter()
            .map(|item| {
                assert!(!matches!(item, BulkItem::Unrecognized(_)), "{item:?}");
                item.is_failure()
            })
            .collect();
        assert_eq!(failures, expected, "{prefer}");
    }
    for (prefer, expected) in [
        ("example=documented", [false, false]),
        ("example=mixed", [true, false]),
    ] {
        let response = raw(prefer)
            .people_bulk_create(Some(true), &create_body())
            .await
            .unwrap();
        assert_no_violations(&response);
        let failures: Vec<bool> = response
            .into_inner()
            .iter()
            .map(BulkItem::is_failure)
            .collect();
        assert_eq!(failures, expected, "{prefer}");
    }
}

/// 0 for each record, 1 for each failure; panics on an item that did not
/// decode, since Prism makes only what the spec allows.
fn kinds<T: std::fmt::Debug, F: std::fmt::Debug>(items: Vec<BulkItem<T, F>>) -> Vec<usize> {
    items
        .into_iter()
        .map(|item| match item {
            BulkItem::Ok(_) => 0,
            BulkItem::Failed(_) => 1,
            BulkItem::Unrecognized(u) => {
                panic!("the spec allows this, but it did not decode: {u:?}")
            }
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs Prism at COPPER_PRISM_URL: run by cargo xtask test"]
async fn the_raw_client_decodes_whatever_the_spec_allows() {
    let mut seen = [0usize; 3];
    for round in 0..100 {
        let items = if round % 2 == 0 {
            let response = raw("dynamic=true")
                .people_bulk_update(None, &update_body())
                .await
                .unwrap();
            assert_no_violations(&response);
            kinds(response.into_inner())
        } else {
            let response = raw("dynamic=true")
                .people_bulk_create(None, &create_body())
                .await
                .unwrap();
            assert_no_violations(&response);
            kinds(response.into_inner())
        };
        for kind in items {
            seen[kind] += 1;
        }
        seen[2] += 1;
    }
    // Prism made both kinds of item.
    assert!(seen[0] > 0 && seen[1] > 0, "{seen:?}");
}

#[tokio::test]
#[ignore = "needs Prism at COPPER_PRISM_URL: run by cargo xtask test"]
async fn the_facade_against_the_examples() {
    // Prism answers with the example's two items whatever is sent, so the
    // facade sends batches of two, with the ids the examples carry.
    let updates = || {
        vec![
            PersonUpdate::new(67890).title("CTO"),
            PersonUpdate::new(12345).clear_details(),
        ]
    };
    let report = copper("example=mixed", 2)
        .people()
        .bulk_update(updates())
        .report()
        .await;
    assert_eq!(report.applied.len(), 1, "{report:?}");
    assert_eq!(report.rejected[0].1.id, Some(12345));

    let updates = vec![
        PersonUpdate::new(12345).title("a"),
        PersonUpdate::new(67890).title("b"),
    ];
    let report = copper("example=documented", 2)
        .people()
        .bulk_update(updates)
        .report()
        .await;
    assert!(report.all_applied(), "{report:?}");

    let creates = vec![
        PersonCreate::new("Contact One"),
        PersonCreate::new("Contact Two"),
    ];
    let report = copper("example=documented", 2)
        .people()
        .bulk_create(creates.clone())
        .report()
        .await;
    assert!(report.all_applied(), "{report:?}");
    let report = copper("example=mixed", 2)
        .people()
        .with_computed_custom_field_values()
        .bulk_create(creates)
        .report()
        .await;
    assert_eq!(
        (report.rejected.len(), report.applied.len()),
        (1, 1),
        "{report:?}"
    );
}

#[tokio::test]
#[ignore = "needs Prism at COPPER_PRISM_URL: run by cargo xtask test"]
async fn the_facade_reports_every_record_whatever_prism_makes_up() {
    // Random answers rarely have as many items as records sent: whatever
    // they hold, every record gets exactly one outcome and none is applied
    // unless its item said so.
    let records: Vec<PersonUpdate> = (1..=200)
        .map(|id| PersonUpdate::new(id).title("t"))
        .collect();
    let outcomes: Vec<_> = futures_util::StreamExt::collect::<Vec<_>>(
        copper("dynamic=true", 10).people().bulk_update(records),
    )
    .await;
    assert_eq!(outcomes.len(), 200);
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome.index, i);
        if let RecordResult::Applied(person) = &outcome.result {
            assert_eq!(person.id, i as i64 + 1, "an applied record is the one sent");
        }
    }
}

/// Sends the spec's request example of `path` with the raw client, asking
/// Prism for the example named `prefer`; returns whether each item of the
/// answer is a failure.
async fn send_example(path: &str, request: Value, prefer: &str) -> Vec<bool> {
    use copper_bulk_raw::types;

    fn kinds<T: std::fmt::Debug, F: std::fmt::Debug>(
        response: ResponseValue<Vec<BulkItem<T, F>>>,
    ) -> Vec<bool> {
        assert_no_violations(&response);
        response
            .into_inner()
            .iter()
            .map(|item| {
                assert!(!matches!(item, BulkItem::Unrecognized(_)), "{item:?}");
                item.is_failure()
            })
            .collect()
    }
    /// A search's answer holds records only: no item is a failure.
    fn records<T>(response: ResponseValue<Vec<T>>) -> Vec<bool> {
        assert_no_violations(&response);
        response.into_inner().iter().map(|_| false).collect()
    }
    fn body<T: serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }
    let client = raw(prefer);
    match path.trim_start_matches("/developer_api/v1/") {
        "people/bulk_update" => kinds(
            client
                .people_bulk_update(None, &body::<types::PeopleBulkUpdateRequest>(request))
                .await
                .unwrap(),
        ),
        "people/bulk_create" => kinds(
            client
                .people_bulk_create(None, &body::<types::PeopleBulkCreateRequest>(request))
                .await
                .unwrap(),
        ),
        "leads/bulk_update" => kinds(
            client
                .leads_bulk_update(Some(true), &body::<types::LeadsBulkUpdateRequest>(request))
                .await
                .unwrap(),
        ),
        "leads/bulk_create" => kinds(
            client
                .leads_bulk_create(None, &body::<types::LeadsBulkCreateRequest>(request))
                .await
                .unwrap(),
        ),
        "companies/bulk_update" => kinds(
            client
                .companies_bulk_update(&body::<types::CompaniesBulkUpdateRequest>(request))
                .await
                .unwrap(),
        ),
        "companies/bulk_create" => kinds(
            client
                .companies_bulk_create(&body::<types::CompaniesBulkCreateRequest>(request))
                .await
                .unwrap(),
        ),
        "opportunities/bulk_create" => kinds(
            client
                .opportunities_bulk_create(&body::<types::OpportunitiesBulkCreateRequest>(request))
                .await
                .unwrap(),
        ),
        "activities/bulk_create" => kinds(
            client
                .activities_bulk_create(&body::<types::ActivitiesBulkCreateRequest>(request))
                .await
                .unwrap(),
        ),
        "people/search" => records(
            client
                .people_search(Some(true), &body::<types::PeopleSearchRequest>(request))
                .await
                .unwrap(),
        ),
        "leads/search" => records(
            client
                .leads_search(None, &body::<types::LeadsSearchRequest>(request))
                .await
                .unwrap(),
        ),
        "companies/search" => records(
            client
                .companies_search(None, &body::<types::CompaniesSearchRequest>(request))
                .await
                .unwrap(),
        ),
        "opportunities/search" => records(
            client
                .opportunities_search(None, &body::<types::OpportunitiesSearchRequest>(request))
                .await
                .unwrap(),
        ),
        "activities/search" => records(
            client
                .activities_search(&body::<types::ActivitiesSearchRequest>(request))
                .await
                .unwrap(),
        ),
        other => panic!("no operation for {other}"),
    }
}

#[tokio::test]
#[ignore = "needs Prism at COPPER_PRISM_URL: run by cargo xtask test"]
async fn every_operation_sends_its_examples_and_reads_prisms_answers() {
    let spec = crate::support::spec();
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        let operation = &item["post"];
        let requests = operation["requestBody"]["content"]["application/json"]["examples"]
            .as_object()
            .unwrap();
        let answers = operation["responses"]["200"]["content"]["application/json"]["examples"]
            .as_object()
            .unwrap();
        for request in requests.values() {
            for (name, answer) in answers {
                let Some(items) = answer["value"].as_array() else {
                    continue; // a $ref to a shared example, checked by the people tests
                };
                let expected: Vec<bool> = items
                    .iter()
                    .map(|item| item.get("success") == Some(&Value::Bool(false)))
                    .collect();
                let got =
                    send_example(path, request["value"].clone(), &format!("example={name}")).await;
                assert_eq!(got, expected, "{path} {name}");
            }
        }
        operations += 1;
    }
    assert_eq!(operations, 13);
}

#[tokio::test]
#[ignore = "needs Prism at COPPER_PRISM_URL: run by cargo xtask test"]
async fn the_facade_runs_every_operation_against_the_mixed_examples() {
    use copper_bulk::ops::{self, Operation};
    use copper_bulk::{
        ActivityCreate, ActivityParentInput, ActivityTypeInput, CompanyCreate, CompanyUpdate,
        IntoRecord, LeadCreate, LeadUpdate, OpportunityCreate,
    };

    /// One applied and one rejected record, in the order of the example.
    /// The applied one must be the record the example returns (its id, or
    /// for a create its name or parent): the facade checks that an item is
    /// for the record sent.
    async fn check<O: Operation>(records: Vec<O::Record>, rejected_first: bool)
    where
        O::Record: IntoRecord<O::Record> + std::fmt::Debug,
        O::Output: std::fmt::Debug,
    {
        let outcomes: Vec<_> = futures_util::StreamExt::collect::<Vec<_>>(
            copper("example=mixed", 2).bulk::<O, _>(records, false),
        )
        .await;
        let kinds: Vec<&str> = outcomes.iter().map(|o| o.result.kind()).collect();
        let expected = if rejected_first {
            ["rejected", "applied"]
        } else {
            ["applied", "rejected"]
        };
        assert_eq!(kinds, expected, "{}: {outcomes:?}", O::OPERATION);
    }

    check::<ops::PeopleUpdate>(
        vec![
            PersonUpdate::new(67890).title("a"),
            PersonUpdate::new(12345).title("b"),
        ],
        false,
    )
    .await;
    check::<ops::PeopleCreate>(
        vec![PersonCreate::new("A"), PersonCreate::new("Contact Two")],
        true,
    )
    .await;
    check::<ops::LeadsUpdate>(
        vec![
            LeadUpdate::new(8894157).status("x"),
            LeadUpdate::new(12345).status("y"),
        ],
        false,
    )
    .await;
    check::<ops::LeadsCreate>(
        vec![LeadCreate::new("My Lead"), LeadCreate::new("B")],
        false,
    )
    .await;
    check::<ops::CompaniesUpdate>(
        vec![
            CompanyUpdate::new(9607580).clear_details(),
            CompanyUpdate::new(12345).clear_details(),
        ],
        false,
    )
    .await;
    check::<ops::CompaniesCreate>(
        vec![CompanyCreate::new("Demo Company"), CompanyCreate::new("B")],
        false,
    )
    .await;
    check::<ops::OpportunitiesCreate>(
        vec![
            OpportunityCreate::new("New Demo Opportunity").primary_contact_id(27140359),
            OpportunityCreate::new("B"),
        ],
        false,
    )
    .await;
    let note = || {
        ActivityCreate::new(
            ActivityParentInput::new("person", 27140359),
            ActivityTypeInput::new("user", 0),
        )
    };
    check::<ops::ActivitiesCreate>(vec![note(), note()], false).await;
}

#[tokio::test]
#[ignore = "needs Prism at COPPER_PRISM_URL: run by cargo xtask test"]
async fn the_raw_client_decodes_whatever_the_spec_allows_a_search_to_answer() {
    use copper_bulk_raw::types::{
        ActivitiesSearchRequest, ActivitySearchParent, ActivityTypeInput, CompaniesSearchRequest,
        LeadsSearchRequest, OpportunitiesSearchRequest, PeopleSearchRequest, SortDirection,
    };
    const PAGE: std::num::NonZeroU64 = std::num::NonZeroU64::new(200).unwrap();
    let client = raw("dynamic=true");
    let mut found = 0;
    for _ in 0..20 {
        let people = PeopleSearchRequest::new()
            .emails(["a@example.com", "b@example.com"])
            .ids([1, 2])
            .name("Contact")
            .minimum_created_date(1_687_360_000)
            .maximum_created_date(1_687_370_000)
            .page_size(PAGE)
            .page_number(std::num::NonZeroU64::MIN)
            .sort_by("date_created")
            .sort_direction(SortDirection::Desc);
        let response = client.people_search(Some(true), &people).await.unwrap();
        assert_no_violations(&response);
        found += response.into_inner().len();
        let leads = LeadsSearchRequest::new()
            .emails("a@example.com")
            .include_converted_leads(true)
            .page_size(PAGE);
        let response = client.leads_search(None, &leads).await.unwrap();
        assert_no_violations(&response);
        found += response.into_inner().len();
        let companies = CompaniesSearchRequest::new()
            .email_domains("example.com")
            .name("Dunder");
        let response = client.companies_search(None, &companies).await.unwrap();
        assert_no_violations(&response);
        found += response.into_inner().len();
        let opportunities = OpportunitiesSearchRequest::new()
            .name("paper")
            .company_ids([9607580])
            .primary_contact_ids([12345]);
        let response = client
            .opportunities_search(None, &opportunities)
            .await
            .unwrap();
        assert_no_violations(&response);
        found += response.into_inner().len();
        let activities = ActivitiesSearchRequest::new()
            .parent(ActivitySearchParent::new("task", 1))
            .activity_types([ActivityTypeInput::new("user", 0)])
            .minimum_activity_date(1_687_360_000)
            .maximum_activity_date(1_687_370_000)
            .full_result(false);
        let response = client.activities_search(&activities).await.unwrap();
        assert_no_violations(&response);
        found += response.into_inner().len();
    }
    assert!(found > 0, "Prism made no record in 100 answers");
}
