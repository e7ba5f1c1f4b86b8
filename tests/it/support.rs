//! Paths and data shared by the tests.

use std::path::PathBuf;

use copper_bulk_raw::types::{
    Address, CustomFieldInput, EmailInput, PersonCreate, PersonUpdate, PhoneNumberInput,
    SocialInput, WebsiteInput,
};
use copper_bulk_raw::types::{EmailCategory, PhoneCategory, SocialCategory, WebsiteCategory};
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
    PersonUpdate::new(12345)
        .name("My Contact")
        .prefix("Dr.")
        .first_name("My")
        .middle_name("Q")
        .last_name("Contact")
        .suffix("Jr.")
        .title("CTO")
        .company_name("Dunder Mifflin")
        .contact_type_id(1074)
        .assignee_id(137658)
        .details("Met at the fair")
        .address(
            Address::new()
                .street("123 Main Street")
                .city("Savannah")
                .state("Georgia")
                .postal_code("31410")
                .country("United States"),
        )
        .emails([EmailInput::new("mycontact_1233@noemail.com").category(EmailCategory::Work)])
        .phone_numbers([PhoneNumberInput::new("415-123-45678").category(PhoneCategory::Mobile)])
        .socials([SocialInput::new("https://www.linkedin.com/in/mycontact")
            .category(SocialCategory::Linkedin)])
        .websites([WebsiteInput::new("https://example.com").category(WebsiteCategory::Personal)])
        .tags(["customer", "vip"])
        .custom_fields([
            CustomFieldInput::new(100764, json!("A text")),
            CustomFieldInput::new(126240, json!([4, 5])),
        ])
}

/// A create of a person with a few fields.
pub fn create(name: &str, email: &str) -> PersonCreate {
    PersonCreate::new(name)
        .title("Buyer")
        .emails([EmailInput::new(email).category("personal")])
        .tags(["imported"])
}
