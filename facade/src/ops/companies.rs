//! The bulk operations on companies, and their handle [`Companies`].

use std::fmt;
use std::future::Future;

use copper_bulk_raw::Client;
use copper_bulk_raw::types::{
    BulkCreateFailure, BulkUpdateFailure, CompaniesBulkCreateRequest, CompaniesBulkUpdateRequest,
    CompaniesSearchRequest, Company, CompanyCreate, CompanyUpdate, SortDirection,
};
use futures_util::stream::Stream;

use super::sealed::Sealed;
use super::{Kind, Operation, Page, RawResult, SearchResult, email_key, name_key, search_token};
use crate::client::Handle;
use crate::matching::Compare;
use crate::outcome::Outcomes;
use crate::record::IntoRecord;

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
        match record.email_domain.as_deref().map(email_key) {
            Some(domain) if !domain.is_empty() => vec![format!("{DOMAIN}{domain}")],
            _ => vec![format!("{NAME}{}", name_key(&record.name))],
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
}

/// The prefix of a company's key that is its e-mail domain.
const DOMAIN: &str = "domain:";
/// The prefix of a company's key that is its name.
const NAME: &str = "name:";
