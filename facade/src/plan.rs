//! Plans a run: numbers the input, checks each record, and groups the
//! records into batches, for a live run or a dry run ([`plan`]).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use serde_json::Value;

use crate::error::InvalidRecord;
use crate::ops::Operation;

/// What a dry run shows: the requests a bulk operation would send, and the
/// records it would refuse before sending.
#[derive(Debug)]
#[non_exhaustive]
pub enum Planned {
    /// One request.
    Batch {
        /// The input indices of its records, in order.
        indices: Vec<usize>,
        /// Its body, exactly as it would be sent.
        request: Value,
    },
    /// A record refused before sending.
    Invalid {
        /// Its input index.
        index: usize,
        /// Why.
        reason: InvalidRecord,
    },
}

/// The requests operation `O` would send for `records`, without sending
/// anything (a dry run).
///
/// Records are checked and batched as [`Copper::bulk`](crate::Copper::bulk)
/// would, except that batches are always filled when the input allows: a
/// live run sends a smaller batch rather than wait for a slow input.
pub fn plan<O, S>(records: S, batch_size: usize) -> impl Stream<Item = Planned> + Send
where
    O: Operation,
    S: Stream + Send + 'static,
    S::Item: crate::IntoRecord<O::Record>,
{
    let input = records.map(crate::IntoRecord::into_record).boxed();
    Batcher::new(checked::<O>(input), batch_size.max(1), None).flat_map(|unit| {
        let mut planned: Vec<Planned> = unit
            .invalid
            .into_iter()
            .map(|(index, reason)| Planned::Invalid { index, reason })
            .collect();
        if !unit.records.is_empty() {
            let (indices, records): (Vec<usize>, Vec<O::Record>) = unit.records.into_iter().unzip();
            let request = serde_json::to_value(O::body(records))
                .expect("checked records serialize, and so does their request");
            planned.push(Planned::Batch { indices, request });
        }
        stream::iter(planned)
    })
}

/// Numbers the input and checks each record.
pub(crate) fn checked<O: Operation>(
    input: BoxStream<'static, Result<O::Record, InvalidRecord>>,
) -> BoxStream<'static, (usize, Result<O::Record, InvalidRecord>)> {
    input
        .enumerate()
        .map(|(index, record)| (index, record.and_then(check::<O>)))
        .boxed()
}

/// A checked record on its way to a request, with when an earlier run sent
/// it, if one did without learning its outcome.
pub(crate) struct Pending<R> {
    pub(crate) record: R,
    pub(crate) sent_before: Option<std::time::SystemTime>,
}

/// Checked entries, by input index.
pub(crate) type CheckedEntries<R> = BoxStream<'static, (usize, Result<Pending<R>, InvalidRecord>)>;

/// Checks each entry's record, keeping the entries' own indices.
pub(crate) fn checked_entries<O: Operation>(
    input: BoxStream<'static, crate::Entry<O::Record>>,
) -> CheckedEntries<O::Record> {
    input
        .map(|entry| {
            let sent_before = entry.sent_before;
            let pending = entry.record.and_then(check::<O>).map(|record| Pending {
                record,
                sent_before,
            });
            (entry.index, pending)
        })
        .boxed()
}

/// Counts a unit as in flight while it lives.
pub(crate) struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    pub(crate) fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Refuses, before sending, a record Copper cannot take: one that does not
/// serialize to a JSON object, an update without a valid id, or an update
/// that changes nothing.
fn check<O: Operation>(record: O::Record) -> Result<O::Record, InvalidRecord> {
    let value = serde_json::to_value(&record)
        .map_err(|e| InvalidRecord::new(format!("the record cannot be serialized: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(InvalidRecord::new(
            "the record does not serialize to a JSON object",
        ));
    };
    if let Some(id) = O::sent_id(&record) {
        if id <= 0 {
            return Err(InvalidRecord::new(format!(
                "the update has no valid id: `id` is {id}, and Copper's ids are positive"
            )));
        }
        if fields.keys().all(|key| key == "id") {
            return Err(InvalidRecord::new(format!(
                "the update of id {id} changes no field"
            )));
        }
    }
    Ok(record)
}

/// The records of one batch, with the refused records whose indices fall
/// among them, so that outcomes come out in input order.
pub(crate) struct Unit<I> {
    pub(crate) records: Vec<(usize, I)>,
    pub(crate) invalid: Vec<(usize, InvalidRecord)>,
}

impl<I> Unit<I> {
    fn new() -> Self {
        Unit {
            records: Vec::new(),
            invalid: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.invalid.is_empty()
    }
}

/// Refused records carried by one unit at most, so that a long run of bad
/// input does not pile up in memory.
const MAX_INVALID_PER_UNIT: usize = 1_000;

/// Groups checked records into units of at most `batch_size` records.
///
/// A unit is closed when it is full or when the input ends. When the input
/// has nothing ready, a partial unit is closed only if no unit is in flight
/// (`in_flight` counts them): while requests are out, waiting for more
/// records costs nothing and fills the next request, but an idle client
/// sends what it has rather than keep a slow stream's records waiting.
/// Without a counter (a dry run), partial units wait for the input.
pub(crate) struct Batcher<I> {
    input: BoxStream<'static, (usize, Result<I, InvalidRecord>)>,
    batch_size: usize,
    in_flight: Option<Arc<AtomicUsize>>,
    unit: Unit<I>,
    done: bool,
}

impl<I> Batcher<I> {
    pub(crate) fn new(
        input: BoxStream<'static, (usize, Result<I, InvalidRecord>)>,
        batch_size: usize,
        in_flight: Option<Arc<AtomicUsize>>,
    ) -> Self {
        Batcher {
            input,
            batch_size,
            in_flight,
            unit: Unit::new(),
            done: false,
        }
    }

    fn idle(&self) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|count| count.load(Ordering::SeqCst) == 0)
    }

    fn close_unit(&mut self) -> Poll<Option<Unit<I>>> {
        Poll::Ready(Some(std::mem::replace(&mut self.unit, Unit::new())))
    }
}

impl<I> Unpin for Batcher<I> {}

impl<I> Stream for Batcher<I> {
    type Item = Unit<I>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Unit<I>>> {
        loop {
            if self.done {
                return if self.unit.is_empty() {
                    Poll::Ready(None)
                } else {
                    self.close_unit()
                };
            }
            match self.input.poll_next_unpin(cx) {
                Poll::Ready(Some((index, Ok(record)))) => {
                    self.unit.records.push((index, record));
                    if self.unit.records.len() >= self.batch_size {
                        return self.close_unit();
                    }
                }
                Poll::Ready(Some((index, Err(invalid)))) => {
                    self.unit.invalid.push((index, invalid));
                    if self.unit.invalid.len() >= MAX_INVALID_PER_UNIT {
                        return self.close_unit();
                    }
                }
                Poll::Ready(None) => self.done = true,
                Poll::Pending if !self.unit.is_empty() && self.idle() => return self.close_unit(),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{Kind, PeopleUpdate};
    use copper_bulk_raw::types::PersonUpdate;

    #[test]
    fn updates_need_a_positive_id_and_a_change() {
        assert!(check::<PeopleUpdate>(PersonUpdate::new(7).clear_title()).is_ok());
        let no_id = check::<PeopleUpdate>(PersonUpdate::new(0).title("x")).unwrap_err();
        assert_eq!(
            no_id.reason(),
            "the update has no valid id: `id` is 0, and Copper's ids are positive"
        );
        let empty = check::<PeopleUpdate>(PersonUpdate::new(7)).unwrap_err();
        assert_eq!(empty.reason(), "the update of id 7 changes no field");
        // An empty list is a change: it clears the list.
        assert!(check::<PeopleUpdate>(PersonUpdate::new(7).tags(Vec::<String>::new())).is_ok());
    }

    /// A record whose serialization fails, as a user's type could.
    struct Unserializable;

    impl serde::Serialize for Unserializable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("a float that is not a number"))
        }
    }

    struct Broken;

    impl crate::ops::sealed::Sealed for Broken {}

    impl Operation for Broken {
        type Record = Unserializable;
        type Output = copper_bulk_raw::types::Person;
        type Failure = copper_bulk_raw::types::BulkCreateFailure;
        type Body = ();
        const ENTITY: &'static str = "broken";
        const KIND: Kind = Kind::Create;
        const OPERATION: &'static str = "broken";
        const COMPUTED_VALUES: bool = false;

        fn body(_: Vec<Self::Record>) -> Self::Body {}

        fn into_records(_: Self::Body) -> Vec<Self::Record> {
            Vec::new()
        }

        async fn send(
            _: &copper_bulk_raw::Client,
            _: Option<bool>,
            _: &(),
        ) -> crate::ops::RawResult<Self::Output, Self::Failure> {
            unreachable!("records that fail the check are never sent")
        }

        fn sent_id(_: &Self::Record) -> Option<i64> {
            None
        }

        fn returned_id(record: &Self::Output) -> i64 {
            record.id
        }
    }

    #[test]
    fn a_record_that_cannot_be_serialized_is_invalid() {
        let error = check::<Broken>(Unserializable).err().unwrap();
        assert_eq!(
            error.reason(),
            "the record cannot be serialized: a float that is not a number"
        );
    }
}
