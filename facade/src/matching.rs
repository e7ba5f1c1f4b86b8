//! Matches the items of Copper's answer to the records sent, one outcome
//! per record.

use std::sync::Arc;

use copper_bulk_raw::bulk::BulkItem;
use serde_json::Value;

use crate::error::{Error, RequestFailure};
use crate::ops::{FailureItem, Operation};
use crate::outcome::{Outcome, RecordResult, Rejection};

/// `value` with every string put through `redact`.
fn redact_json(value: Value, redact: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(text) => Value::String(redact(&text)),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| redact_json(v, redact)).collect())
        }
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, v)| (redact(&key), redact_json(v, redact)))
                .collect(),
        ),
        other => other,
    }
}

/// What the answer to one record must echo: the id an update names, or
/// what of a create's record Copper returns as sent.
pub(crate) struct Expected {
    pub(crate) id: Option<i64>,
    pub(crate) identity: Option<String>,
}

/// Matches Copper's items to the records sent, by position.
///
/// Text Copper sent back (a rejection's message, an unrecognised item) goes
/// through `redact` first, so that a server echoing the access token cannot
/// get it into an outcome.
pub(crate) fn match_items<O: Operation>(
    indices: Vec<usize>,
    expected: &[Expected],
    items: Vec<BulkItem<O::Output, O::Failure>>,
    attempts: u32,
    redact: &dyn Fn(&str) -> String,
) -> Vec<Outcome<O::Output>> {
    let unknown = |error: Error| {
        RecordResult::Unknown(Arc::new(RequestFailure::new(error, attempts, true, true)))
    };
    // A failure item for an update names the id it failed; one that names
    // another id cannot be trusted to be this record's.
    let reject = |sent: Option<i64>, mut rejection: Rejection| match (sent, rejection.id) {
        (Some(sent), Some(returned)) if sent != returned => {
            unknown(Error::IdMismatch { sent, returned })
        }
        _ => {
            rejection.message = rejection.message.as_deref().map(redact);
            RecordResult::Rejected(rejection)
        }
    };
    if items.len() != indices.len() {
        let failure = Arc::new(RequestFailure::new(
            Error::WrongLength {
                sent: indices.len(),
                received: items.len(),
            },
            attempts,
            true,
            true,
        ));
        return indices
            .into_iter()
            .map(|index| Outcome {
                index,
                result: RecordResult::Unknown(failure.clone()),
            })
            .collect();
    }
    indices
        .into_iter()
        .zip(expected)
        .zip(items)
        .map(|((index, expected), item)| {
            let result = match item {
                BulkItem::Ok(record) => match (expected.id, &expected.identity) {
                    (Some(sent), _) if O::returned_id(&record) != sent => {
                        unknown(Error::IdMismatch {
                            sent,
                            returned: O::returned_id(&record),
                        })
                    }
                    (_, Some(sent)) if O::returned_identity(&record) != *sent => {
                        unknown(Error::RecordMismatch {
                            sent: sent.clone(),
                            returned: O::returned_identity(&record),
                        })
                    }
                    _ => RecordResult::Applied(Box::new(record)),
                },
                BulkItem::Failed(failure) => reject(expected.id, failure.into_rejection()),
                BulkItem::Unrecognized(item) if item.is_failure() => {
                    reject(expected.id, Rejection::from_raw(&item.raw))
                }
                BulkItem::Unrecognized(item) => unknown(Error::UnrecognizedItem {
                    raw: redact_json(item.raw, redact),
                    reason: redact(&item.error),
                }),
            };
            Outcome { index, result }
        })
        .collect()
}
