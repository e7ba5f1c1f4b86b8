//! The people a sandbox starts with, the same for the same seed.

use copper_bulk_raw::types::{Address, Email, Person, PhoneNumber};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use serde_json::{Value, json};

use crate::store::{Entity, Record, Store};

const FIRST: &[&str] = &[
    "Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Margaret", "Dennis",
    "Radia", "Ken", "Sophie", "Tim", "Hedy", "Linus", "Karen",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Liskov",
    "Dijkstra",
    "Allen",
    "Knuth",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "Thompson",
    "Wilson",
    "Berners-Lee",
    "Lamarr",
    "Torvalds",
    "Jones",
];
const TITLES: &[&str] = &["Buyer", "CTO", "Engineer", "Director", "Founder", "Analyst"];
const CITIES: &[(&str, &str)] = &[
    ("Savannah", "GA"),
    ("Portland", "OR"),
    ("Austin", "TX"),
    ("Boston", "MA"),
    ("Denver", "CO"),
];
const TAGS: &[&str] = &["customer", "prospect", "vip", "partner"];

/// Companies, leads and opportunities seeded, with ids from 1.
const COMPANIES: i64 = 10;
const LEADS: i64 = 10;
const OPPORTUNITIES: i64 = 5;

/// Fills `store` with `count` people with ids `1..=count` (person `n` has
/// the e-mail `person<n>@example.com`), 10 companies, 10 leads (lead `n`
/// has `lead<n>@example.com`) and 5 opportunities, all with ids from 1.
/// Names, titles, cities and tags come from a generator seeded with `seed`.
pub(crate) fn seed(store: &mut Store, seed: u64, count: usize) {
    // A fixed "now" (2026-01-01), so the seeded people are the same every run.
    let now = 1_767_225_600;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for id in 1..=count as i64 {
        let first = FIRST[rng.random_range(0..FIRST.len())];
        let last = LAST[rng.random_range(0..LAST.len())];
        let (city, state) = CITIES[rng.random_range(0..CITIES.len())];
        let tags = TAGS
            .iter()
            .filter(|_| rng.random_bool(0.3))
            .map(|tag| (*tag).to_owned())
            .collect();
        let person = Person {
            id,
            name: format!("{first} {last}"),
            first_name: Some(first.to_owned()),
            last_name: Some(last.to_owned()),
            prefix: None,
            middle_name: None,
            suffix: None,
            title: Some(TITLES[rng.random_range(0..TITLES.len())].to_owned()),
            company_id: None,
            company_name: None,
            contact_type_id: Some(1074),
            assignee_id: None,
            details: None,
            address: Some(Address {
                street: Some(format!("{} Main Street", rng.random_range(1..999))),
                city: Some(city.to_owned()),
                state: Some(state.to_owned()),
                postal_code: Some(format!("{:05}", rng.random_range(10_000..99_999))),
                country: Some("US".to_owned()),
            }),
            emails: Some(vec![Email {
                email: Some(format!("person{id}@example.com")),
                category: Some("work".to_owned()),
            }]),
            phone_numbers: Some(vec![PhoneNumber {
                number: Some(format!("415-555-{:04}", rng.random_range(0..10_000))),
                category: Some("mobile".to_owned()),
            }]),
            socials: Some(Vec::new()),
            websites: Some(Vec::new()),
            tags: Some(tags),
            custom_fields: Some(Vec::new()),
            date_created: Some(now - 86_400 * rng.random_range(1..1_000)),
            date_modified: Some(now - 86_400),
            date_last_contacted: None,
            interaction_count: Some(rng.random_range(0..50)),
            leads_converted_from: Some(Vec::new()),
            date_lead_created: None,
        };
        store.insert(Entity::People, to_record(&person));
    }
    for id in 1..=COMPANIES {
        let last = LAST[rng.random_range(0..LAST.len())];
        store.insert(
            Entity::Companies,
            record(json!({
                "id": id, "name": format!("{last} Industries {id}"), "address": null,
                "assignee_id": null, "contact_type_id": 1075, "details": null,
                "email_domain": format!("company{id}.example.com"), "phone_numbers": [],
                "socials": [], "websites": [], "tags": [], "primary_contact_id": null,
                "custom_fields": [], "interaction_count": 0,
                "date_created": now - 86_400 * 30, "date_modified": now - 86_400,
            })),
        );
    }
    for id in 1..=LEADS {
        let first = FIRST[rng.random_range(0..FIRST.len())];
        let last = LAST[rng.random_range(0..LAST.len())];
        store.insert(
            Entity::Leads,
            record(json!({
                "id": id, "name": format!("{first} {last}"), "prefix": null,
                "first_name": first, "middle_name": null, "last_name": last, "suffix": null,
                "title": null, "company_name": null, "customer_source_id": null,
                "assignee_id": null, "address": null, "details": null,
                "email": {"email": format!("lead{id}@example.com"), "category": "work"},
                "phone_numbers": [], "socials": [], "websites": [], "tags": [],
                "status": "New", "status_id": 1, "monetary_value": null,
                "monetary_unit": null, "converted_value": null, "converted_unit": null,
                "custom_fields": [], "interaction_count": 0,
                "date_created": now - 86_400 * 7, "date_modified": now - 86_400,
                "date_last_contacted": null, "converted_opportunity_id": null,
                "converted_at": null,
            })),
        );
    }
    for id in 1..=OPPORTUNITIES {
        store.insert(
            Entity::Opportunities,
            record(json!({
                "id": id, "name": format!("Deal {id}"), "assignee_id": null,
                "close_date": "1/14/2027", "company_id": null, "company_name": null,
                "customer_source_id": null, "details": null, "loss_reason_id": null,
                "monetary_value": 1000 * id, "monetary_unit": "USD",
                "converted_value": format!("{}.0", 1000 * id), "converted_unit": "USD",
                "pipeline_id": 1, "pipeline_stage_id": 1, "pipeline_is_revenue": true,
                "pipeline_type": "opportunity", "primary_contact_id": id,
                "priority": "None", "status": "Open", "tags": [], "win_probability": 10,
                "interaction_count": 0, "date_stage_changed": now - 86_400,
                "date_last_contacted": null, "leads_converted_from": [],
                "date_lead_created": null, "custom_fields": [],
                "date_created": now - 86_400 * 3, "date_modified": now - 86_400,
            })),
        );
    }
}

fn record(value: Value) -> Record {
    match value {
        Value::Object(record) => record,
        _ => unreachable!("seeded records are objects"),
    }
}

fn to_record(person: &Person) -> Record {
    record(serde_json::to_value(person).expect("people serialize"))
}
