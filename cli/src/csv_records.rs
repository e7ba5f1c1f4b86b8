//! The CSV columns of each record type, and the record each row holds.
//!
//! A CSV row holds the common flat fields of a record. An empty cell means
//! "leave unchanged" (for an update) or "not given" (for a create); `tags`
//! are separated by `;`; `email`, `phone` and `website` set the record's one
//! e-mail, phone number or website, replacing the list. To clear a field, or
//! to set custom fields, use NDJSON.
//!
//! Every cell is read as text and numbers are parsed afterwards, so that a
//! bad number is reported with its column and its text.

use copper_bulk::{
    ActivityCreate, ActivityParentInput, ActivityTypeInput, CompanyCreate, CompanyUpdate,
    LeadCreate, LeadEmailInput, LeadUpdate, OpportunityCreate, PersonCreate, PersonUpdate,
};
use serde::{Deserialize, Serialize};

use crate::csv_cells::{
    Cell, address, change, email, id, integer, name, number, phone, tags, website,
};
use crate::csv_input::CsvRecord;

/// The columns of `people update`; `people create` takes all but `id`.
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

/// A row of `people update` or `people create`.
#[derive(Debug, Deserialize, Serialize)]
pub struct PersonRow {
    id: Cell,
    name: Cell,
    first_name: Cell,
    last_name: Cell,
    title: Cell,
    company_name: Cell,
    email: Cell,
    email_category: Cell,
    phone: Cell,
    phone_category: Cell,
    street: Cell,
    city: Cell,
    state: Cell,
    postal_code: Cell,
    country: Cell,
    tags: Cell,
    details: Cell,
}

impl CsvRecord for PersonUpdate {
    type Row = PersonRow;
    const COLUMNS: &'static [&'static str] = PEOPLE;

    fn from_row(row: PersonRow) -> Result<Self, String> {
        Ok(PersonUpdate {
            name: row.name,
            first_name: change(row.first_name),
            last_name: change(row.last_name),
            title: change(row.title),
            company_name: change(row.company_name),
            emails: change(email(row.email, row.email_category)?.map(|e| vec![e])),
            phone_numbers: change(phone(row.phone, row.phone_category)?.map(|p| vec![p])),
            address: change(address(
                row.street,
                row.city,
                row.state,
                row.postal_code,
                row.country,
            )),
            tags: change(tags(row.tags)),
            details: change(row.details),
            ..PersonUpdate::new(id(row.id)?)
        })
    }
}

impl CsvRecord for PersonCreate {
    type Row = PersonRow;
    const COLUMNS: &'static [&'static str] = PEOPLE.split_at(1).1;

    fn from_row(row: PersonRow) -> Result<Self, String> {
        Ok(PersonCreate {
            first_name: row.first_name,
            last_name: row.last_name,
            title: row.title,
            company_name: row.company_name,
            emails: email(row.email, row.email_category)?.into_iter().collect(),
            phone_numbers: phone(row.phone, row.phone_category)?.into_iter().collect(),
            address: address(
                row.street,
                row.city,
                row.state,
                row.postal_code,
                row.country,
            ),
            tags: tags(row.tags).unwrap_or_default(),
            details: row.details,
            ..PersonCreate::new(name(row.name)?)
        })
    }
}

/// The columns of `leads update`; `leads create` takes all but `id`.
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

/// A row of `leads update` or `leads create`.
#[derive(Debug, Deserialize, Serialize)]
pub struct LeadRow {
    id: Cell,
    name: Cell,
    first_name: Cell,
    last_name: Cell,
    title: Cell,
    company_name: Cell,
    email: Cell,
    email_category: Cell,
    phone: Cell,
    phone_category: Cell,
    street: Cell,
    city: Cell,
    state: Cell,
    postal_code: Cell,
    country: Cell,
    status: Cell,
    monetary_value: Cell,
    monetary_unit: Cell,
    tags: Cell,
    details: Cell,
}

impl CsvRecord for LeadUpdate {
    type Row = LeadRow;
    const COLUMNS: &'static [&'static str] = LEADS;

    fn from_row(row: LeadRow) -> Result<Self, String> {
        let email = email(row.email, row.email_category)?.map(|e| LeadEmailInput {
            email: e.email,
            category: e.category,
        });
        Ok(LeadUpdate {
            name: row.name,
            first_name: change(row.first_name),
            last_name: change(row.last_name),
            title: change(row.title),
            company_name: change(row.company_name),
            email: change(email),
            phone_numbers: change(phone(row.phone, row.phone_category)?.map(|p| vec![p])),
            address: change(address(
                row.street,
                row.city,
                row.state,
                row.postal_code,
                row.country,
            )),
            status: row.status,
            monetary_value: change(number("monetary_value", row.monetary_value)?),
            monetary_unit: change(row.monetary_unit),
            tags: change(tags(row.tags)),
            details: change(row.details),
            ..LeadUpdate::new(id(row.id)?)
        })
    }
}

impl CsvRecord for LeadCreate {
    type Row = LeadRow;
    const COLUMNS: &'static [&'static str] = LEADS.split_at(1).1;

    fn from_row(row: LeadRow) -> Result<Self, String> {
        Ok(LeadCreate {
            first_name: row.first_name,
            last_name: row.last_name,
            title: row.title,
            company_name: row.company_name,
            email: email(row.email, row.email_category)?,
            phone_numbers: phone(row.phone, row.phone_category)?.into_iter().collect(),
            address: address(
                row.street,
                row.city,
                row.state,
                row.postal_code,
                row.country,
            ),
            status: row.status,
            monetary_value: number("monetary_value", row.monetary_value)?,
            monetary_unit: row.monetary_unit,
            tags: tags(row.tags).unwrap_or_default(),
            details: row.details,
            ..LeadCreate::new(name(row.name)?)
        })
    }
}

/// The columns of `companies update`; `companies create` takes all but
/// `id`.
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

/// A row of `companies update` or `companies create`.
#[derive(Debug, Deserialize, Serialize)]
pub struct CompanyRow {
    id: Cell,
    name: Cell,
    email_domain: Cell,
    phone: Cell,
    phone_category: Cell,
    website: Cell,
    website_category: Cell,
    street: Cell,
    city: Cell,
    state: Cell,
    postal_code: Cell,
    country: Cell,
    primary_contact_id: Cell,
    tags: Cell,
    details: Cell,
}

impl CsvRecord for CompanyUpdate {
    type Row = CompanyRow;
    const COLUMNS: &'static [&'static str] = COMPANIES;

    fn from_row(row: CompanyRow) -> Result<Self, String> {
        Ok(CompanyUpdate {
            name: row.name,
            email_domain: change(row.email_domain),
            phone_numbers: change(phone(row.phone, row.phone_category)?.map(|p| vec![p])),
            websites: change(website(row.website, row.website_category)?.map(|w| vec![w])),
            address: change(address(
                row.street,
                row.city,
                row.state,
                row.postal_code,
                row.country,
            )),
            primary_contact_id: change(integer("primary_contact_id", row.primary_contact_id)?),
            tags: change(tags(row.tags)),
            details: change(row.details),
            ..CompanyUpdate::new(id(row.id)?)
        })
    }
}

impl CsvRecord for CompanyCreate {
    type Row = CompanyRow;
    const COLUMNS: &'static [&'static str] = COMPANIES.split_at(1).1;

    fn from_row(row: CompanyRow) -> Result<Self, String> {
        Ok(CompanyCreate {
            email_domain: row.email_domain,
            phone_numbers: phone(row.phone, row.phone_category)?.into_iter().collect(),
            websites: website(row.website, row.website_category)?
                .into_iter()
                .collect(),
            address: address(
                row.street,
                row.city,
                row.state,
                row.postal_code,
                row.country,
            ),
            primary_contact_id: integer("primary_contact_id", row.primary_contact_id)?,
            tags: tags(row.tags).unwrap_or_default(),
            details: row.details,
            ..CompanyCreate::new(name(row.name)?)
        })
    }
}

/// A row of `opportunities create`.
#[derive(Debug, Deserialize, Serialize)]
pub struct OpportunityRow {
    name: Cell,
    primary_contact_id: Cell,
    company_id: Cell,
    company_name: Cell,
    close_date: Cell,
    monetary_value: Cell,
    monetary_unit: Cell,
    priority: Cell,
    status: Cell,
    win_probability: Cell,
    tags: Cell,
    details: Cell,
}

impl CsvRecord for OpportunityCreate {
    type Row = OpportunityRow;
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "primary_contact_id",
        "company_id",
        "company_name",
        "close_date",
        "monetary_value",
        "monetary_unit",
        "priority",
        "status",
        "win_probability",
        "tags",
        "details",
    ];

    fn from_row(row: OpportunityRow) -> Result<Self, String> {
        let name = name(row.name)?;
        Ok(OpportunityCreate {
            primary_contact_id: integer("primary_contact_id", row.primary_contact_id)?,
            company_id: integer("company_id", row.company_id)?,
            company_name: row.company_name,
            close_date: row.close_date,
            monetary_value: number("monetary_value", row.monetary_value)?,
            monetary_unit: row.monetary_unit,
            priority: row.priority.map(Into::into),
            status: row.status.map(Into::into),
            win_probability: integer("win_probability", row.win_probability)?,
            tags: tags(row.tags).unwrap_or_default(),
            details: row.details,
            ..OpportunityCreate::new(name)
        })
    }
}

/// A row of `activities create`.
#[derive(Debug, Deserialize, Serialize)]
pub struct ActivityRow {
    parent_type: Cell,
    parent_id: Cell,
    type_id: Cell,
    details: Cell,
    activity_date: Cell,
}

impl CsvRecord for ActivityCreate {
    type Row = ActivityRow;
    const COLUMNS: &'static [&'static str] = &[
        "parent_type",
        "parent_id",
        "type_id",
        "details",
        "activity_date",
    ];

    fn from_row(row: ActivityRow) -> Result<Self, String> {
        let parent_type = row
            .parent_type
            .ok_or("`parent_type` is empty; an activity needs the kind of its record")?;
        let parent_id = integer("parent_id", row.parent_id)?
            .ok_or("`parent_id` is empty; an activity needs its record's id")?;
        // An activity without a type is a note, the user type 0.
        let type_id = integer("type_id", row.type_id)?.unwrap_or(0);
        Ok(ActivityCreate {
            details: row.details,
            activity_date: integer("activity_date", row.activity_date)?,
            ..ActivityCreate::new(
                ActivityParentInput::new(parent_type, parent_id),
                ActivityTypeInput::new("user", type_id),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use copper_bulk::{EmailCategory, Patch};
    use serde::de::DeserializeOwned;

    use super::*;

    /// The record of a row given as (column, cell) pairs.
    fn row<R: CsvRecord>(pairs: &[(&str, &str)]) -> Result<R, String> {
        let header = csv::StringRecord::from(pairs.iter().map(|(c, _)| *c).collect::<Vec<_>>());
        let cells = csv::StringRecord::from(pairs.iter().map(|(_, v)| *v).collect::<Vec<_>>());
        R::from_row(
            cells
                .deserialize(Some(&header))
                .map_err(|e| e.to_string())?,
        )
    }

    #[test]
    fn an_update_row_sets_only_its_non_empty_cells() {
        let update: PersonUpdate = row(&[
            ("id", "7"),
            ("title", "CTO"),
            ("first_name", ""),
            ("email", "a@b.co"),
            ("email_category", "work"),
            ("city", "Austin"),
            ("tags", "vip; customer;"),
        ])
        .unwrap();
        assert_eq!(update.id, 7);
        assert_eq!(update.title, Patch::Value("CTO".into()));
        assert_eq!(update.first_name, Patch::Absent);
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
        assert!(error(row(&[("title", "x")])).contains("`id` is empty"));
        assert!(error(row(&[("id", "x7")])).contains("`id` is `x7`, not a number"));
        assert!(
            error(row(&[("id", "7"), ("email_category", "work")])).contains("`email` is empty")
        );
        assert!(
            row::<PersonCreate>(&[("title", "x")])
                .unwrap_err()
                .contains("needs a name")
        );
        assert!(
            row::<LeadCreate>(&[("name", "x"), ("monetary_value", "lots")])
                .unwrap_err()
                .contains("`monetary_value` is `lots`")
        );
        // Copper's examples hold opportunities without a primary contact.
        assert_eq!(
            row::<OpportunityCreate>(&[("name", "Deal")])
                .unwrap()
                .primary_contact_id,
            None
        );
        assert!(
            row::<OpportunityCreate>(&[("name", "Deal"), ("primary_contact_id", "x")])
                .unwrap_err()
                .contains("primary_contact_id")
        );
        assert!(
            row::<ActivityCreate>(&[("parent_type", "person")])
                .unwrap_err()
                .contains("parent_id")
        );
    }

    /// Every documented column is a field of the row type and every field
    /// a documented column: a row naming every column fills every field.
    fn every_column_is_read<R: CsvRecord>()
    where
        R::Row: Serialize + DeserializeOwned,
    {
        let header = csv::StringRecord::from(R::COLUMNS.to_vec());
        let cells = csv::StringRecord::from(R::COLUMNS.to_vec());
        let row: R::Row = cells.deserialize(Some(&header)).unwrap();
        let row = serde_json::to_value(&row).unwrap();
        let fields = row.as_object().unwrap();
        for column in R::COLUMNS {
            assert_eq!(fields[*column], *column, "{column}");
        }
        let unread: Vec<&String> = fields
            .iter()
            .filter(|(field, _)| !R::COLUMNS.contains(&field.as_str()))
            .map(|(field, _)| field)
            .collect();
        // A create's row leaves out only the update's `id`.
        assert!(unread.is_empty() || unread == ["id"], "{unread:?}");
    }

    #[test]
    fn every_documented_column_is_read() {
        every_column_is_read::<PersonUpdate>();
        every_column_is_read::<PersonCreate>();
        every_column_is_read::<LeadUpdate>();
        every_column_is_read::<LeadCreate>();
        every_column_is_read::<CompanyUpdate>();
        every_column_is_read::<CompanyCreate>();
        every_column_is_read::<OpportunityCreate>();
        every_column_is_read::<ActivityCreate>();
        assert!(!PersonCreate::COLUMNS.contains(&"id"));
        assert!(!LeadCreate::COLUMNS.contains(&"id"));
        assert!(!CompanyCreate::COLUMNS.contains(&"id"));
    }

    #[test]
    fn other_entities() {
        let lead: LeadUpdate =
            row(&[("id", "3"), ("email", "l@x.co"), ("status", "Qualified")]).unwrap();
        assert_eq!(lead.email.value().unwrap().email, "l@x.co");
        let company: CompanyCreate =
            row(&[("name", "Acme"), ("website", "https://acme.example")]).unwrap();
        assert_eq!(company.websites[0].url, "https://acme.example");
        let deal: OpportunityCreate = row(&[
            ("name", "Deal"),
            ("primary_contact_id", "4"),
            ("company_name", "Dunder Mifflin"),
            ("priority", "High"),
            ("monetary_value", "1500.50"),
        ])
        .unwrap();
        assert_eq!(
            (deal.primary_contact_id, deal.monetary_value),
            (Some(4), Some(1500.5))
        );
        assert_eq!(deal.company_name.as_deref(), Some("Dunder Mifflin"));
        let activity: ActivityCreate = row(&[
            ("parent_type", "company"),
            ("parent_id", "2"),
            ("details", "Met"),
        ])
        .unwrap();
        assert_eq!(activity.parent.id, 2);
        assert_eq!(activity.type_.category.as_str(), "user");
    }
}
