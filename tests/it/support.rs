//! Paths and data shared by the tests.

use std::path::PathBuf;

use copper_bulk_raw::category::{EmailCategory, PhoneCategory, SocialCategory, WebsiteCategory};
use copper_bulk_raw::patch::Patch;
use copper_bulk_raw::types::{
    Address, CustomFieldInput, EmailInput, PersonCreate, PersonUpdate, PhoneNumberInput,
    SocialInput, WebsiteInput,
};
use serde_json::json;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shared spec, as JSON.
pub fn spec() -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("openapi/copper.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// An update that sets every field the spec lets an update send.
pub fn update_every_field() -> PersonUpdate {
    PersonUpdate {
        name: Some("My Contact".into()),
        prefix: Patch::Value("Dr.".into()),
        first_name: Patch::Value("My".into()),
        middle_name: Patch::Value("Q".into()),
        last_name: Patch::Value("Contact".into()),
        suffix: Patch::Value("Jr.".into()),
        title: Patch::Value("CTO".into()),
        company_name: Patch::Value("Dunder Mifflin".into()),
        contact_type_id: Patch::Value(1074),
        assignee_id: Patch::Value(137658),
        details: Patch::Value("Met at the fair".into()),
        address: Patch::Value(Address {
            street: Some("123 Main Street".into()),
            city: Some("Savannah".into()),
            state: Some("Georgia".into()),
            postal_code: Some("31410".into()),
            country: Some("United States".into()),
        }),
        emails: Patch::Value(vec![EmailInput {
            email: "mycontact_1233@noemail.com".into(),
            category: Some(EmailCategory::Work),
        }]),
        phone_numbers: Patch::Value(vec![PhoneNumberInput {
            number: "415-123-45678".into(),
            category: Some(PhoneCategory::Mobile),
        }]),
        socials: Patch::Value(vec![SocialInput {
            url: "https://www.linkedin.com/in/mycontact".into(),
            category: Some(SocialCategory::Linkedin),
        }]),
        websites: Patch::Value(vec![WebsiteInput {
            url: "https://example.com".into(),
            category: Some(WebsiteCategory::Personal),
        }]),
        tags: Patch::Value(vec!["customer".into(), "vip".into()]),
        custom_fields: vec![
            CustomFieldInput {
                custom_field_definition_id: 100764,
                value: json!("A text").into(),
            },
            CustomFieldInput {
                custom_field_definition_id: 126240,
                value: json!([4, 5]).into(),
            },
        ],
        ..PersonUpdate::new(12345)
    }
}

/// A create of a person with a few fields.
pub fn create(name: &str, email: &str) -> PersonCreate {
    PersonCreate {
        title: Some("Buyer".into()),
        emails: vec![EmailInput {
            email: email.into(),
            category: Some(EmailCategory::Personal),
        }],
        tags: vec!["imported".into()],
        ..PersonCreate::new(name.into())
    }
}
