//! Copper's search endpoints over the store: which records a search
//! matches, in which order, and which page of them it answers with.
//!
//! A search body is first read with the generated request type, so a filter
//! of the wrong type (a list where Copper takes one string) is refused as
//! the spec says; what the type kept is then matched against the stored
//! records, criterion by criterion, all of which must hold (Copper's AND).

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::store::{Entity, Record};

/// The largest page Copper serves.
pub(crate) const MAX_PAGE_SIZE: u64 = 200;
/// The page size when a search gives none.
pub(crate) const DEFAULT_PAGE_SIZE: u64 = 20;
/// Copper answers only the first this many matches, whatever the paging.
pub(crate) const MAX_REACHABLE: usize = 100_000;

/// The paging and order of a search, read from its criteria.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Paging {
    page_size: u64,
    page_number: u64,
    sort_by: Option<String>,
    descending: bool,
}

impl Paging {
    /// The paging asked for, or why Copper would refuse it. The generated
    /// type has already refused zero and anything that is not a positive
    /// integer; the largest page is checked here.
    pub(crate) fn of(criteria: &Map<String, Value>) -> Result<Paging, String> {
        let page_size = criteria
            .get("page_size")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_PAGE_SIZE);
        if page_size > MAX_PAGE_SIZE {
            return Err(format!(
                "page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}"
            ));
        }
        Ok(Paging {
            page_size,
            page_number: criteria
                .get("page_number")
                .and_then(Value::as_u64)
                .unwrap_or(1),
            sort_by: criteria
                .get("sort_by")
                .and_then(Value::as_str)
                .map(str::to_owned),
            descending: criteria.get("sort_direction").and_then(Value::as_str) == Some("desc"),
        })
    }
}

/// The records of `entity` that meet every criterion, sorted and cut to the
/// page asked for, and how many matched in all.
pub(crate) fn search<'a>(
    entity: Entity,
    criteria: &Map<String, Value>,
    paging: &Paging,
    records: impl Iterator<Item = &'a Record>,
) -> (Vec<&'a Record>, usize) {
    // The addresses or domain asked for, normalized once rather than once
    // per record: a search of 200 addresses among 10,000 people would
    // otherwise fold case four million times, holding a server thread for
    // long enough to delay other requests as no Copper would.
    let wanted = Wanted::of(criteria);
    let mut found: Vec<&Record> = records
        .filter(|record| matches(entity, criteria, &wanted, record))
        .collect();
    let total = found.len();
    let sort_by = paging
        .sort_by
        .as_deref()
        .filter(|field| SORTABLE.contains(field))
        .unwrap_or_else(|| default_sort(entity));
    // Ties are broken by id, so that pages never overlap nor skip a record.
    found.sort_by(|a, b| {
        let order = compare(&a[sort_by], &b[sort_by]).then_with(|| compare(&a["id"], &b["id"]));
        if paging.descending {
            order.reverse()
        } else {
            order
        }
    });
    found.truncate(MAX_REACHABLE);
    let skip = paging
        .page_number
        .saturating_sub(1)
        .saturating_mul(paging.page_size);
    let page = found
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(paging.page_size).unwrap_or(usize::MAX))
        .collect();
    (page, total)
}

/// The fields a search can be sorted on. Copper lists more per entity; the
/// sandbox sorts on these and uses its default order for any other.
const SORTABLE: &[&str] = &["id", "name", "first_name", "date_created", "date_modified"];

/// Copper's default order for each entity, as its pages give it (activities
/// have none documented, so they come in id order).
fn default_sort(entity: Entity) -> &'static str {
    match entity {
        Entity::People => "first_name",
        Entity::Companies => "date_modified",
        Entity::Leads | Entity::Opportunities => "name",
        Entity::Activities => "id",
    }
}

/// Orders two field values: absent and `null` first, then numbers, then
/// texts without case.
fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .partial_cmp(&b.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(a), Value::String(b)) => a.to_lowercase().cmp(&b.to_lowercase()),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(_), _) => Ordering::Less,
        (_, Value::Number(_)) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

/// Whether `record` meets every criterion. A criterion the sandbox does not
/// know is ignored, as the generated type already dropped anything the spec
/// does not describe.
fn matches(
    entity: Entity,
    criteria: &Map<String, Value>,
    wanted: &Wanted,
    record: &Record,
) -> bool {
    if entity == Entity::Leads
        && criteria.get("include_converted_leads") != Some(&Value::Bool(true))
        && !record.get("converted_at").is_none_or(Value::is_null)
    {
        return false;
    }
    criteria
        .iter()
        .all(|(key, value)| meets(entity, key, value, wanted, record))
}

/// The e-mail addresses and domains a search asks for, as
/// [`normalized`] makes them.
struct Wanted {
    emails: HashSet<String>,
    domains: HashSet<String>,
}

impl Wanted {
    fn of(criteria: &Map<String, Value>) -> Self {
        let set = |key: &str| -> HashSet<String> {
            match criteria.get(key) {
                Some(Value::Array(values)) => values.iter().filter_map(normalized).collect(),
                Some(value) => normalized(value).into_iter().collect(),
                None => HashSet::new(),
            }
        };
        Wanted {
            emails: set("emails"),
            domains: set("email_domains"),
        }
    }
}

/// An address or a domain as Copper compares them: without case and
/// surrounding blanks. Copper keeps an address unique whatever its case, so
/// it cannot tell `A@x.com` from `a@x.com` either. Case is folded beyond
/// ASCII (`Ü` as `ü`), as the store folds the addresses it keeps unique and
/// as the client folds the keys it looks up, so that the three agree.
fn normalized(value: &Value) -> Option<String> {
    value.as_str().map(|text| text.trim().to_lowercase())
}

fn meets(entity: Entity, key: &str, value: &Value, wanted: &Wanted, record: &Record) -> bool {
    let field = |name: &str| record.get(name).unwrap_or(&Value::Null);
    match key {
        "ids" => any_equal(value, field("id")),
        "name" => contains_without_case(field("name"), value),
        // A person's addresses are a list, a lead's one object; the filter
        // is a list for people and one address for leads (the generated
        // types enforce which).
        "emails" => {
            let owned: Vec<&Value> = match entity {
                Entity::People => field("emails")
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|email| &email["email"])
                    .collect(),
                _ => vec![&field("email")["email"]],
            };
            owned
                .into_iter()
                .filter_map(normalized)
                .any(|owned| wanted.emails.contains(&owned))
        }
        "email_domains" => {
            normalized(field("email_domain")).is_some_and(|owned| wanted.domains.contains(&owned))
        }
        "company_ids" => any_equal(value, field("company_id")),
        "primary_contact_ids" => any_equal(value, field("primary_contact_id")),
        "minimum_created_date" => at_least(field("date_created"), value),
        "maximum_created_date" => at_least(value, field("date_created")),
        "minimum_activity_date" => at_least(field("activity_date"), value),
        "maximum_activity_date" => at_least(value, field("activity_date")),
        "parent" => {
            let parent = field("parent");
            parent["type"] == value["type"] && parent["id"] == value["id"]
        }
        "activity_types" => value.as_array().is_some_and(|types| {
            let kind = field("type");
            types
                .iter()
                .any(|t| t["category"] == kind["category"] && t["id"] == kind["id"])
        }),
        _ => true,
    }
}

/// Whether `list` holds `value`. An empty list filters nothing: the
/// generated types never send one.
fn any_equal(list: &Value, value: &Value) -> bool {
    match list.as_array() {
        Some(items) if !items.is_empty() => items.contains(value),
        _ => true,
    }
}

/// Whether `larger >= smaller`, both unix times; a record without the time
/// meets no bound.
fn at_least(larger: &Value, smaller: &Value) -> bool {
    match (larger.as_i64(), smaller.as_i64()) {
        (Some(larger), Some(smaller)) => larger >= smaller,
        _ => false,
    }
}

/// Copper finds records by part of their name, without case.
fn contains_without_case(stored: &Value, wanted: &Value) -> bool {
    match (stored.as_str(), wanted.as_str()) {
        (Some(stored), Some(wanted)) => stored
            .to_lowercase()
            .contains(wanted.trim().to_lowercase().as_str()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(value: Value) -> Record {
        match value {
            Value::Object(record) => record,
            _ => unreachable!(),
        }
    }

    fn criteria(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(criteria) => criteria,
            _ => unreachable!(),
        }
    }

    #[test]
    fn paging_refuses_a_page_above_200() {
        assert!(Paging::of(&criteria(json!({"page_size": 200}))).is_ok());
        let error = Paging::of(&criteria(json!({"page_size": 201}))).unwrap_err();
        assert!(error.contains("between 1 and 200"), "{error}");
    }

    #[test]
    fn ties_are_broken_by_id_in_either_direction() {
        let records: Vec<Record> = [3, 1, 2]
            .map(|id| record(json!({"id": id, "name": "Same"})))
            .into_iter()
            .collect();
        let ids = |descending| {
            let paging = Paging {
                page_size: 20,
                page_number: 1,
                sort_by: Some("name".into()),
                descending,
            };
            search(Entity::Companies, &Map::new(), &paging, records.iter())
                .0
                .iter()
                .map(|r| r["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(false), [1, 2, 3]);
        assert_eq!(ids(true), [3, 2, 1]);
    }

    #[test]
    fn converted_leads_are_left_out_unless_asked_for() {
        let converted = record(json!({"id": 1, "converted_at": 1_700_000_000}));
        let none = Wanted::of(&Map::new());
        assert!(!matches(Entity::Leads, &Map::new(), &none, &converted));
        assert!(matches(
            Entity::Leads,
            &criteria(json!({"include_converted_leads": true})),
            &none,
            &converted
        ));
    }
}
