#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod classify;
mod client;
mod config;
mod engine;
mod error;
mod matching;
pub mod ops;
mod outcome;
mod plan;
mod reconcile;
mod record;
mod resume;
pub mod retry;
mod send;
mod upsert;

pub use client::{Activities, Companies, Copper, Leads, Opportunities, People};
pub use config::{Config, ConfigError};
pub use error::{Error, InvalidRecord, RequestFailure};
pub use outcome::{Counts, Outcome, Outcomes, RecordResult, Rejection, Report};
pub use plan::{Planned, plan};
pub use reconcile::Reconcile;
pub use record::IntoRecord;
pub use resume::{Entry, Journal, Stopper};
pub use retry::RetryPolicy;
pub use upsert::{Action, Match, MatchedOutcome, MatchedOutcomes, MatchedResult};

pub use copper_bulk_raw::custom::{CustomDate, CustomValue};
pub use copper_bulk_raw::hooks::{
    AccessToken, Credentials, SharedToken, TokenError, TokenFuture, TokenSource,
};
/// The rate limiter's trait, and, with the `redis` feature, the limiter
/// shared by every process of an account through Redis
/// (`limiter::redis::RedisLimiter`).
pub use copper_bulk_raw::limiter;
pub use copper_bulk_raw::limiter::{Limiter, LimiterError, LimiterFuture};
pub use copper_bulk_raw::patch::Patch;
pub use copper_bulk_raw::throttle::{RateLimit, RequestKind, Throttle};
pub use copper_bulk_raw::types::{
    Activity, ActivityCreate, ActivityParentInput, ActivityParentType, ActivityTypeCategory,
    ActivityTypeInput, Address, Company, CompanyCreate, CompanyUpdate, CustomFieldInput,
    CustomFieldValue, EmailCategory, EmailInput, Lead, LeadCreate, LeadEmailInput, LeadUpdate,
    Opportunity, OpportunityCreate, OpportunityPriority, OpportunityStatus, Person, PersonCreate,
    PersonUpdate, PhoneCategory, PhoneNumberInput, SocialCategory, SocialInput, WebsiteCategory,
    WebsiteInput,
};

/// Every type generated from the spec, including the response records.
pub use copper_bulk_raw::types;
