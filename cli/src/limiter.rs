//! The rate limit shared with the account's other processes through Redis
//! (`--limiter`), and what the tool says when it is lost.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use copper_bulk::limiter::redis::{Account, RedisLimiter};
use copper_bulk::{Limiter, LimiterError, LimiterFuture, RateLimit, RequestKind};

/// A shared limiter that remembers why it first could not decide, so that
/// the tool can say so once, after every record has its line.
#[derive(Debug)]
pub struct Watched {
    limiter: RedisLimiter,
    lost: OnceLock<String>,
}

impl Watched {
    /// Connects to the Redis server at `url`, for the limits of `account`.
    /// The error says which server and why (never its password), for exit
    /// status 2: nothing was sent.
    pub async fn connect(
        url: &str,
        account: Account,
        limits: &[RateLimit],
        grace: Duration,
    ) -> Result<Arc<Self>, String> {
        let limiter = RedisLimiter::connect(url, account, limits)
            .await
            .map_err(|error| format!("--limiter: {error}"))?
            .with_outage_grace(grace);
        Ok(Arc::new(Watched {
            limiter,
            lost: OnceLock::new(),
        }))
    }

    /// Why the limiter first could not decide, if it could not.
    pub fn lost(&self) -> Option<&str> {
        self.lost.get().map(String::as_str)
    }

    /// The server's URL, its password hidden.
    pub fn display_url(&self) -> &str {
        self.limiter.display_url()
    }
}

impl Limiter for Watched {
    fn acquire(&self, kind: RequestKind) -> LimiterFuture<'_, Result<Duration, LimiterError>> {
        Box::pin(async move {
            let acquired = self.limiter.acquire(kind).await;
            if let Err(error) = &acquired {
                let _ = self.lost.set(error.to_string());
            }
            acquired
        })
    }

    fn refused(
        &self,
        kind: RequestKind,
        sent_at: tokio::time::Instant,
        pause: Duration,
    ) -> LimiterFuture<'_, ()> {
        self.limiter.refused(kind, sent_at, pause)
    }

    fn pace(&self) -> Option<Duration> {
        self.limiter.pace()
    }
}
