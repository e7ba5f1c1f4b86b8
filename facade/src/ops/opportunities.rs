//! The bulk operations on opportunities, and their handle [`Opportunities`].

use std::fmt;
use std::future::Future;

use copper_bulk_raw::Client;
use copper_bulk_raw::types::{
    BulkCreateFailure, OpportunitiesBulkCreateRequest, OpportunitiesSearchRequest, Opportunity,
    OpportunityCreate, SortDirection,
};
use futures_util::stream::Stream;

use super::sealed::Sealed;
use super::{Kind, Operation, Page, RawResult, SearchResult, name_key, search_token};
use crate::client::Handle;
use crate::matching::Compare;
use crate::outcome::Outcomes;
use crate::record::IntoRecord;

/// `POST /opportunities/bulk_create`: [`OpportunityCreate`] records,
/// [`Opportunity`] results.
///
/// Copper's answer to each record is checked against what the record set of
/// the fields Copper echoes: name, primary contact, close date, details,
/// monetary unit, priority, status, assignee, company, customer source,
/// loss reason, pipeline, pipeline stage, win probability, tags and custom
/// field values (text compared without regard to case and spacing, phone
/// numbers by their digits). Two different records of one request that
/// differ only in monetary value (fields Copper may rewrite, and so not
/// compared) cannot be told apart: their outcomes are
/// [`Unknown`](crate::RecordResult::Unknown) with
/// [`Error::Indistinguishable`](crate::Error::Indistinguishable).
#[derive(Clone, Copy, Debug, Default)]
pub struct OpportunitiesCreate;

impl Sealed for OpportunitiesCreate {}

impl Operation for OpportunitiesCreate {
    type Record = OpportunityCreate;
    type Output = Opportunity;
    type Failure = BulkCreateFailure;
    type Body = OpportunitiesBulkCreateRequest;
    const ENTITY: &'static str = "opportunities";
    const KIND: Kind = Kind::Create;
    const OPERATION: &'static str = "opportunities_bulk_create";
    const COMPUTED_VALUES: bool = false;
    // Not compared: the monetary value (Copper may round it).
    const ECHOED: &'static [(&'static str, Compare)] = &[
        ("name", Compare::Text),
        ("primary_contact_id", Compare::Number),
        ("close_date", Compare::Date),
        ("details", Compare::Text),
        ("monetary_unit", Compare::Text),
        ("priority", Compare::Text),
        ("status", Compare::Text),
        ("assignee_id", Compare::Number),
        ("company_id", Compare::Number),
        ("customer_source_id", Compare::Number),
        ("loss_reason_id", Compare::Number),
        ("pipeline_id", Compare::Number),
        ("pipeline_stage_id", Compare::Number),
        ("win_probability", Compare::Number),
        ("tags", Compare::Texts(None)),
        ("custom_fields", Compare::CustomFields),
    ];

    fn body(opportunities: Vec<OpportunityCreate>) -> OpportunitiesBulkCreateRequest {
        OpportunitiesBulkCreateRequest { opportunities }
    }

    fn into_records(body: OpportunitiesBulkCreateRequest) -> Vec<OpportunityCreate> {
        body.opportunities
    }

    fn send<'a>(
        client: &'a Client,
        computed_values: Option<bool>,
        body: &'a OpportunitiesBulkCreateRequest,
    ) -> impl Future<Output = RawResult<Opportunity, BulkCreateFailure>> + Send + 'a {
        // The endpoint takes no `custom_field_computed_values`.
        let _ = computed_values;
        client.opportunities_bulk_create(body)
    }

    fn sent_id(_record: &OpportunityCreate) -> Option<i64> {
        None
    }

    fn returned_id(record: &Opportunity) -> i64 {
        record.id
    }

    const KEY: &'static str = "name";

    fn keys(record: &OpportunityCreate) -> Vec<String> {
        vec![name_key(&record.name)]
    }

    fn found_keys(record: &Opportunity) -> Vec<String> {
        vec![name_key(&record.name)]
    }

    fn date_created(record: &Opportunity) -> Option<i64> {
        record.date_created
    }

    async fn search(client: &Client, keys: &[String], page: Page) -> SearchResult<Opportunity> {
        let body = OpportunitiesSearchRequest {
            name: keys.first().map(|key| search_token(key)),
            page_number: Some(page.number),
            page_size: Some(page.size),
            // Oldest first: a record made while the pages are read then
            // comes last, and shifts no page already read.
            sort_by: Some("date_created".into()),
            sort_direction: Some(SortDirection::Asc),
            ..OpportunitiesSearchRequest::default()
        };
        client.opportunities_search(None, &body).await
    }
}

/// Bulk creates of opportunities: [`Copper::opportunities`](crate::Copper::opportunities). Copper has
/// no bulk update of opportunities.
///
/// Every operation takes any number of records, as an iterator or a
/// stream, and returns their [`Outcomes`] in input order.
#[derive(Clone)]
pub struct Opportunities(pub(crate) Handle);

impl fmt::Debug for Opportunities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug("Opportunities", f)
    }
}

impl Opportunities {
    /// Creates opportunities ([`OpportunitiesCreate`]); see [`Kind::Create`] for why a
    /// request that may have reached Copper is never sent again.
    pub fn bulk_create<I>(&self, records: I) -> Outcomes<Opportunity>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<OpportunityCreate>,
    {
        self.0.bulk::<OpportunitiesCreate, _>(records)
    }

    /// [`Opportunities::bulk_create`], from a stream of records.
    pub fn bulk_create_stream<S>(&self, records: S) -> Outcomes<Opportunity>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<OpportunityCreate>,
    {
        self.0.bulk_stream::<OpportunitiesCreate, _>(records)
    }
}
