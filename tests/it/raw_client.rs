//! The raw client against a local fake server.

use std::time::Duration;

use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::error_body::ErrorBody;
use copper_bulk_raw::hooks::{Credentials, Inner, http_client_builder};
use copper_bulk_raw::types::{PeopleBulkCreateRequest, PeopleBulkUpdateRequest};
use copper_bulk_raw::{Client, Error};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "tok-3f9a1c-very-secret";
const UPDATE: &str = "/developer_api/v1/people/bulk_update";
const CREATE: &str = "/developer_api/v1/people/bulk_create";

fn client(server: &MockServer) -> Client {
    let http = http_client_builder(Duration::from_secs(5), Duration::from_secs(5))
        .build()
        .unwrap();
    let credentials = Credentials::new(TOKEN, "me@example.com").unwrap();
    Client::new_with_client(&server.uri(), http, Inner::new(credentials))
}

fn update_body() -> PeopleBulkUpdateRequest {
    PeopleBulkUpdateRequest {
        people: vec![crate::support::update_every_field()],
    }
}

/// A server that answers any request nobody expected with a 599 naming it,
/// so such a request fails the test with a readable message.
async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(|request: &Request| {
            ResponseTemplate::new(599).set_body_string(format!(
                "unexpected request: {} {}",
                request.method, request.url
            ))
        })
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    server
}

/// The error a bulk update gets when the server answers with `template`.
async fn update_answered_with(server: &MockServer, template: ResponseTemplate) -> Error {
    Mock::given(method("POST"))
        .and(path(UPDATE))
        .respond_with(template)
        .expect(1)
        .mount(server)
        .await;
    client(server)
        .people_bulk_update(None, &update_body())
        .await
        .unwrap_err()
}

#[tokio::test]
async fn sends_method_path_headers_and_body_and_decodes_a_mixed_200() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(UPDATE))
        .and(header("x-pw-accesstoken", TOKEN))
        .and(header("x-pw-application", "developer_api"))
        .and(header("x-pw-useremail", "me@example.com"))
        .and(header("content-type", "application/json"))
        .and(body_json(serde_json::to_value(update_body()).unwrap()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"success": false, "message": {"name": [{"error": "invalid"}]}, "id": 12345},
        ])))
        .expect(1)
        .mount(&server)
        .await;

    let response = client(&server)
        .people_bulk_update(None, &update_body())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(matches!(&response.into_inner()[..], [BulkItem::Failed(f)] if f.id == 12345));

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    // progenitor's api-version header means nothing to Copper; the hook drops it.
    assert!(requests[0].headers.get("api-version").is_none());
    // No computed values were asked for, so no query string is sent.
    assert_eq!(requests[0].url.query(), None);
}

#[tokio::test]
async fn create_decodes_a_mixed_200_in_order() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(CREATE))
        .and(query_param("custom_field_computed_values", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 1, "name": "Contact One"},
            {"success": false, "message": {"emails": [{"error": "invalid"}]}},
            {"id": 2, "name": "Contact Two"},
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let body = PeopleBulkCreateRequest {
        people: ["Contact One", "Contact Bad", "Contact Two"]
            .iter()
            .map(|name| crate::support::create(name, "x@example.com"))
            .collect(),
    };
    let items = client(&server)
        .people_bulk_create(Some(true), &body)
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        &items[..],
        [BulkItem::Ok(a), BulkItem::Failed(_), BulkItem::Ok(b)] if a.id == 1 && b.id == 2
    ));
}

#[tokio::test]
async fn a_422_exposes_its_status_and_body() {
    let server = server().await;
    let error = update_answered_with(
        &server,
        ResponseTemplate::new(422)
            .set_body_json(json!({"error": "Request size too large, limit is 10"})),
    )
    .await;
    assert_eq!(error.status().map(|s| s.as_u16()), Some(422));
    let Error::UnexpectedResponse(response) = error else {
        panic!("{error:?}")
    };
    let body = ErrorBody::read(response).await.unwrap();
    assert_eq!(body.message(), Some("Request size too large, limit is 10"));
    assert!(matches!(body, ErrorBody::SizeLimit(_)));
}

#[tokio::test]
async fn a_429_comes_back_with_its_status_and_retry_after() {
    let server = server().await;
    let error = update_answered_with(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "2"),
    )
    .await;
    let Error::UnexpectedResponse(response) = error else {
        panic!("{error:?}")
    };
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
}

/// With OAuth, a request carries `Authorization: Bearer <token>`, as
/// Copper's OAuth quick start sends it, and the application header every
/// call carries, but neither the API key's header nor the user e-mail; a
/// redirect is not followed, so the token reaches no other host.
#[tokio::test]
async fn an_oauth_client_sends_only_the_bearer_token_and_follows_no_redirect() {
    let server = server().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(UPDATE))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/steal", elsewhere.uri()).as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let http = http_client_builder(Duration::from_secs(5), Duration::from_secs(5))
        .build()
        .unwrap();
    let client = Client::new_with_client(
        &server.uri(),
        http,
        Inner::new(Credentials::oauth(TOKEN).unwrap()),
    );
    let error = client
        .people_bulk_update(None, &update_body())
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(307));
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].headers["x-pw-application"], "developer_api");
    for name in ["x-pw-accesstoken", "x-pw-useremail"] {
        assert!(!received[0].headers.contains_key(name), "{name}");
    }
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = server().await;
    let elsewhere = MockServer::start().await;
    let location = format!("{}/steal", elsewhere.uri());
    let error = update_answered_with(
        &server,
        ResponseTemplate::new(307).insert_header("location", location.as_str()),
    )
    .await;
    assert_eq!(error.status().map(|s| s.as_u16()), Some(307));
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn debug_output_never_shows_the_token() {
    let api_key = Credentials::new(TOKEN, "me@example.com").unwrap();
    let oauth = Credentials::oauth(TOKEN).unwrap();
    for credentials in [api_key, oauth] {
        let inner = Inner::new(credentials.clone());
        let client = Client::new_with_client("http://127.0.0.1:1", reqwest::Client::new(), inner);
        for text in [
            format!("{credentials:?}"),
            format!("{client:?}"),
            format!("{client:#?}"),
        ] {
            assert!(!text.contains(TOKEN), "{text}");
            assert!(text.contains("<redacted>"), "{text}");
        }

        let mut request = reqwest::Request::new(
            reqwest::Method::POST,
            "http://127.0.0.1:1/".parse().unwrap(),
        );
        credentials.apply(&mut request).await.unwrap();
        let text = format!("{request:?} {:?}", request.headers());
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!request.headers().is_empty(), "{text}");
    }
}

#[test]
fn bad_credentials_are_refused_without_repeating_them() {
    use copper_bulk_raw::hooks::InvalidCredentials;
    assert_eq!(
        Credentials::new("  ", "me@example.com").unwrap_err(),
        InvalidCredentials::EmptyToken
    );
    let error = Credentials::new("secret\nvalue", "me@example.com").unwrap_err();
    assert_eq!(error, InvalidCredentials::TokenNotAHeaderValue);
    assert!(!error.to_string().contains("secret"));
    assert_eq!(
        Credentials::new(TOKEN, "").unwrap_err(),
        InvalidCredentials::EmptyUserEmail
    );
}
