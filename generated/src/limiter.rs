//! The rate limiter a client's requests wait for: one trait, so that the
//! limit can be kept in this process ([`Throttle`], the default) or shared
//! by every process of an account (`RedisLimiter`, with the `redis`
//! feature).

#[cfg(feature = "redis")]
pub mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::throttle::{RequestKind, Throttle};

/// What a [`Limiter`]'s methods return: a boxed future, so that the trait
/// can be used as `dyn Limiter`.
pub type LimiterFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Decides when each request of a client may be sent, so that together
/// they keep to Copper's limits, and holds every request back when Copper
/// refuses one all the same.
///
/// The raw client's hooks ask [`Limiter::acquire`] before every request
/// and tell [`Limiter::refused`] of every 429. Clients given the same
/// `Arc<dyn Limiter>` share one schedule; a limiter that keeps its schedule
/// outside the process (`RedisLimiter`) shares it with other processes too.
pub trait Limiter: Send + Sync + fmt::Debug {
    /// Waits until a request of `kind` may be sent under every limit that
    /// counts it, and takes its place; returns how long it waited.
    ///
    /// An error means the limiter could not decide (a shared limiter lost
    /// its store for longer than it waits for it): the request must not be
    /// sent, since nothing would keep it within the account's limits.
    fn acquire(&self, kind: RequestKind) -> LimiterFuture<'_, Result<Duration, LimiterError>>;

    /// Copper refused (429) a request of `kind` that was sent at `sent_at`,
    /// and every request (of every sharer of the limit) should wait
    /// `pause` before it is sent. The limiter may also widen its spacing,
    /// as [`Throttle::note_refused`] describes.
    ///
    /// It never fails: a limiter that cannot record the pause will refuse
    /// the next [`Limiter::acquire`] instead.
    fn refused(
        &self,
        kind: RequestKind,
        sent_at: tokio::time::Instant,
        pause: Duration,
    ) -> LimiterFuture<'_, ()>;

    /// The spacing bulk requests keep now, with what 429s added to it, as
    /// far as this process knows; `None` when no limit spaces them.
    fn pace(&self) -> Option<Duration>;
}

/// A limiter could not decide whether a request may be sent, so it was not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimiterError {
    message: String,
}

impl LimiterError {
    /// An error saying what went wrong, in words for the person running the
    /// client (without credentials).
    pub fn new(message: impl Into<String>) -> Self {
        LimiterError {
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for LimiterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LimiterError {}

/// The in-process limiter: every clone of a client shares its schedule,
/// and nothing outside the process does.
impl Limiter for Throttle {
    fn acquire(&self, kind: RequestKind) -> LimiterFuture<'_, Result<Duration, LimiterError>> {
        Box::pin(async move { Ok(self.acquire_for(kind).await) })
    }

    fn refused(
        &self,
        kind: RequestKind,
        sent_at: tokio::time::Instant,
        pause: Duration,
    ) -> LimiterFuture<'_, ()> {
        self.pause_for(pause);
        self.note_refused(kind, sent_at);
        Box::pin(std::future::ready(()))
    }

    fn pace(&self) -> Option<Duration> {
        Throttle::pace(self)
    }
}
