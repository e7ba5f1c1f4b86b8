//! The people a sandbox starts with, the same for the same seed.

use copper_bulk_raw::types::{Address, Email, Person, PhoneNumber};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::store::Store;

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

/// Fills `store` with `count` people with ids `1..=count`. Person `n` has
/// the e-mail `person<n>@example.com`; names, titles, cities and tags come
/// from a generator seeded with `seed`.
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
        store.insert(Person {
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
        });
    }
}
