//! Faults a test can make the sandbox commit, one request at a time.

use std::time::Duration;

/// A way for the sandbox to misbehave on one request.
///
/// Queue faults with [`Sandbox::inject`](crate::Sandbox::inject): each
/// request takes the next fault in the queue, if any. Faults that say they
/// apply the batch change the store exactly as a good answer would, then
/// spoil the answer, which is how a client can be tested for never
/// reporting a record it cannot know about as applied, or as not applied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and change nothing (a 429 burst, a 503).
    Status(u16),
    /// Apply the batch, then answer with this status (a 500 after the work
    /// was done).
    StatusAfterApplying(u16),
    /// Wait this long, then answer normally (a response slower than the
    /// client's timeout).
    Delay(Duration),
    /// Drop the connection without applying anything.
    DropBeforeApplying,
    /// Apply the batch, then drop the connection without answering.
    DropAfterApplying,
    /// Apply the batch, then answer with the item at this position replaced
    /// by one in no documented shape.
    MalformedItem(usize),
    /// Apply the batch, then answer with its last item missing.
    ShortArray,
    /// Apply the batch, then cut the answer off halfway through.
    TruncatedBody,
    /// Apply the batch, then answer with its first two items swapped.
    SwappedItems,
}

impl Fault {
    /// Whether the batch is applied before the fault strikes.
    pub fn applies(&self) -> bool {
        matches!(
            self,
            Fault::StatusAfterApplying(_)
                | Fault::Delay(_)
                | Fault::DropAfterApplying
                | Fault::MalformedItem(_)
                | Fault::ShortArray
                | Fault::TruncatedBody
                | Fault::SwappedItems
        )
    }
}
