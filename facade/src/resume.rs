//! What a long run needs beyond one request: a graceful stop
//! ([`Stopper`]), a record of what was sent and settled ([`Journal`]), and
//! input that takes up where an interrupted run left off ([`Entry`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use copper_bulk_raw::hooks::GiveUp;

use tokio::sync::Notify;

use crate::error::InvalidRecord;
use crate::outcome::Outcome;
use crate::record::IntoRecord;
use crate::upsert::Action;

/// Stops a run gracefully: see [`Outcomes::stopper`](crate::Outcomes::stopper).
///
/// Once [`Stopper::stop`] is called, the run takes no new request: the
/// requests in flight finish (each within its timeout; one waiting to be
/// retried gives up instead and reports why), their outcomes are yielded,
/// and every record not yet sent is yielded as
/// [`NotApplied`](crate::RecordResult::NotApplied) with
/// [`Error::Stopped`](crate::Error::Stopped). The input is still read to
/// its end, so that every record has its outcome.
#[derive(Clone, Debug, Default)]
pub struct Stopper(Arc<StopState>);

#[derive(Debug, Default)]
struct StopState {
    stopped: AtomicBool,
    notify: Notify,
}

impl Stopper {
    /// Asks the run to stop. Calling it again does nothing more.
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether [`Stopper::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }

    /// Resolves once the run is asked to stop.
    pub(crate) async fn stopped(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }

    /// This stopper as what ends the wait of a request for its rate-limit
    /// permit: a request still waiting when the run is asked to stop is
    /// not sent.
    pub(crate) fn as_give_up(&self) -> Arc<dyn GiveUp> {
        Arc::new(self.clone())
    }
}

impl GiveUp for Stopper {
    fn given_up(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.stopped())
    }
}

/// Learns what a run does as soon as it does it, so that a run killed at
/// any point can be resumed without sending a record twice: the tool writes
/// both to a file it reads back on `--resume`.
///
/// Both methods are called from the run's tasks, and should return quickly
/// (a buffered write; flushing once per request is plenty).
pub trait Journal<T>: Send + Sync {
    /// A request carrying the records at these input indices is about to
    /// be sent. Until their outcomes are settled, they may have reached
    /// Copper.
    fn sending(&self, indices: &[usize]);

    /// The outcome of one record is known. Outcomes are settled as soon as
    /// each request ends, which need not be input order (the stream of
    /// outcomes is).
    fn settled(&self, outcome: &Outcome<T>);

    /// The outcome of one record of a run matched by key (such as
    /// [`Copper::bulk_upsert_entries`](crate::Copper::bulk_upsert_entries))
    /// is known, and `action` is what was sent for it: an update of the
    /// record found, or a create. A journal that writes the outcome should
    /// say which, since an applied update and an applied create look alike.
    /// By default, the same as [`Journal::settled`].
    fn settled_as(&self, outcome: &Outcome<T>, action: Action) {
        let _ = action;
        self.settled(outcome);
    }
}

/// One input record of a run that may take up where an earlier run of the
/// same input stopped (see [`Copper::bulk_entries`](crate::Copper::bulk_entries)).
#[derive(Debug)]
pub struct Entry<R> {
    /// The record's position in the whole input, counting from 0: its
    /// outcome carries it. Entries come in increasing order of index; an
    /// index may be skipped (a record settled by the earlier run).
    pub index: usize,
    /// The record, or why the input held none.
    pub record: Result<R, InvalidRecord>,
    /// When a request that carried this record was sent by an earlier run
    /// that did not learn its outcome: the record may have been applied
    /// then, so it is looked up before it is sent again (see
    /// [`Reconcile`](crate::Reconcile)).
    pub sent_before: Option<SystemTime>,
    /// Whether an earlier run settled the record (see [`Entry::settled`]):
    /// it is neither sent nor looked up, and yields no outcome.
    pub settled: bool,
}

impl<R> Entry<R> {
    /// A record no earlier run sent.
    pub fn new(index: usize, record: impl IntoRecord<R>) -> Self {
        Entry {
            index,
            record: record.into_record(),
            sent_before: None,
            settled: false,
        }
    }

    /// A record an earlier run settled, given only so that a run matched by
    /// key knows its keys: a later record with one of them is then
    /// [`Invalid`](crate::MatchedResult::Invalid), as in a run never
    /// interrupted, and never updates or creates what this one did. It is
    /// not sent and yields no outcome; a run that is not matched by key
    /// passes over it.
    pub fn settled(index: usize, record: impl IntoRecord<R>) -> Self {
        Entry {
            settled: true,
            ..Entry::new(index, record)
        }
    }

    /// A record a request of an earlier run carried, sent at `when`.
    pub fn sent_before(mut self, when: SystemTime) -> Self {
        self.sent_before = Some(when);
        self
    }
}
