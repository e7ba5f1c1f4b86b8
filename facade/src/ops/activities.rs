//! The bulk operations on activities, and their handle [`Activities`].

use std::fmt;
use std::future::Future;

use copper_bulk_raw::Client;
use copper_bulk_raw::types::{
    ActivitiesBulkCreateRequest, ActivitiesSearchRequest, Activity, ActivityCreate,
    ActivitySearchParent, BulkCreateFailure,
};
use futures_util::stream::Stream;

use super::sealed::Sealed;
use super::{Kind, Operation, Page, RawResult, SearchResult};
use crate::client::Handle;
use crate::matching::Compare;
use crate::outcome::Outcomes;
use crate::record::IntoRecord;

/// `POST /activities/bulk_create`: [`ActivityCreate`] records, [`Activity`]
/// results.
///
/// Copper's answer to each record is checked against every field the
/// record sets, all of which Copper echoes: parent, activity type, details
/// (compared without regard to case and spacing) and activity date. So
/// different activities of one request can always be told apart; two that
/// are the same request may get each other's items, which changes nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct ActivitiesCreate;

impl Sealed for ActivitiesCreate {}

impl Operation for ActivitiesCreate {
    type Record = ActivityCreate;
    type Output = Activity;
    type Failure = BulkCreateFailure;
    type Body = ActivitiesBulkCreateRequest;
    const ENTITY: &'static str = "activities";
    const KIND: Kind = Kind::Create;
    const OPERATION: &'static str = "activities_bulk_create";
    const COMPUTED_VALUES: bool = false;
    const ECHOED: &'static [(&'static str, Compare)] = &[
        ("parent", Compare::Object),
        ("type", Compare::Object),
        ("details", Compare::Text),
        ("activity_date", Compare::Number),
    ];

    fn body(activities: Vec<ActivityCreate>) -> ActivitiesBulkCreateRequest {
        ActivitiesBulkCreateRequest { activities }
    }

    fn into_records(body: ActivitiesBulkCreateRequest) -> Vec<ActivityCreate> {
        body.activities
    }

    fn send<'a>(
        client: &'a Client,
        computed_values: Option<bool>,
        body: &'a ActivitiesBulkCreateRequest,
    ) -> impl Future<Output = RawResult<Activity, BulkCreateFailure>> + Send + 'a {
        // The endpoint takes no `custom_field_computed_values`.
        let _ = computed_values;
        client.activities_bulk_create(body)
    }

    fn sent_id(_record: &ActivityCreate) -> Option<i64> {
        None
    }

    fn returned_id(record: &Activity) -> i64 {
        record.id
    }

    const KEY: &'static str = "parent";

    fn keys(record: &ActivityCreate) -> Vec<String> {
        parent_key(&record.parent.type_, record.parent.id)
            .into_iter()
            .collect()
    }

    fn found_keys(record: &Activity) -> Vec<String> {
        parent_key(&record.parent.type_, record.parent.id)
            .into_iter()
            .collect()
    }

    fn date_created(record: &Activity) -> Option<i64> {
        record.date_created
    }

    async fn search(client: &Client, keys: &[String], page: Page) -> SearchResult<Activity> {
        let parent = keys.first().and_then(|key| {
            let (kind, id) = key.split_once(':')?;
            let kind = serde_json::from_value(serde_json::Value::from(kind)).ok()?;
            Some(ActivitySearchParent {
                id: id.parse().ok()?,
                type_: kind,
            })
        });
        let body = ActivitiesSearchRequest {
            parent,
            page_number: Some(page.number),
            page_size: Some(page.size),
            ..ActivitiesSearchRequest::default()
        };
        client.activities_search(&body).await
    }
}

/// Bulk creates of activities: [`Copper::activities`](crate::Copper::activities). Only `user`
/// activity types can be created.
///
/// Every operation takes any number of records, as an iterator or a
/// stream, and returns their [`Outcomes`] in input order.
#[derive(Clone)]
pub struct Activities(pub(crate) Handle);

impl fmt::Debug for Activities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug("Activities", f)
    }
}

impl Activities {
    /// Creates activities ([`ActivitiesCreate`]); see [`Kind::Create`] for why a
    /// request that may have reached Copper is never sent again.
    pub fn bulk_create<I>(&self, records: I) -> Outcomes<Activity>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<ActivityCreate>,
    {
        self.0.bulk::<ActivitiesCreate, _>(records)
    }

    /// [`Activities::bulk_create`], from a stream of records.
    pub fn bulk_create_stream<S>(&self, records: S) -> Outcomes<Activity>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<ActivityCreate>,
    {
        self.0.bulk_stream::<ActivitiesCreate, _>(records)
    }
}

/// An activity's parent as a lookup key (`person:7`): its type as Copper
/// spells it, and its id.
fn parent_key(kind: &impl serde::Serialize, id: i64) -> Option<String> {
    match serde_json::to_value(kind).ok()? {
        serde_json::Value::String(kind) => Some(format!("{kind}:{id}")),
        _ => None,
    }
}
