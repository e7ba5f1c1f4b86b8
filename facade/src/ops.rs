//! The bulk operations, each a type that names one endpoint.
//!
//! [`Copper::bulk`](crate::Copper::bulk) and [`plan`](crate::plan) take an
//! operation as a type parameter, so code can be written once for every
//! entity (the `copper-bulk` command-line tool is). Each entity's handle,
//! such as [`People`](crate::People), offers the same operations as methods.
//!
//! Adding an operation is a few lines of `bulk_operations!`: its raw client
//! method, request type, record types and whether it may be sent twice.
//! Batching, rate limiting, retries and outcomes are the engine's.

use std::future::Future;

use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::types::{self, BulkCreateFailure, BulkUpdateFailure};
use copper_bulk_raw::{Client, ResponseValue};
use serde::Serialize;

use crate::outcome::Rejection;

/// What a raw bulk call returns.
#[doc(hidden)]
pub type RawResult<T, F> = Result<ResponseValue<Vec<BulkItem<T, F>>>, copper_bulk_raw::Error<()>>;

/// Whether an operation creates records or updates existing ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A bulk create: never sent twice once it may have reached Copper.
    Create,
    /// A bulk update: idempotent, so retried after server errors.
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
    type Output: Send + 'static;
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
    /// What a create's record must find echoed in the record Copper
    /// returns for it (its name, its parent): an answer whose items came
    /// back out of order is then caught for creates as the id catches it
    /// for updates. `None` for an update, which the id identifies.
    fn sent_identity(record: &Self::Record) -> Option<String>;
    /// The same, read from a record Copper returned.
    fn returned_identity(record: &Self::Output) -> String;
}

/// A name as Copper may echo it: trimmed, inner spaces collapsed, in lower
/// case, so that Copper's own tidying is not taken for a mismatch.
pub(crate) fn normalized(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

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

macro_rules! bulk_operations {
    ($(
        $(#[$meta:meta])*
        $op:ident: $method:ident($request:ident { $key:ident: $input:ident })
            -> $output:ident, $failure:ident, $kind:ident, computed: $computed:ident,
            sent_id: |$record:ident| $sent_id:expr,
            identity: |$sent:ident| $sent_identity:expr, |$returned:ident| $returned_identity:expr;
    )*) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $op;

        impl sealed::Sealed for $op {}

        impl Operation for $op {
            type Record = types::$input;
            type Output = types::$output;
            type Failure = $failure;
            type Body = types::$request;
            const ENTITY: &'static str = stringify!($key);
            const KIND: Kind = Kind::$kind;
            const OPERATION: &'static str = stringify!($method);
            const COMPUTED_VALUES: bool = bulk_operations!(@accepts $computed);

            fn body(records: Vec<Self::Record>) -> Self::Body {
                types::$request { $key: records }
            }

            fn into_records(body: Self::Body) -> Vec<Self::Record> {
                body.$key
            }

            fn send<'a>(
                client: &'a Client,
                computed_values: Option<bool>,
                body: &'a Self::Body,
            ) -> impl Future<Output = RawResult<Self::Output, Self::Failure>> + Send + 'a {
                bulk_operations!(@call $computed client.$method(computed_values, body))
            }

            fn sent_id($record: &Self::Record) -> Option<i64> {
                $sent_id
            }

            fn returned_id(record: &Self::Output) -> i64 {
                record.id
            }

            fn sent_identity($sent: &Self::Record) -> Option<String> {
                $sent_identity
            }

            fn returned_identity($returned: &Self::Output) -> String {
                $returned_identity
            }
        }
    )*};
    (@accepts yes) => { true };
    (@accepts no) => { false };
    (@call yes $client:ident.$method:ident($computed:ident, $body:ident)) => {
        $client.$method($computed, $body)
    };
    (@call no $client:ident.$method:ident($computed:ident, $body:ident)) => {{
        let _ = $computed;
        $client.$method($body)
    }};
}

bulk_operations! {
    /// `POST /people/bulk_update`: [`PersonUpdate`](types::PersonUpdate)
    /// records, [`Person`](types::Person) results.
    PeopleUpdate: people_bulk_update(PeopleBulkUpdateRequest { people: PersonUpdate })
        -> Person, BulkUpdateFailure, Update, computed: yes,
        sent_id: |record| Some(record.id),
        identity: |_record| None, |person| person.id.to_string();
    /// `POST /people/bulk_create`: [`PersonCreate`](types::PersonCreate)
    /// records, [`Person`](types::Person) results.
    PeopleCreate: people_bulk_create(PeopleBulkCreateRequest { people: PersonCreate })
        -> Person, BulkCreateFailure, Create, computed: yes,
        sent_id: |_record| None,
        identity: |record| Some(normalized(&record.name)), |person| normalized(&person.name);
    /// `POST /leads/bulk_update`: [`LeadUpdate`](types::LeadUpdate)
    /// records, [`Lead`](types::Lead) results.
    LeadsUpdate: leads_bulk_update(LeadsBulkUpdateRequest { leads: LeadUpdate })
        -> Lead, BulkUpdateFailure, Update, computed: yes,
        sent_id: |record| Some(record.id),
        identity: |_record| None, |lead| lead.id.to_string();
    /// `POST /leads/bulk_create`: [`LeadCreate`](types::LeadCreate)
    /// records, [`Lead`](types::Lead) results.
    LeadsCreate: leads_bulk_create(LeadsBulkCreateRequest { leads: LeadCreate })
        -> Lead, BulkCreateFailure, Create, computed: yes,
        sent_id: |_record| None,
        identity: |record| Some(normalized(&record.name)), |lead| normalized(&lead.name);
    /// `POST /companies/bulk_update`: [`CompanyUpdate`](types::CompanyUpdate)
    /// records, [`Company`](types::Company) results.
    CompaniesUpdate: companies_bulk_update(CompaniesBulkUpdateRequest { companies: CompanyUpdate })
        -> Company, BulkUpdateFailure, Update, computed: no,
        sent_id: |record| Some(record.id),
        identity: |_record| None, |company| company.id.to_string();
    /// `POST /companies/bulk_create`: [`CompanyCreate`](types::CompanyCreate)
    /// records, [`Company`](types::Company) results.
    CompaniesCreate: companies_bulk_create(CompaniesBulkCreateRequest { companies: CompanyCreate })
        -> Company, BulkCreateFailure, Create, computed: no,
        sent_id: |_record| None,
        identity: |record| Some(normalized(&record.name)), |company| normalized(&company.name);
    /// `POST /opportunities/bulk_create`:
    /// [`OpportunityCreate`](types::OpportunityCreate) records,
    /// [`Opportunity`](types::Opportunity) results.
    OpportunitiesCreate: opportunities_bulk_create(OpportunitiesBulkCreateRequest { opportunities: OpportunityCreate })
        -> Opportunity, BulkCreateFailure, Create, computed: no,
        sent_id: |_record| None,
        identity: |record| Some(format!("{} / {}", normalized(&record.name), record.primary_contact_id)),
            |deal| format!(
                "{} / {}",
                normalized(&deal.name),
                deal.primary_contact_id.map_or_else(|| "none".to_owned(), |id| id.to_string()),
            );
    /// `POST /activities/bulk_create`: [`ActivityCreate`](types::ActivityCreate)
    /// records, [`Activity`](types::Activity) results.
    ActivitiesCreate: activities_bulk_create(ActivitiesBulkCreateRequest { activities: ActivityCreate })
        -> Activity, BulkCreateFailure, Create, computed: no,
        sent_id: |_record| None,
        identity: |record| Some(format!("{} {}", record.parent.type_, record.parent.id)),
            |activity| format!("{} {}", activity.parent.type_, activity.parent.id);
}
