//! The client, and the handle of each entity's bulk operations.

use std::fmt;
use std::sync::Arc;

use copper_bulk_raw::hooks::{Inner, http_client_builder};
use copper_bulk_raw::throttle::Throttle;
use copper_bulk_raw::types::{Person, PersonCreate, PersonUpdate};
use futures_util::stream::{self, Stream, StreamExt};

use crate::config::{Config, ConfigError};
use crate::engine::run;
use crate::ops::{self, Operation};
use crate::outcome::Outcomes;
use crate::record::IntoRecord;

/// A client of Copper's bulk endpoints.
///
/// Cheap to clone; clones share the HTTP connections and the rate limiter,
/// so every request made through any of them keeps to one schedule.
#[derive(Clone)]
pub struct Copper {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) raw: copper_bulk_raw::Client,
    pub(crate) config: Config,
}

impl Copper {
    /// A client with these settings.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        let http = match config.http_client() {
            Some(client) => client.clone(),
            None => {
                let (connect, request) = config.timeouts();
                http_client_builder(connect, request)
                    .build()
                    .map_err(ConfigError::HttpClient)?
            }
        };
        let mut inner = Inner::new(config.credentials().clone());
        if !config.rate_limits().is_empty() {
            let throttle = Throttle::new(config.rate_limits().iter().copied());
            inner = inner.with_throttle(Arc::new(throttle));
        }
        // The generated client appends `/developer_api/...` to the base URL.
        let base_url = config.base_url().as_str().trim_end_matches('/');
        let raw = copper_bulk_raw::Client::new_with_client(base_url, http, inner);
        Ok(Copper {
            shared: Arc::new(Shared { raw, config }),
        })
    }

    /// The bulk operations on people.
    pub fn people(&self) -> People {
        People {
            client: self.clone(),
            computed_values: false,
        }
    }

    /// Runs bulk operation `O` (see [`ops`]) over `records`: the generic
    /// form of the entity handles' methods, for code written once for every
    /// entity.
    ///
    /// ```no_run
    /// # async fn run(copper: copper_bulk::Copper) {
    /// use copper_bulk::{PersonUpdate, ops::PeopleUpdate};
    ///
    /// let report = copper
    ///     .bulk::<PeopleUpdate, _>([PersonUpdate::new(1).title("CTO")], false)
    ///     .report()
    ///     .await;
    /// # }
    /// ```
    pub fn bulk<O, I>(&self, records: I, computed_values: bool) -> Outcomes<O::Output>
    where
        O: Operation,
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<O::Record>,
    {
        self.bulk_stream::<O, _>(stream::iter(records), computed_values)
    }

    /// [`Copper::bulk`], from a stream of records.
    pub fn bulk_stream<O, S>(&self, records: S, computed_values: bool) -> Outcomes<O::Output>
    where
        O: Operation,
        S: Stream + Send + 'static,
        S::Item: IntoRecord<O::Record>,
    {
        run::<O>(
            self.shared.clone(),
            computed_values.then_some(true),
            records.map(IntoRecord::into_record).boxed(),
        )
    }

    /// The settings the client was made with.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The raw client underneath, for what the facade does not cover. Its
    /// requests carry the same credentials and keep to the same rate limits.
    pub fn raw(&self) -> &copper_bulk_raw::Client {
        &self.shared.raw
    }
}

impl fmt::Debug for Copper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Copper")
            .field("config", &self.shared.config)
            .finish()
    }
}

/// Bulk creates and updates of people: [`Copper::people`].
///
/// Every operation takes any number of records, as an iterator or a
/// stream, and returns their [`Outcomes`] in input order.
#[derive(Clone)]
pub struct People {
    client: Copper,
    computed_values: bool,
}

impl fmt::Debug for People {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("People")
            .field("computed_custom_field_values", &self.computed_values)
            .finish_non_exhaustive()
    }
}

impl People {
    /// Asks Copper to add each custom field's `computed_value` (option
    /// labels for dropdowns and multi-selects) to the people it returns.
    pub fn with_computed_custom_field_values(self) -> Self {
        People {
            computed_values: true,
            ..self
        }
    }

    /// Updates existing people. Each record names a person by `id` and
    /// carries only the fields to change.
    ///
    /// Updates are idempotent, so a request that failed in a way that may
    /// have reached Copper (a 5xx, a timeout) is retried.
    pub fn bulk_update<I>(&self, records: I) -> Outcomes<Person>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<PersonUpdate>,
    {
        self.client
            .bulk::<ops::PeopleUpdate, _>(records, self.computed_values)
    }

    /// [`People::bulk_update`], from a stream of records.
    pub fn bulk_update_stream<S>(&self, records: S) -> Outcomes<Person>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<PersonUpdate>,
    {
        self.client
            .bulk_stream::<ops::PeopleUpdate, _>(records, self.computed_values)
    }

    /// Creates people.
    ///
    /// Creating is not idempotent: a request that may have reached Copper
    /// is never sent again, and its records get
    /// [`RecordResult::Unknown`](crate::RecordResult::Unknown) outcomes
    /// rather than a chance of duplicate people. Only a 429 or a connection
    /// that was never established is retried.
    pub fn bulk_create<I>(&self, records: I) -> Outcomes<Person>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<PersonCreate>,
    {
        self.client
            .bulk::<ops::PeopleCreate, _>(records, self.computed_values)
    }

    /// [`People::bulk_create`], from a stream of records.
    pub fn bulk_create_stream<S>(&self, records: S) -> Outcomes<Person>
    where
        S: Stream + Send + 'static,
        S::Item: IntoRecord<PersonCreate>,
    {
        self.client
            .bulk_stream::<ops::PeopleCreate, _>(records, self.computed_values)
    }
}
