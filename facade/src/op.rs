//! The bulk operations, described once each for the generic engine.
//!
//! Adding an operation is a few lines of [`bulk_operations!`]: its raw
//! client method, request type, record types and whether it may be sent
//! twice. Batching, rate limiting, retries and outcomes are the engine's.

use std::future::Future;

use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::types::{self, BulkCreateFailure, BulkUpdateFailure};
use copper_bulk_raw::{Client, ResponseValue};
use serde::Serialize;

use crate::outcome::Rejection;

/// What a raw bulk call returns.
pub(crate) type RawResult<T, F> =
    Result<ResponseValue<Vec<BulkItem<T, F>>>, copper_bulk_raw::Error<()>>;

/// One bulk operation of Copper's API.
pub(crate) trait Op: Send + Sync + 'static {
    /// The record sent.
    type Input: Serialize + Send + Sync + 'static;
    /// The record Copper returns.
    type Output: Send + 'static;
    /// Copper's failure item.
    type Failure: FailureItem + Send + 'static;
    /// The request body.
    type Body: Send + Sync + 'static;
    /// The operation id, as in the spec.
    const OPERATION: &'static str;
    /// Whether sending the same request twice is harmless.
    const IDEMPOTENT: bool;

    fn body(records: Vec<Self::Input>) -> Self::Body;
    fn into_records(body: Self::Body) -> Vec<Self::Input>;
    fn send<'a>(
        client: &'a Client,
        computed_values: Option<bool>,
        body: &'a Self::Body,
    ) -> impl Future<Output = RawResult<Self::Output, Self::Failure>> + Send + 'a;
    /// The id an update names; `None` for a create.
    fn sent_id(record: &Self::Input) -> Option<i64>;
    /// The id of a record Copper returned.
    fn returned_id(record: &Self::Output) -> i64;
}

/// A failure item of a bulk response.
pub(crate) trait FailureItem {
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
            -> $output:ident, $failure:ident, idempotent: $idempotent:literal,
            sent_id: |$record:ident| $sent_id:expr;
    )*) => {$(
        $(#[$meta])*
        pub(crate) struct $op;

        impl Op for $op {
            type Input = types::$input;
            type Output = types::$output;
            type Failure = $failure;
            type Body = types::$request;
            const OPERATION: &'static str = stringify!($method);
            const IDEMPOTENT: bool = $idempotent;

            fn body(records: Vec<Self::Input>) -> Self::Body {
                types::$request { $key: records }
            }

            fn into_records(body: Self::Body) -> Vec<Self::Input> {
                body.$key
            }

            fn send<'a>(
                client: &'a Client,
                computed_values: Option<bool>,
                body: &'a Self::Body,
            ) -> impl Future<Output = RawResult<Self::Output, Self::Failure>> + Send + 'a {
                client.$method(computed_values, body)
            }

            fn sent_id($record: &Self::Input) -> Option<i64> {
                $sent_id
            }

            fn returned_id(record: &Self::Output) -> i64 {
                record.id
            }
        }
    )*};
}

bulk_operations! {
    /// `POST /people/bulk_update`.
    PeopleUpdate: people_bulk_update(PeopleBulkUpdateRequest { people: PersonUpdate })
        -> Person, BulkUpdateFailure, idempotent: true,
        sent_id: |record| Some(record.id);
    /// `POST /people/bulk_create`: never sent twice once it may have
    /// reached Copper.
    PeopleCreate: people_bulk_create(PeopleBulkCreateRequest { people: PersonCreate })
        -> Person, BulkCreateFailure, idempotent: false,
        sent_id: |_record| None;
}
