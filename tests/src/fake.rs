//! A scriptable fake of Copper's bulk endpoints, on 127.0.0.1, for tests
//! of the facade.
//!
//! It runs on the test's own tokio runtime, so a test with a paused clock
//! sees its delays and timestamps in the same (virtual) time as the
//! client's rate limiter and backoff.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

/// A request the fake received.
#[derive(Clone, Debug)]
pub struct Received {
    /// When it arrived, on tokio's clock.
    pub at: Instant,
    /// Its path.
    pub path: String,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its JSON body.
    pub body: Value,
}

impl Received {
    /// The records of the request (the array under its one key).
    pub fn records(&self) -> &[Value] {
        self.body
            .as_object()
            .and_then(|object| object.values().next())
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// Whether it is a bulk update.
    pub fn is_update(&self) -> bool {
        self.path.ends_with("/bulk_update")
    }
}

/// How the fake answers one request.
pub enum Reply {
    /// 200 with one person per record: the sent id for updates, a new id
    /// for creates.
    Echo,
    /// 200 with the echoed items passed through a function first.
    EchoThen(Box<dyn Fn(Vec<Value>) -> Vec<Value> + Send>),
    /// A status, headers and a body.
    Status(u16, Vec<(&'static str, String)>, String),
    /// Another reply, after a delay.
    After(Duration, Box<Reply>),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Echo => f.write_str("Echo"),
            Reply::EchoThen(_) => f.write_str("EchoThen(..)"),
            Reply::Status(status, headers, body) => f
                .debug_tuple("Status")
                .field(status)
                .field(headers)
                .field(body)
                .finish(),
            Reply::After(delay, then) => f.debug_tuple("After").field(delay).field(then).finish(),
        }
    }
}

type Script = Box<dyn FnMut(usize, &Received) -> Reply + Send>;

struct Inner {
    received: Vec<Received>,
    script: Script,
    next_id: i64,
    in_flight: usize,
    max_in_flight: usize,
}

/// A running fake.
#[derive(Clone)]
pub struct FakeCopper {
    url: String,
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for FakeCopper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCopper")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl FakeCopper {
    /// Starts a fake that answers request `n` (from 0) with `script(n, request)`.
    pub async fn start(script: impl FnMut(usize, &Received) -> Reply + Send + 'static) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            received: Vec::new(),
            script: Box::new(script),
            next_id: 1_000_000,
            in_flight: 0,
            max_in_flight: 0,
        }));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeCopper { url, inner }
    }

    /// A fake that echoes every request.
    pub async fn echo() -> Self {
        FakeCopper::start(|_, _| Reply::Echo).await
    }

    /// Its base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// The most requests it was handling at once.
    pub fn max_in_flight(&self) -> usize {
        self.inner.lock().unwrap().max_in_flight
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = Received {
        at: Instant::now(),
        path: uri.path().to_owned(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let (reply, echo) = {
        let mut inner = inner.lock().unwrap();
        let n = inner.received.len();
        inner.received.push(received.clone());
        inner.in_flight += 1;
        inner.max_in_flight = inner.max_in_flight.max(inner.in_flight);
        let reply = (inner.script)(n, &received);
        let echo = echo(&mut inner.next_id, &received);
        (reply, echo)
    };
    let response = respond(reply, echo).await;
    inner.lock().unwrap().in_flight -= 1;
    response
}

fn echo(next_id: &mut i64, received: &Received) -> Vec<Value> {
    received
        .records()
        .iter()
        .map(|record| {
            let id = if received.is_update() {
                record["id"].clone()
            } else {
                *next_id += 1;
                json!(*next_id)
            };
            json!({
                "id": id,
                "name": record.get("name").cloned().unwrap_or(json!("Unchanged Name")),
                "title": record.get("title").cloned().unwrap_or(Value::Null),
                "emails": record.get("emails").cloned().unwrap_or(json!([])),
                "date_created": 1687360885,
                "date_modified": 1687360885,
            })
        })
        .collect()
}

async fn respond(reply: Reply, echo: Vec<Value>) -> Response {
    let mut reply = reply;
    loop {
        match reply {
            Reply::After(delay, then) => {
                tokio::time::sleep(delay).await;
                reply = *then;
            }
            Reply::Echo => return axum::Json(echo).into_response(),
            Reply::EchoThen(change) => return axum::Json(change(echo)).into_response(),
            Reply::Status(status, headers, body) => {
                let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
                for (name, value) in headers {
                    response.headers_mut().insert(name, value.parse().unwrap());
                }
                return response;
            }
        }
    }
}
