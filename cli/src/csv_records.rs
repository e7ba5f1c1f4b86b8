//! The CSV columns of each record type.
//!
//! A CSV row holds the common flat fields of a record. An empty cell means
//! "leave unchanged" (for an update) or "not given" (for a create); a list
//! column (`tags`) is separated by `;`; `email` and `phone` set the record's
//! one e-mail or phone number, replacing the list. To clear a field, use
//! NDJSON and send it as `null`.

use std::collections::BTreeMap;

use copper_bulk::{Address, EmailInput, PersonCreate, PersonUpdate, PhoneNumberInput};

/// A record type that can be read from a CSV row.
pub trait CsvRecord: Sized {
    /// The columns a header may name, in the documented order.
    const COLUMNS: &'static [&'static str];

    /// The record in a row's non-empty cells, by column.
    fn from_cells(cells: &BTreeMap<&str, &str>) -> Result<Self, String>;
}

/// The columns of people, after `id` (updates only).
const PEOPLE: &[&str] = &[
    "id",
    "name",
    "first_name",
    "last_name",
    "title",
    "company_name",
    "email",
    "email_category",
    "phone",
    "phone_category",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "tags",
    "details",
];

/// The fields of people a row can give, other than `id` and `name`.
struct PeopleCells<'a> {
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    title: Option<&'a str>,
    company_name: Option<&'a str>,
    email: Option<EmailInput>,
    phone: Option<PhoneNumberInput>,
    address: Option<Address>,
    tags: Option<Vec<String>>,
    details: Option<&'a str>,
}

impl<'a> PeopleCells<'a> {
    fn read(cells: &BTreeMap<&str, &'a str>) -> Result<Self, String> {
        let cell = |name: &str| cells.get(name).copied();
        if cell("email").is_none() && cell("email_category").is_some() {
            return Err("`email_category` is set but `email` is empty".into());
        }
        if cell("phone").is_none() && cell("phone_category").is_some() {
            return Err("`phone_category` is set but `phone` is empty".into());
        }
        let email = cell("email").map(|email| {
            maybe(EmailInput::new(email), cell("email_category"), |e, c| {
                e.category(c)
            })
        });
        let phone = cell("phone").map(|number| {
            maybe(
                PhoneNumberInput::new(number),
                cell("phone_category"),
                |p, c| p.category(c),
            )
        });
        let parts = ["street", "city", "state", "postal_code", "country"].map(cell);
        let address = parts.iter().any(Option::is_some).then(|| {
            let [street, city, state, postal_code, country] = parts.map(|p| p.map(str::to_owned));
            Address {
                street,
                city,
                state,
                postal_code,
                country,
            }
        });
        let tags = cell("tags").map(|tags| {
            tags.split(';')
                .map(str::trim)
                .filter(|tag| !tag.is_empty())
                .map(str::to_owned)
                .collect()
        });
        Ok(PeopleCells {
            first_name: cell("first_name"),
            last_name: cell("last_name"),
            title: cell("title"),
            company_name: cell("company_name"),
            email,
            phone,
            address,
            tags,
            details: cell("details"),
        })
    }
}

/// Applies `value` with `set` when there is one.
fn maybe<R, T>(record: R, value: Option<T>, set: impl FnOnce(R, T) -> R) -> R {
    match value {
        Some(value) => set(record, value),
        None => record,
    }
}

impl CsvRecord for PersonUpdate {
    const COLUMNS: &'static [&'static str] = PEOPLE;

    fn from_cells(cells: &BTreeMap<&str, &str>) -> Result<Self, String> {
        let id = cells
            .get("id")
            .ok_or("`id` is empty; an update needs the person's id")?;
        let id: i64 = id
            .parse()
            .map_err(|_| format!("`id` is `{id}`, not a number"))?;
        let fields = PeopleCells::read(cells)?;
        let record = maybe(PersonUpdate::new(id), cells.get("name"), |r, v| r.name(*v));
        let record = maybe(record, fields.first_name, PersonUpdate::first_name);
        let record = maybe(record, fields.last_name, PersonUpdate::last_name);
        let record = maybe(record, fields.title, PersonUpdate::title);
        let record = maybe(record, fields.company_name, PersonUpdate::company_name);
        let record = maybe(record, fields.email, |r, v| r.emails([v]));
        let record = maybe(record, fields.phone, |r, v| r.phone_numbers([v]));
        let record = maybe(record, fields.address, PersonUpdate::address);
        let record = maybe(record, fields.tags, PersonUpdate::tags);
        Ok(maybe(record, fields.details, PersonUpdate::details))
    }
}

impl CsvRecord for PersonCreate {
    const COLUMNS: &'static [&'static str] = PEOPLE.split_at(1).1;

    fn from_cells(cells: &BTreeMap<&str, &str>) -> Result<Self, String> {
        let name = cells
            .get("name")
            .ok_or("`name` is empty; a create needs a name")?;
        let fields = PeopleCells::read(cells)?;
        let record = PersonCreate::new(*name);
        let record = maybe(record, fields.first_name, PersonCreate::first_name);
        let record = maybe(record, fields.last_name, PersonCreate::last_name);
        let record = maybe(record, fields.title, PersonCreate::title);
        let record = maybe(record, fields.company_name, PersonCreate::company_name);
        let record = maybe(record, fields.email, |r, v| r.emails([v]));
        let record = maybe(record, fields.phone, |r, v| r.phone_numbers([v]));
        let record = maybe(record, fields.address, PersonCreate::address);
        let record = maybe(record, fields.tags, PersonCreate::tags);
        Ok(maybe(record, fields.details, PersonCreate::details))
    }
}

#[cfg(test)]
mod tests {
    use copper_bulk::{EmailCategory, Patch};

    use super::*;

    fn cells<'a>(pairs: &[(&'a str, &'a str)]) -> BTreeMap<&'a str, &'a str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn an_update_row_sets_only_its_non_empty_cells() {
        let update = PersonUpdate::from_cells(&cells(&[
            ("id", "7"),
            ("title", "CTO"),
            ("email", "a@b.co"),
            ("email_category", "work"),
            ("city", "Austin"),
            ("tags", "vip; customer;"),
        ]))
        .unwrap();
        assert_eq!(update.id, 7);
        assert_eq!(update.title, Patch::Value("CTO".into()));
        assert_eq!(update.details, Patch::Absent);
        let emails = update.emails.value().unwrap();
        assert_eq!(emails[0].category, Some(EmailCategory::Work));
        assert_eq!(
            update.address.value().unwrap().city.as_deref(),
            Some("Austin")
        );
        assert_eq!(update.address.value().unwrap().street, None);
        assert_eq!(
            update.tags,
            Patch::Value(vec!["vip".into(), "customer".into()])
        );
    }

    #[test]
    fn bad_rows_say_what_is_wrong() {
        assert!(
            PersonUpdate::from_cells(&cells(&[("title", "x")]))
                .unwrap_err()
                .contains("`id` is empty")
        );
        assert!(
            PersonUpdate::from_cells(&cells(&[("id", "x7")]))
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            PersonUpdate::from_cells(&cells(&[("id", "7"), ("email_category", "work")]))
                .unwrap_err()
                .contains("`email` is empty")
        );
        assert!(
            PersonCreate::from_cells(&cells(&[("title", "x")]))
                .unwrap_err()
                .contains("needs a name")
        );
    }

    #[test]
    fn creates_take_every_column_but_id() {
        assert!(!PersonCreate::COLUMNS.contains(&"id"));
        assert_eq!(PersonCreate::COLUMNS.len(), PersonUpdate::COLUMNS.len() - 1);
    }
}
