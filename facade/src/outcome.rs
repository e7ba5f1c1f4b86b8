//! One outcome per input record, and the report they add up to.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use copper_bulk_raw::types::{BulkFailureMessage, FieldErrors};
use futures_util::stream::{BoxStream, Stream, StreamExt};
use serde_json::Value;

use crate::error::{InvalidRecord, RequestFailure};
use crate::resume::Stopper;

/// What became of one input record.
#[derive(Debug)]
pub struct Outcome<T> {
    /// The record's position in the input, counting from 0.
    pub index: usize,
    /// What became of it.
    pub result: RecordResult<T>,
}

/// What became of one record.
///
/// The variants separate the caller's fault ([`RecordResult::Invalid`]) from
/// Copper's answers ([`RecordResult::Applied`], [`RecordResult::Rejected`])
/// and from failures to get an answer, split by whether Copper may have
/// applied the record ([`RecordResult::NotApplied`],
/// [`RecordResult::Unknown`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum RecordResult<T> {
    /// Copper applied the record and returned it in full.
    Applied(Box<T>),
    /// Copper refused the record, and said why.
    Rejected(Rejection),
    /// The record was refused before sending; no request carried it.
    Invalid(InvalidRecord),
    /// Copper certainly did not apply the record: its request never
    /// reached Copper or was refused as a whole. Sending it again is safe.
    NotApplied(Arc<RequestFailure>),
    /// Copper may or may not have applied the record. Check before sending
    /// it again; for a create, a second send may make a duplicate.
    Unknown(Arc<RequestFailure>),
}

impl<T> RecordResult<T> {
    /// The record Copper returned, if it applied it.
    pub fn applied(&self) -> Option<&T> {
        match self {
            RecordResult::Applied(record) => Some(record),
            _ => None,
        }
    }

    /// Whether Copper applied the record.
    pub fn is_applied(&self) -> bool {
        matches!(self, RecordResult::Applied(_))
    }

    /// A short name of the variant: `applied`, `rejected`, `invalid`,
    /// `not_applied` or `unknown`.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordResult::Applied(_) => "applied",
            RecordResult::Rejected(_) => "rejected",
            RecordResult::Invalid(_) => "invalid",
            RecordResult::NotApplied(_) => "not_applied",
            RecordResult::Unknown(_) => "unknown",
        }
    }
}

/// The outcomes of records whose request failed: unknown when Copper may
/// have applied it, not applied otherwise.
pub(crate) fn outcomes_of_failed_request<T>(
    indices: Vec<usize>,
    failure: &Arc<RequestFailure>,
) -> Vec<Outcome<T>> {
    indices
        .into_iter()
        .map(|index| Outcome {
            index,
            result: if failure.may_have_been_applied() {
                RecordResult::Unknown(failure.clone())
            } else {
                RecordResult::NotApplied(failure.clone())
            },
        })
        .collect()
}

/// Copper's reasons for refusing one record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// The id Copper's failure item carries: the id sent, for updates.
    pub id: Option<i64>,
    /// The error codes per field, such as `{"name": ["invalid"]}`.
    pub errors: BTreeMap<String, Vec<String>>,
    /// Copper's message, when it sent text instead of field errors, or the
    /// item itself when it was in no documented shape.
    pub message: Option<String>,
}

impl Rejection {
    pub(crate) fn from_message(id: Option<i64>, message: BulkFailureMessage) -> Self {
        match message {
            BulkFailureMessage::FieldErrors(FieldErrors(fields)) => Rejection {
                id,
                errors: fields
                    .into_iter()
                    .map(|(field, errors)| (field, errors.into_iter().map(|e| e.error).collect()))
                    .collect(),
                message: None,
            },
            BulkFailureMessage::String(text) => Rejection {
                id,
                errors: BTreeMap::new(),
                message: Some(text),
            },
        }
    }

    /// A failure item in no documented shape, kept as text.
    pub(crate) fn from_raw(raw: &Value) -> Self {
        Rejection {
            id: raw.get("id").and_then(Value::as_i64),
            errors: BTreeMap::new(),
            message: Some(raw.get("message").unwrap_or(raw).to_string()),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, codes) in &self.errors {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{field}: {}", codes.join(", "))?;
        }
        if let Some(message) = &self.message {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            f.write_str(message)?;
        }
        if first {
            f.write_str("rejected without a reason")?;
        }
        Ok(())
    }
}

/// The outcomes of a bulk operation, one per input record, in input order.
///
/// A [`Stream`]: read outcomes as they come, or collect them with
/// [`Outcomes::report`]. Nothing is sent until the stream is polled.
#[must_use = "nothing is sent until the outcomes are read"]
pub struct Outcomes<T> {
    inner: BoxStream<'static, Outcome<T>>,
    stopper: Stopper,
}

impl<T> Outcomes<T> {
    pub(crate) fn new(inner: BoxStream<'static, Outcome<T>>) -> Self {
        Outcomes {
            inner,
            stopper: Stopper::default(),
        }
    }

    pub(crate) fn with_stopper(self, stopper: Stopper) -> Self {
        Outcomes { stopper, ..self }
    }

    /// A handle that stops the run gracefully, from anywhere (a signal
    /// handler, another task): no new request is sent, the requests in
    /// flight finish and their outcomes are yielded, then every record not
    /// sent is yielded as [`RecordResult::NotApplied`] with
    /// [`Error::Stopped`](crate::Error::Stopped). Keep reading the stream
    /// to its end to get them.
    ///
    /// Dropping the stream instead stops at once, but the outcomes of the
    /// requests then in flight are lost: Copper may have applied them.
    ///
    /// ```no_run
    /// # async fn run(copper: copper_bulk::Copper, people: Vec<copper_bulk::PersonUpdate>) {
    /// use futures_util::StreamExt;
    ///
    /// let mut outcomes = copper.people().bulk_update(people);
    /// let stopper = outcomes.stopper();
    /// // Stop after a minute, whatever is left.
    /// tokio::spawn(async move {
    ///     tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    ///     stopper.stop();
    /// });
    /// while let Some(outcome) = outcomes.next().await {
    ///     println!("{}: {}", outcome.index, outcome.result.kind());
    /// }
    /// # }
    /// ```
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Reads every outcome into a [`Report`].
    pub async fn report(mut self) -> Report<T> {
        let mut report = Report::default();
        while let Some(outcome) = self.inner.next().await {
            report.add(outcome);
        }
        report
    }
}

impl<T> fmt::Debug for Outcomes<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcomes").finish_non_exhaustive()
    }
}

impl<T> Stream for Outcomes<T> {
    type Item = Outcome<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// Every outcome of a bulk operation, sorted by what became of the record;
/// each entry keeps the record's input index.
#[derive(Debug)]
#[non_exhaustive]
pub struct Report<T> {
    /// Records Copper applied, with what it returned.
    pub applied: Vec<(usize, T)>,
    /// Records Copper refused.
    pub rejected: Vec<(usize, Rejection)>,
    /// Records refused before sending.
    pub invalid: Vec<(usize, InvalidRecord)>,
    /// Records Copper certainly did not apply.
    pub not_applied: Vec<(usize, Arc<RequestFailure>)>,
    /// Records Copper may or may not have applied.
    pub unknown: Vec<(usize, Arc<RequestFailure>)>,
}

impl<T> Default for Report<T> {
    fn default() -> Self {
        Report {
            applied: Vec::new(),
            rejected: Vec::new(),
            invalid: Vec::new(),
            not_applied: Vec::new(),
            unknown: Vec::new(),
        }
    }
}

impl<T> Report<T> {
    /// Adds one outcome.
    pub fn add(&mut self, outcome: Outcome<T>) {
        let Outcome { index, result } = outcome;
        match result {
            RecordResult::Applied(record) => self.applied.push((index, *record)),
            RecordResult::Rejected(rejection) => self.rejected.push((index, rejection)),
            RecordResult::Invalid(invalid) => self.invalid.push((index, invalid)),
            RecordResult::NotApplied(failure) => self.not_applied.push((index, failure)),
            RecordResult::Unknown(failure) => self.unknown.push((index, failure)),
        }
    }

    /// How many records ended each way.
    pub fn counts(&self) -> Counts {
        Counts {
            applied: self.applied.len(),
            rejected: self.rejected.len(),
            invalid: self.invalid.len(),
            not_applied: self.not_applied.len(),
            unknown: self.unknown.len(),
        }
    }

    /// Whether every record was applied.
    pub fn all_applied(&self) -> bool {
        let counts = self.counts();
        counts.applied == counts.total()
    }
}

/// How many records ended each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Applied by Copper.
    pub applied: usize,
    /// Refused by Copper.
    pub rejected: usize,
    /// Refused before sending.
    pub invalid: usize,
    /// Certainly not applied.
    pub not_applied: usize,
    /// Maybe applied.
    pub unknown: usize,
}

impl Counts {
    /// Every record counted.
    pub fn total(&self) -> usize {
        self.applied + self.rejected + self.invalid + self.not_applied + self.unknown
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} applied, {} rejected, {} invalid, {} not applied, {} unknown",
            self.applied, self.rejected, self.invalid, self.not_applied, self.unknown
        )
    }
}
