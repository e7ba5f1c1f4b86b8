//! The raw client for Copper's bulk endpoints, generated at build time.
//!
//! The build script runs progenitor over the OpenAPI spec packaged with this
//! crate (`copper.yaml`, the project's `openapi/copper.yaml`), so a spec edit
//! takes effect with a plain `cargo build`. Most users want the `copper-bulk`
//! crate instead, which batches, rate-limits, retries and reports one outcome
//! per record on top of this client.
//!
//! The hand-written parts live beside the generated code because the
//! generated code refers to them and Rust's orphan rule keeps the
//! `ClientHooks` implementation in this crate:
//!
//! - [`bulk::BulkItem`]: the success-or-failure item of a bulk response,
//!   decided on `success == false` and never failing the rest of its batch;
//! - [`patch::Patch`]: the three states of an update field;
//! - open enums for Copper's categories, priorities and statuses, made in
//!   [`types`] from the values the spec lists (for example
//!   [`types::EmailCategory`]);
//! - [`custom::CustomValue`]: a custom field's value, of any documented kind;
//! - [`hooks`]: what every request gets (an API key's three headers or an
//!   OAuth bearer token, and a rate-limit permit) and the client's state;
//! - [`limiter`]: the trait of the rate limiter the hooks wait for, which a
//!   429 pauses for every request sharing it;
//! - [`throttle`]: the in-process limiter, the default;
//! - [`retry_after`]: the reading of `Retry-After`, clamped and never
//!   panicking on what a server sends;
//! - [`error_body`]: the lenient decoding of whole-request error bodies.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use copper_bulk_raw::hooks::{Credentials, Inner, http_client_builder};
//! use copper_bulk_raw::{patch::Patch, types, Client};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let credentials = Credentials::new("token", "me@example.com")?;
//! let http = http_client_builder(Duration::from_secs(10), Duration::from_secs(60)).build()?;
//! let client = Client::new_with_client("https://api.copper.com", http, Inner::new(credentials));
//! let body = types::PeopleBulkUpdateRequest {
//!     people: vec![
//!         types::PersonUpdate::new(12345).title("CTO").clear_details(),
//!         types::PersonUpdate { tags: Patch::Value(vec![]), ..types::PersonUpdate::new(67890) },
//!     ],
//! };
//! for item in client.people_bulk_update(None, &body).await?.into_inner() {
//!     println!("{item:?}");
//! }
//! # Ok(())
//! # }
//! ```

mod auth;
pub mod bulk;
pub mod custom;
pub mod error_body;
pub mod hooks;
pub mod limiter;
mod open_enum;
pub mod patch;
pub mod retry_after;
pub mod throttle;

/// The code progenitor generates from the spec.
#[allow(
    missing_docs,
    reason = "generated from the spec, which documents what it knows"
)]
#[allow(clippy::all, reason = "generated code")]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/client.rs"));
}

pub use generated::*;
