//! The HTTP side: Copper's bulk endpoints over the store.

use std::collections::VecDeque;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use copper_bulk_raw::types::{ApiError, Person, PersonCreate, PersonUpdate, RequestSizeError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::faults::Fault;
use crate::store::Store;
use crate::{SandboxConfig, Stats};

/// Everything a running sandbox holds.
pub(crate) struct State {
    pub(crate) config: SandboxConfig,
    pub(crate) store: Mutex<Store>,
    pub(crate) faults: Mutex<VecDeque<Fault>>,
    pub(crate) stats: Mutex<Stats>,
    /// When the requests inside the rate-limit window were accepted.
    accepted: Mutex<VecDeque<Instant>>,
}

impl State {
    pub(crate) fn new(config: SandboxConfig, store: Store) -> Self {
        State {
            config,
            store: Mutex::new(store),
            faults: Mutex::new(VecDeque::new()),
            stats: Mutex::new(Stats::default()),
            accepted: Mutex::new(VecDeque::new()),
        }
    }

    /// Whether a request arriving now is over the rate limit; if not, it
    /// counts towards it.
    fn over_rate_limit(&self) -> bool {
        let Some((limit, window)) = self.config.rate_limit else {
            return false;
        };
        let now = Instant::now();
        let mut accepted = self.accepted.lock().unwrap();
        while accepted
            .front()
            .is_some_and(|at| now.duration_since(*at) >= window)
        {
            accepted.pop_front();
        }
        if accepted.len() >= limit as usize {
            return true;
        }
        accepted.push_back(now);
        false
    }
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/developer_api/v1/people/bulk_update", post(bulk::<Update>))
        .route("/developer_api/v1/people/bulk_create", post(bulk::<Create>))
        .fallback(|| async { api_error(StatusCode::NOT_FOUND, "Resource not found") })
        .with_state(state)
}

/// One bulk endpoint.
trait Endpoint {
    type Record: DeserializeOwned;
    type Failure: Serialize;
    const KEY: &'static str;
    /// Whether a record must carry an id (an update).
    const NEEDS_ID: bool;
    fn apply(store: &mut Store, record: Self::Record, now: i64) -> Result<Person, Self::Failure>;
    /// The failure item of a record that did not decode.
    fn undecodable(id: Option<i64>, field: String) -> Value;
}

struct Update;
struct Create;

impl Endpoint for Update {
    type Record = PersonUpdate;
    type Failure = copper_bulk_raw::types::BulkUpdateFailure;
    const KEY: &'static str = "people";
    const NEEDS_ID: bool = true;

    fn apply(store: &mut Store, record: PersonUpdate, now: i64) -> Result<Person, Self::Failure> {
        store.update(record, now)
    }

    fn undecodable(id: Option<i64>, field: String) -> Value {
        json!({"success": false, "message": {field: [{"error": "invalid"}]}, "id": id})
    }
}

impl Endpoint for Create {
    type Record = PersonCreate;
    type Failure = copper_bulk_raw::types::BulkCreateFailure;
    const KEY: &'static str = "people";
    const NEEDS_ID: bool = false;

    fn apply(store: &mut Store, record: PersonCreate, now: i64) -> Result<Person, Self::Failure> {
        store.create(record, now)
    }

    fn undecodable(_: Option<i64>, field: String) -> Value {
        json!({"success": false, "message": {field: [{"error": "invalid"}]}})
    }
}

async fn bulk<E: Endpoint>(
    AxumState(state): AxumState<Arc<State>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = match computed_values(uri.query()) {
        Ok(computed) => answer::<E>(&state, &headers, &body, computed).await,
        Err(refusal) => *refusal,
    };
    state
        .stats
        .lock()
        .unwrap()
        .count(response.status().as_u16());
    response
}

/// The `custom_field_computed_values` query flag: absent, `true` or `false`.
fn computed_values(query: Option<&str>) -> Result<bool, Box<Response>> {
    let mut flag = None;
    for (name, value) in query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
    {
        if name != "custom_field_computed_values" {
            continue;
        }
        let value = match value {
            "true" => true,
            "false" => false,
            other => {
                return Err(Box::new(api_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!(
                        "Invalid input: custom_field_computed_values is `{other}`, not true or false"
                    ),
                )));
            }
        };
        if flag.replace(value).is_some() {
            return Err(Box::new(api_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid input: custom_field_computed_values is given more than once",
            )));
        }
    }
    Ok(flag.unwrap_or(false))
}

async fn answer<E: Endpoint>(
    state: &State,
    headers: &HeaderMap,
    body: &[u8],
    computed_values: bool,
) -> Response {
    if let Some(refusal) = authorize(&state.config, headers) {
        return refusal;
    }
    if state.over_rate_limit() {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    let fault = state.faults.lock().unwrap().pop_front();
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    match &fault {
        Some(Fault::Status(status)) => return status_response(*status),
        Some(Fault::DropBeforeApplying) => return dropped(Vec::new()),
        Some(Fault::Delay(delay)) => tokio::time::sleep(*delay).await,
        _ => {}
    }

    let records = match parse_request(body, E::KEY, state.config.batch_limit) {
        Ok(records) => records,
        Err(refusal) => return *refusal,
    };
    if E::NEEDS_ID
        && let Some(position) = records
            .iter()
            .position(|r| r.get("id").and_then(Value::as_i64).is_none())
    {
        return api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("Invalid input: {}[{position}] has no integer id", E::KEY),
        );
    }

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut items: Vec<Value> = {
        let mut store = state.store.lock().unwrap();
        records
            .into_iter()
            .map(|record| {
                let id = record.get("id").and_then(Value::as_i64);
                match serde_path_to_error::deserialize::<_, E::Record>(record) {
                    Ok(record) => match E::apply(&mut store, record, now) {
                        Ok(person) => as_copper_sends(&person, computed_values),
                        Err(failure) => serde_json::to_value(failure).expect("failures serialize"),
                    },
                    Err(error) => E::undecodable(id, field_of(error.path())),
                }
            })
            .collect()
    };

    match fault {
        Some(Fault::StatusAfterApplying(status)) => return status_response(status),
        Some(Fault::DropAfterApplying) => return dropped(Vec::new()),
        Some(Fault::MalformedItem(position)) => {
            if let Some(item) = items.get_mut(position) {
                *item = json!({"unexpected": "item", "position": position});
            }
        }
        Some(Fault::ShortArray) => {
            items.pop();
        }
        Some(Fault::SwappedItems) if items.len() >= 2 => items.swap(0, 1),
        Some(Fault::TruncatedBody) => {
            let body = serde_json::to_vec(&items).expect("items serialize");
            return dropped(body[..body.len() / 2].to_vec());
        }
        _ => {}
    }
    axum::Json(items).into_response()
}

/// The records of a request body, or the answer that refuses it whole.
fn parse_request(body: &[u8], key: &str, limit: usize) -> Result<Vec<Value>, Box<Response>> {
    let invalid = |why: String| {
        Box::new(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("Invalid input: {why}"),
        ))
    };
    let value: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("the body is not JSON: {e}")))?;
    let Some(Value::Array(records)) = value.get(key) else {
        return Err(invalid(format!("the body has no `{key}` list")));
    };
    if records.len() > limit {
        let body = RequestSizeError {
            error: format!("Request size too large, limit is {limit}"),
        };
        return Err(Box::new(
            (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response(),
        ));
    }
    if records.is_empty() {
        return Err(invalid(format!("`{key}` is empty")));
    }
    Ok(records.clone())
}

/// The field a decoding error is about: the first segment of its path.
fn field_of(path: &serde_path_to_error::Path) -> String {
    path.iter()
        .find_map(|segment| match segment {
            serde_path_to_error::Segment::Map { key } => Some(key.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "record".to_owned())
}

/// Copper's 401: the three headers must name the sandbox's account.
fn authorize(config: &SandboxConfig, headers: &HeaderMap) -> Option<Response> {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let ok = value("x-pw-accesstoken") == config.token
        && value("x-pw-application") == "developer_api"
        && value("x-pw-useremail").eq_ignore_ascii_case(&config.user_email);
    (!ok).then(|| api_error(StatusCode::UNAUTHORIZED, "API Key or Email is invalid"))
}

fn api_error(status: StatusCode, message: &str) -> Response {
    let body = ApiError {
        success: false,
        status: i64::from(status.as_u16()),
        message: message.to_owned(),
    };
    (status, axum::Json(body)).into_response()
}

fn status_response(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::TOO_MANY_REQUESTS {
        return status.into_response();
    }
    api_error(status, status.canonical_reason().unwrap_or("Error"))
}

/// A 200 whose body stops after `prefix` with an error, which makes the
/// server drop the connection: the client gets no complete answer.
fn dropped(prefix: Vec<u8>) -> Response {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from(prefix)),
        Err(std::io::Error::other("the sandbox dropped the connection")),
    ];
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .expect("a valid response")
}

/// The JSON properties of a person, and whether each is a list.
static PERSON_FIELDS: LazyLock<Vec<(String, bool)>> = LazyLock::new(|| {
    let schema = schemars::schema_for!(Person);
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| {
            properties
                .iter()
                .map(|(name, property)| {
                    let is_list = match property.get("type") {
                        Some(Value::String(kind)) => kind == "array",
                        Some(Value::Array(kinds)) => kinds.iter().any(|k| k == "array"),
                        _ => false,
                    };
                    (name.clone(), is_list)
                })
                .collect()
        })
        .unwrap_or_default()
});

/// A person as Copper sends one: every field present, `null` when unset
/// and `[]` for an empty list (the generated type leaves unset fields out);
/// with computed values asked for, each custom field's `computed_value` (a
/// copy of its value: the sandbox has no dropdown labels).
fn as_copper_sends(person: &Person, computed_values: bool) -> Value {
    let Value::Object(mut fields) = serde_json::to_value(person).expect("people serialize") else {
        unreachable!("a person serializes to an object")
    };
    if computed_values && let Some(Value::Array(custom_fields)) = fields.get_mut("custom_fields") {
        for field in custom_fields.iter_mut().filter_map(Value::as_object_mut) {
            let value = field.get("value").cloned().unwrap_or(Value::Null);
            field.insert("computed_value".to_owned(), value);
        }
    }
    for (name, is_list) in PERSON_FIELDS.iter() {
        fields
            .entry(name.clone())
            .or_insert_with(|| if *is_list { json!([]) } else { Value::Null });
    }
    Value::Object(Map::from_iter(fields))
}
