//! The HTTP side: Copper's bulk and search endpoints over the store.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use copper_bulk_raw::types::{
    self, ApiError, BulkCreateFailure, BulkFailureMessage, BulkUpdateFailure, FieldError,
    FieldErrors as FieldErrorsMap, RequestSizeError,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::faults::Fault;
use crate::store::{Entity, Fields, Record, Refusal, Store};
use crate::{SandboxConfig, Stats};

/// Everything a running sandbox holds.
pub(crate) struct State {
    pub(crate) config: SandboxConfig,
    pub(crate) store: Mutex<Store>,
    pub(crate) faults: Mutex<VecDeque<Fault>>,
    pub(crate) stats: Mutex<Stats>,
    /// When the requests inside each rate-limit window were accepted.
    accepted: Mutex<Windows>,
    /// The faults queued for searches, apart from those of bulk requests.
    pub(crate) search_faults: Mutex<VecDeque<Fault>>,
    /// The fields of each entity's response type.
    fields: HashMap<Entity, Vec<(String, bool)>>,
    /// When the sandbox started: the request log counts from here.
    started: Instant,
    /// Draws each request's transit delay (`SandboxConfig::with_jitter`).
    transit: Mutex<ChaCha8Rng>,
}

impl State {
    pub(crate) fn new(config: SandboxConfig, store: Store) -> Self {
        State {
            store: Mutex::new(store),
            faults: Mutex::new(VecDeque::new()),
            stats: Mutex::new(Stats::default()),
            accepted: Mutex::new(Windows::default()),
            search_faults: Mutex::new(VecDeque::new()),
            fields: all_fields(),
            started: Instant::now(),
            transit: Mutex::new(ChaCha8Rng::seed_from_u64(config.seed)),
            config,
        }
    }

    /// Waits out this request's transit delay, when jitter is simulated.
    async fn transit(&self) {
        let delay = transit_delay(&mut self.transit.lock().unwrap(), self.config.jitter);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    pub(crate) fn fields(&self, entity: Entity) -> &Fields {
        self.fields.get(&entity).map_or(&[], Vec::as_slice)
    }

    /// Whether a request of this kind arriving now is over a rate limit
    /// that counts it; if not, it counts towards each. As Copper's, the
    /// per-second limit counts bulk requests only, the account's limit
    /// every request.
    fn over_rate_limit(&self, search: bool) -> bool {
        let now = Instant::now();
        let mut accepted = self.accepted.lock().unwrap();
        let Windows { bulk, account } = &mut *accepted;
        let mut windows = vec![(self.config.account_rate_limit, account)];
        if !search {
            windows.push((self.config.rate_limit, bulk));
        }
        let mut over = false;
        for (limit, accepted) in &mut windows {
            let Some((limit, window)) = *limit else {
                continue;
            };
            while accepted
                .front()
                .is_some_and(|at| now.duration_since(*at) >= window)
            {
                accepted.pop_front();
            }
            over |= accepted.len() >= limit as usize;
        }
        if !over {
            for (_, accepted) in windows {
                accepted.push_back(now);
            }
        }
        over
    }
}

/// A transit delay from 0 to `jitter`, uniformly, to the microsecond.
fn transit_delay(rng: &mut ChaCha8Rng, jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return Duration::ZERO;
    }
    let most = u64::try_from(jitter.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(rng.random_range(0..=most))
}

/// When the requests inside each rate-limit window were accepted.
#[derive(Default)]
struct Windows {
    /// Bulk requests, for the per-second limit.
    bulk: VecDeque<Instant>,
    /// Every request, for the account's limit.
    account: VecDeque<Instant>,
}

pub(crate) fn router(state: Arc<State>) -> Router {
    with_searches(with_endpoints(Router::new()))
        .fallback(|| async { api_error(StatusCode::NOT_FOUND, "Resource not found") })
        .with_state(state)
}

/// The path of an endpoint: its key and whether it updates say it.
fn path<E: Endpoint>() -> String {
    let action = if E::UPDATE { "update" } else { "create" };
    format!("/developer_api/v1/{}/bulk_{action}", E::KEY)
}

/// One bulk endpoint: what it reads, what it answers with.
trait Endpoint {
    /// The generated request record type.
    type Record: DeserializeOwned + Serialize;
    /// The generated response record type.
    type Output: DeserializeOwned + Serialize + JsonSchema;
    const ENTITY: Entity;
    /// The key of the request's list.
    const KEY: &'static str;
    /// Whether records name an existing record by id (an update).
    const UPDATE: bool;
    /// Whether it takes `custom_field_computed_values`.
    const COMPUTED_VALUES: bool;
}

macro_rules! endpoints {
    ($($name:ident: $entity:ident, $key:literal, $record:ident -> $output:ident, update: $update:literal, computed: $computed:literal;)*) => {
    $(
        struct $name;

        impl Endpoint for $name {
            type Record = types::$record;
            type Output = types::$output;
            const ENTITY: Entity = Entity::$entity;
            const KEY: &'static str = $key;
            const UPDATE: bool = $update;
            const COMPUTED_VALUES: bool = $computed;
        }
    )*

        /// `router` with a route to every endpoint.
        fn with_endpoints(router: Router<Arc<State>>) -> Router<Arc<State>> {
            router$(.route(&path::<$name>(), post(bulk::<$name>)))*
        }
    };
}

/// One search endpoint: the generated request and response types it reads
/// and answers with.
trait SearchEndpoint {
    type Request: DeserializeOwned + Serialize;
    type Output: DeserializeOwned + Serialize;
    const ENTITY: Entity;
    /// The path's word for the records (`people`).
    const KEY: &'static str;
    /// Whether it takes `custom_field_computed_values`.
    const COMPUTED_VALUES: bool;
}

macro_rules! searches {
    ($($name:ident: $entity:ident, $key:literal, $request:ident -> $output:ident, computed: $computed:literal;)*) => {
    $(
        struct $name;

        impl SearchEndpoint for $name {
            type Request = types::$request;
            type Output = types::$output;
            const ENTITY: Entity = Entity::$entity;
            const KEY: &'static str = $key;
            const COMPUTED_VALUES: bool = $computed;
        }
    )*

        /// `router` with a route to every search.
        fn with_searches(router: Router<Arc<State>>) -> Router<Arc<State>> {
            router$(.route(
                &format!("/developer_api/v1/{}/search", $name::KEY),
                post(search::<$name>),
            ))*
        }
    };
}

searches! {
    PeopleSearch: People, "people", PeopleSearchRequest -> Person, computed: true;
    LeadsSearch: Leads, "leads", LeadsSearchRequest -> Lead, computed: true;
    CompaniesSearch: Companies, "companies", CompaniesSearchRequest -> Company, computed: true;
    OpportunitiesSearch: Opportunities, "opportunities", OpportunitiesSearchRequest -> Opportunity, computed: true;
    ActivitiesSearch: Activities, "activities", ActivitiesSearchRequest -> Activity, computed: false;
}

endpoints! {
    PeopleUpdate: People, "people", PersonUpdate -> Person, update: true, computed: true;
    PeopleCreate: People, "people", PersonCreate -> Person, update: false, computed: true;
    LeadsUpdate: Leads, "leads", LeadUpdate -> Lead, update: true, computed: true;
    LeadsCreate: Leads, "leads", LeadCreate -> Lead, update: false, computed: true;
    CompaniesUpdate: Companies, "companies", CompanyUpdate -> Company, update: true, computed: false;
    CompaniesCreate: Companies, "companies", CompanyCreate -> Company, update: false, computed: false;
    OpportunitiesCreate: Opportunities, "opportunities", OpportunityCreate -> Opportunity, update: false, computed: false;
    ActivitiesCreate: Activities, "activities", ActivityCreate -> Activity, update: false, computed: false;
}

async fn bulk<E: Endpoint>(
    AxumState(state): AxumState<Arc<State>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // A server goes on with a request whose client hung up, as Copper may:
    // the work runs as its own task, which the connection's end does not
    // cancel, so a client that times out (or is killed) while a request is
    // held has it applied all the same.
    let work = tokio::spawn(async move {
        counted(&state, async {
            match computed_values(E::COMPUTED_VALUES, uri.query()) {
                Ok(computed) => answer::<E>(&state, &headers, &body, computed).await,
                Err(refusal) => *refusal,
            }
        })
        .await
    });
    work.await.unwrap_or_else(|error| {
        api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the sandbox failed: {error}"),
        )
    })
}

async fn search<S: SearchEndpoint>(
    AxumState(state): AxumState<Arc<State>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.stats.lock().unwrap().searches += 1;
    counted(&state, async {
        match computed_values(S::COMPUTED_VALUES, uri.query()) {
            Ok(computed) => answer_search::<S>(&state, &headers, &body, computed).await,
            Err(refusal) => *refusal,
        }
    })
    .await
}

/// Answers with `answer`, counting the request in the statistics.
async fn counted(state: &State, answer: impl Future<Output = Response>) -> Response {
    state.stats.lock().unwrap().received += 1;
    let arrived = state
        .config
        .keep_request_log
        .then(|| state.started.elapsed());
    let response = answer.await;
    state
        .stats
        .lock()
        .unwrap()
        .count(response.status().as_u16(), arrived);
    response
}

/// The checks every request goes through before its body is read: the
/// credentials, the Leads feature, the rate limits.
fn admit(state: &State, headers: &HeaderMap, entity: Entity, search: bool) -> Option<Response> {
    if let Some(refusal) = authorize(&state.config, headers) {
        return Some(refusal);
    }
    if entity == Entity::Leads && !state.config.leads_enabled {
        return Some(api_error(StatusCode::FORBIDDEN, "Feature not enabled"));
    }
    if state.over_rate_limit(search) {
        return Some(StatusCode::TOO_MANY_REQUESTS.into_response());
    }
    None
}

/// A search: the page of matching records, with the number of matches in
/// `X-Pw-Total`. Searches take their faults from their own queue, so that a
/// fault meant for a bulk request is never spent on a look-up.
async fn answer_search<S: SearchEndpoint>(
    state: &State,
    headers: &HeaderMap,
    body: &[u8],
    computed_values: bool,
) -> Response {
    state.transit().await;
    if let Some(refusal) = admit(state, headers, S::ENTITY, true) {
        return refusal;
    }
    let fault = state.search_faults.lock().unwrap().pop_front();
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    match &fault {
        Some(Fault::Status(status) | Fault::StatusAfterApplying(status)) => {
            return status_response(*status);
        }
        Some(Fault::DropBeforeApplying | Fault::DropAfterApplying) => return dropped(Vec::new()),
        Some(Fault::Delay(delay)) => tokio::time::sleep(*delay).await,
        _ => {}
    }
    let invalid = |why: String| {
        api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("Invalid input: {why}"),
        )
    };
    // An empty body is the empty search, which lists everything.
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let mut reader = serde_json::Deserializer::from_slice(body);
    let typed: S::Request = match serde_path_to_error::deserialize(&mut reader) {
        Ok(typed) => typed,
        Err(error) => return invalid(format!("{}: {}", error.path(), error.inner())),
    };
    // What the generated type kept of the criteria: only what the spec allows.
    let Value::Object(criteria) = serde_json::to_value(&typed).expect("requests serialize") else {
        return invalid("the body is not a JSON object".to_owned());
    };
    let paging = match crate::search::Paging::of(&criteria) {
        Ok(paging) => paging,
        Err(why) => return invalid(why),
    };
    let fields = state.fields(S::ENTITY);
    let (mut items, total): (Vec<Value>, usize) = {
        let store = state.store.lock().unwrap();
        let (page, total) =
            crate::search::search(S::ENTITY, &criteria, &paging, store.all(S::ENTITY));
        let items = page
            .into_iter()
            .map(|record| as_copper_sends::<S::Output>(record.clone(), fields, computed_values))
            .collect();
        (items, total)
    };
    if let Some(refusal) = spoil(fault, &mut items) {
        return refusal;
    }
    let mut response = axum::Json(items).into_response();
    response
        .headers_mut()
        .insert("x-pw-total", header::HeaderValue::from(total));
    response
}

/// Spoils an answer's items as `fault` says, or returns the answer that
/// replaces them.
fn spoil(fault: Option<Fault>, items: &mut Vec<Value>) -> Option<Response> {
    match fault {
        Some(Fault::StatusAfterApplying(status)) => return Some(status_response(status)),
        Some(Fault::DropAfterApplying) => return Some(dropped(Vec::new())),
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
            return Some(dropped(body[..body.len() / 2].to_vec()));
        }
        _ => {}
    }
    None
}

/// The `custom_field_computed_values` query flag: absent, `true` or `false`.
/// An endpoint that does not take the flag ignores it.
fn computed_values(accepted: bool, query: Option<&str>) -> Result<bool, Box<Response>> {
    if !accepted {
        return Ok(false);
    }
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
    state.transit().await;
    if let Some(refusal) = admit(state, headers, E::ENTITY, false) {
        return refusal;
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
    if E::UPDATE
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
    let fields = state.fields(E::ENTITY);
    let mut items: Vec<Value> = {
        let mut store = state.store.lock().unwrap();
        records
            .into_iter()
            .map(|record| apply::<E>(&mut store, record, fields, now, computed_values))
            .collect()
    };

    if let Some(refusal) = spoil(fault, &mut items) {
        return refusal;
    }
    axum::Json(items).into_response()
}

/// Reads one request record with the generated request type and applies
/// it; returns its item of the answer.
fn apply<E: Endpoint>(
    store: &mut Store,
    record: Value,
    fields: &Fields,
    now: i64,
    computed_values: bool,
) -> Value {
    let id = record.get("id").and_then(Value::as_i64);
    let failure = |message: BulkFailureMessage| -> Value {
        let failure = match (E::UPDATE, id) {
            (true, Some(id)) => serde_json::to_value(BulkUpdateFailure {
                id,
                message,
                success: false,
            }),
            _ => serde_json::to_value(BulkCreateFailure {
                message,
                success: false,
            }),
        };
        failure.expect("failures serialize")
    };
    let typed = match serde_path_to_error::deserialize::<_, E::Record>(record) {
        Ok(typed) => typed,
        Err(error) => {
            let field = field_of(error.path());
            let errors = BTreeMap::from([(
                field,
                vec![FieldError {
                    error: "invalid".to_owned(),
                }],
            )]);
            return failure(BulkFailureMessage::FieldErrors(FieldErrorsMap(errors)));
        }
    };
    // What the generated type kept of the record: only what the spec allows.
    let Value::Object(change) = serde_json::to_value(&typed).expect("records serialize") else {
        unreachable!("records serialize to objects")
    };
    let applied = match id {
        Some(id) if E::UPDATE => store.update(E::ENTITY, id, &change, fields, now),
        _ => store.create(E::ENTITY, &change, fields, now),
    };
    match applied {
        Ok(stored) => as_copper_sends::<E::Output>(stored, fields, computed_values),
        Err(Refusal::NotFound) => {
            failure(BulkFailureMessage::String("Resource not found".to_owned()))
        }
        Err(Refusal::Fields(errors)) => {
            failure(BulkFailureMessage::FieldErrors(FieldErrorsMap(errors)))
        }
    }
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

/// Copper's 401. A request with `Authorization: Bearer` must carry the
/// OAuth access token the sandbox was given; any other request, the three
/// API-key headers of its account. Either way it must say
/// `X-PW-Application: developer_api`, which Copper's requests page asks of
/// every call. Copper documents no body for a refused bearer token; the
/// sandbox answers it as it answers a refused API key.
fn authorize(config: &SandboxConfig, headers: &HeaderMap) -> Option<Response> {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let application = value("x-pw-application") == "developer_api";
    if headers.contains_key(header::AUTHORIZATION) {
        let bearer = value("authorization")
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let ok = application && bearer.is_some() && bearer == config.oauth_token.as_deref();
        return (!ok).then(|| api_error(StatusCode::UNAUTHORIZED, "Invalid access token"));
    }
    let ok = value("x-pw-accesstoken") == config.token
        && application
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

/// The JSON properties of a response type, and whether each is a list.
pub(crate) fn fields_of<T: JsonSchema>() -> Vec<(String, bool)> {
    let schema = schemars::schema_for!(T);
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
}

/// The fields of each entity's response type.
pub(crate) fn all_fields() -> HashMap<Entity, Vec<(String, bool)>> {
    HashMap::from([
        (Entity::People, fields_of::<types::Person>()),
        (Entity::Leads, fields_of::<types::Lead>()),
        (Entity::Companies, fields_of::<types::Company>()),
        (Entity::Opportunities, fields_of::<types::Opportunity>()),
        (Entity::Activities, fields_of::<types::Activity>()),
    ])
}

/// A stored record as Copper sends one: read through the generated response
/// type `T` (so nothing the spec does not allow goes out), with every field
/// present, `null` when unset and `[]` for an empty list (the generated
/// type leaves unset fields out); with computed values asked for, each
/// custom field's `computed_value` (a copy of its value: the sandbox has no
/// dropdown labels).
fn as_copper_sends<T: DeserializeOwned + Serialize>(
    stored: Record,
    fields: &Fields,
    computed_values: bool,
) -> Value {
    let typed: T =
        serde_json::from_value(Value::Object(stored)).expect("stored records are valid responses");
    let Value::Object(mut out) = serde_json::to_value(typed).expect("records serialize") else {
        unreachable!("records serialize to objects")
    };
    for (name, is_list) in fields {
        out.entry(name.clone())
            .or_insert_with(|| if *is_list { json!([]) } else { Value::Null });
    }
    if computed_values && let Some(Value::Array(custom_fields)) = out.get_mut("custom_fields") {
        for field in custom_fields.iter_mut().filter_map(Value::as_object_mut) {
            let value = field.get("value").cloned().unwrap_or(Value::Null);
            field.insert("computed_value".to_owned(), value);
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transit_delays_spread_over_the_jitter_and_repeat_with_the_seed() {
        let jitter = Duration::from_millis(120);
        let draw = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..1_000)
                .map(|_| transit_delay(&mut rng, jitter))
                .collect::<Vec<_>>()
        };
        let delays = draw(7);
        assert_eq!(delays, draw(7), "the same seed, the same delays");
        assert_ne!(delays, draw(8));
        assert!(delays.iter().all(|delay| *delay <= jitter));
        assert!(delays.iter().any(|delay| *delay < jitter / 10));
        assert!(delays.iter().any(|delay| *delay > jitter * 9 / 10));
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        assert_eq!(transit_delay(&mut rng, Duration::ZERO), Duration::ZERO);
    }
}
