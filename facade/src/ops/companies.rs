//! The bulk operations on companies, and their handle [`Companies`].

use std::fmt;
use std::future::Future;

use copper_bulk_raw::Client;
use copper_bulk_raw::types::{
    BulkCreateFailure, BulkUpdateFailure, CompaniesBulkCreateRequest, CompaniesBulkUpdateRequest,
    CompaniesSearchRequest, Company, CompanyCreate, CompanyUpdate, SortDirection,
};
use std::collections::BTreeMap;

use futures_util::stream::{self, Stream};

use super::sealed::Sealed;
use super::{
    Kind, Operation, Page, RawResult, SearchResult, Upsert, email_key, email_keys, name_key,
    search_token,
};
use crate::client::Handle;
use crate::error::Error;
use crate::matching::Compare;
use crate::outcome::Outcomes;
use crate::record::IntoRecord;
use crate::upsert::{Match, MatchedOutcomes, Mode};

/// `POST /companies/bulk_update`: [`CompanyUpdate`] records, [`Company`]
/// results.
#[derive(Clone, Copy, Debug, Default)]
pub struct CompaniesUpdate;

impl Sealed for CompaniesUpdate {}

impl Operation for CompaniesUpdate {
    type Record = CompanyUpdate;
    type Output = Company;
    type Failure = BulkUpdateFailure;
    type Body = CompaniesBulkUpdateRequest;
    const ENTITY: &'static str = "companies";
    const KIND: Kind = Kind::Update;
    const OPERATION: &'static str = "companies_bulk_update";
    const COMPUTED_VALUES: bool = false;

    fn body(companies: Vec<CompanyUpdate>) -> CompaniesBulkUpdateRequest {
        CompaniesBulkUpdateRequest { companies }
    }

    fn into_records(body: CompaniesBulkUpdateRequest) -> Vec<CompanyUpdate> {
        body.companies
    }

    fn send<'a>(
        client: &'a Client,
        computed_values: Option<bool>,
        body: &'a CompaniesBulkUpdateRequest,
    ) -> impl Future<Output = RawResult<Company, BulkUpdateFailure>> + Send + 'a {
        // The endpoint takes no `custom_field_computed_values`.
        let _ = computed_values;
        client.companies_bulk_update(body)
    }

    fn sent_id(record: &CompanyUpdate) -> Option<i64> {
        Some(record.id)
    }

    fn returned_id(record: &Company) -> i64 {
        record.id
    }
}

/// `POST /companies/bulk_create`: [`CompanyCreate`] records, [`Company`]
/// results.
///
/// Copper's answer to each record is checked against what the record set of
/// the fields Copper echoes: name, e-mail domain, phone numbers, details,
/// assignee, contact type, primary contact, tags and custom field values
/// (text compared without regard to case and spacing, phone numbers by
/// their digits). Two different records of one request that differ only in
/// address, socials or websites (fields Copper may rewrite, and so not
/// compared) cannot be told apart: their outcomes are
/// [`Unknown`](crate::RecordResult::Unknown) with
/// [`Error::Indistinguishable`](crate::Error::Indistinguishable).
#[derive(Clone, Copy, Debug, Default)]
pub struct CompaniesCreate;

impl Sealed for CompaniesCreate {}

impl Operation for CompaniesCreate {
    type Record = CompanyCreate;
    type Output = Company;
    type Failure = BulkCreateFailure;
    type Body = CompaniesBulkCreateRequest;
    const ENTITY: &'static str = "companies";
    const KIND: Kind = Kind::Create;
    const OPERATION: &'static str = "companies_bulk_create";
    const COMPUTED_VALUES: bool = false;
    // Not compared: the address (Copper may tidy it), socials and websites
    // (Copper may rewrite a URL).
    const ECHOED: &'static [(&'static str, Compare)] = &[
        ("name", Compare::Text),
        ("email_domain", Compare::Text),
        ("phone_numbers", Compare::PhoneNumbers),
        ("details", Compare::Text),
        ("assignee_id", Compare::Number),
        ("contact_type_id", Compare::Number),
        ("primary_contact_id", Compare::Number),
        ("tags", Compare::Texts(None)),
        ("custom_fields", Compare::CustomFields),
    ];

    fn body(companies: Vec<CompanyCreate>) -> CompaniesBulkCreateRequest {
        CompaniesBulkCreateRequest { companies }
    }

    fn into_records(body: CompaniesBulkCreateRequest) -> Vec<CompanyCreate> {
        body.companies
    }

    fn send<'a>(
        client: &'a Client,
        computed_values: Option<bool>,
        body: &'a CompaniesBulkCreateRequest,
    ) -> impl Future<Output = RawResult<Company, BulkCreateFailure>> + Send + 'a {
        // The endpoint takes no `custom_field_computed_values`.
        let _ = computed_values;
        client.companies_bulk_create(body)
    }

    fn sent_id(_record: &CompanyCreate) -> Option<i64> {
        None
    }

    fn returned_id(record: &Company) -> i64 {
        record.id
    }

    const KEY: &'static str = "e-mail domain or name";

    // A company's e-mail domain is unique in Copper; its name is not.
    fn unique_key(key: &str) -> bool {
        key.starts_with(DOMAIN)
    }

    fn keys(record: &CompanyCreate) -> Vec<String> {
        match domain_key(record) {
            Some(domain) => vec![domain],
            None => vec![format!("{NAME}{}", name_key(&record.name))],
        }
    }

    fn found_keys(record: &Company) -> Vec<String> {
        let domain = record
            .email_domain
            .as_deref()
            .map(|domain| format!("{DOMAIN}{}", email_key(domain)));
        let name = format!("{NAME}{}", name_key(&record.name));
        domain.into_iter().chain([name]).collect()
    }

    fn date_created(record: &Company) -> Option<i64> {
        record.date_created
    }

    async fn search(client: &Client, keys: &[String], page: Page) -> SearchResult<Company> {
        let key = keys.first().map_or("", String::as_str);
        let mut body = CompaniesSearchRequest {
            page_number: Some(page.number),
            page_size: Some(page.size),
            // Oldest first: a record made while the pages are read then
            // comes last, and shifts no page already read.
            sort_by: Some("date_created".into()),
            sort_direction: Some(SortDirection::Asc),
            ..CompaniesSearchRequest::default()
        };
        match key.strip_prefix(DOMAIN) {
            Some(domain) => body.email_domains = Some(domain.to_owned()),
            None => body.name = Some(search_token(key.trim_start_matches(NAME))),
        }
        client.companies_search(None, &body).await
    }
}

// Matched by the e-mail domain alone: it is Copper's unique key for
// companies, where a name can be shared by any number of them.
impl Upsert for CompaniesCreate {
    type Update = CompaniesUpdate;
    const MATCH: Match = Match::EmailDomain;

    fn match_keys(record: &CompanyCreate) -> Vec<String> {
        domain_key(record).into_iter().collect()
    }

    fn key_text(key: &str) -> &str {
        key.strip_prefix(DOMAIN).unwrap_or(key)
    }
}

/// The key of a company's e-mail domain, if it has one.
fn domain_key(record: &CompanyCreate) -> Option<String> {
    let domain = email_key(record.email_domain.as_deref()?);
    (!domain.is_empty()).then(|| format!("{DOMAIN}{domain}"))
}

/// Bulk creates and updates of companies: [`Copper::companies`](crate::Copper::companies).
///
/// Every operation takes any number of records, as an iterator or a
/// stream, and returns their [`Outcomes`] in input order.
#[derive(Clone)]
pub struct Companies(pub(crate) Handle);

impl fmt::Debug for Companies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug("Companies", f)
    }
}

impl Companies {
    /// Updates existing companies ([`CompaniesUpdate`]): each record names its
    /// record by `id`; see [`Kind::Update`] for what is sent and retried.
    pub fn bulk_update<I>(&self, records: I) -> Outcomes<Company>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<CompanyUpdate>,
    {
        self.0.bulk::<CompaniesUpdate, _>(records)
    }

    /// [`Companies::bulk_update`], from a stream of records.
    pub fn bulk_update_stream<S>(&self, records: S) -> Outcomes<Company>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<CompanyUpdate>,
    {
        self.0.bulk_stream::<CompaniesUpdate, _>(records)
    }

    /// Creates companies ([`CompaniesCreate`]); see [`Kind::Create`] for why a
    /// request that may have reached Copper is never sent again.
    pub fn bulk_create<I>(&self, records: I) -> Outcomes<Company>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<CompanyCreate>,
    {
        self.0.bulk::<CompaniesCreate, _>(records)
    }

    /// [`Companies::bulk_create`], from a stream of records.
    pub fn bulk_create_stream<S>(&self, records: S) -> Outcomes<Company>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<CompanyCreate>,
    {
        self.0.bulk_stream::<CompaniesCreate, _>(records)
    }

    /// For each e-mail domain, the ids of the companies that have it, in
    /// increasing order (none for a domain no company has). Domains are
    /// the map's keys as Copper compares them: trimmed and in lower case.
    /// Copper's company search takes one domain, so each domain costs a
    /// search; searches count toward Copper's 180 requests a minute.
    pub async fn ids_by_email_domain<I>(
        &self,
        domains: I,
    ) -> Result<BTreeMap<String, Vec<i64>>, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let keys = email_keys(domains)
            .into_iter()
            .map(|domain| format!("{DOMAIN}{domain}"))
            .collect();
        let ids = self.0.ids_by_key::<CompaniesCreate>(keys).await?;
        Ok(ids
            .into_iter()
            .map(|(key, ids)| (CompaniesCreate::key_text(&key).to_owned(), ids))
            .collect())
    }

    /// Updates the company that has each record's e-mail domain (Copper's
    /// unique key for companies), or creates one when none does: an upsert
    /// by domain, which Copper lacks. `by` must be [`Match::EmailDomain`];
    /// domains compare as addresses do (see [`Match`]). A record without
    /// an `email_domain`, or with the domain of an earlier record of the
    /// input, is invalid; a record whose domain several companies have is
    /// [`Ambiguous`](crate::MatchedResult::Ambiguous), and nothing is sent
    /// for it. The name is not a key: two companies may share one. The
    /// update sets every field the record sets.
    ///
    /// Records are looked up two hundred at a time, with one search per
    /// domain (Copper's company search takes one), and sent as bulk updates
    /// and creates with the retries and reconciliation of
    /// [`Companies::bulk_update`] and [`Companies::bulk_create`].
    pub fn bulk_upsert<I>(&self, records: I, by: Match) -> MatchedOutcomes<Company>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<CompanyCreate>,
    {
        self.bulk_upsert_stream(stream::iter(records), by)
    }

    /// [`Companies::bulk_upsert`], from a stream of records.
    pub fn bulk_upsert_stream<S>(&self, records: S, by: Match) -> MatchedOutcomes<Company>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<CompanyCreate>,
    {
        self.0
            .matched::<CompaniesCreate, _>(records, by, Mode::Upsert)
    }

    /// [`Companies::bulk_upsert`] without the creates: a record whose
    /// domain no company has is [`MatchedResult::NotFound`](crate::MatchedResult::NotFound).
    pub fn bulk_update_matched<I>(&self, records: I, by: Match) -> MatchedOutcomes<Company>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<CompanyCreate>,
    {
        self.bulk_update_matched_stream(stream::iter(records), by)
    }

    /// [`Companies::bulk_update_matched`], from a stream of records.
    pub fn bulk_update_matched_stream<S>(&self, records: S, by: Match) -> MatchedOutcomes<Company>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<CompanyCreate>,
    {
        self.0
            .matched::<CompaniesCreate, _>(records, by, Mode::UpdateOnly)
    }
}

/// The prefix of a company's key that is its e-mail domain.
const DOMAIN: &str = "domain:";
/// The prefix of a company's key that is its name.
const NAME: &str = "name:";
