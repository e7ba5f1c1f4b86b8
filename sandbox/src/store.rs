//! The sandbox's records, and Copper's rules for changing them.
//!
//! Records are kept as JSON objects in the shape of the generated response
//! types (`Person`, `Lead`, ...): every request record is first read with
//! the generated request type, so only what the spec allows reaches the
//! store, and every answer is read back through the generated response
//! type before it is sent.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use copper_bulk_raw::types::{
    ActivityParentType, ActivityTypeCategory, EmailCategory, FieldError, OpportunityPriority,
    OpportunityStatus, PhoneCategory, SocialCategory, WebsiteCategory,
};
use serde_json::{Map, Value, json};

/// The kinds of record the sandbox holds; ids are unique within a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Entity {
    /// People.
    People,
    /// Leads.
    Leads,
    /// Companies.
    Companies,
    /// Opportunities.
    Opportunities,
    /// Activities.
    Activities,
}

/// What the sandbox applied, in order: for tests that check that nothing
/// reported applied was not, and nothing was created twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// A record of this kind was created with this id.
    Created(Entity, i64),
    /// The record of this kind with this id was updated.
    Updated(Entity, i64),
}

pub(crate) type Record = Map<String, Value>;

/// The errors of one record, per field.
pub(crate) type FieldErrors = BTreeMap<String, Vec<FieldError>>;

/// Why a record was not applied.
pub(crate) enum Refusal {
    /// The id names no record.
    NotFound,
    /// Fields Copper would refuse.
    Fields(FieldErrors),
}

/// The records of one sandbox account.
#[derive(Debug, Default)]
pub(crate) struct Store {
    records: BTreeMap<Entity, BTreeMap<i64, Record>>,
    next_ids: HashMap<Entity, i64>,
    /// People's lower-cased e-mail addresses -> the person who has each.
    emails: HashMap<String, i64>,
    /// Companies' lower-cased e-mail domains -> the companies that have
    /// each: several, when they were seeded past Copper's rule.
    domains: HashMap<String, BTreeSet<i64>>,
    log: Vec<Applied>,
    keep_log: bool,
}

/// The fields of an entity's records: name, and whether it is a list.
pub(crate) type Fields = [(String, bool)];

impl Store {
    pub(crate) fn new(keep_log: bool) -> Self {
        Store {
            keep_log,
            ..Store::default()
        }
    }

    /// Adds a record as it is, for seeding.
    pub(crate) fn insert(&mut self, entity: Entity, record: Record) {
        let id = record["id"].as_i64().expect("seeded records have ids");
        self.index(entity, id, &record);
        let next = self.next_ids.entry(entity).or_insert(1);
        *next = (*next).max(id + 1);
        self.records.entry(entity).or_default().insert(id, record);
    }

    pub(crate) fn get(&self, entity: Entity, id: i64) -> Option<&Record> {
        self.records.get(&entity)?.get(&id)
    }

    pub(crate) fn all(&self, entity: Entity) -> impl Iterator<Item = &Record> {
        self.records
            .get(&entity)
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    pub(crate) fn log(&self) -> &[Applied] {
        &self.log
    }

    fn record_applied(&mut self, applied: Applied) {
        if self.keep_log {
            self.log.push(applied);
        }
    }

    /// Applies one update, as Copper does: only the fields sent change, a
    /// field sent as `null` is cleared (a list is emptied), lists are
    /// replaced whole, custom fields change per definition.
    pub(crate) fn update(
        &mut self,
        entity: Entity,
        id: i64,
        change: &Record,
        fields: &Fields,
        now: i64,
    ) -> Result<Record, Refusal> {
        let Some(current) = self.get(entity, id) else {
            return Err(Refusal::NotFound);
        };
        let errors = self.check(entity, change, Some(id));
        if !errors.is_empty() {
            return Err(Refusal::Fields(errors));
        }
        let mut record = current.clone();
        for (key, value) in change {
            match (key.as_str(), value) {
                ("id", _) => {}
                ("custom_fields", Value::Array(changes)) => {
                    merge_custom_fields(&mut record, changes)
                }
                (_, Value::Null) if is_list(fields, key) => {
                    record.insert(key.clone(), json!([]));
                }
                _ => {
                    record.insert(key.clone(), value.clone());
                }
            }
        }
        if let Some(Value::String(name)) = change.get("name")
            && !change.contains_key("first_name")
            && !change.contains_key("last_name")
            && record.contains_key("first_name")
        {
            split_name(&mut record, name);
        }
        record.insert("date_modified".into(), json!(now));
        Ok(self.keep(entity, record, Some(Applied::Updated(entity, id))))
    }

    /// Stores a record that was just applied, and returns it.
    fn keep(&mut self, entity: Entity, record: Record, applied: Option<Applied>) -> Record {
        let id = record["id"].as_i64().expect("stored records have ids");
        self.index(entity, id, &record);
        self.records
            .entry(entity)
            .or_default()
            .insert(id, record.clone());
        if let Some(applied) = applied {
            self.record_applied(applied);
        }
        record
    }

    /// Applies one create: Copper assigns the id and the timestamps and
    /// fills in every field the record did not give.
    pub(crate) fn create(
        &mut self,
        entity: Entity,
        given: &Record,
        fields: &Fields,
        now: i64,
    ) -> Result<Record, Refusal> {
        let errors = self.check(entity, given, None);
        if !errors.is_empty() {
            return Err(Refusal::Fields(errors));
        }
        Ok(self.add(entity, given, fields, now, true))
    }

    /// Adds a record past Copper's rules, as a create would make it, for
    /// seeding what an account may hold although Copper refuses it now
    /// (two companies of one e-mail domain, made before the rule). It is
    /// not in the log of what was applied.
    pub(crate) fn seed_new(
        &mut self,
        entity: Entity,
        given: &Record,
        fields: &Fields,
        now: i64,
    ) -> Record {
        self.add(entity, given, fields, now, false)
    }

    /// Makes and stores a new record from `given`; `logged` says whether it
    /// goes into the log of what was applied.
    fn add(
        &mut self,
        entity: Entity,
        given: &Record,
        fields: &Fields,
        now: i64,
        logged: bool,
    ) -> Record {
        let next = self.next_ids.entry(entity).or_insert(1);
        let id = *next;
        *next += 1;

        let mut record: Record = fields
            .iter()
            .map(|(name, list)| (name.clone(), if *list { json!([]) } else { Value::Null }))
            .collect();
        for (key, value) in given {
            if key == "custom_fields" {
                continue;
            }
            record.insert(key.clone(), value.clone());
        }
        if let Some(Value::Array(changes)) = given.get("custom_fields") {
            merge_custom_fields(&mut record, changes);
        }
        record.insert("id".into(), json!(id));
        for (key, value) in [
            ("date_created", json!(now)),
            ("date_modified", json!(now)),
            ("interaction_count", json!(0)),
        ] {
            if record.contains_key(key) {
                record.insert(key.into(), value);
            }
        }
        if let Some(Value::String(name)) = given.get("name")
            && record.contains_key("first_name")
        {
            let name = name.clone();
            let (first, last) = (
                given.get("first_name").cloned(),
                given.get("last_name").cloned(),
            );
            split_name(&mut record, &name);
            for (key, value) in [("first_name", first), ("last_name", last)] {
                if let Some(value) = value {
                    record.insert(key.into(), value);
                }
            }
        }
        match entity {
            Entity::Leads if record["status"].is_null() => {
                record.insert("status".into(), json!("New"));
            }
            Entity::Opportunities if record["status"].is_null() => {
                record.insert("status".into(), json!("Open"));
            }
            Entity::Activities => {
                if record["activity_date"].is_null() {
                    record.insert("activity_date".into(), json!(now));
                }
                record.insert("user_id".into(), json!(1));
            }
            _ => {}
        }
        let applied = logged.then_some(Applied::Created(entity, id));
        self.keep(entity, record, applied)
    }

    /// The field errors Copper would give `record`; `owner` is the id of the
    /// record an update changes.
    fn check(&self, entity: Entity, record: &Record, owner: Option<i64>) -> FieldErrors {
        let mut errors = FieldErrors::new();
        let mut invalid = |field: &str| {
            errors.entry(field.to_owned()).or_insert_with(|| {
                vec![FieldError {
                    error: "invalid".to_owned(),
                }]
            });
        };
        for (key, value) in record {
            match (key.as_str(), value) {
                ("name", Value::String(name)) if name.trim().is_empty() => invalid("name"),
                ("emails", Value::Array(emails)) => {
                    let mut seen = Vec::new();
                    for email in emails {
                        let address = email["email"].as_str().unwrap_or("").trim().to_lowercase();
                        let taken = self
                            .emails
                            .get(&address)
                            .is_some_and(|id| Some(*id) != owner);
                        if !looks_like_email(&address)
                            || taken
                            || seen.contains(&address)
                            || !known(email.get("category"), EmailCategory::KNOWN)
                        {
                            invalid("emails");
                        }
                        seen.push(address);
                    }
                }
                // A company's e-mail domain is a unique key (Copper's
                // companies overview): one another company has fails.
                ("email_domain", Value::String(domain))
                    if entity == Entity::Companies
                        && !domain.trim().is_empty()
                        && self
                            .domains
                            .get(&normalized(domain))
                            .is_some_and(|ids| ids.iter().any(|id| Some(*id) != owner)) =>
                {
                    invalid("email_domain")
                }
                ("email", Value::Object(email)) => {
                    let address = email.get("email").and_then(Value::as_str).unwrap_or("");
                    if !looks_like_email(address.trim())
                        || !known(email.get("category"), EmailCategory::KNOWN)
                    {
                        invalid("email");
                    }
                }
                ("phone_numbers", Value::Array(items))
                    if !entries_valid(items, "number", PhoneCategory::KNOWN) =>
                {
                    invalid("phone_numbers")
                }
                ("socials", Value::Array(items))
                    if !entries_valid(items, "url", SocialCategory::KNOWN) =>
                {
                    invalid("socials")
                }
                ("websites", Value::Array(items))
                    if !entries_valid(items, "url", WebsiteCategory::KNOWN) =>
                {
                    invalid("websites")
                }
                ("custom_fields", Value::Array(items))
                    if items.iter().any(|field| {
                        field["custom_field_definition_id"]
                            .as_i64()
                            .is_none_or(|id| id <= 0)
                            || !documented_custom_value(&field["value"])
                    }) =>
                {
                    invalid("custom_fields")
                }
                ("priority", value) if !known(Some(value), OpportunityPriority::KNOWN) => {
                    invalid("priority")
                }
                ("status", value)
                    if entity == Entity::Opportunities
                        && !known(Some(value), OpportunityStatus::KNOWN) =>
                {
                    invalid("status")
                }
                ("win_probability", Value::Number(n))
                    if !n.as_i64().is_some_and(|p| (0..=100).contains(&p)) =>
                {
                    invalid("win_probability")
                }
                ("primary_contact_id", Value::Number(id))
                    if id
                        .as_i64()
                        .is_none_or(|id| self.get(Entity::People, id).is_none()) =>
                {
                    invalid("primary_contact_id")
                }
                ("parent", Value::Object(parent)) => {
                    let kind = parent.get("type").and_then(Value::as_str).unwrap_or("");
                    let id = parent.get("id").and_then(Value::as_i64).unwrap_or(0);
                    let entity = match kind {
                        "person" => Some(Entity::People),
                        "company" => Some(Entity::Companies),
                        "lead" => Some(Entity::Leads),
                        "opportunity" => Some(Entity::Opportunities),
                        // The sandbox holds no projects or tasks, so an
                        // activity on one fails as on a missing record.
                        _ => None,
                    };
                    if !known(parent.get("type"), ActivityParentType::KNOWN)
                        || entity.is_none_or(|entity| self.get(entity, id).is_none())
                    {
                        invalid("parent");
                    }
                }
                ("type", Value::Object(kind)) if entity == Entity::Activities => {
                    // Only user activity types can be created.
                    let category = kind.get("category");
                    if !known(category, ActivityTypeCategory::KNOWN)
                        || category != Some(&json!("user"))
                    {
                        invalid("type");
                    }
                }
                (key, Value::Number(id))
                    if key.ends_with("_id") && id.as_i64().is_none_or(|id| id <= 0) =>
                {
                    invalid(key)
                }
                _ => {}
            }
        }
        errors
    }

    /// Keeps the unique keys of a record stored under `id` findable.
    fn index(&mut self, entity: Entity, id: i64, record: &Record) {
        match entity {
            Entity::People => self.index_emails(id, record),
            Entity::Companies => {
                let domain_of = |record: &Record| {
                    record
                        .get("email_domain")
                        .and_then(Value::as_str)
                        .map(normalized)
                        .filter(|domain| !domain.is_empty())
                };
                if let Some(old) = self.get(entity, id).and_then(domain_of)
                    && let Some(ids) = self.domains.get_mut(&old)
                {
                    ids.remove(&id);
                    if ids.is_empty() {
                        self.domains.remove(&old);
                    }
                }
                if let Some(domain) = domain_of(record) {
                    self.domains.entry(domain).or_default().insert(id);
                }
            }
            _ => {}
        }
    }

    fn index_emails(&mut self, id: i64, record: &Record) {
        self.emails.retain(|_, owner| *owner != id);
        for email in record
            .get("emails")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(address) = email.get("email").and_then(Value::as_str) {
                self.emails.insert(address.trim().to_lowercase(), id);
            }
        }
    }
}

/// An e-mail domain as Copper compares them: trimmed, without case, as the
/// searches compare them.
fn normalized(domain: &str) -> String {
    domain.trim().to_lowercase()
}

fn is_list(fields: &Fields, key: &str) -> bool {
    fields.iter().any(|(name, list)| name == key && *list)
}

/// Whether `value` is absent, null, or one of `known`.
fn known(value: Option<&Value>, known: &[&str]) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(value)) => known.contains(&value.as_str()),
        Some(_) => false,
    }
}

/// Whether every entry has a non-empty `key` and a known category.
fn entries_valid(items: &[Value], key: &str, categories: &[&str]) -> bool {
    items.iter().all(|item| {
        item.get(key)
            .and_then(Value::as_str)
            .is_some_and(|value| !value.trim().is_empty())
            && known(item.get("category"), categories)
    })
}

/// Whether a custom field value is of a kind Copper documents: null, a
/// boolean, a number, a text or a list of option ids.
fn documented_custom_value(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
        Value::Array(ids) => ids.iter().all(|id| id.as_i64().is_some()),
        Value::Object(_) => false,
    }
}

/// A plausible address: something, one `@`, a domain with a dot.
pub(crate) fn looks_like_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.split('.').count() >= 2
        && domain.split('.').all(|part| !part.is_empty())
        && !address.contains(char::is_whitespace)
}

/// Copper splits a full name into first and last name.
fn split_name(record: &mut Record, name: &str) {
    let name = name.trim();
    let (first, last) = match name.split_once(char::is_whitespace) {
        Some((first, last)) => (json!(first), json!(last.trim())),
        None if name.is_empty() => (Value::Null, Value::Null),
        None => (json!(name), Value::Null),
    };
    record.insert("first_name".into(), first);
    record.insert("last_name".into(), last);
}

/// Changes custom fields per definition: a definition sent replaces its
/// value (`null` clears it), the others stay.
fn merge_custom_fields(record: &mut Record, changes: &[Value]) {
    let fields = record.entry("custom_fields").or_insert_with(|| json!([]));
    if !fields.is_array() {
        *fields = json!([]);
    }
    let fields = fields.as_array_mut().expect("made an array above");
    for change in changes {
        let id = change["custom_field_definition_id"].clone();
        let value = change.get("value").cloned().unwrap_or(Value::Null);
        match fields
            .iter_mut()
            .find(|field| field["custom_field_definition_id"] == id)
        {
            Some(field) => field["value"] = value,
            None => fields.push(json!({"custom_field_definition_id": id, "value": value})),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(looks_like_email("a@b.co"));
        for bad in ["", "a", "a@", "@b.co", "a@b", "a@b.", "a@@b.co", "a b@c.co"] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }

    #[test]
    fn names() {
        let mut record = Record::new();
        split_name(&mut record, " Mary Anne Evans ");
        assert_eq!(
            (&record["first_name"], &record["last_name"]),
            (&json!("Mary"), &json!("Anne Evans"))
        );
        split_name(&mut record, "Cher");
        assert_eq!(
            (&record["first_name"], &record["last_name"]),
            (&json!("Cher"), &Value::Null)
        );
    }

    #[test]
    fn custom_fields_change_per_definition() {
        let mut record = Record::new();
        record.insert(
            "custom_fields".into(),
            json!([{"custom_field_definition_id": 1, "value": "a"}, {"custom_field_definition_id": 2, "value": true}]),
        );
        merge_custom_fields(
            &mut record,
            &[
                json!({"custom_field_definition_id": 1, "value": null}),
                json!({"custom_field_definition_id": 3, "value": [4, 5]}),
            ],
        );
        assert_eq!(
            record["custom_fields"],
            json!([
                {"custom_field_definition_id": 1, "value": null},
                {"custom_field_definition_id": 2, "value": true},
                {"custom_field_definition_id": 3, "value": [4, 5]},
            ])
        );
    }
}
