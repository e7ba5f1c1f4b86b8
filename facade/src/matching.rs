//! Matches the items of Copper's answer to the records sent, and trusts an
//! item only when it can be this record's and no other's.
//!
//! Copper answers a bulk request with one item per record, in the order
//! sent. An update's item carries the id it names, so a misplaced item is
//! caught by its id. A create's item has a new id, so it is checked against
//! what Copper echoes of the record: every field the request set that
//! Copper returns unchanged (each operation lists them, and how each is
//! compared, in its `ECHOED`). When two different records of one request
//! cannot be told apart by those fields, their items could be each
//! other's, and both outcomes are unknown.

use std::sync::Arc;

use copper_bulk_raw::bulk::BulkItem;
use serde_json::Value;

mod echo;

pub(crate) use echo::normalized;

pub use echo::Compare;
use echo::Echo;

use crate::error::{Error, RequestFailure};
use crate::ops::{FailureItem, Kind, Operation};
use crate::outcome::{Outcome, RecordResult, Rejection};

/// What the answer to one record must show: the id an update names, or
/// what Copper echoes of a create.
pub(crate) struct Expected {
    id: Option<i64>,
    /// For a create, the fields Copper must echo.
    echo: Option<Echo>,
    /// For a create, the record as sent, so that two records that are the
    /// same request (whose items may be swapped harmlessly) are not taken
    /// for records that cannot be told apart.
    request: Option<Value>,
}

impl Expected {
    /// What the answer to `record` of operation `O` must show.
    pub(crate) fn of<O: Operation>(record: &O::Record) -> Self {
        let request = (O::KIND == Kind::Create)
            .then(|| serde_json::to_value(record).ok())
            .flatten();
        Expected {
            id: O::sent_id(record),
            echo: request.as_ref().map(|sent| Echo::read(sent, O::ECHOED)),
            request,
        }
    }
}

impl Expected {
    /// Whether `record`, a record Copper holds (as JSON), holds every
    /// field the create set that Copper echoes, with the value sent.
    pub(crate) fn echoed_by_value(&self, record: &Value, echoed: &[(&str, Compare)]) -> bool {
        self.echo
            .as_ref()
            .is_some_and(|echo| echo.echoed_by(&Echo::read(record, echoed)))
    }
}

/// For each position of a create's answer, another position whose record
/// its item could equally be: the records are different requests, yet
/// Copper's items cannot tell them apart.
///
/// `returned` holds what each record item echoes, and `None` for a failure
/// item, which echoes nothing. Item `p` could be record `q`'s when it
/// returns no field record `q` set with another value (a field the item
/// leaves out may be one Copper dropped); a failure item could be any
/// record's whose own item is a record (two failures swapped change no outcome but
/// their messages). Items are ambiguous exactly when they could be
/// reassigned, each to a record it could be, other than by position: when
/// position `p` lies on a cycle of "could be". Those are the strongly
/// connected components of that graph with more than one position.
fn ambiguous(expected: &[Expected], returned: &[Option<Echo>]) -> Vec<Option<usize>> {
    let n = expected.len();
    let mut could_be: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (p, item) in returned.iter().enumerate() {
        for (q, record) in expected.iter().enumerate() {
            let Some(echo) = &record.echo else {
                continue;
            };
            let same_request = record.request.is_some() && record.request == expected[p].request;
            if p == q || same_request {
                continue;
            }
            let could = match item {
                Some(item) => echo.echoed_by(item),
                None => returned[q].is_some(),
            };
            if could {
                could_be[p].push(q);
            }
        }
    }
    let component = components(&could_be);
    (0..n)
        .map(|p| (0..n).find(|&q| q != p && component[q] == component[p]))
        .collect()
}

/// The strongly connected component of each node of the graph `edges`
/// (node `p` has an edge to each node of `edges[p]`), named by one of its
/// nodes.
fn components(edges: &[Vec<usize>]) -> Vec<usize> {
    let n = edges.len();
    // First, every node in the order its depth-first search finishes.
    let mut seen = vec![false; n];
    let mut finished = Vec::with_capacity(n);
    for start in 0..n {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![(start, 0)];
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            if let Some(&successor) = edges[node].get(next) {
                top.1 += 1;
                if !seen[successor] {
                    seen[successor] = true;
                    stack.push((successor, 0));
                }
            } else {
                finished.push(node);
                stack.pop();
            }
        }
    }
    // Then, in reverse finishing order, what reaches each node.
    let mut reversed = vec![Vec::new(); n];
    for (node, successors) in edges.iter().enumerate() {
        for &successor in successors {
            reversed[successor].push(node);
        }
    }
    let mut component = vec![usize::MAX; n];
    for &start in finished.iter().rev() {
        if component[start] != usize::MAX {
            continue;
        }
        component[start] = start;
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            for &predecessor in &reversed[node] {
                if component[predecessor] == usize::MAX {
                    component[predecessor] = start;
                    stack.push(predecessor);
                }
            }
        }
    }
    component
}

/// `value` with every string put through `redact`.
pub(crate) fn redact_json(value: Value, redact: &dyn Fn(&str) -> String) -> Value {
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

/// Matches Copper's items to the records sent, by position, and checks
/// that each item is its record's: an update's by its id, a create's by
/// what Copper echoes, and that no other record of the request could claim
/// it.
///
/// Text Copper sent back (a rejection's message and field errors, an
/// unrecognised item, an echoed field) goes through `redact` first, so
/// that a server echoing the access token cannot get it into an outcome.
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
            // Field names and error texts are the server's too.
            rejection.errors = std::mem::take(&mut rejection.errors)
                .into_iter()
                .map(|(field, errors)| {
                    let errors = errors.iter().map(|error| redact(error)).collect();
                    (redact(&field), errors)
                })
                .collect();
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
    let returned: Vec<Option<Echo>> = items
        .iter()
        .map(|item| match item {
            BulkItem::Ok(record) => Some(
                serde_json::to_value(record)
                    .map_or_else(|_| Echo::default(), |record| Echo::read(&record, O::ECHOED)),
            ),
            _ => None,
        })
        .collect();
    let twins = ambiguous(expected, &returned);
    let indistinguishable = |twin: usize| {
        unknown(Error::Indistinguishable {
            other: indices[twin],
        })
    };
    let results: Vec<RecordResult<O::Output>> = items
        .into_iter()
        .zip(expected)
        .zip(returned)
        .zip(&twins)
        .map(|(((item, expected), echo), &twin)| {
            let mismatch = expected
                .echo
                .as_ref()
                .zip(echo.as_ref())
                .and_then(|(sent, returned)| sent.mismatch(returned));
            match item {
                BulkItem::Ok(record) => match (expected.id, mismatch, twin) {
                    (Some(sent), _, _) if O::returned_id(&record) != sent => {
                        unknown(Error::IdMismatch {
                            sent,
                            returned: O::returned_id(&record),
                        })
                    }
                    (_, Some((field, sent, got)), _) => unknown(Error::RecordMismatch {
                        sent: redact(&format!("{field} {sent}")),
                        returned: redact(&format!("{field} {got}")),
                    }),
                    (_, None, Some(twin)) => indistinguishable(twin),
                    (_, None, None) => RecordResult::Applied(Box::new(record)),
                },
                BulkItem::Unrecognized(item) if !item.is_failure() => {
                    unknown(Error::UnrecognizedItem {
                        raw: redact_json(item.raw, redact),
                        reason: redact(&item.error),
                    })
                }
                // A failure item echoes nothing: when another record's
                // item could be this record's, the failure could be the
                // other record's, and this record may have been created.
                _ if twin.is_some() => indistinguishable(twin.expect("checked to be some")),
                BulkItem::Failed(failure) => reject(expected.id, failure.into_rejection()),
                BulkItem::Unrecognized(item) => reject(expected.id, Rejection::from_raw(&item.raw)),
            }
        })
        .collect();
    indices
        .into_iter()
        .zip(results)
        .map(|(index, result)| Outcome { index, result })
        .collect()
}

#[cfg(test)]
mod tests {
    use copper_bulk_raw::custom::CustomValue;
    use copper_bulk_raw::types::{
        ActivityCreate, ActivityParentInput, ActivityTypeInput, CompanyCreate, CustomFieldInput,
        OpportunityCreate, PersonCreate, PhoneNumberInput,
    };
    use serde::de::DeserializeOwned;
    use serde_json::json;

    use super::*;
    use crate::ops::{ActivitiesCreate, CompaniesCreate, OpportunitiesCreate, PeopleCreate};

    type Item<O> = BulkItem<<O as Operation>::Output, <O as Operation>::Failure>;

    /// Copper's answer item for `record`: the record as sent, with an id and
    /// whatever else `extra` sets.
    fn created<O: Operation>(record: &O::Record, id: i64, extra: Value) -> Item<O>
    where
        O::Output: DeserializeOwned,
    {
        let mut item = serde_json::to_value(record).unwrap();
        item["id"] = json!(id);
        for (key, value) in extra.as_object().unwrap() {
            item[key] = value.clone();
        }
        BulkItem::Ok(serde_json::from_value(item).unwrap())
    }

    fn refused<O: Operation>() -> Item<O>
    where
        O::Failure: DeserializeOwned,
    {
        let failure = json!({"success": false, "message": {"name": [{"error": "invalid"}]}});
        BulkItem::Failed(serde_json::from_value(failure).unwrap())
    }

    /// Each record's outcome kind and, when applied, its id; for an unknown
    /// outcome, its error.
    fn outcomes<O: Operation>(records: &[O::Record], items: Vec<Item<O>>) -> Vec<String> {
        let expected: Vec<Expected> = records.iter().map(Expected::of::<O>).collect();
        let indices = (0..records.len()).collect();
        match_items::<O>(indices, &expected, items, 1, &|text| text.to_owned())
            .into_iter()
            .map(|outcome| match outcome.result {
                RecordResult::Applied(record) => format!("applied {}", O::returned_id(&record)),
                RecordResult::Unknown(failure) => format!("unknown: {}", failure.error()),
                other => other.kind().to_owned(),
            })
            .collect()
    }

    fn company(name: &str, website: &str) -> CompanyCreate {
        CompanyCreate::new(name).websites([copper_bulk_raw::types::WebsiteInput::new(website)])
    }

    #[test]
    fn creates_that_differ_in_an_echoed_field_are_matched_whatever_their_order() {
        let records = [
            CompanyCreate::new("Acme").details("east"),
            CompanyCreate::new("Acme").details("west"),
        ];
        let in_order = vec![
            created::<CompaniesCreate>(&records[0], 1, json!({})),
            created::<CompaniesCreate>(&records[1], 2, json!({})),
        ];
        assert_eq!(
            outcomes::<CompaniesCreate>(&records, in_order),
            ["applied 1", "applied 2"]
        );
        let swapped = vec![
            created::<CompaniesCreate>(&records[1], 2, json!({})),
            created::<CompaniesCreate>(&records[0], 1, json!({})),
        ];
        assert_eq!(
            outcomes::<CompaniesCreate>(&records, swapped),
            [
                r#"unknown: copper answered the create of `details "east"` with a record for `details "west"`"#,
                r#"unknown: copper answered the create of `details "west"` with a record for `details "east"`"#,
            ]
        );
    }

    #[test]
    fn different_creates_that_copper_echoes_alike_are_unknown() {
        // Copper may rewrite websites, so they are not compared: the two
        // items could be each other's even in order.
        let records = [
            company("Acme", "https://east.example"),
            company("Acme", "https://west.example"),
        ];
        let items = || {
            vec![
                created::<CompaniesCreate>(&records[0], 1, json!({})),
                created::<CompaniesCreate>(&records[1], 2, json!({})),
            ]
        };
        let outcome = |other| {
            format!(
                "unknown: copper's answer to this create cannot be told apart from its answer to the record at index {other} of the same request, from which it differs only in fields copper does not echo or left out of its answer"
            )
        };
        assert_eq!(
            outcomes::<CompaniesCreate>(&records, items()),
            [outcome(1), outcome(0)]
        );
        // A failure item could be either's too: the other may have been
        // created by this record's request.
        let mut refused_second = items();
        refused_second[1] = refused::<CompaniesCreate>();
        assert_eq!(
            outcomes::<CompaniesCreate>(&records, refused_second),
            [outcome(1), outcome(0)]
        );
    }

    #[test]
    fn the_same_create_twice_is_applied_whichever_item_it_gets() {
        let note = ActivityCreate::new(
            ActivityParentInput::new("person", 7),
            ActivityTypeInput::new("user", 1),
        )
        .details("Called");
        let records = [note.clone(), note];
        let items = vec![
            created::<ActivitiesCreate>(&records[1], 2, json!({"user_id": 1})),
            created::<ActivitiesCreate>(&records[0], 1, json!({"user_id": 1})),
        ];
        assert_eq!(
            outcomes::<ActivitiesCreate>(&records, items),
            ["applied 2", "applied 1"]
        );
    }

    #[test]
    fn a_create_that_sets_more_fields_cannot_be_told_apart_from_one_that_sets_fewer() {
        // The first record's item lacks the second's phone number, which
        // Copper may have dropped; the second's carries one the first did
        // not set, which alone proves nothing. In either order, each item
        // could be the other record's.
        let records = [
            PersonCreate::new("Ann Lee"),
            PersonCreate::new("Ann Lee").phone_numbers([PhoneNumberInput::new("415-555-0100")]),
        ];
        for swap in [false, true] {
            let mut items = vec![
                created::<PeopleCreate>(&records[0], 1, json!({})),
                created::<PeopleCreate>(&records[1], 2, json!({})),
            ];
            if swap {
                items.reverse();
            }
            let kinds: Vec<bool> = outcomes::<PeopleCreate>(&records, items)
                .iter()
                .map(|outcome| outcome.starts_with("unknown"))
                .collect();
            assert_eq!(kinds, [true, true], "swapped: {swap}");
        }
    }

    #[test]
    fn creates_told_apart_only_by_a_field_copper_drops_are_unknown_when_swapped() {
        let person = |external_id: &str| {
            PersonCreate::new("Ann Lee").custom_fields([CustomFieldInput::new(
                9,
                CustomValue::Text(external_id.into()),
            )])
        };
        let records = [person("ext-1"), person("ext-2")];
        // Copper answers a custom field it did not keep with `null`.
        let dropped = json!({"custom_fields": [{"custom_field_definition_id": 9, "value": null}]});
        let items = vec![
            created::<PeopleCreate>(&records[1], 2, dropped.clone()),
            created::<PeopleCreate>(&records[0], 1, dropped),
        ];
        let kinds: Vec<bool> = outcomes::<PeopleCreate>(&records, items)
            .iter()
            .map(|outcome| {
                outcome.starts_with("unknown: copper's answer to this create cannot be told apart")
            })
            .collect();
        assert_eq!(kinds, [true, true]);
    }

    #[test]
    fn two_refused_creates_stay_refused() {
        let records = [CompanyCreate::new("A"), CompanyCreate::new("B")];
        let items = vec![refused::<CompaniesCreate>(), refused::<CompaniesCreate>()];
        assert_eq!(
            outcomes::<CompaniesCreate>(&records, items),
            ["rejected", "rejected"]
        );
    }

    #[test]
    fn copper_tidying_a_field_is_not_a_mismatch() {
        let person = PersonCreate::new("  Ann   LEE ")
            .emails([copper_bulk_raw::types::EmailInput::new("Ann@Example.COM")])
            .phone_numbers([PhoneNumberInput::new("+1 415-555-0100")])
            .tags(["VIP", "vip", "2026"])
            .custom_fields([
                CustomFieldInput::new(1, CustomValue::Text("01/14/2020".into())),
                CustomFieldInput::new(2, CustomValue::Integer(3)),
                CustomFieldInput::new(3, CustomValue::Ids(vec![5, 4])),
            ]);
        let tidied = json!({
            "name": "Ann Lee",
            "emails": [{"email": "ann@example.com", "category": "work"}],
            "phone_numbers": [{"number": "+1 (415) 555 0100", "category": "work"}],
            "tags": ["2026", "vip"],
            "custom_fields": [
                {"custom_field_definition_id": 1, "value": 1578960000},
                {"custom_field_definition_id": 2, "value": 3.0},
                {"custom_field_definition_id": 3, "value": [4, 5]},
                {"custom_field_definition_id": 4, "value": null},
            ],
        });
        let items = vec![created::<PeopleCreate>(&person, 1, tidied)];
        assert_eq!(outcomes::<PeopleCreate>(&[person], items), ["applied 1"]);

        let deal = OpportunityCreate::new("Paper")
            .primary_contact_id(12)
            .close_date("01/04/2020");
        let items = vec![created::<OpportunitiesCreate>(
            &deal,
            1,
            json!({"close_date": "1/4/2020", "status": "Open"}),
        )];
        assert_eq!(
            outcomes::<OpportunitiesCreate>(&[deal], items),
            ["applied 1"]
        );
    }

    #[test]
    fn a_custom_field_copper_returns_changed_is_a_mismatch() {
        let person = PersonCreate::new("Ann")
            .custom_fields([CustomFieldInput::new(9, CustomValue::Text("ext-1".into()))]);
        let other = json!({"custom_fields": [{"custom_field_definition_id": 9, "value": "ext-2"}]});
        let items = vec![created::<PeopleCreate>(&person, 1, other)];
        assert_eq!(
            outcomes::<PeopleCreate>(&[person], items),
            [
                r#"unknown: copper answered the create of `custom field 9 "ext-1"` with a record for `custom field 9 "ext-2"`"#
            ]
        );
    }

    #[test]
    fn components_are_the_cycles_of_the_graph() {
        // 0 -> 1 -> 2 -> 0 is a cycle; 3 -> 0 and 4 alone are not on one.
        let edges = [vec![1], vec![2], vec![0], vec![0], vec![]];
        let component = components(&edges);
        assert_eq!(component[0], component[1]);
        assert_eq!(component[1], component[2]);
        assert_ne!(component[3], component[0]);
        assert_ne!(component[4], component[0]);
        assert_ne!(component[3], component[4]);
    }
}
