//! The bulk operations on opportunities, and their handle [`Opportunities`].

use std::fmt;
use std::future::Future;

use copper_bulk_raw::Client;
use copper_bulk_raw::types::{
    BulkCreateFailure, OpportunitiesBulkCreateRequest, Opportunity, OpportunityCreate,
};
use futures_util::stream::Stream;

use super::sealed::Sealed;
use super::{Kind, Operation, RawResult, normalized};
use crate::client::Handle;
use crate::outcome::Outcomes;
use crate::record::IntoRecord;

/// `POST /opportunities/bulk_create`: [`OpportunityCreate`] records, [`Opportunity`] results.
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

    fn sent_identity(record: &OpportunityCreate) -> Option<String> {
        Some(format!(
            "{} / {}",
            normalized(&record.name),
            record.primary_contact_id
        ))
    }

    fn returned_identity(record: &Opportunity) -> String {
        format!(
            "{} / {}",
            normalized(&record.name),
            record
                .primary_contact_id
                .map_or_else(|| "none".to_owned(), |id| id.to_string()),
        )
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
