//! The bulk operations on leads, and their handle [`Leads`].

use std::fmt;
use std::future::Future;

use copper_bulk_raw::Client;
use copper_bulk_raw::types::{
    BulkCreateFailure, BulkUpdateFailure, Lead, LeadCreate, LeadUpdate, LeadsBulkCreateRequest,
    LeadsBulkUpdateRequest, LeadsSearchRequest, SortDirection,
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

/// `POST /leads/bulk_update`: [`LeadUpdate`] records, [`Lead`] results.
#[derive(Clone, Copy, Debug, Default)]
pub struct LeadsUpdate;

impl Sealed for LeadsUpdate {}

impl Operation for LeadsUpdate {
    type Record = LeadUpdate;
    type Output = Lead;
    type Failure = BulkUpdateFailure;
    type Body = LeadsBulkUpdateRequest;
    const ENTITY: &'static str = "leads";
    const KIND: Kind = Kind::Update;
    const OPERATION: &'static str = "leads_bulk_update";
    const COMPUTED_VALUES: bool = true;

    fn body(leads: Vec<LeadUpdate>) -> LeadsBulkUpdateRequest {
        LeadsBulkUpdateRequest { leads }
    }

    fn into_records(body: LeadsBulkUpdateRequest) -> Vec<LeadUpdate> {
        body.leads
    }

    fn send<'a>(
        client: &'a Client,
        computed_values: Option<bool>,
        body: &'a LeadsBulkUpdateRequest,
    ) -> impl Future<Output = RawResult<Lead, BulkUpdateFailure>> + Send + 'a {
        client.leads_bulk_update(computed_values, body)
    }

    fn sent_id(record: &LeadUpdate) -> Option<i64> {
        Some(record.id)
    }

    fn returned_id(record: &Lead) -> i64 {
        record.id
    }
}

/// `POST /leads/bulk_create`: [`LeadCreate`] records, [`Lead`] results.
///
/// Copper's answer to each record is checked against what the record set of
/// the fields Copper echoes: name, e-mail address, phone numbers, company
/// name, title, details, status, status id, monetary unit, assignee,
/// customer source, tags and custom field values (text compared without
/// regard to case and spacing, phone numbers by their digits). Two
/// different records of one request that differ only in the name's parts,
/// address, socials, websites or monetary value (fields Copper may rewrite,
/// and so not compared) cannot be told apart: their outcomes are
/// [`Unknown`](crate::RecordResult::Unknown) with
/// [`Error::Indistinguishable`](crate::Error::Indistinguishable).
#[derive(Clone, Copy, Debug, Default)]
pub struct LeadsCreate;

impl Sealed for LeadsCreate {}

impl Operation for LeadsCreate {
    type Record = LeadCreate;
    type Output = Lead;
    type Failure = BulkCreateFailure;
    type Body = LeadsBulkCreateRequest;
    const ENTITY: &'static str = "leads";
    const KIND: Kind = Kind::Create;
    const OPERATION: &'static str = "leads_bulk_create";
    const COMPUTED_VALUES: bool = true;
    // Not compared: the name's parts (Copper derives them from the name,
    // and the name from them), the address (Copper may tidy it), socials
    // and websites (Copper may rewrite a URL), the monetary value (Copper
    // may round it).
    const ECHOED: &'static [(&'static str, Compare)] = &[
        ("name", Compare::Text),
        ("email", Compare::Texts(Some("email"))),
        ("phone_numbers", Compare::PhoneNumbers),
        ("company_name", Compare::Text),
        ("title", Compare::Text),
        ("details", Compare::Text),
        ("status", Compare::Text),
        ("status_id", Compare::Number),
        ("monetary_unit", Compare::Text),
        ("assignee_id", Compare::Number),
        ("customer_source_id", Compare::Number),
        ("tags", Compare::Texts(None)),
        ("custom_fields", Compare::CustomFields),
    ];

    fn body(leads: Vec<LeadCreate>) -> LeadsBulkCreateRequest {
        LeadsBulkCreateRequest { leads }
    }

    fn into_records(body: LeadsBulkCreateRequest) -> Vec<LeadCreate> {
        body.leads
    }

    fn send<'a>(
        client: &'a Client,
        computed_values: Option<bool>,
        body: &'a LeadsBulkCreateRequest,
    ) -> impl Future<Output = RawResult<Lead, BulkCreateFailure>> + Send + 'a {
        client.leads_bulk_create(computed_values, body)
    }

    fn sent_id(_record: &LeadCreate) -> Option<i64> {
        None
    }

    fn returned_id(record: &Lead) -> i64 {
        record.id
    }

    const KEY: &'static str = "e-mail address";

    fn keys(record: &LeadCreate) -> Vec<String> {
        record
            .email
            .iter()
            .map(|email| email_key(&email.email))
            .filter(|key| !key.is_empty())
            .collect()
    }

    fn found_keys(record: &Lead) -> Vec<String> {
        record
            .email
            .iter()
            .filter_map(|email| email.email.as_deref())
            .map(email_key)
            .collect()
    }

    fn date_created(record: &Lead) -> Option<i64> {
        record.date_created
    }

    // Copper's lead search takes one e-mail address a request.
    async fn search(client: &Client, keys: &[String], page: Page) -> SearchResult<Lead> {
        let body = LeadsSearchRequest {
            emails: keys.first().cloned(),
            page_number: Some(page.number),
            page_size: Some(page.size),
            // Oldest first: a record made while the pages are read then
            // comes last, and shifts no page already read.
            sort_by: Some("date_created".into()),
            sort_direction: Some(SortDirection::Asc),
            ..LeadsSearchRequest::default()
        };
        client.leads_search(None, &body).await
    }
}

impl Upsert for LeadsCreate {
    type Update = LeadsUpdate;
    const MATCH: Match = Match::Email;
}

/// Bulk creates and updates of leads: [`Copper::leads`](crate::Copper::leads). An account can
/// have Leads switched off: every request is then refused with a 403
/// `Feature not enabled`, and the run stops at the first.
///
/// Every operation takes any number of records, as an iterator or a
/// stream, and returns their [`Outcomes`] in input order.
#[derive(Clone)]
pub struct Leads(pub(crate) Handle);

impl fmt::Debug for Leads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug("Leads", f)
    }
}

impl Leads {
    /// Asks Copper to add each custom field's `computed_value` (option
    /// labels for dropdowns and multi-selects) to the leads it returns.
    pub fn with_computed_custom_field_values(self) -> Self {
        Leads(self.0.with_computed_values())
    }

    /// Updates existing leads ([`LeadsUpdate`]): each record names its
    /// record by `id`; see [`Kind::Update`] for what is sent and retried.
    pub fn bulk_update<I>(&self, records: I) -> Outcomes<Lead>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<LeadUpdate>,
    {
        self.0.bulk::<LeadsUpdate, _>(records)
    }

    /// [`Leads::bulk_update`], from a stream of records.
    pub fn bulk_update_stream<S>(&self, records: S) -> Outcomes<Lead>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<LeadUpdate>,
    {
        self.0.bulk_stream::<LeadsUpdate, _>(records)
    }

    /// Creates leads ([`LeadsCreate`]); see [`Kind::Create`] for why a
    /// request that may have reached Copper is never sent again.
    pub fn bulk_create<I>(&self, records: I) -> Outcomes<Lead>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<LeadCreate>,
    {
        self.0.bulk::<LeadsCreate, _>(records)
    }

    /// [`Leads::bulk_create`], from a stream of records.
    pub fn bulk_create_stream<S>(&self, records: S) -> Outcomes<Lead>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<LeadCreate>,
    {
        self.0.bulk_stream::<LeadsCreate, _>(records)
    }

    /// For each e-mail address, the ids of the leads that hold it, in
    /// increasing order (none for an address no lead holds). Addresses are
    /// the map's keys as Copper compares them: trimmed and in lower case.
    /// Copper's lead search takes one address, so each address costs a
    /// search (and more when over two hundred leads hold it); searches
    /// count toward Copper's 180 requests a minute. Converted leads are
    /// left out, as Copper's search leaves them out.
    pub async fn ids_by_email<I>(&self, emails: I) -> Result<BTreeMap<String, Vec<i64>>, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.0.ids_by_key::<LeadsCreate>(email_keys(emails)).await
    }

    /// Updates the lead that holds each record's e-mail address, or creates
    /// one when no lead does: an upsert by e-mail in bulk. `by` must be
    /// [`Match::Email`]. Copper does not keep leads' addresses unique, so a
    /// record whose address several leads hold is
    /// [`Ambiguous`](crate::MatchedResult::Ambiguous), and nothing is sent
    /// for it; a record without an address, or with an address an earlier
    /// record of the input has, is invalid. The update sets every field
    /// the record sets. Converted leads are not matched (Copper's search
    /// leaves them out).
    ///
    /// Records are looked up two hundred at a time, with one search per
    /// address (Copper's lead search takes one), and sent as bulk updates
    /// and creates with the retries and reconciliation of
    /// [`Leads::bulk_update`] and [`Leads::bulk_create`].
    pub fn bulk_upsert<I>(&self, records: I, by: Match) -> MatchedOutcomes<Lead>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<LeadCreate>,
    {
        self.bulk_upsert_stream(stream::iter(records), by)
    }

    /// [`Leads::bulk_upsert`], from a stream of records.
    pub fn bulk_upsert_stream<S>(&self, records: S, by: Match) -> MatchedOutcomes<Lead>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<LeadCreate>,
    {
        self.0.matched::<LeadsCreate, _>(records, by, Mode::Upsert)
    }

    /// [`Leads::bulk_upsert`] without the creates: a record whose address
    /// no lead holds is [`MatchedResult::NotFound`](crate::MatchedResult::NotFound).
    pub fn bulk_update_matched<I>(&self, records: I, by: Match) -> MatchedOutcomes<Lead>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<LeadCreate>,
    {
        self.bulk_update_matched_stream(stream::iter(records), by)
    }

    /// [`Leads::bulk_update_matched`], from a stream of records.
    pub fn bulk_update_matched_stream<S>(&self, records: S, by: Match) -> MatchedOutcomes<Lead>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<LeadCreate>,
    {
        self.0
            .matched::<LeadsCreate, _>(records, by, Mode::UpdateOnly)
    }
}
