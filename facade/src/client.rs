//! The client, and the handle of each entity's bulk operations.

use std::fmt;
use std::sync::Arc;

use copper_bulk_raw::hooks::{Inner, http_client_builder};
use copper_bulk_raw::throttle::Throttle;
use copper_bulk_raw::types::{
    Activity, ActivityCreate, Company, CompanyCreate, CompanyUpdate, Lead, LeadCreate, LeadUpdate,
    Opportunity, OpportunityCreate, Person, PersonCreate, PersonUpdate,
};
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
        // A throttle even without rate limits: a 429 pauses it for every
        // request of the client.
        let throttle = Throttle::new(config.rate_limits().iter().copied());
        let inner = Inner::new(config.credentials().clone()).with_throttle(Arc::new(throttle));
        // The generated client appends `/developer_api/...` to the base URL.
        let base_url = config.base_url().as_str().trim_end_matches('/');
        let raw = copper_bulk_raw::Client::new_with_client(base_url, http, inner);
        Ok(Copper {
            shared: Arc::new(Shared { raw, config }),
        })
    }

    /// Runs bulk operation `O` (see [`ops`]) over `records`: the generic
    /// form of the entity handles' methods, for code written once for every
    /// entity. `computed_values` asks for custom fields' computed values
    /// where the endpoint takes the flag ([`Operation::COMPUTED_VALUES`]).
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
            (computed_values && O::COMPUTED_VALUES).then_some(true),
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

/// The handle of one entity's bulk operations, and the [`Copper`] method
/// that returns it. Every operation takes any number of records, as an
/// iterator or a stream, and returns their [`Outcomes`] in input order.
macro_rules! entities {
    ($(
        $(#[$meta:meta])*
        $handle:ident, $method:ident: $output:ident $(, computed $computed:tt)?;
        $($kind:ident $op:ident($record:ident)),+;
    )*) => {
        impl Copper {$(
            #[doc = concat!("The bulk operations on ", stringify!($method), ".")]
            pub fn $method(&self) -> $handle {
                $handle {
                    client: self.clone(),
                    computed_values: false,
                }
            }
        )*}

        $(
            $(#[$meta])*
            ///
            /// Every operation takes any number of records, as an iterator
            /// or a stream, and returns their [`Outcomes`] in input order.
            #[derive(Clone)]
            pub struct $handle {
                client: Copper,
                computed_values: bool,
            }

            impl fmt::Debug for $handle {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.debug_struct(stringify!($handle))
                        .field("computed_custom_field_values", &self.computed_values)
                        .finish_non_exhaustive()
                }
            }

            impl $handle {
                $(entities!(@computed $computed $method);)?
                $(entities!(@$kind $op $record $output);)+
            }
        )*
    };
    (@computed yes $method:ident) => {
        #[doc = concat!(
            "Asks Copper to add each custom field's `computed_value` (option labels for dropdowns and multi-selects) to the ",
            stringify!($method),
            " it returns."
        )]
        pub fn with_computed_custom_field_values(self) -> Self {
            Self {
                computed_values: true,
                ..self
            }
        }
    };
    (@update $op:ident $record:ident $output:ident) => {
        /// Updates existing records. Each names its record by `id` and
        /// carries only the fields to change (`null` clears a field).
        ///
        /// Updates are idempotent, so a request that failed in a way that
        /// may have reached Copper (a 5xx, a timeout) is retried.
        pub fn bulk_update<I>(&self, records: I) -> Outcomes<$output>
        where
            I: IntoIterator,
            I::IntoIter: Send + 'static,
            I::Item: IntoRecord<$record>,
        {
            self.client.bulk::<ops::$op, _>(records, self.computed_values)
        }

        /// `bulk_update`, from a stream of records.
        pub fn bulk_update_stream<S>(&self, records: S) -> Outcomes<$output>
        where
            S: Stream + Send + 'static,
            S::Item: IntoRecord<$record>,
        {
            self.client.bulk_stream::<ops::$op, _>(records, self.computed_values)
        }
    };
    (@create $op:ident $record:ident $output:ident) => {
        /// Creates records.
        ///
        /// Creating is not idempotent: a request that may have reached
        /// Copper is never sent again, and its records get
        /// [`RecordResult::Unknown`](crate::RecordResult::Unknown) outcomes
        /// rather than a chance of duplicates. Only a 429 or a connection
        /// that was never established is retried.
        pub fn bulk_create<I>(&self, records: I) -> Outcomes<$output>
        where
            I: IntoIterator,
            I::IntoIter: Send + 'static,
            I::Item: IntoRecord<$record>,
        {
            self.client.bulk::<ops::$op, _>(records, self.computed_values)
        }

        /// `bulk_create`, from a stream of records.
        pub fn bulk_create_stream<S>(&self, records: S) -> Outcomes<$output>
        where
            S: Stream + Send + 'static,
            S::Item: IntoRecord<$record>,
        {
            self.client.bulk_stream::<ops::$op, _>(records, self.computed_values)
        }
    };
}

entities! {
    /// Bulk creates and updates of people: [`Copper::people`]. E-mail
    /// addresses are unique across an account.
    People, people: Person, computed yes;
    update PeopleUpdate(PersonUpdate), create PeopleCreate(PersonCreate);

    /// Bulk creates and updates of leads: [`Copper::leads`]. An account can
    /// have Leads switched off: every request is then refused with a 403
    /// `Feature not enabled`, and the run stops at the first.
    Leads, leads: Lead, computed yes;
    update LeadsUpdate(LeadUpdate), create LeadsCreate(LeadCreate);

    /// Bulk creates and updates of companies: [`Copper::companies`].
    Companies, companies: Company;
    update CompaniesUpdate(CompanyUpdate), create CompaniesCreate(CompanyCreate);

    /// Bulk creates of opportunities: [`Copper::opportunities`]. Copper has
    /// no bulk update of opportunities.
    Opportunities, opportunities: Opportunity;
    create OpportunitiesCreate(OpportunityCreate);

    /// Bulk creates of activities: [`Copper::activities`]. Only `user`
    /// activity types can be created.
    Activities, activities: Activity;
    create ActivitiesCreate(ActivityCreate);
}
