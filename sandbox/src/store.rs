//! The sandbox's people, and Copper's rules for changing them.

use std::collections::{BTreeMap, HashMap};

use copper_bulk_raw::category::{EmailCategory, PhoneCategory, SocialCategory, WebsiteCategory};
use copper_bulk_raw::patch::Patch;
use copper_bulk_raw::types::{
    BulkCreateFailure, BulkFailureMessage, BulkUpdateFailure, CustomFieldInput, CustomFieldValue,
    Email, EmailInput, FieldError, FieldErrors, Person, PersonCreate, PersonUpdate, PhoneNumber,
    PhoneNumberInput, Social, SocialInput, Website, WebsiteInput,
};

/// What the sandbox applied, in order: for tests that check that nothing
/// reported applied was not, and nothing was created twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// A person was created with this id.
    Created(i64),
    /// The person with this id was updated.
    Updated(i64),
}

/// The people of one sandbox account.
#[derive(Debug, Default)]
pub(crate) struct Store {
    people: BTreeMap<i64, Person>,
    /// Lower-cased e-mail address -> the person who has it.
    emails: HashMap<String, i64>,
    next_id: i64,
    log: Vec<Applied>,
    keep_log: bool,
}

/// The errors of one record, per field.
#[derive(Default)]
struct Errors(BTreeMap<String, Vec<FieldError>>);

impl Errors {
    fn invalid(&mut self, field: &str) {
        let errors = self.0.entry(field.to_owned()).or_default();
        if errors.is_empty() {
            errors.push(FieldError {
                error: "invalid".to_owned(),
            });
        }
    }

    fn into_message(self) -> Option<BulkFailureMessage> {
        if self.0.is_empty() {
            return None;
        }
        Some(BulkFailureMessage::FieldErrors(FieldErrors(self.0)))
    }
}

impl Store {
    pub(crate) fn new(first_id: i64, keep_log: bool) -> Self {
        Store {
            next_id: first_id,
            keep_log,
            ..Store::default()
        }
    }

    fn record(&mut self, applied: Applied) {
        if self.keep_log {
            self.log.push(applied);
        }
    }

    /// Adds a person as it is, for seeding.
    pub(crate) fn insert(&mut self, person: Person) {
        for email in person.emails.iter().flatten() {
            if let Some(address) = &email.email {
                self.emails.insert(address.to_lowercase(), person.id);
            }
        }
        self.next_id = self.next_id.max(person.id + 1);
        self.people.insert(person.id, person);
    }

    pub(crate) fn person(&self, id: i64) -> Option<&Person> {
        self.people.get(&id)
    }

    pub(crate) fn people(&self) -> impl Iterator<Item = &Person> {
        self.people.values()
    }

    pub(crate) fn log(&self) -> &[Applied] {
        &self.log
    }

    /// Applies one update, as Copper does: only the fields sent change, a
    /// field sent as `null` is cleared, lists are replaced whole, custom
    /// fields change per definition.
    pub(crate) fn update(
        &mut self,
        record: PersonUpdate,
        now: i64,
    ) -> Result<Person, BulkUpdateFailure> {
        let failure = |message| BulkUpdateFailure {
            id: record.id,
            message,
            success: false,
        };
        let Some(current) = self.people.get(&record.id) else {
            return Err(failure(BulkFailureMessage::String(
                "Resource not found".to_owned(),
            )));
        };
        let mut errors = Errors::default();
        if let Some(name) = &record.name
            && name.trim().is_empty()
        {
            errors.invalid("name");
        }
        check_ids(&mut errors, &record.contact_type_id, &record.assignee_id);
        if let Patch::Value(emails) = &record.emails {
            self.check_emails(&mut errors, emails, Some(record.id));
        }
        if let Patch::Value(phones) = &record.phone_numbers {
            check_phones(&mut errors, phones);
        }
        if let Patch::Value(socials) = &record.socials {
            check_socials(&mut errors, socials);
        }
        if let Patch::Value(websites) = &record.websites {
            check_websites(&mut errors, websites);
        }
        check_custom_fields(&mut errors, &record.custom_fields);
        if let Some(message) = errors.into_message() {
            return Err(failure(message));
        }

        let mut person = current.clone();
        if let Some(name) = record.name {
            let (first, last) = split_name(&name);
            person.first_name = first;
            person.last_name = last;
            person.name = name;
        }
        patch(&mut person.prefix, record.prefix);
        patch(&mut person.first_name, record.first_name);
        patch(&mut person.middle_name, record.middle_name);
        patch(&mut person.last_name, record.last_name);
        patch(&mut person.suffix, record.suffix);
        patch(&mut person.title, record.title);
        patch(&mut person.company_name, record.company_name);
        patch(&mut person.contact_type_id, record.contact_type_id);
        patch(&mut person.assignee_id, record.assignee_id);
        patch(&mut person.details, record.details);
        patch(&mut person.address, record.address);
        patch_list(&mut person.emails, record.emails.map(emails));
        patch_list(&mut person.phone_numbers, record.phone_numbers.map(phones));
        patch_list(&mut person.socials, record.socials.map(socials));
        patch_list(&mut person.websites, record.websites.map(websites));
        patch_list(&mut person.tags, record.tags);
        merge_custom_fields(&mut person.custom_fields, record.custom_fields);
        person.date_modified = Some(now);

        self.reindex_emails(&person);
        self.people.insert(person.id, person.clone());
        self.record(Applied::Updated(person.id));
        Ok(person)
    }

    /// Applies one create: Copper assigns the id and the timestamps.
    pub(crate) fn create(
        &mut self,
        record: PersonCreate,
        now: i64,
    ) -> Result<Person, BulkCreateFailure> {
        let mut errors = Errors::default();
        if record.name.trim().is_empty() {
            errors.invalid("name");
        }
        let contact_type = record.contact_type_id.map_or(Patch::Absent, Patch::Value);
        let assignee = record.assignee_id.map_or(Patch::Absent, Patch::Value);
        check_ids(&mut errors, &contact_type, &assignee);
        self.check_emails(&mut errors, &record.emails, None);
        check_phones(&mut errors, &record.phone_numbers);
        check_socials(&mut errors, &record.socials);
        check_websites(&mut errors, &record.websites);
        check_custom_fields(&mut errors, &record.custom_fields);
        if let Some(message) = errors.into_message() {
            return Err(BulkCreateFailure {
                message,
                success: false,
            });
        }

        let id = self.next_id;
        self.next_id += 1;
        let (first, last) = split_name(&record.name);
        let mut custom_fields = Some(Vec::new());
        merge_custom_fields(&mut custom_fields, record.custom_fields);
        let person = Person {
            id,
            first_name: record.first_name.or(first),
            last_name: record.last_name.or(last),
            name: record.name,
            prefix: record.prefix,
            middle_name: record.middle_name,
            suffix: record.suffix,
            title: record.title,
            company_id: None,
            company_name: record.company_name,
            contact_type_id: record.contact_type_id,
            assignee_id: record.assignee_id,
            details: record.details,
            address: record.address,
            emails: Some(emails(record.emails)),
            phone_numbers: Some(phones(record.phone_numbers)),
            socials: Some(socials(record.socials)),
            websites: Some(websites(record.websites)),
            tags: Some(record.tags),
            custom_fields,
            date_created: Some(now),
            date_modified: Some(now),
            date_last_contacted: None,
            interaction_count: Some(0),
            leads_converted_from: Some(Vec::new()),
            date_lead_created: None,
        };
        self.reindex_emails(&person);
        self.people.insert(id, person.clone());
        self.record(Applied::Created(id));
        Ok(person)
    }

    /// E-mails must look like addresses, be of a known category, and
    /// belong to no other person (Copper's e-mails are unique per account).
    fn check_emails(&self, errors: &mut Errors, emails: &[EmailInput], owner: Option<i64>) {
        let mut seen = Vec::new();
        for email in emails {
            let address = email.email.trim().to_lowercase();
            let taken = self
                .emails
                .get(&address)
                .is_some_and(|id| Some(*id) != owner);
            let unknown = matches!(email.category, Some(EmailCategory::Unknown(_)));
            if !looks_like_email(&address) || taken || unknown || seen.contains(&address) {
                errors.invalid("emails");
            }
            seen.push(address);
        }
    }

    fn reindex_emails(&mut self, person: &Person) {
        self.emails.retain(|_, id| *id != person.id);
        for email in person.emails.iter().flatten() {
            if let Some(address) = &email.email {
                self.emails.insert(address.trim().to_lowercase(), person.id);
            }
        }
    }
}

fn check_ids(errors: &mut Errors, contact_type: &Patch<i64>, assignee: &Patch<i64>) {
    if contact_type.value().is_some_and(|id| *id <= 0) {
        errors.invalid("contact_type_id");
    }
    if assignee.value().is_some_and(|id| *id <= 0) {
        errors.invalid("assignee_id");
    }
}

fn check_phones(errors: &mut Errors, phones: &[PhoneNumberInput]) {
    if phones.iter().any(|phone| {
        phone.number.trim().is_empty() || matches!(phone.category, Some(PhoneCategory::Unknown(_)))
    }) {
        errors.invalid("phone_numbers");
    }
}

fn check_socials(errors: &mut Errors, socials: &[SocialInput]) {
    if socials.iter().any(|social| {
        social.url.trim().is_empty() || matches!(social.category, Some(SocialCategory::Unknown(_)))
    }) {
        errors.invalid("socials");
    }
}

fn check_websites(errors: &mut Errors, websites: &[WebsiteInput]) {
    if websites.iter().any(|site| {
        site.url.trim().is_empty() || matches!(site.category, Some(WebsiteCategory::Unknown(_)))
    }) {
        errors.invalid("websites");
    }
}

fn check_custom_fields(errors: &mut Errors, fields: &[CustomFieldInput]) {
    if fields
        .iter()
        .any(|field| field.custom_field_definition_id <= 0)
    {
        errors.invalid("custom_fields");
    }
}

/// A plausible address: something, one `@`, a domain with a dot.
fn looks_like_email(address: &str) -> bool {
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
fn split_name(name: &str) -> (Option<String>, Option<String>) {
    let name = name.trim();
    match name.split_once(char::is_whitespace) {
        Some((first, last)) => (Some(first.to_owned()), Some(last.trim().to_owned())),
        None if name.is_empty() => (None, None),
        None => (Some(name.to_owned()), None),
    }
}

fn patch<T>(field: &mut Option<T>, change: Patch<T>) {
    match change {
        Patch::Absent => {}
        Patch::Null => *field = None,
        Patch::Value(value) => *field = Some(value),
    }
}

/// A list sent as `null` is emptied: Copper returns `[]`, not `null`.
fn patch_list<T>(field: &mut Option<Vec<T>>, change: Patch<Vec<T>>) {
    match change {
        Patch::Absent => {}
        Patch::Null => *field = Some(Vec::new()),
        Patch::Value(values) => *field = Some(values),
    }
}

fn merge_custom_fields(
    current: &mut Option<Vec<CustomFieldValue>>,
    changes: Vec<CustomFieldInput>,
) {
    let fields = current.get_or_insert_with(Vec::new);
    for change in changes {
        let value = (!change.value.is_null()).then_some(change.value);
        match fields
            .iter_mut()
            .find(|field| field.custom_field_definition_id == change.custom_field_definition_id)
        {
            Some(field) => field.value = value,
            None => fields.push(CustomFieldValue {
                custom_field_definition_id: change.custom_field_definition_id,
                value,
                computed_value: None,
            }),
        }
    }
}

fn emails(inputs: Vec<EmailInput>) -> Vec<Email> {
    inputs
        .into_iter()
        .map(|input| Email {
            email: Some(input.email.trim().to_owned()),
            category: input.category.map(|c| c.as_str().to_owned()),
        })
        .collect()
}

fn phones(inputs: Vec<PhoneNumberInput>) -> Vec<PhoneNumber> {
    inputs
        .into_iter()
        .map(|input| PhoneNumber {
            number: Some(input.number),
            category: input.category.map(|c| c.as_str().to_owned()),
        })
        .collect()
}

fn socials(inputs: Vec<SocialInput>) -> Vec<Social> {
    inputs
        .into_iter()
        .map(|input| Social {
            url: Some(input.url),
            category: input.category.map(|c| c.as_str().to_owned()),
        })
        .collect()
}

fn websites(inputs: Vec<WebsiteInput>) -> Vec<Website> {
    inputs
        .into_iter()
        .map(|input| Website {
            url: Some(input.url),
            category: input.category.map(|c| c.as_str().to_owned()),
        })
        .collect()
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
        assert_eq!(
            split_name("Ada Lovelace"),
            (Some("Ada".into()), Some("Lovelace".into()))
        );
        assert_eq!(split_name("Cher"), (Some("Cher".into()), None));
        assert_eq!(
            split_name(" Mary Anne Evans "),
            (Some("Mary".into()), Some("Anne Evans".into()))
        );
    }
}
