#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod client;
mod config;
mod engine;
mod error;
pub mod ops;
mod outcome;
mod record;
pub mod retry;

pub use client::{Copper, People};
pub use config::{Config, ConfigError};
pub use engine::{Planned, plan};
pub use error::{Error, InvalidRecord, RequestFailure};
pub use outcome::{Counts, Outcome, Outcomes, RecordResult, Rejection, Report};
pub use record::IntoRecord;
pub use retry::RetryPolicy;

pub use copper_bulk_raw::category::{
    EmailCategory, PhoneCategory, SocialCategory, WebsiteCategory,
};
pub use copper_bulk_raw::patch::Patch;
pub use copper_bulk_raw::throttle::RateLimit;
pub use copper_bulk_raw::types::{
    Address, CustomFieldInput, EmailInput, Person, PersonCreate, PersonUpdate, PhoneNumberInput,
    SocialInput, WebsiteInput,
};

/// Every type generated from the spec, including the response records.
pub use copper_bulk_raw::types;
