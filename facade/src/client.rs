//! The client, and the handle of each entity's bulk operations.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use copper_bulk_raw::hooks::{Inner, http_client_builder};
use copper_bulk_raw::limiter::Limiter;
use copper_bulk_raw::throttle::Throttle;
use futures_util::stream::{self, Stream, StreamExt};

use crate::config::{Config, ConfigError};
use crate::engine::run;
use crate::error::Error;
use crate::ops::{Operation, Upsert};
use crate::outcome::Outcomes;
use crate::record::IntoRecord;
use crate::resume::{Entry, Journal, Stopper};
use crate::upsert::{self, Match, MatchedOutcomes, Mode};

pub use crate::ops::activities::Activities;
pub use crate::ops::companies::Companies;
pub use crate::ops::leads::Leads;
pub use crate::ops::opportunities::Opportunities;
pub use crate::ops::people::People;

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
    /// The raw client's limiter, for [`Copper::pace`].
    limiter: Arc<dyn Limiter>,
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
        // A limiter even without rate limits: a 429 pauses it for every
        // request of the client.
        let limiter = match config.limiter() {
            Some(limiter) => limiter.clone(),
            None => Arc::new(Throttle::new(config.rate_limits().iter().copied())),
        };
        let inner = Inner::new(config.credentials().clone()).with_limiter(limiter.clone());
        // The generated client appends `/developer_api/...` to the base URL.
        let base_url = config.base_url().as_str().trim_end_matches('/');
        let raw = copper_bulk_raw::Client::new_with_client(base_url, http, inner);
        Ok(Copper {
            shared: Arc::new(Shared {
                raw,
                config,
                limiter,
            }),
        })
    }

    /// Runs bulk operation `O` (see [`ops`](crate::ops)) over `records`: the generic
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
        let entries = records
            .enumerate()
            .map(|(index, record)| Entry::new(index, record));
        self.bulk_entries::<O, _>(entries, computed_values, None)
    }

    /// [`Copper::bulk_stream`] for a run that must survive being
    /// interrupted: each entry carries its own input index, so that records
    /// an earlier run settled can be left out, and says whether an earlier
    /// run sent it without learning its outcome, so that it is looked up in
    /// Copper before it is sent again ([`Reconcile`](crate::Reconcile)).
    /// `journal` learns of every request before it is sent and of every
    /// outcome as soon as it is known, which is what a resumed run needs to
    /// know.
    ///
    /// Outcomes come in the order of the entries, one per entry, except
    /// for [`Entry::settled`] ones, which yield none.
    pub fn bulk_entries<O, S>(
        &self,
        entries: S,
        computed_values: bool,
        journal: Option<Arc<dyn Journal<O::Output>>>,
    ) -> Outcomes<O::Output>
    where
        O: Operation,
        S: Stream<Item = Entry<O::Record>> + Send + 'static,
    {
        run::<O>(
            self.shared.clone(),
            (computed_values && O::COMPUTED_VALUES).then_some(true),
            entries.boxed(),
            journal,
            Stopper::default(),
            Arc::default(),
        )
    }

    /// Updates the record of `C`'s entity that holds each record's key
    /// `by`, or creates one when none does: the generic form of
    /// [`People::bulk_upsert`] (and of leads' and companies'), for code
    /// written once for every entity. `by` must be the entity's key,
    /// [`Upsert::MATCH`]; with another, every record is
    /// [`MatchedResult::Invalid`](crate::MatchedResult::Invalid).
    pub fn bulk_upsert_stream<C, S>(
        &self,
        records: S,
        by: Match,
        computed_values: bool,
    ) -> MatchedOutcomes<C::Output>
    where
        C: Upsert,
        S: Stream + Send + 'static,
        S::Item: IntoRecord<C::Record>,
    {
        self.matched::<C, S>(records, by, Mode::Upsert, computed_values)
    }

    /// [`Copper::bulk_upsert_stream`] without the creates: a record whose
    /// key no record holds is
    /// [`MatchedResult::NotFound`](crate::MatchedResult::NotFound).
    pub fn bulk_update_matched_stream<C, S>(
        &self,
        records: S,
        by: Match,
        computed_values: bool,
    ) -> MatchedOutcomes<C::Output>
    where
        C: Upsert,
        S: Stream + Send + 'static,
        S::Item: IntoRecord<C::Record>,
    {
        self.matched::<C, S>(records, by, Mode::UpdateOnly, computed_values)
    }

    /// [`Copper::bulk_upsert_stream`] of a job that may take up where an
    /// earlier run stopped, as [`Copper::bulk_entries`] does for the other
    /// operations: each [`Entry`] carries its input index, and one an
    /// earlier run sent without learning its outcome says when. Such a
    /// record is looked up like the others (an earlier create that landed
    /// is found, and updated, never created twice); one still found nowhere
    /// is looked up again once the earlier request cannot be in flight any
    /// more, and sent only if it is still not there. `journal` learns of
    /// every request before it is sent and of every outcome, with what was
    /// sent for it ([`Journal::settled_as`]).
    pub fn bulk_upsert_entries<C, S>(
        &self,
        entries: S,
        by: Match,
        computed_values: bool,
        journal: Option<Arc<dyn Journal<C::Output>>>,
    ) -> MatchedOutcomes<C::Output>
    where
        C: Upsert,
        S: Stream<Item = Entry<C::Record>> + Send + 'static,
    {
        self.matched_entries::<C, S>(entries, by, Mode::Upsert, computed_values, journal)
    }

    /// [`Copper::bulk_update_matched_stream`] of a job that may take up
    /// where an earlier run stopped: see [`Copper::bulk_upsert_entries`].
    pub fn bulk_update_matched_entries<C, S>(
        &self,
        entries: S,
        by: Match,
        computed_values: bool,
        journal: Option<Arc<dyn Journal<C::Output>>>,
    ) -> MatchedOutcomes<C::Output>
    where
        C: Upsert,
        S: Stream<Item = Entry<C::Record>> + Send + 'static,
    {
        self.matched_entries::<C, S>(entries, by, Mode::UpdateOnly, computed_values, journal)
    }

    fn matched<C, S>(
        &self,
        records: S,
        by: Match,
        mode: Mode,
        computed_values: bool,
    ) -> MatchedOutcomes<C::Output>
    where
        C: Upsert,
        S: Stream + Send + 'static,
        S::Item: IntoRecord<C::Record>,
    {
        let entries = records
            .enumerate()
            .map(|(index, record)| Entry::new(index, record));
        self.matched_entries::<C, _>(entries, by, mode, computed_values, None)
    }

    fn matched_entries<C, S>(
        &self,
        entries: S,
        by: Match,
        mode: Mode,
        computed_values: bool,
        journal: Option<Arc<dyn Journal<C::Output>>>,
    ) -> MatchedOutcomes<C::Output>
    where
        C: Upsert,
        S: Stream<Item = Entry<C::Record>> + Send + 'static,
    {
        upsert::run::<C, C::Update>(
            self.shared.clone(),
            (computed_values && C::COMPUTED_VALUES).then_some(true),
            entries.boxed(),
            journal,
            by,
            mode,
        )
    }

    /// The bulk operations on people.
    pub fn people(&self) -> People {
        People(Handle::new(self))
    }

    /// The bulk operations on leads.
    pub fn leads(&self) -> Leads {
        Leads(Handle::new(self))
    }

    /// The bulk operations on companies.
    pub fn companies(&self) -> Companies {
        Companies(Handle::new(self))
    }

    /// The bulk operations on opportunities.
    pub fn opportunities(&self) -> Opportunities {
        Opportunities(Handle::new(self))
    }

    /// The bulk operations on activities.
    pub fn activities(&self) -> Activities {
        Activities(Handle::new(self))
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

    /// The spacing bulk requests keep now, shared by every clone (and, with
    /// a shared limiter, every process of the account): the rate limit's,
    /// widened by 429s and narrowed back by quiet (see
    /// `copper_bulk_raw::throttle::Throttle::note_refused`); `None`
    /// without a spaced limit.
    pub fn pace(&self) -> Option<std::time::Duration> {
        self.shared.limiter.pace()
    }
}

impl fmt::Debug for Copper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Copper")
            .field("config", &self.shared.config)
            .finish()
    }
}

/// What every entity's handle holds, and the operations they all share.
#[derive(Clone)]
pub(crate) struct Handle {
    client: Copper,
    computed_values: bool,
}

impl Handle {
    fn new(client: &Copper) -> Self {
        Handle {
            client: client.clone(),
            computed_values: false,
        }
    }

    pub(crate) fn with_computed_values(self) -> Self {
        Handle {
            computed_values: true,
            ..self
        }
    }

    pub(crate) fn bulk<O, I>(&self, records: I) -> Outcomes<O::Output>
    where
        O: Operation,
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoRecord<O::Record>,
    {
        self.client.bulk::<O, _>(records, self.computed_values)
    }

    pub(crate) fn bulk_stream<O, S>(&self, records: S) -> Outcomes<O::Output>
    where
        O: Operation,
        S: Stream + Send + 'static,
        S::Item: IntoRecord<O::Record>,
    {
        self.client
            .bulk_stream::<O, _>(records, self.computed_values)
    }

    /// Runs records of create operation `C` matched by key `by` (module
    /// `upsert`).
    pub(crate) fn matched<C, S>(
        &self,
        records: S,
        by: Match,
        mode: Mode,
    ) -> MatchedOutcomes<C::Output>
    where
        C: Upsert,
        S: Stream + Send + 'static,
        S::Item: IntoRecord<C::Record>,
    {
        self.client
            .matched::<C, S>(records, by, mode, self.computed_values)
    }

    /// For each of `keys`, the ids of the records of `C` that hold it.
    pub(crate) async fn ids_by_key<C: Operation>(
        &self,
        keys: BTreeSet<String>,
    ) -> Result<BTreeMap<String, Vec<i64>>, Error> {
        upsert::ids_by_key::<C>(&self.client.shared, &Stopper::default(), keys).await
    }

    /// The `Debug` output of the handle named `name`, which leaves the
    /// client (and so the credentials) out.
    pub(crate) fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("computed_custom_field_values", &self.computed_values)
            .finish_non_exhaustive()
    }
}
