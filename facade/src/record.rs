//! What the bulk operations take as input.

use crate::error::InvalidRecord;

/// An input item of a bulk operation: a record, or the reason an item
/// could not be made into one.
///
/// Implemented for the record types themselves and for `Result<R, E>` where
/// `E` converts into [`InvalidRecord`], so that a caller parsing records
/// from a file can pass a bad line on: it gets a [`RecordResult::Invalid`]
/// outcome at its own index, and every other record still runs.
///
/// [`RecordResult::Invalid`]: crate::RecordResult::Invalid
pub trait IntoRecord<R> {
    /// The record, or why there is none.
    fn into_record(self) -> Result<R, InvalidRecord>;
}

impl<R> IntoRecord<R> for R {
    fn into_record(self) -> Result<R, InvalidRecord> {
        Ok(self)
    }
}

impl<R, E: Into<InvalidRecord>> IntoRecord<R> for Result<R, E> {
    fn into_record(self) -> Result<R, InvalidRecord> {
        self.map_err(Into::into)
    }
}
