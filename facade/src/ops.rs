//! The bulk operations, each a type that names one endpoint.
//!
//! [`Copper::bulk`](crate::Copper::bulk) and [`plan`](crate::plan) take an
//! operation as a type parameter, so code can be written once for every
//! entity (the `copper-bulk` command-line tool is). Each entity's handle,
//! such as [`People`](crate::People), offers the same operations as methods.
//!
//! Each entity's file (`ops/people.rs`, ...) holds its operation types, each
//! an [`Operation`] impl naming its raw client method, request type, record
//! types and whether it may be sent twice, and its handle. Batching, rate
//! limiting, retries and outcomes are the engine's.

use std::collections::BTreeSet;
use std::future::Future;
use std::num::NonZeroU64;

use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::types::{BulkCreateFailure, BulkUpdateFailure};
use copper_bulk_raw::{Client, ResponseValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::matching::Compare;
use crate::outcome::Rejection;
use crate::upsert::Match;

pub(crate) mod activities;
pub(crate) mod companies;
pub(crate) mod leads;
pub(crate) mod opportunities;
pub(crate) mod people;

pub use activities::ActivitiesCreate;
pub use companies::{CompaniesCreate, CompaniesUpdate};
pub use leads::{LeadsCreate, LeadsUpdate};
pub use opportunities::OpportunitiesCreate;
pub use people::{PeopleCreate, PeopleUpdate};

/// What a raw bulk call returns.
#[doc(hidden)]
pub type RawResult<T, F> = Result<ResponseValue<Vec<BulkItem<T, F>>>, copper_bulk_raw::Error<()>>;

/// Whether an operation creates records or updates existing ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A bulk create.
    ///
    /// Creating is not idempotent: a request that may have reached Copper
    /// is never sent again, and its records get
    /// [`RecordResult::Unknown`](crate::RecordResult::Unknown) outcomes
    /// rather than a chance of duplicates. Only a 429 or a connection that
    /// was never established is retried.
    Create,
    /// A bulk update. Each record names its record by `id` and carries only
    /// the fields to change (`null` clears a field).
    ///
    /// Updates are idempotent, so a request that failed in a way that may
    /// have reached Copper (a 5xx, a timeout) is retried.
    Update,
}

/// One bulk endpoint of Copper's API.
///
/// Implemented only by the types of this module; the hidden items are the
/// engine's.
pub trait Operation: sealed::Sealed + Send + Sync + 'static {
    /// The record sent.
    type Record: Serialize + Send + Sync + 'static;
    /// The record Copper returns.
    type Output: Serialize + Clone + Send + Sync + 'static;
    #[doc(hidden)]
    type Failure: FailureItem + Send + 'static;
    #[doc(hidden)]
    type Body: Serialize + Send + Sync + 'static;
    /// The entity, as in the endpoint's path and the request's key
    /// (`people`).
    const ENTITY: &'static str;
    /// Create or update.
    const KIND: Kind;
    /// The operation id, as in the spec (`people_bulk_update`).
    const OPERATION: &'static str;
    /// Whether the endpoint takes `custom_field_computed_values`; the flag is
    /// not sent to one that does not.
    const COMPUTED_VALUES: bool;

    #[doc(hidden)]
    fn body(records: Vec<Self::Record>) -> Self::Body;
    #[doc(hidden)]
    fn into_records(body: Self::Body) -> Vec<Self::Record>;
    #[doc(hidden)]
    fn send<'a>(
        client: &'a Client,
        computed_values: Option<bool>,
        body: &'a Self::Body,
    ) -> impl Future<Output = RawResult<Self::Output, Self::Failure>> + Send + 'a;
    /// The id an update names; `None` for a create.
    fn sent_id(record: &Self::Record) -> Option<i64>;
    /// The id of a record Copper returned.
    fn returned_id(record: &Self::Output) -> i64;
    /// The fields of a create's record that Copper echoes unchanged in
    /// the record it returns, and how each is compared: an answer whose
    /// items came back out of order is then caught for creates as the id
    /// catches it for updates. None for an update, which the id identifies.
    #[doc(hidden)]
    const ECHOED: &'static [(&'static str, Compare)] = &[];

    /// For a create, what its records are looked up by in Copper when a
    /// request's fate is unknown (`e-mail address`); empty when there is
    /// no way.
    #[doc(hidden)]
    const KEY: &'static str = "";
    /// Whether Copper refuses a second record with this key (people's
    /// e-mail addresses, companies' e-mail domains), so that the key found
    /// on another record means the create was refused.
    #[doc(hidden)]
    fn unique_key(_key: &str) -> bool {
        false
    }
    /// How many keys one search takes.
    #[doc(hidden)]
    const KEYS_PER_SEARCH: usize = 1;
    /// The keys of a record to create, normalized as Copper compares them
    /// (e-mail addresses in lower case); empty when it has none.
    #[doc(hidden)]
    fn keys(_record: &Self::Record) -> Vec<String> {
        Vec::new()
    }
    /// The keys of a record Copper holds, normalized as [`Self::keys`].
    #[doc(hidden)]
    fn found_keys(_record: &Self::Output) -> Vec<String> {
        Vec::new()
    }
    /// When Copper created a record it holds, in unix seconds.
    #[doc(hidden)]
    fn date_created(_record: &Self::Output) -> Option<i64> {
        None
    }
    /// One page of the records that have one of `keys`.
    #[doc(hidden)]
    fn search<'a>(
        _client: &'a Client,
        _keys: &'a [String],
        _page: Page,
    ) -> impl Future<Output = SearchResult<Self::Output>> + Send + 'a {
        std::future::ready(Err(copper_bulk_raw::Error::InvalidRequest(format!(
            "copper offers no search of {}",
            Self::ENTITY
        ))))
    }
}

/// A create whose records can instead update the record Copper holds with
/// the same key, the upsert Copper lacks: people's, leads' and
/// companies'. [`Copper::bulk_upsert_stream`](crate::Copper::bulk_upsert_stream)
/// takes one as a type parameter; each entity's handle offers the same as
/// methods ([`People::bulk_upsert`](crate::People::bulk_upsert), ...).
pub trait Upsert: Operation {
    /// The update of the same entity, which changes the record found.
    type Update: Operation<Output = Self::Output, Record: DeserializeOwned>;
    /// The key the records are matched by: [`Match::Email`] for people
    /// and leads, [`Match::EmailDomain`] for companies.
    const MATCH: Match;

    /// The keys of a record to match by [`Self::MATCH`], normalized as
    /// [`Operation::keys`] (so that [`Operation::search`] finds them);
    /// empty when it has none.
    #[doc(hidden)]
    fn match_keys(record: &Self::Record) -> Vec<String> {
        Self::keys(record)
    }
    /// A key of [`Self::match_keys`] as a message shows it.
    #[doc(hidden)]
    fn key_text(key: &str) -> &str {
        key
    }
}

/// Which page of a search to read, and how many records a page holds.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Page {
    pub number: NonZeroU64,
    pub size: NonZeroU64,
}

/// An e-mail address as Copper compares them: without surrounding spaces,
/// and in lower case.
pub(crate) fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Addresses (or domains) as lookups take them: each as [`email_key`]
/// makes it, blank ones left out.
pub(crate) fn email_keys<I>(emails: I) -> BTreeSet<String>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    emails
        .into_iter()
        .map(|email| email_key(email.as_ref()))
        .filter(|key| !key.is_empty())
        .collect()
}

/// A name as a lookup compares them: spacing and case aside.
pub(crate) fn name_key(name: &str) -> String {
    crate::matching::normalized(name)
}

/// What to search for to find every record whose name has the key `key`
/// (a name as [`name_key`] makes it): its longest word. Copper matches a
/// search's name anywhere in a record's name and without regard to case,
/// but not across spacing it has kept, so the whole key could miss a name
/// with two spaces where the key has one; the records found are then
/// compared by their keys.
pub(crate) fn search_token(key: &str) -> String {
    key.split(' ')
        .max_by_key(|word| word.chars().count())
        .unwrap_or(key)
        .to_owned()
}

/// What a raw search call returns.
#[doc(hidden)]
pub type SearchResult<T> = Result<ResponseValue<Vec<T>>, copper_bulk_raw::Error<()>>;

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A failure item of a bulk response.
#[doc(hidden)]
pub trait FailureItem {
    fn into_rejection(self) -> Rejection;
}

impl FailureItem for BulkUpdateFailure {
    fn into_rejection(self) -> Rejection {
        Rejection::from_message(Some(self.id), self.message)
    }
}

impl FailureItem for BulkCreateFailure {
    fn into_rejection(self) -> Rejection {
        Rejection::from_message(None, self.message)
    }
}
