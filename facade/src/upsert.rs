//! Updates or creates records the caller knows by a key (an e-mail
//! address, a company's e-mail domain) rather than by Copper's id: looks
//! the keys of a window of records up in bulk, then sends each record as
//! an update of the one record found, as a create, or not at all.
//!
//! Copper has no upsert of people or companies (and its upsert of leads
//! takes one lead a request), so it is built from its search and its bulk
//! endpoints. The input is read a window at a time ([`WINDOW`] records):
//! the window's keys are looked up with as few searches as Copper allows
//! (two hundred e-mail addresses a search for people, one address or domain
//! a search for leads and companies, whose filters take one string; two
//! hundred records a page), then its updates and its creates are handed to the
//! engine as two runs that go out together, with the same retries,
//! reconciliation and graceful stop as any other bulk operation. The next
//! window is looked up while the last one's requests are in flight.
//!
//! Rules:
//! - A record without a key is [`MatchedResult::Invalid`].
//! - A record whose keys belong to several Copper records is
//!   [`MatchedResult::Ambiguous`], listing them; nothing is sent for it.
//! - A record that has a key an earlier record of the same run has is
//!   [`MatchedResult::Invalid`], naming the earlier record's index: two
//!   records of one input never create two records. Remembering the keys
//!   seen takes some 32 bytes a key (a hash of it and an index).
//! - A record whose key finds the Copper record an earlier record of the
//!   run updates is [`MatchedResult::Invalid`], naming the earlier record:
//!   one input never updates one record twice, in an order Copper does not
//!   promise to keep. Windows decide what they send in input order for
//!   this. Remembering the records updated takes some 24 bytes an update.
//!   With the keys, the only memory of a run that grows with its input.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;

use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::client::Shared;
use crate::engine::{self, Halt};
use crate::error::{Error, InvalidRecord, RequestFailure};
use crate::ops::{Kind, Operation, Upsert};
use crate::outcome::{Outcome, RecordResult};
use crate::reconcile::search;
use crate::resume::{Entry, Journal, Stopper};

/// What input records are matched to Copper's records by. Each entity is
/// matched by one key ([`Upsert::MATCH`]); a run asked to match by another
/// leaves every record [`MatchedResult::Invalid`], saying which key to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Match {
    /// The e-mail addresses (people's and leads'), compared as Copper
    /// compares them: without surrounding spaces and without regard to
    /// case.
    Email,
    /// A company's e-mail domain, Copper's unique key for companies,
    /// compared as the addresses are.
    EmailDomain,
}

impl Match {
    /// What the key is called in messages.
    fn key_name(self) -> &'static str {
        match self {
            Match::Email => "e-mail address",
            Match::EmailDomain => "e-mail domain",
        }
    }

    /// The name of the variant, as the caller wrote it.
    fn variant(self) -> &'static str {
        match self {
            Match::Email => "Match::Email",
            Match::EmailDomain => "Match::EmailDomain",
        }
    }
}

/// Whether a record that matches nobody is created or left alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Created.
    Upsert,
    /// Left alone, as [`MatchedResult::NotFound`].
    UpdateOnly,
}

/// How many records are looked up together. Two hundred people's e-mail
/// addresses take a search or two, two hundred leads' addresses or
/// companies' domains two hundred; their updates and creates take twenty
/// bulk requests.
pub(crate) const WINDOW: usize = 200;

/// How many windows are worked on at once: one looked up while the one
/// before is sent.
const WINDOWS_IN_FLIGHT: usize = 2;

/// What was sent for a record its key matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// An update of the Copper record with this id, the one record that
    /// holds the key.
    Update(i64),
    /// A create: no Copper record holds the key.
    Create,
}

/// What became of one input record of a run matched by key.
#[derive(Debug)]
pub struct MatchedOutcome<T> {
    /// The record's position in the input, counting from 0.
    pub index: usize,
    /// What became of it.
    pub result: MatchedResult<T>,
}

/// What became of one record of a run matched by key.
#[derive(Debug)]
#[non_exhaustive]
pub enum MatchedResult<T> {
    /// The record was sent as `action`; `result` is what became of it
    /// ([`RecordResult::Applied`] when Copper updated or created it).
    Sent {
        /// An update of the record found, or a create.
        action: Action,
        /// What became of the request's record.
        result: RecordResult<T>,
    },
    /// No Copper record holds the key, and the run only updates.
    NotFound,
    /// Several Copper records hold the record's keys (their ids, in
    /// increasing order); nothing was sent.
    Ambiguous(Vec<i64>),
    /// The record was refused before it was looked up: it has no key, its
    /// key is an earlier record's, or the input held no record there.
    Invalid(InvalidRecord),
    /// The record was not sent because its lookup failed or the run was
    /// stopped first; sending it again is safe.
    NotApplied(Arc<RequestFailure>),
    /// An earlier run sent the record without learning what became of it
    /// ([`Entry::sent_before`]), and this run could not look it up (the
    /// lookup failed, or the run was stopped first): it may have been
    /// applied then, so it is looked up again before it is ever sent again.
    Unknown(Arc<RequestFailure>),
}

impl<T> MatchedResult<T> {
    /// A short name of what became of the record: `updated`, `created`,
    /// `not_found`, `ambiguous`, `invalid`, or the kind of the sent
    /// record's [`RecordResult`] (`rejected`, `not_applied`, `unknown`);
    /// `unknown` also for [`MatchedResult::Unknown`].
    pub fn kind(&self) -> &'static str {
        match self {
            MatchedResult::Sent {
                action: Action::Update(_),
                result: RecordResult::Applied(_),
            } => "updated",
            MatchedResult::Sent {
                action: Action::Create,
                result: RecordResult::Applied(_),
            } => "created",
            MatchedResult::Sent { result, .. } => result.kind(),
            MatchedResult::NotFound => "not_found",
            MatchedResult::Ambiguous(_) => "ambiguous",
            MatchedResult::Invalid(_) => "invalid",
            MatchedResult::NotApplied(_) => "not_applied",
            MatchedResult::Unknown(_) => "unknown",
        }
    }

    /// The record Copper returned, if it updated or created it.
    pub fn applied(&self) -> Option<&T> {
        match self {
            MatchedResult::Sent { result, .. } => result.applied(),
            _ => None,
        }
    }
}

/// The outcomes of a run matched by key, one per input record, in input
/// order. A [`Stream`]; nothing is looked up or sent until it is polled.
#[must_use = "nothing is sent until the outcomes are read"]
pub struct MatchedOutcomes<T> {
    inner: BoxStream<'static, MatchedOutcome<T>>,
    stopper: Stopper,
}

impl<T> MatchedOutcomes<T> {
    /// A handle that stops the run gracefully, as
    /// [`Outcomes::stopper`](crate::Outcomes::stopper) does: no lookup or
    /// request is started after it, and every record not sent is yielded
    /// as [`MatchedResult::NotApplied`].
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }
}

impl<T> fmt::Debug for MatchedOutcomes<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatchedOutcomes").finish_non_exhaustive()
    }
}

impl<T> Stream for MatchedOutcomes<T> {
    type Item = MatchedOutcome<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// For each of `keys` (normalized by the caller as `C::keys` does), the
/// ids of the records of `C` that hold it, in increasing order; a key no
/// record holds maps to an empty list.
pub(crate) async fn ids_by_key<C: Operation>(
    shared: &Shared,
    stopper: &Stopper,
    keys: BTreeSet<String>,
) -> Result<BTreeMap<String, Vec<i64>>, Error> {
    let found = search::<C>(shared, stopper, keys.iter().cloned().collect()).await?;
    let mut ids: BTreeMap<String, BTreeSet<i64>> =
        keys.into_iter().map(|key| (key, BTreeSet::new())).collect();
    for record in &found {
        let id = C::returned_id(record);
        for key in C::found_keys(record) {
            if let Some(holders) = ids.get_mut(&key) {
                holders.insert(id);
            }
        }
    }
    Ok(ids
        .into_iter()
        .map(|(key, holders)| (key, holders.into_iter().collect()))
        .collect())
}

/// An input record checked: ready to be looked up, or settled already.
type Checked<R, T> = Result<Keyed<R>, MatchedOutcome<T>>;

/// A record of the input, checked and ready to be looked up.
struct Keyed<R> {
    index: usize,
    record: R,
    keys: Vec<String>,
    /// When an earlier run sent it, not knowing what became of it.
    sent_before: Option<SystemTime>,
}

/// The journal of one of a window's two runs (its updates or its creates):
/// tells the run's journal what was sent for each record it settles.
struct Acting<T> {
    journal: Arc<dyn Journal<T>>,
    /// The id each record of the run updates; empty for the creates.
    updates: Arc<HashMap<usize, i64>>,
}

impl<T> Journal<T> for Acting<T> {
    fn sending(&self, indices: &[usize]) {
        self.journal.sending(indices);
    }

    fn settled(&self, outcome: &Outcome<T>) {
        let action = match self.updates.get(&outcome.index) {
            Some(&id) => Action::Update(id),
            None => Action::Create,
        };
        self.journal.settled_as(outcome, action);
    }
}

/// Runs records of create operation `C` matched by key `by`: updates (with
/// its update operation `U`) the one record that holds a record's key, and
/// creates (upsert) or reports [`MatchedResult::NotFound`] (update only)
/// when none does. `journal` learns of what is sent and settled, as in
/// [`Copper::bulk_entries`](crate::Copper::bulk_entries), with what was
/// sent for each record ([`Journal::settled_as`]).
pub(crate) fn run<C, U>(
    shared: Arc<Shared>,
    computed_values: Option<bool>,
    input: BoxStream<'static, Entry<C::Record>>,
    journal: Option<Arc<dyn Journal<C::Output>>>,
    by: Match,
    mode: Mode,
) -> MatchedOutcomes<C::Output>
where
    C: Upsert<Update = U>,
    U: Operation<Output = C::Output>,
    U::Record: DeserializeOwned,
{
    debug_assert!(C::KIND == Kind::Create && U::KIND == Kind::Update);
    let stopper = Stopper::default();
    let run_stopper = stopper.clone();
    // What halts one window's lookups or requests halts the job.
    let halt = Arc::new(Halt::default());
    // The first index of each key seen, for the rule on duplicate keys. A
    // record an earlier run settled is checked too, for its keys, then
    // left out.
    let mut seen = Seen::default();
    let checked = input.filter_map(move |entry| {
        let settled = entry.settled;
        let checked = check::<C>(entry, by, &mut seen);
        std::future::ready((!settled).then_some(checked))
    });
    let claims = Arc::new(Mutex::new(HashMap::new()));
    // Each window decides what to send once the window before it has: a
    // Copper record two windows' records match goes to the earlier one.
    let mut decided: Option<oneshot::Receiver<()>> = None;
    let outcomes = checked
        .chunks(WINDOW)
        .map(move |window| {
            let (done, next) = oneshot::channel();
            let turn = Turn {
                after: decided.replace(next),
                done,
                claims: claims.clone(),
            };
            let run = Window {
                shared: shared.clone(),
                computed_values,
                stopper: run_stopper.clone(),
                halt: halt.clone(),
                journal: journal.clone(),
                mode,
            };
            run.outcomes::<C, U>(window, turn)
        })
        .buffered(WINDOWS_IN_FLIGHT)
        .flat_map(stream::iter);
    MatchedOutcomes {
        inner: outcomes.boxed(),
        stopper,
    }
}

/// The keys of the records read so far, each with the index of the first
/// record that had it. A key is kept as a 128-bit hash, not as text: a
/// million e-mail addresses take some 30 MB instead of 70 MB or more, and
/// two keys share a hash with a chance of about one in 10^26.
#[derive(Default)]
struct Seen(HashMap<u128, usize>);

impl Seen {
    fn hash(key: &str) -> u128 {
        // Two SipHash values of the key, told apart by a first byte.
        let half = |salt: u8| {
            let mut hasher = std::hash::DefaultHasher::new();
            salt.hash(&mut hasher);
            key.hash(&mut hasher);
            hasher.finish()
        };
        (u128::from(half(0)) << 64) | u128::from(half(1))
    }

    /// The index of the first record that had `key`.
    fn get(&self, key: &str) -> Option<usize> {
        self.0.get(&Self::hash(key)).copied()
    }

    fn insert(&mut self, key: &str, index: usize) {
        self.0.insert(Self::hash(key), index);
    }
}

/// Checks one input entry: it must hold a record with a key `by` (the key
/// its entity is matched by) that no earlier record had.
fn check<C: Upsert>(
    entry: Entry<C::Record>,
    by: Match,
    seen: &mut Seen,
) -> Checked<C::Record, C::Output> {
    let index = entry.index;
    let invalid = |reason: String| MatchedOutcome {
        index,
        result: MatchedResult::Invalid(InvalidRecord::new(reason)),
    };
    let record = entry.record.map_err(|invalid| MatchedOutcome {
        index,
        result: MatchedResult::Invalid(invalid),
    })?;
    if by != C::MATCH {
        return Err(invalid(format!(
            "{} are matched by {} ({}), not by {}",
            C::ENTITY,
            C::MATCH.key_name(),
            C::MATCH.variant(),
            by.key_name()
        )));
    }
    let mut keys = C::match_keys(&record);
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Err(invalid(format!(
            "the record has no {} to match",
            by.key_name()
        )));
    }
    if let Some((key, earlier)) = keys
        .iter()
        .find_map(|key| seen.get(key).map(|earlier| (key, earlier)))
    {
        return Err(invalid(format!(
            "record {earlier} of the input already has the {} {}",
            by.key_name(),
            C::key_text(key)
        )));
    }
    for key in &keys {
        seen.insert(key, index);
    }
    Ok(Keyed {
        index,
        record,
        keys,
        sent_before: entry.sent_before,
    })
}

/// A window's turn to decide what it sends, after the window before it.
struct Turn {
    /// Resolves once the window before this one decided (or is gone).
    after: Option<oneshot::Receiver<()>>,
    /// Tells the next window that this one decided.
    done: oneshot::Sender<()>,
    /// The Copper records the run's updates change, each with the index of
    /// the input record that updates it: a record is updated once a run.
    claims: Arc<Mutex<HashMap<i64, usize>>>,
}

/// What each window of a run shares.
struct Window<T> {
    shared: Arc<Shared>,
    computed_values: Option<bool>,
    stopper: Stopper,
    halt: Arc<Halt>,
    journal: Option<Arc<dyn Journal<T>>>,
    mode: Mode,
}

impl<T: Send + 'static> Window<T> {
    /// Looks one window up and sends it; returns its outcomes in input order.
    async fn outcomes<C, U>(
        self,
        window: Vec<Checked<C::Record, C::Output>>,
        turn: Turn,
    ) -> Vec<MatchedOutcome<C::Output>>
    where
        C: Upsert<Output = T>,
        U: Operation<Output = T>,
        U::Record: DeserializeOwned,
    {
        let Window {
            shared,
            computed_values,
            stopper,
            halt,
            journal,
            mode,
        } = self;
        let mut outcomes = Vec::with_capacity(window.len());
        let mut keyed = Vec::new();
        for item in window {
            match item {
                Ok(record) => keyed.push(record),
                Err(outcome) => outcomes.push(outcome),
            }
        }
        let keys: BTreeSet<String> = keyed.iter().flat_map(|k| k.keys.clone()).collect();
        let found = if let Some(barred) = halt.barred(&stopper) {
            Err(Arc::new(RequestFailure::new(barred, 0, false, false)))
        } else if keys.is_empty() {
            Ok(BTreeMap::new())
        } else {
            let found = ids_by_key::<C>(&shared, &stopper, keys).await;
            match found {
                Ok(found) => {
                    halt.note_answer();
                    Ok(found)
                }
                Err(error) => {
                    let reached = error.may_have_reached_copper();
                    let failure = Arc::new(RequestFailure::new(error, 0, reached, false));
                    halt.note_failure(&failure);
                    Err(failure)
                }
            }
        };
        let found = match found {
            Ok(found) => found,
            Err(failure) => {
                // Nothing of this window claims a record: the next one may
                // decide at once.
                drop(turn);
                outcomes.extend(keyed.into_iter().map(|k| MatchedOutcome {
                    index: k.index,
                    result: match k.sent_before {
                        Some(_) => MatchedResult::Unknown(failure.clone()),
                        None => MatchedResult::NotApplied(failure.clone()),
                    },
                }));
                outcomes.sort_by_key(|outcome| outcome.index);
                return outcomes;
            }
        };
        let Turn {
            after,
            done,
            claims,
        } = turn;
        if let Some(after) = after {
            // An error only says the window before is gone.
            let _ = after.await;
        }
        let mut updates = Vec::new();
        let mut update_ids = HashMap::new();
        let mut creates = Vec::new();
        {
            // A block, so that the guard is not held across an await.
            let mut claims = claims.lock().expect("not poisoned");
            for Keyed {
                index,
                record,
                keys,
                sent_before,
            } in keyed
            {
                let ids: BTreeSet<i64> = keys
                    .iter()
                    .filter_map(|key| found.get(key))
                    .flatten()
                    .copied()
                    .collect();
                let mut ids = ids.into_iter();
                let result = match (ids.next(), ids.next()) {
                    (Some(id), None) if claims.contains_key(&id) => {
                        MatchedResult::Invalid(InvalidRecord::new(format!(
                            "record {} of the input already updates record {id} of copper, which holds this record's {} too",
                            claims[&id],
                            C::MATCH.key_name(),
                        )))
                    }
                    (Some(id), None) => match as_update::<C, U>(&record, id) {
                        Ok(update) => {
                            claims.insert(id, index);
                            update_ids.insert(index, id);
                            updates.push(Entry {
                                sent_before,
                                ..Entry::new(index, update)
                            });
                            continue;
                        }
                        Err(invalid) => MatchedResult::Invalid(invalid),
                    },
                    // A create an earlier run may have sent is looked up again
                    // after the longest its request could have taken, before it is
                    // sent again (see `Reconcile`).
                    (None, _) if mode == Mode::Upsert => {
                        creates.push(Entry {
                            sent_before,
                            ..Entry::new(index, record)
                        });
                        continue;
                    }
                    (None, _) => MatchedResult::NotFound,
                    (Some(first), Some(second)) => {
                        MatchedResult::Ambiguous([first, second].into_iter().chain(ids).collect())
                    }
                };
                outcomes.push(MatchedOutcome { index, result });
            }
        }
        // The next window may decide now; a receiver gone is no matter.
        let _ = done.send(());
        let sent = |outcome: Outcome<C::Output>, action: Action| MatchedOutcome {
            index: outcome.index,
            result: MatchedResult::Sent {
                action,
                result: outcome.result,
            },
        };
        let update_ids = Arc::new(update_ids);
        let acting = |updates: &Arc<HashMap<usize, i64>>| {
            journal.clone().map(|journal| {
                Arc::new(Acting {
                    journal,
                    updates: updates.clone(),
                }) as Arc<dyn Journal<T>>
            })
        };
        let update_run = engine::run::<U>(
            shared.clone(),
            computed_values,
            stream::iter(updates).boxed(),
            acting(&update_ids),
            stopper.clone(),
            halt.clone(),
        );
        let create_run = engine::run::<C>(
            shared,
            computed_values,
            stream::iter(creates).boxed(),
            acting(&Arc::default()),
            stopper,
            halt,
        );
        let (updated, created) = futures_util::future::join(
            update_run.collect::<Vec<_>>(),
            create_run.collect::<Vec<_>>(),
        )
        .await;
        outcomes.extend(updated.into_iter().map(|outcome| {
            let id = update_ids[&outcome.index];
            sent(outcome, Action::Update(id))
        }));
        outcomes.extend(
            created
                .into_iter()
                .map(|outcome| sent(outcome, Action::Create)),
        );
        outcomes.sort_by_key(|outcome| outcome.index);
        outcomes
    }
}

/// The update of record `id` that sets every field the create `record`
/// sets. The two types share their fields' names and shapes (an update's
/// fields take `null` too), so the conversion goes through JSON.
fn as_update<C: Operation, U: Operation>(
    record: &C::Record,
    id: i64,
) -> Result<U::Record, InvalidRecord>
where
    U::Record: DeserializeOwned,
{
    let mut value = serde_json::to_value(record)
        .map_err(|error| InvalidRecord::new(format!("cannot make it an update: {error}")))?;
    if let Value::Object(fields) = &mut value {
        fields.insert("id".into(), Value::from(id));
    }
    serde_json::from_value(value)
        .map_err(|error| InvalidRecord::new(format!("cannot make it an update: {error}")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ops::{CompaniesCreate, LeadsCreate, PeopleCreate};

    /// Checks that the update made of the create with `fields` (every
    /// field a create of `C` takes) sets each of them.
    fn update_sets_every_field<C: Upsert>(fields: Value)
    where
        C::Record: DeserializeOwned,
    {
        let create: C::Record = serde_json::from_value(fields.clone()).unwrap();
        assert_eq!(serde_json::to_value(&create).unwrap(), fields);
        let update = as_update::<C, C::Update>(&create, 7).unwrap();
        let mut expected = fields;
        expected["id"] = json!(7);
        assert_eq!(serde_json::to_value(&update).unwrap(), expected);
    }

    #[test]
    fn a_lead_or_company_update_made_of_a_create_sets_every_field_the_create_sets() {
        let common = json!({
            "address": {"street": "123 Main Street", "city": "Savannah", "state": "Georgia",
                        "postal_code": "31410", "country": "United States"},
            "assignee_id": 137658, "details": "Met at the fair",
            "phone_numbers": [{"number": "415-123-45678", "category": "mobile"}],
            "socials": [{"url": "https://www.linkedin.com/in/mycontact", "category": "linkedin"}],
            "websites": [{"url": "https://example.com", "category": "personal"}],
            "tags": ["customer", "vip"],
            "custom_fields": [{"custom_field_definition_id": 100764, "value": "A text"}],
        });
        let with = |more: Value| {
            let mut fields = common.clone();
            fields
                .as_object_mut()
                .unwrap()
                .extend(more.as_object().unwrap().clone());
            fields
        };
        update_sets_every_field::<LeadsCreate>(with(json!({
            "name": "My Lead", "prefix": "Dr.", "first_name": "My", "middle_name": "Q",
            "last_name": "Lead", "suffix": "Jr.", "title": "CTO", "company_name": "Dunder Mifflin",
            "customer_source_id": 331242, "email": {"email": "lead@example.com", "category": "work"},
            "monetary_unit": "USD", "monetary_value": 150.5, "status": "New", "status_id": 208231,
        })));
        update_sets_every_field::<CompaniesCreate>(with(json!({
            "name": "Dunder Mifflin", "contact_type_id": 1075, "email_domain": "dundermifflin.com",
            "primary_contact_id": 27140359,
        })));
    }

    #[test]
    fn an_update_made_of_a_create_sets_every_field_the_create_sets() {
        let fields = json!({
            "name": "My Contact", "prefix": "Dr.", "first_name": "My", "middle_name": "Q",
            "last_name": "Contact", "suffix": "Jr.", "title": "CTO",
            "company_name": "Dunder Mifflin", "contact_type_id": 1074, "assignee_id": 137658,
            "details": "Met at the fair",
            "address": {"street": "123 Main Street", "city": "Savannah", "state": "Georgia",
                        "postal_code": "31410", "country": "United States"},
            "emails": [{"email": "mycontact@example.com", "category": "work"}],
            "phone_numbers": [{"number": "415-123-45678", "category": "mobile"}],
            "socials": [{"url": "https://www.linkedin.com/in/mycontact", "category": "linkedin"}],
            "websites": [{"url": "https://example.com", "category": "personal"}],
            "tags": ["customer", "vip"],
            "custom_fields": [{"custom_field_definition_id": 100764, "value": "A text"}],
        });
        update_sets_every_field::<PeopleCreate>(fields);
    }
}
