//! Reads Copper back when a request's fate is unknown, so that a record
//! ends with a definite outcome and a create is never sent twice.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use copper_bulk_raw::hooks::giving_up_waits;
use tracing::Instrument;

use crate::classify::classify;
use crate::client::Shared;
use crate::engine::{Run, execute_batch};
use crate::error::{Error, RequestFailure};
use crate::matching::Expected;
use crate::ops::{Kind, Operation, Page};
use crate::outcome::{Outcome, RecordResult, Rejection};
use crate::resume::Stopper;
use crate::retry::{Decision, decide};
use crate::send::History;

/// Whether, and how, a run reads Copper back when it cannot know whether a
/// request was applied (a dropped connection, a 5xx, a timeout, an answer
/// whose items cannot be matched to the records).
///
/// On by default ([`Reconcile::standard`]), for the library as for the
/// tool: it costs nothing while Copper answers, and without it such records
/// end [`Unknown`](crate::RecordResult::Unknown), for the caller to check
/// by hand. Its searches count toward Copper's 180 requests a minute, but
/// not toward the 3 bulk requests a second.
///
/// - An **update** whose request may have been applied is sent again: an
///   update sets the same values a second time harmlessly, and the second
///   answer says what Copper holds. That is one request, where reading
///   each record back and comparing would take one search and still leave
///   the update to send when it differs.
/// - A **create** is looked up by its key (people and leads by e-mail,
///   companies by e-mail domain or name, opportunities by name,
///   activities by parent, type and date), once the request timeout and
///   [`Reconcile::grace`] have passed after the request's last attempt
///   ended (a server may go on with a request whose client hung up). A record
///   found that Copper created after the request left and that holds every
///   field the create set is the create's: the outcome is
///   [`Applied`](crate::RecordResult::Applied) with Copper's record. A
///   person (or company) found with the same e-mail (or e-mail domain) that
///   existed before means Copper refused the create: the outcome is
///   [`Rejected`](crate::RecordResult::Rejected), naming that record. Found
///   nowhere, the record is sent again. Several candidates, a record with
///   its key made since that does not hold every field it set (Copper may
///   have changed a value), or a record without a key, stay
///   [`Unknown`](crate::RecordResult::Unknown), saying why. A record this
///   run already reported for another create is never claimed again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reconcile {
    on: bool,
    grace: Duration,
    clock_tolerance: Duration,
}

impl Reconcile {
    /// The default wait after a request ended (and after its timeout has
    /// passed since it was sent) before its records are looked up: a
    /// server may still finish a request whose client hung up, and a lookup
    /// made before it does would send the create twice.
    pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

    /// The default allowance for the difference between this machine's
    /// clock and Copper's, when telling a record created by the request
    /// from one that existed before it.
    pub const DEFAULT_CLOCK_TOLERANCE: Duration = Duration::from_secs(60);

    /// Reads back with [`Reconcile::DEFAULT_GRACE`] and
    /// [`Reconcile::DEFAULT_CLOCK_TOLERANCE`].
    pub fn standard() -> Self {
        Reconcile {
            on: true,
            grace: Self::DEFAULT_GRACE,
            clock_tolerance: Self::DEFAULT_CLOCK_TOLERANCE,
        }
    }

    /// Never reads back: records whose request may have been applied end
    /// [`Unknown`](crate::RecordResult::Unknown).
    pub fn off() -> Self {
        Reconcile {
            on: false,
            ..Self::standard()
        }
    }

    /// Waits `grace` after a request ended before looking its records up,
    /// so that a request Copper was still working on when the connection
    /// dropped has finished. The lookup also waits until the request's
    /// timeout has passed since it was sent.
    pub fn with_grace(self, grace: Duration) -> Self {
        Reconcile { grace, ..self }
    }

    /// Takes a record Copper says it created up to `tolerance` before the
    /// request left as created by it (clocks differ).
    pub fn with_clock_tolerance(self, tolerance: Duration) -> Self {
        Reconcile {
            clock_tolerance: tolerance,
            ..self
        }
    }

    /// Whether runs read back.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// The wait before a lookup.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// The allowance for clocks.
    pub fn clock_tolerance(&self) -> Duration {
        self.clock_tolerance
    }
}

impl Default for Reconcile {
    fn default() -> Self {
        Self::standard()
    }
}

/// Records an earlier run sent without learning their outcomes: updates
/// are sent again; creates are looked up first. Returns the outcomes
/// settled, and the records to send.
pub(crate) async fn earlier<O: Operation>(
    run: &Run<O::Output>,
    records: Vec<(usize, O::Record, SystemTime)>,
) -> (Vec<Outcome<O::Output>>, Vec<(usize, O::Record)>) {
    if O::KIND == Kind::Update {
        let again = records
            .into_iter()
            .map(|(index, record, _)| (index, record))
            .collect();
        return (Vec::new(), again);
    }
    let reconcile = *run.shared.config.reconcile();
    if !reconcile.is_on() {
        let failure = Arc::new(RequestFailure::new(
            Error::Unsettled(
                "not looked up: an earlier run sent it without learning its outcome, and reading back is off".into(),
            ),
            0,
            true,
            true,
        ));
        let outcomes = records
            .into_iter()
            .map(|(index, _, _)| Outcome {
                index,
                result: RecordResult::Unknown(failure.clone()),
            })
            .collect();
        return (outcomes, Vec::new());
    }
    let pending = records
        .into_iter()
        .map(|(index, record, sent)| Suspect {
            index,
            record,
            sent,
            failure: None,
        })
        .collect();
    // The earlier run's last attempt ended when it did, at the latest now.
    if !wait_until_settled(run, &reconcile, Instant::now()).await {
        return (not_looked_up(pending), Vec::new());
    }
    let (settled, again) = look_up::<O>(run, &reconcile, pending, &[]).await;
    let again = again
        .into_iter()
        .map(|suspect| (suspect.index, suspect.record))
        .collect();
    (settled, again)
}

/// Reads Copper back for the records of a request whose outcomes are
/// [`RecordResult::Unknown`]: `outcomes` and `records` are in the order
/// sent. Updates are sent again; creates are looked up, and those found
/// nowhere are sent again, up to [`MAX_ROUNDS`] times.
pub(crate) async fn after<O: Operation>(
    run: &Run<O::Output>,
    outcomes: Vec<Outcome<O::Output>>,
    records: Vec<O::Record>,
    sent: SystemTime,
    round: u32,
) -> Vec<Outcome<O::Output>> {
    let mut settled = Vec::new();
    let mut suspects = Vec::new();
    for (outcome, record) in outcomes.into_iter().zip(records) {
        match outcome.result {
            RecordResult::Unknown(failure) if round < MAX_ROUNDS => suspects.push(Suspect {
                index: outcome.index,
                record,
                sent,
                failure: Some(failure),
            }),
            _ => settled.push(outcome),
        }
    }
    if suspects.is_empty() {
        return settled;
    }
    let again = if O::KIND == Kind::Update {
        tracing::info!(
            operation = O::OPERATION,
            records = suspects.len(),
            "sending again the updates whose outcome is unknown"
        );
        suspects
    } else {
        let reconcile = *run.shared.config.reconcile();
        if !wait_until_settled(run, &reconcile, Instant::now()).await {
            settled.extend(not_looked_up(suspects));
            settled.sort_by_key(|outcome| outcome.index);
            return settled;
        }
        // The records the same answer reported applied are not these.
        let applied: Vec<i64> = settled
            .iter()
            .filter_map(|outcome| outcome.result.applied().map(O::returned_id))
            .collect();
        let (found, again) = look_up::<O>(run, &reconcile, suspects, &applied).await;
        run.note_created(
            found
                .iter()
                .filter_map(|outcome| outcome.result.applied().map(O::returned_id)),
        );
        settled.extend(found);
        again
    };
    if !again.is_empty() {
        // What the first request may have done travels with an update: one
        // not sent again (the run was stopped) stays unknown. A create
        // found nowhere was not applied, so it starts afresh.
        let history = match O::KIND {
            Kind::Update => again
                .iter()
                .filter_map(|suspect| suspect.failure.as_deref())
                .map(History::of)
                .next()
                .unwrap_or_default(),
            Kind::Create => History::default(),
        };
        let (indices, records): (Vec<usize>, Vec<O::Record>) = again
            .into_iter()
            .map(|suspect| (suspect.index, suspect.record))
            .unzip();
        settled.extend(execute_batch::<O>(run, indices, records, history, round + 1).await);
    }
    settled.sort_by_key(|outcome| outcome.index);
    settled
}

/// How many times records whose outcome stayed unknown are reconciled and
/// sent again before their outcome is left unknown.
const MAX_ROUNDS: u32 = 3;

/// A record whose request may have reached Copper.
struct Suspect<R> {
    index: usize,
    record: R,
    /// When its request left.
    sent: SystemTime,
    /// Why its outcome is unknown, when this run sent it.
    failure: Option<Arc<RequestFailure>>,
}

/// Waits until a request whose last attempt ended at `ended` can no longer
/// be in progress at Copper: a whole request timeout after it, and the
/// grace delay. The wait counts from the end, not from when the request
/// was sent, because the last attempt may have left long after the first
/// (after the rate limiter, after retries), and a server may go on with a
/// request whose client hung up. Returns false when the run was asked to
/// stop first: a lookup then could miss a create Copper is still making,
/// so none is made.
async fn wait_until_settled<T>(run: &Run<T>, reconcile: &Reconcile, ended: Instant) -> bool {
    let (_, request_timeout) = run.shared.config.timeouts();
    let until = ended + request_timeout + reconcile.grace();
    let sleep = std::pin::pin!(tokio::time::sleep_until(until));
    let stopped = std::pin::pin!(run.stopper.stopped());
    matches!(
        futures_util::future::select(sleep, stopped).await,
        futures_util::future::Either::Left(_)
    )
}

/// The outcomes of creates not looked up because the run was stopped:
/// unknown, with the failure of their request when this run sent them.
fn not_looked_up<R, T>(suspects: Vec<Suspect<R>>) -> Vec<Outcome<T>> {
    let stopped = Arc::new(RequestFailure::new(
        Error::Unsettled("the run was stopped before it was looked up".into()),
        0,
        true,
        true,
    ));
    suspects
        .into_iter()
        .map(|suspect| Outcome {
            index: suspect.index,
            result: RecordResult::Unknown(suspect.failure.unwrap_or_else(|| stopped.clone())),
        })
        .collect()
}

/// Looks `suspects` up in Copper and settles what it can: a record found
/// that the request created is applied; a unique key taken by another
/// record means the create was refused; several candidates, or no key,
/// leave the outcome unknown. Returns the outcomes settled and the records
/// found nowhere, which are safe to send.
async fn look_up<O: Operation>(
    run: &Run<O::Output>,
    reconcile: &Reconcile,
    suspects: Vec<Suspect<O::Record>>,
    exclude: &[i64],
) -> (Vec<Outcome<O::Output>>, Vec<Suspect<O::Record>>) {
    let unsettled = |index: usize, reason: String| Outcome {
        index,
        result: RecordResult::Unknown(Arc::new(RequestFailure::new(
            Error::Unsettled(reason),
            0,
            true,
            true,
        ))),
    };
    let mut settled = Vec::new();
    let (keyed, keyless): (Vec<_>, Vec<_>) = suspects
        .into_iter()
        .map(|suspect| (O::keys(&suspect.record), suspect))
        .partition(|(keys, _)| !keys.is_empty());
    for (_, suspect) in keyless {
        let reason = match O::KEY {
            "" => format!("copper offers no way to look {} up", O::ENTITY),
            key => format!("the record has no {key} to look it up by"),
        };
        settled.push(unsettled(suspect.index, reason));
    }
    if keyed.is_empty() {
        return (settled, Vec::new());
    }
    let mut keys: Vec<String> = keyed.iter().flat_map(|(keys, _)| keys.clone()).collect();
    keys.sort();
    keys.dedup();
    let found = match search::<O>(&run.shared, &run.stopper, keys).await {
        Ok(found) => found,
        Err(error) => {
            let reason = match error {
                Error::Unsettled(reason) => reason,
                error => format!("looking it up failed: {error}"),
            };
            for (_, suspect) in keyed {
                settled.push(unsettled(suspect.index, reason.clone()));
            }
            return (settled, Vec::new());
        }
    };
    // A record found by two keys is one record; one this run already
    // reported applied is another create's.
    let mut seen = std::collections::HashSet::new();
    let found: Vec<Found<O::Output>> = found
        .into_iter()
        .filter(|record| {
            let id = O::returned_id(record);
            !exclude.contains(&id) && !run.recently_created(id) && seen.insert(id)
        })
        .filter_map(|record| {
            let value = serde_json::to_value(&record).ok()?;
            Some(Found {
                keys: O::found_keys(&record),
                created: O::date_created(&record),
                value,
                record,
            })
        })
        .collect();
    let tolerance = reconcile.clock_tolerance();
    let verdicts: Vec<Verdict> = keyed
        .iter()
        .map(|(keys, suspect)| verdict::<O>(keys, &suspect.record, suspect.sent, &found, tolerance))
        .collect();
    let claims = claim(&keyed, &verdicts);
    let mut again = Vec::new();
    for (((_, suspect), verdict), claimed) in keyed.into_iter().zip(verdicts).zip(claims) {
        let index = suspect.index;
        let unknown = |reason: String| unsettled(index, reason);
        match (verdict, claimed) {
            (_, Claim::Record(position)) => settled.push(Outcome {
                index,
                result: RecordResult::Applied(Box::new(found[position].record.clone())),
            }),
            (_, Claim::Surplus) | (Verdict::Absent, _) => again.push(suspect),
            (Verdict::Created(ids), _) => settled.push(unknown(match &ids[..] {
                [(_, id)] => format!(
                    "{} {id} in copper matches it, and another create of the same request too",
                    O::ENTITY
                ),
                _ => format!(
                    "{} records in copper match it (ids {})",
                    ids.len(),
                    ids.iter()
                        .map(|(_, id)| id.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })),
            (Verdict::Uncertain(id), _) => settled.push(unknown(format!(
                "{} {id} in copper has its {} and may have been created after it was sent, but does not hold every field it set",
                O::ENTITY,
                O::KEY
            ))),
            (Verdict::Taken(id), _) => settled.push(Outcome {
                index,
                result: RecordResult::Rejected(Rejection {
                    id: None,
                    errors: Default::default(),
                    message: Some(format!(
                        "not created: its {} already belonged to {} {id} in copper",
                        O::KEY,
                        O::ENTITY
                    )),
                }),
            }),
        }
    }
    tracing::info!(
        operation = O::OPERATION,
        settled = settled.len(),
        again = again.len(),
        "read copper back"
    );
    (settled, again)
}

/// A record a search found.
struct Found<T> {
    record: T,
    value: serde_json::Value,
    keys: Vec<String>,
    created: Option<i64>,
}

/// What the records found say of one create.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// These records (position in the found list, id) hold every field it
    /// set and were created after it was sent: one of them is the record
    /// it created.
    Created(Vec<(usize, i64)>),
    /// This record has its key and may have been created after it was
    /// sent, yet does not hold every field it set (Copper may have changed
    /// a value, or someone else made it), or Copper gave no creation date:
    /// whether it is this create's cannot be told.
    Uncertain(i64),
    /// Its unique key belongs to this record, which existed before it was
    /// sent, so Copper refused it.
    Taken(i64),
    /// Nothing found is it: it was not created.
    Absent,
}

/// What the `found` records say of the create of `record`, sent at `sent`,
/// whose keys are `keys`.
fn verdict<O: Operation>(
    keys: &[String],
    record: &O::Record,
    sent: SystemTime,
    found: &[Found<O::Output>],
    tolerance: Duration,
) -> Verdict {
    let since = sent
        .checked_sub(tolerance)
        .and_then(|since| since.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_secs() as i64);
    let expected = Expected::of::<O>(record);
    let mut created = Vec::new();
    let mut uncertain = None;
    let mut taken = None;
    for (position, candidate) in found.iter().enumerate() {
        if !candidate.keys.iter().any(|key| keys.contains(key)) {
            continue;
        }
        let id = O::returned_id(&candidate.record);
        let holds = expected.echoed_by_value(&candidate.value, O::ECHOED);
        match candidate.created {
            Some(created_at) if created_at >= since && holds => created.push((position, id)),
            Some(created_at) if created_at >= since => {
                uncertain.get_or_insert(id);
            }
            None => {
                uncertain.get_or_insert(id);
            }
            Some(_) => {
                let unique = candidate
                    .keys
                    .iter()
                    .any(|key| keys.contains(key) && O::unique_key(key));
                if unique {
                    taken.get_or_insert(id);
                }
            }
        }
    }
    match (created.is_empty(), uncertain, taken) {
        (false, _, _) => Verdict::Created(created),
        (true, Some(id), _) => Verdict::Uncertain(id),
        (true, None, Some(id)) => Verdict::Taken(id),
        (true, None, None) => Verdict::Absent,
    }
}

/// Which found record a create is, as far as the records found allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Claim {
    /// The record at this position of the found list is the one it created.
    Record(usize),
    /// Identical creates of one request matched fewer records than there
    /// are of them, and the others took those records: this one was not
    /// created.
    Surplus,
    /// Not settled.
    Open,
}

/// Which found record each create is, where that is certain. A create that
/// only one unclaimed record matches claims it, unless another, different
/// create matches only that record too (either could be its); this goes
/// on until nothing changes. Then identical creates share out the records
/// they all match. Two creates never claim one record.
fn claim<R: serde::Serialize, K>(creates: &[(K, Suspect<R>)], verdicts: &[Verdict]) -> Vec<Claim> {
    let n = verdicts.len();
    let mut claims = vec![Claim::Open; n];
    let mut taken = std::collections::HashSet::new();
    let requests: Vec<Option<serde_json::Value>> = creates
        .iter()
        .map(|(_, suspect)| serde_json::to_value(&suspect.record).ok())
        .collect();
    let identical = |a: usize, b: usize| requests[a].is_some() && requests[a] == requests[b];
    let open = |create: usize, taken: &std::collections::HashSet<usize>| -> Vec<usize> {
        match &verdicts[create] {
            Verdict::Created(found) => found
                .iter()
                .map(|(position, _)| *position)
                .filter(|position| !taken.contains(position))
                .collect(),
            _ => Vec::new(),
        }
    };
    loop {
        let mut progress = false;
        for create in 0..n {
            if claims[create] != Claim::Open {
                continue;
            }
            let [only] = open(create, &taken)[..] else {
                continue;
            };
            let rival = (0..n).any(|other| {
                other != create
                    && claims[other] == Claim::Open
                    && !identical(create, other)
                    && open(other, &taken) == [only]
            });
            if !rival {
                claims[create] = Claim::Record(only);
                taken.insert(only);
                progress = true;
            }
        }
        if !progress {
            break;
        }
    }
    // Creates that are the same request are interchangeable: each takes
    // one of the records they all match, in order, unless a different
    // create matches one of those records too.
    for create in 0..n {
        if claims[create] != Claim::Open {
            continue;
        }
        let candidates = open(create, &taken);
        let twins = (0..n)
            .filter(|&other| claims[other] == Claim::Open && identical(create, other))
            .count();
        let contested = (0..n).any(|other| {
            claims[other] == Claim::Open
                && !identical(create, other)
                && open(other, &taken).iter().any(|p| candidates.contains(p))
        });
        if !candidates.is_empty() && candidates.len() <= twins && !contested {
            claims[create] = Claim::Record(candidates[0]);
            taken.insert(candidates[0]);
        }
    }
    // A create whose every match went to identical creates was not made.
    for create in 0..n {
        let Verdict::Created(found) = &verdicts[create] else {
            continue;
        };
        let to_twins = found.iter().all(|(position, _)| {
            (0..n).any(|other| {
                other != create
                    && identical(create, other)
                    && claims[other] == Claim::Record(*position)
            })
        });
        if claims[create] == Claim::Open && to_twins {
            claims[create] = Claim::Surplus;
        }
    }
    claims
}

/// Every record of operation `O` that has one of `keys`, through Copper's
/// search, page by page.
pub(crate) async fn search<O: Operation>(
    shared: &Shared,
    stopper: &Stopper,
    keys: Vec<String>,
) -> Result<Vec<O::Output>, Error> {
    let mut found = Vec::new();
    for keys in keys.chunks(O::KEYS_PER_SEARCH.max(1)) {
        let mut page = 1;
        loop {
            let records = search_page::<O>(shared, stopper, keys, page).await?;
            let last = records.len() < SEARCH_PAGE_SIZE;
            found.extend(records);
            if last {
                break;
            }
            if page >= MAX_SEARCH_PAGES {
                // What was not read could be the record: it is not absent.
                return Err(Error::Unsettled(format!(
                    "more than {} records share its {}",
                    MAX_SEARCH_PAGES as usize * SEARCH_PAGE_SIZE,
                    O::KEY
                )));
            }
            page += 1;
        }
    }
    Ok(found)
}

/// The records of one page of a search, at most this many.
pub(crate) const SEARCH_PAGE_SIZE: usize = 200;

/// A search is read no further than this many pages: a key shared by more
/// than 10,000 records is no key.
const MAX_SEARCH_PAGES: u64 = 50;

/// One page of a search, retried as the retry policy says (a search is
/// safe to repeat).
async fn search_page<O: Operation>(
    shared: &Shared,
    stopper: &Stopper,
    keys: &[String],
    page: u64,
) -> Result<Vec<O::Output>, Error> {
    let policy = shared.config.retry();
    let started = Instant::now();
    let mut attempts = 0;
    let mut rate_limited = 0;
    loop {
        attempts += 1;
        let page = Page {
            number: NonZeroU64::new(page).unwrap_or(NonZeroU64::MIN),
            size: NonZeroU64::new(SEARCH_PAGE_SIZE as u64).expect("not zero"),
        };
        let search = O::search(&shared.raw, keys, page).instrument(tracing::info_span!(
            "copper_search",
            operation = O::OPERATION,
            page = page.number.get(),
            attempt = attempts,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
            rate_limit_wait_ms = tracing::field::Empty,
            pace_ms = tracing::field::Empty,
        ));
        // A lookup still waiting for its permit when the run is asked to
        // stop is not sent.
        let result = giving_up_waits(stopper.as_give_up(), search).await;
        let error = match result {
            Ok(response) => return Ok(response.into_inner()),
            Err(error) => error,
        };
        let (error, failure) = classify(error, shared.config.credentials()).await;
        rate_limited += u32::from(failure.is_rate_limited());
        match decide(
            policy,
            &failure,
            attempts,
            rate_limited,
            true,
            started.elapsed(),
            fastrand::f64(),
        ) {
            // A run asked to stop looks nothing more up: a lookup waiting to
            // be retried ends with the error it has.
            Decision::RetryAfter(wait) if !stopper.is_stopped() => {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = stopper.stopped() => return Err(error),
                }
            }
            _ => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suspect(index: usize, name: &str) -> ((), Suspect<String>) {
        let suspect = Suspect {
            index,
            record: name.to_owned(),
            sent: SystemTime::UNIX_EPOCH,
            failure: None,
        };
        ((), suspect)
    }

    fn created(positions: &[usize]) -> Verdict {
        Verdict::Created(positions.iter().map(|&p| (p, 100 + p as i64)).collect())
    }

    use Claim::{Open, Record, Surplus};

    #[test]
    fn a_create_only_one_record_matches_claims_it_first() {
        // The second create set more fields, so only record 1 holds them
        // all; record 0 is then the first create's.
        let creates = [suspect(0, "Ada"), suspect(1, "Ada, CTO")];
        let verdicts = [created(&[0, 1]), created(&[1])];
        assert_eq!(claim(&creates, &verdicts), [Record(0), Record(1)]);
        // Each claim can settle another, in any order of the creates.
        let creates = [suspect(0, "A"), suspect(1, "A B"), suspect(2, "A B C")];
        let verdicts = [created(&[0, 1, 2]), created(&[1, 2]), created(&[2])];
        assert_eq!(
            claim(&creates, &verdicts),
            [Record(0), Record(1), Record(2)]
        );
    }

    #[test]
    fn two_different_creates_that_match_only_one_record_claim_neither() {
        // Either could be the one Copper made; the other was refused.
        let creates = [suspect(0, "Acme, bad website"), suspect(1, "Acme, EU")];
        assert_eq!(
            claim(&creates, &[created(&[0]), created(&[0])]),
            [Open, Open]
        );
    }

    #[test]
    fn identical_creates_share_the_records_they_all_match() {
        let creates = [suspect(0, "Ada"), suspect(1, "Ada")];
        assert_eq!(
            claim(&creates, &[created(&[3, 4]), created(&[3, 4])]),
            [Record(3), Record(4)]
        );
        // One record for two identical creates: one of them was made, and
        // it does not matter which; the other was not.
        assert_eq!(
            claim(&creates, &[created(&[3]), created(&[3])]),
            [Record(3), Surplus]
        );
    }

    #[test]
    fn a_create_several_records_match_claims_none() {
        let creates = [suspect(0, "Ada"), suspect(1, "Grace")];
        assert_eq!(
            claim(&creates, &[created(&[0, 1]), Verdict::Absent]),
            [Open, Open]
        );
        // Three records for two identical creates: which two is unknown.
        let twins = [suspect(0, "Ada"), suspect(1, "Ada")];
        assert_eq!(
            claim(&twins, &[created(&[0, 1, 2]), created(&[0, 1, 2])]),
            [Open, Open]
        );
    }
}
