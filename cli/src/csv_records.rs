//! The CSV columns of each record type.
//!
//! A CSV row holds the common flat fields of a record. An empty cell means
//! "leave unchanged" (for an update) or "not given" (for a create); `tags`
//! are separated by `;`; `email`, `phone` and `website` set the record's one
//! e-mail, phone number or website, replacing the list. To clear a field, or
//! to set custom fields, use NDJSON.

use std::collections::BTreeMap;

use copper_bulk::{
    ActivityCreate, ActivityParentInput, ActivityTypeInput, Address, CompanyCreate, CompanyUpdate,
    EmailInput, LeadCreate, LeadEmailInput, LeadUpdate, OpportunityCreate, PersonCreate,
    PersonUpdate, PhoneNumberInput, WebsiteInput,
};

/// A record type that can be read from a CSV row.
pub trait CsvRecord: Sized {
    /// The columns a header may name, in the documented order.
    const COLUMNS: &'static [&'static str];

    /// The record in a row's non-empty cells, by column.
    fn from_cells(cells: &Cells<'_>) -> Result<Self, String>;
}

/// The non-empty cells of one row, by column, and how to read them.
#[derive(Debug)]
pub struct Cells<'a>(pub BTreeMap<&'a str, &'a str>);

impl<'a> Cells<'a> {
    /// The text of a cell.
    pub fn text(&self, column: &str) -> Option<&'a str> {
        self.0.get(column).copied()
    }

    /// The text of a cell the record cannot do without.
    fn required(&self, column: &str, why: &str) -> Result<&'a str, String> {
        self.text(column)
            .ok_or_else(|| format!("`{column}` is empty; {why}"))
    }

    /// A whole number.
    fn integer(&self, column: &str) -> Result<Option<i64>, String> {
        self.text(column)
            .map(|text| {
                text.parse()
                    .map_err(|_| format!("`{column}` is `{text}`, not a number"))
            })
            .transpose()
    }

    /// A number, with or without a fraction.
    fn number(&self, column: &str) -> Result<Option<f64>, String> {
        self.text(column)
            .map(|text| {
                text.parse()
                    .ok()
                    .filter(|n: &f64| n.is_finite())
                    .ok_or_else(|| format!("`{column}` is `{text}`, not a number"))
            })
            .transpose()
    }

    /// `tags`, separated by `;`.
    fn tags(&self) -> Option<Vec<String>> {
        self.text("tags").map(|tags| {
            tags.split(';')
                .map(str::trim)
                .filter(|tag| !tag.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }

    /// `street`, `city`, `state`, `postal_code` and `country`, when any is
    /// given.
    fn address(&self) -> Option<Address> {
        let parts = ["street", "city", "state", "postal_code", "country"].map(|c| self.text(c));
        parts.iter().any(Option::is_some).then(|| {
            let [street, city, state, postal_code, country] = parts.map(|p| p.map(str::to_owned));
            Address {
                street,
                city,
                state,
                postal_code,
                country,
            }
        })
    }

    /// A value column and its category column, such as `email` and
    /// `email_category`: the category alone is an error.
    fn with_category(&self, value: &str) -> Result<Option<(&'a str, Option<&'a str>)>, String> {
        let category = format!("{value}_category");
        match (self.text(value), self.text(&category)) {
            (None, Some(_)) => Err(format!("`{category}` is set but `{value}` is empty")),
            (None, None) => Ok(None),
            (Some(value), category) => Ok(Some((value, category))),
        }
    }

    fn email(&self) -> Result<Option<EmailInput>, String> {
        Ok(self
            .with_category("email")?
            .map(|(email, category)| maybe(EmailInput::new(email), category, |e, c| e.category(c))))
    }

    fn phone(&self) -> Result<Option<PhoneNumberInput>, String> {
        Ok(self.with_category("phone")?.map(|(number, category)| {
            maybe(PhoneNumberInput::new(number), category, |p, c| {
                p.category(c)
            })
        }))
    }

    fn website(&self) -> Result<Option<WebsiteInput>, String> {
        Ok(self
            .with_category("website")?
            .map(|(url, category)| maybe(WebsiteInput::new(url), category, |w, c| w.category(c))))
    }
}

/// Applies `value` with `set` when there is one.
fn maybe<R, T>(record: R, value: Option<T>, set: impl FnOnce(R, T) -> R) -> R {
    match value {
        Some(value) => set(record, value),
        None => record,
    }
}

/// The id an update names.
fn id(cells: &Cells<'_>) -> Result<i64, String> {
    let id = cells.required("id", "an update needs the record's id")?;
    id.parse()
        .map_err(|_| format!("`id` is `{id}`, not a number"))
}

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

/// People's fields, other than `id` and `name`, on any record with the
/// same setters (the update and the create).
macro_rules! people_fields {
    ($record:expr, $cells:expr, $ty:ident) => {{
        let cells = $cells;
        let record = $record;
        let record = maybe(record, cells.text("first_name"), $ty::first_name);
        let record = maybe(record, cells.text("last_name"), $ty::last_name);
        let record = maybe(record, cells.text("title"), $ty::title);
        let record = maybe(record, cells.text("company_name"), $ty::company_name);
        let record = maybe(record, cells.email()?, |r, v| r.emails([v]));
        let record = maybe(record, cells.phone()?, |r, v| r.phone_numbers([v]));
        let record = maybe(record, cells.address(), $ty::address);
        let record = maybe(record, cells.tags(), $ty::tags);
        maybe(record, cells.text("details"), $ty::details)
    }};
}

/// The update (with `id`) and the create (without) of one entity, whose
/// other fields `$fields!` sets.
macro_rules! update_and_create {
    ($update:ident, $create:ident, $columns:ident, $fields:ident) => {
        impl CsvRecord for $update {
            const COLUMNS: &'static [&'static str] = $columns;

            fn from_cells(cells: &Cells<'_>) -> Result<Self, String> {
                let record = maybe($update::new(id(cells)?), cells.text("name"), $update::name);
                Ok($fields!(record, cells, $update))
            }
        }

        impl CsvRecord for $create {
            const COLUMNS: &'static [&'static str] = $columns.split_at(1).1;

            fn from_cells(cells: &Cells<'_>) -> Result<Self, String> {
                let record = $create::new(cells.required("name", "a create needs a name")?);
                Ok($fields!(record, cells, $create))
            }
        }
    };
}

update_and_create!(PersonUpdate, PersonCreate, PEOPLE, people_fields);

const LEADS: &[&str] = &[
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
    "status",
    "monetary_value",
    "monetary_unit",
    "tags",
    "details",
];

macro_rules! lead_fields {
    ($record:expr, $cells:expr, $ty:ident, $email:expr) => {{
        let cells = $cells;
        let record = $record;
        let record = maybe(record, cells.text("first_name"), $ty::first_name);
        let record = maybe(record, cells.text("last_name"), $ty::last_name);
        let record = maybe(record, cells.text("title"), $ty::title);
        let record = maybe(record, cells.text("company_name"), $ty::company_name);
        let record = maybe(record, cells.email()?, $email);
        let record = maybe(record, cells.phone()?, |r, v| r.phone_numbers([v]));
        let record = maybe(record, cells.address(), $ty::address);
        let record = maybe(record, cells.text("status"), $ty::status);
        let record = maybe(record, cells.number("monetary_value")?, $ty::monetary_value);
        let record = maybe(record, cells.text("monetary_unit"), $ty::monetary_unit);
        let record = maybe(record, cells.tags(), $ty::tags);
        maybe(record, cells.text("details"), $ty::details)
    }};
}

impl CsvRecord for LeadUpdate {
    const COLUMNS: &'static [&'static str] = LEADS;

    fn from_cells(cells: &Cells<'_>) -> Result<Self, String> {
        let record = maybe(
            LeadUpdate::new(id(cells)?),
            cells.text("name"),
            LeadUpdate::name,
        );
        Ok(lead_fields!(
            record,
            cells,
            LeadUpdate,
            |r: LeadUpdate, e: EmailInput| {
                r.email(LeadEmailInput {
                    email: e.email,
                    category: e.category,
                })
            }
        ))
    }
}

impl CsvRecord for LeadCreate {
    const COLUMNS: &'static [&'static str] = LEADS.split_at(1).1;

    fn from_cells(cells: &Cells<'_>) -> Result<Self, String> {
        let record = LeadCreate::new(cells.required("name", "a create needs a name")?);
        Ok(lead_fields!(record, cells, LeadCreate, LeadCreate::email))
    }
}

const COMPANIES: &[&str] = &[
    "id",
    "name",
    "email_domain",
    "phone",
    "phone_category",
    "website",
    "website_category",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "primary_contact_id",
    "tags",
    "details",
];

macro_rules! company_fields {
    ($record:expr, $cells:expr, $ty:ident) => {{
        let cells = $cells;
        let record = $record;
        let record = maybe(record, cells.text("email_domain"), $ty::email_domain);
        let record = maybe(record, cells.phone()?, |r, v| r.phone_numbers([v]));
        let record = maybe(record, cells.website()?, |r, v| r.websites([v]));
        let record = maybe(record, cells.address(), $ty::address);
        let record = maybe(
            record,
            cells.integer("primary_contact_id")?,
            $ty::primary_contact_id,
        );
        let record = maybe(record, cells.tags(), $ty::tags);
        maybe(record, cells.text("details"), $ty::details)
    }};
}

update_and_create!(CompanyUpdate, CompanyCreate, COMPANIES, company_fields);

impl CsvRecord for OpportunityCreate {
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "primary_contact_id",
        "company_id",
        "close_date",
        "monetary_value",
        "monetary_unit",
        "priority",
        "status",
        "win_probability",
        "tags",
        "details",
    ];

    fn from_cells(cells: &Cells<'_>) -> Result<Self, String> {
        let name = cells.required("name", "a create needs a name")?;
        let contact = cells
            .integer("primary_contact_id")?
            .ok_or("`primary_contact_id` is empty; an opportunity needs its person's id")?;
        let record = OpportunityCreate::new(name, contact);
        let record = maybe(
            record,
            cells.integer("company_id")?,
            OpportunityCreate::company_id,
        );
        let record = maybe(
            record,
            cells.text("close_date"),
            OpportunityCreate::close_date,
        );
        let record = maybe(
            record,
            cells.number("monetary_value")?,
            OpportunityCreate::monetary_value,
        );
        let record = maybe(
            record,
            cells.text("monetary_unit"),
            OpportunityCreate::monetary_unit,
        );
        let record = maybe(record, cells.text("priority"), |r, v| r.priority(v));
        let record = maybe(record, cells.text("status"), |r, v| r.status(v));
        let record = maybe(
            record,
            cells.integer("win_probability")?,
            OpportunityCreate::win_probability,
        );
        let record = maybe(record, cells.tags(), OpportunityCreate::tags);
        Ok(maybe(
            record,
            cells.text("details"),
            OpportunityCreate::details,
        ))
    }
}

impl CsvRecord for ActivityCreate {
    const COLUMNS: &'static [&'static str] = &[
        "parent_type",
        "parent_id",
        "type_id",
        "details",
        "activity_date",
    ];

    fn from_cells(cells: &Cells<'_>) -> Result<Self, String> {
        let parent_type =
            cells.required("parent_type", "an activity needs the kind of its record")?;
        let parent_id = cells
            .integer("parent_id")?
            .ok_or("`parent_id` is empty; an activity needs its record's id")?;
        let type_id = cells.integer("type_id")?.unwrap_or(0);
        let record = ActivityCreate::new(
            ActivityParentInput::new(parent_type, parent_id),
            ActivityTypeInput::new("user", type_id),
        );
        let record = maybe(record, cells.text("details"), ActivityCreate::details);
        Ok(maybe(
            record,
            cells.integer("activity_date")?,
            ActivityCreate::activity_date,
        ))
    }
}

#[cfg(test)]
mod tests {
    use copper_bulk::{EmailCategory, Patch};

    use super::*;

    fn cells<'a>(pairs: &[(&'a str, &'a str)]) -> Cells<'a> {
        Cells(pairs.iter().copied().collect())
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
        let error = |result: Result<PersonUpdate, String>| result.unwrap_err();
        assert!(
            error(PersonUpdate::from_cells(&cells(&[("title", "x")]))).contains("`id` is empty")
        );
        assert!(error(PersonUpdate::from_cells(&cells(&[("id", "x7")]))).contains("not a number"));
        assert!(
            error(PersonUpdate::from_cells(&cells(&[
                ("id", "7"),
                ("email_category", "work")
            ])))
            .contains("`email` is empty")
        );
        assert!(
            PersonCreate::from_cells(&cells(&[("title", "x")]))
                .unwrap_err()
                .contains("needs a name")
        );
        assert!(
            LeadCreate::from_cells(&cells(&[("name", "x"), ("monetary_value", "lots")]))
                .unwrap_err()
                .contains("`monetary_value` is `lots`")
        );
        assert!(
            OpportunityCreate::from_cells(&cells(&[("name", "Deal")]))
                .unwrap_err()
                .contains("primary_contact_id")
        );
        assert!(
            ActivityCreate::from_cells(&cells(&[("parent_type", "person")]))
                .unwrap_err()
                .contains("parent_id")
        );
    }

    #[test]
    fn creates_take_every_column_but_id() {
        assert!(!PersonCreate::COLUMNS.contains(&"id"));
        assert_eq!(PersonCreate::COLUMNS.len(), PersonUpdate::COLUMNS.len() - 1);
        assert_eq!(LeadCreate::COLUMNS.len(), LeadUpdate::COLUMNS.len() - 1);
        assert_eq!(
            CompanyCreate::COLUMNS.len(),
            CompanyUpdate::COLUMNS.len() - 1
        );
    }

    #[test]
    fn other_entities() {
        let lead = LeadUpdate::from_cells(&cells(&[
            ("id", "3"),
            ("email", "l@x.co"),
            ("status", "Qualified"),
        ]))
        .unwrap();
        assert_eq!(lead.email.value().unwrap().email, "l@x.co");
        let company = CompanyCreate::from_cells(&cells(&[
            ("name", "Acme"),
            ("website", "https://acme.example"),
        ]))
        .unwrap();
        assert_eq!(company.websites[0].url, "https://acme.example");
        let deal = OpportunityCreate::from_cells(&cells(&[
            ("name", "Deal"),
            ("primary_contact_id", "4"),
            ("priority", "High"),
            ("monetary_value", "1500.50"),
        ]))
        .unwrap();
        assert_eq!(
            (deal.primary_contact_id, deal.monetary_value),
            (4, Some(1500.5))
        );
        let activity = ActivityCreate::from_cells(&cells(&[
            ("parent_type", "company"),
            ("parent_id", "2"),
            ("details", "Met"),
        ]))
        .unwrap();
        assert_eq!(activity.parent.id, 2);
        assert_eq!(activity.type_.category.as_str(), "user");
    }
}
