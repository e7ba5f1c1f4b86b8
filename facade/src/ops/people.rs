//! The bulk operations on people, and their handle [`People`].

use std::fmt;
use std::future::Future;

use copper_bulk_raw::Client;
use copper_bulk_raw::types::{
    BulkCreateFailure, BulkUpdateFailure, PeopleBulkCreateRequest, PeopleBulkUpdateRequest,
    PeopleSearchRequest, Person, PersonCreate, PersonUpdate, SortDirection,
};
use std::collections::BTreeMap;

use futures_util::stream::{self, Stream};

use super::sealed::Sealed;
use super::{Kind, Operation, Page, RawResult, SearchResult, Upsert, email_key, email_keys};
use crate::client::Handle;
use crate::error::Error;
use crate::matching::Compare;
use crate::outcome::Outcomes;
use crate::record::IntoRecord;
use crate::upsert::{Match, MatchedOutcomes, Mode};

/// `POST /people/bulk_update`: [`PersonUpdate`] records, [`Person`]
/// results.
#[derive(Clone, Copy, Debug, Default)]
pub struct PeopleUpdate;

impl Sealed for PeopleUpdate {}

impl Operation for PeopleUpdate {
    type Record = PersonUpdate;
    type Output = Person;
    type Failure = BulkUpdateFailure;
    type Body = PeopleBulkUpdateRequest;
    const ENTITY: &'static str = "people";
    const KIND: Kind = Kind::Update;
    const OPERATION: &'static str = "people_bulk_update";
    const COMPUTED_VALUES: bool = true;

    fn body(people: Vec<PersonUpdate>) -> PeopleBulkUpdateRequest {
        PeopleBulkUpdateRequest { people }
    }

    fn into_records(body: PeopleBulkUpdateRequest) -> Vec<PersonUpdate> {
        body.people
    }

    fn send<'a>(
        client: &'a Client,
        computed_values: Option<bool>,
        body: &'a PeopleBulkUpdateRequest,
    ) -> impl Future<Output = RawResult<Person, BulkUpdateFailure>> + Send + 'a {
        client.people_bulk_update(computed_values, body)
    }

    fn sent_id(record: &PersonUpdate) -> Option<i64> {
        Some(record.id)
    }

    fn returned_id(record: &Person) -> i64 {
        record.id
    }
}

/// `POST /people/bulk_create`: [`PersonCreate`] records, [`Person`]
/// results.
///
/// Copper's answer to each record is checked against what the record set of
/// the fields Copper echoes: name, e-mail addresses, phone numbers, company
/// name, title, details, assignee, contact type, tags and custom field
/// values (text compared without regard to case and spacing, phone numbers
/// by their digits). Two different records of one request that differ only
/// in the name's parts, address, socials or websites (fields Copper may
/// rewrite, and so not compared), or in fields Copper leaves out of its
/// answer, cannot be told apart: their outcomes are
/// [`Unknown`](crate::RecordResult::Unknown) with
/// [`Error::Indistinguishable`](crate::Error::Indistinguishable).
#[derive(Clone, Copy, Debug, Default)]
pub struct PeopleCreate;

impl Sealed for PeopleCreate {}

impl Operation for PeopleCreate {
    type Record = PersonCreate;
    type Output = Person;
    type Failure = BulkCreateFailure;
    type Body = PeopleBulkCreateRequest;
    const ENTITY: &'static str = "people";
    const KIND: Kind = Kind::Create;
    const OPERATION: &'static str = "people_bulk_create";
    const COMPUTED_VALUES: bool = true;
    // Not compared: the name's parts (Copper derives them from the name,
    // and the name from them), the address (Copper may tidy it), socials
    // and websites (Copper may rewrite a URL).
    const ECHOED: &'static [(&'static str, Compare)] = &[
        ("name", Compare::Text),
        ("emails", Compare::Texts(Some("email"))),
        ("phone_numbers", Compare::PhoneNumbers),
        ("company_name", Compare::Text),
        ("title", Compare::Text),
        ("details", Compare::Text),
        ("assignee_id", Compare::Number),
        ("contact_type_id", Compare::Number),
        ("tags", Compare::Texts(None)),
        ("custom_fields", Compare::CustomFields),
    ];

    fn body(people: Vec<PersonCreate>) -> PeopleBulkCreateRequest {
        PeopleBulkCreateRequest { people }
    }

    fn into_records(body: PeopleBulkCreateRequest) -> Vec<PersonCreate> {
        body.people
    }

    fn send<'a>(
        client: &'a Client,
        computed_values: Option<bool>,
        body: &'a PeopleBulkCreateRequest,
    ) -> impl Future<Output = RawResult<Person, BulkCreateFailure>> + Send + 'a {
        client.people_bulk_create(computed_values, body)
    }

    fn sent_id(_record: &PersonCreate) -> Option<i64> {
        None
    }

    fn returned_id(record: &Person) -> i64 {
        record.id
    }

    const KEY: &'static str = "e-mail address";
    // As many addresses as a page holds people: a person has few
    // addresses, so a search's answer is a page or two, and 10,000 people
    // are looked up in some 50 searches.
    const KEYS_PER_SEARCH: usize = 200;

    fn unique_key(_key: &str) -> bool {
        true
    }

    fn keys(record: &PersonCreate) -> Vec<String> {
        record
            .emails
            .iter()
            .map(|email| email_key(&email.email))
            .filter(|key| !key.is_empty())
            .collect()
    }

    fn found_keys(record: &Person) -> Vec<String> {
        record
            .emails
            .iter()
            .flatten()
            .filter_map(|email| email.email.as_deref())
            .map(email_key)
            .collect()
    }

    fn date_created(record: &Person) -> Option<i64> {
        record.date_created
    }

    async fn search(client: &Client, keys: &[String], page: Page) -> SearchResult<Person> {
        let body = PeopleSearchRequest {
            emails: keys.to_vec(),
            page_number: Some(page.number),
            page_size: Some(page.size),
            // Oldest first: a record made while the pages are read then
            // comes last, and shifts no page already read.
            sort_by: Some("date_created".into()),
            sort_direction: Some(SortDirection::Asc),
            ..PeopleSearchRequest::default()
        };
        client.people_search(None, &body).await
    }
}

impl Upsert for PeopleCreate {
    type Update = PeopleUpdate;
    const MATCH: Match = Match::Email;
}

/// Bulk creates and updates of people: [`Copper::people`](crate::Copper::people). E-mail
/// addresses are unique across an account.
///
/// Every operation takes any number of records, as an iterator or a
/// stream, and returns their [`Outcomes`] in input order.
#[derive(Clone)]
pub struct People(pub(crate) Handle);

impl fmt::Debug for People {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug("People", f)
    }
}

impl People {
    /// Asks Copper to add each custom field's `computed_value` (option
    /// labels for dropdowns and multi-selects) to the people it returns.
    pub fn with_computed_custom_field_values(self) -> Self {
        People(self.0.with_computed_values())
    }

    /// Updates existing people ([`PeopleUpdate`]): each record names its
    /// record by `id`; see [`Kind::Update`] for what is sent and retried.
    pub fn bulk_update<I>(&self, records: I) -> Outcomes<Person>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<PersonUpdate>,
    {
        self.0.bulk::<PeopleUpdate, _>(records)
    }

    /// [`People::bulk_update`], from a stream of records.
    pub fn bulk_update_stream<S>(&self, records: S) -> Outcomes<Person>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<PersonUpdate>,
    {
        self.0.bulk_stream::<PeopleUpdate, _>(records)
    }

    /// Creates people ([`PeopleCreate`]); see [`Kind::Create`] for why a
    /// request that may have reached Copper is never sent again.
    pub fn bulk_create<I>(&self, records: I) -> Outcomes<Person>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<PersonCreate>,
    {
        self.0.bulk::<PeopleCreate, _>(records)
    }

    /// For each e-mail address, the ids of the people who hold it, in
    /// increasing order (none for an address nobody holds). Addresses are
    /// the map's keys as Copper compares them: trimmed and in lower case.
    /// Two hundred addresses go in one search, and each search's pages
    /// (two hundred people each) are read to the end; searches count toward
    /// Copper's 180 requests a minute.
    pub async fn ids_by_email<I>(&self, emails: I) -> Result<BTreeMap<String, Vec<i64>>, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.0.ids_by_key::<PeopleCreate>(email_keys(emails)).await
    }

    /// Updates the person who holds each record's e-mail addresses, or
    /// creates one when nobody does: an upsert by e-mail, which Copper
    /// lacks. See [`Match`] for how addresses compare, and
    /// [`MatchedResult`](crate::MatchedResult) for the rules: a record without an address, or
    /// with an address an earlier record of the input has, is invalid; a
    /// record whose addresses several people hold is ambiguous, and
    /// nothing is sent for it. The update sets every field the record sets
    /// (lists such as `emails` replace the person's).
    ///
    /// Records are looked up two hundred at a time, with one search per
    /// two hundred addresses, and sent as bulk updates and creates with the
    /// retries and reconciliation of [`People::bulk_update`] and
    /// [`People::bulk_create`].
    ///
    /// ```no_run
    /// # async fn run(copper: copper_bulk::Copper) {
    /// use copper_bulk::{EmailInput, Match, PersonCreate};
    /// use futures_util::StreamExt;
    ///
    /// let people = [PersonCreate::new("Ada Lovelace").emails([EmailInput::new("ada@example.com")])];
    /// let mut outcomes = copper.people().bulk_upsert(people, Match::Email);
    /// while let Some(outcome) = outcomes.next().await {
    ///     // `updated`, `created`, `ambiguous`, `invalid`, ...
    ///     println!("{}: {}", outcome.index, outcome.result.kind());
    /// }
    /// # }
    /// ```
    pub fn bulk_upsert<I>(&self, records: I, by: Match) -> MatchedOutcomes<Person>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<PersonCreate>,
    {
        self.bulk_upsert_stream(stream::iter(records), by)
    }

    /// [`People::bulk_upsert`], from a stream of records.
    pub fn bulk_upsert_stream<S>(&self, records: S, by: Match) -> MatchedOutcomes<Person>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<PersonCreate>,
    {
        self.0.matched::<PeopleCreate, _>(records, by, Mode::Upsert)
    }

    /// [`People::bulk_upsert`] without the creates: a record whose
    /// addresses nobody holds is [`MatchedResult::NotFound`](crate::MatchedResult::NotFound).
    pub fn bulk_update_matched<I>(&self, records: I, by: Match) -> MatchedOutcomes<Person>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<PersonCreate>,
    {
        self.bulk_update_matched_stream(stream::iter(records), by)
    }

    /// [`People::bulk_update_matched`], from a stream of records.
    pub fn bulk_update_matched_stream<S>(&self, records: S, by: Match) -> MatchedOutcomes<Person>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<PersonCreate>,
    {
        self.0
            .matched::<PeopleCreate, _>(records, by, Mode::UpdateOnly)
    }

    /// [`People::bulk_create`], from a stream of records.
    pub fn bulk_create_stream<S>(&self, records: S) -> Outcomes<Person>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<PersonCreate>,
    {
        self.0.bulk_stream::<PeopleCreate, _>(records)
    }
}
