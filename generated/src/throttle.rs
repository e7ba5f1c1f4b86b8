//! Client-side rate limiting, shared by every clone of a client.
//!
//! Copper answers with 429 when an account sends more than 180 requests in
//! a minute, of any kind, or more than 3 bulk requests in a second; a
//! search counts toward the first limit only. The throttle keeps every
//! window of those lengths within its limit, rather than waiting for Copper
//! to refuse requests: each [`RateLimit`] says which kinds of request
//! ([`RequestKind`]) it counts. When Copper refuses one all the same,
//! [`Throttle::pause_for`] holds back every request of the client, of
//! either kind, until the wait Copper asked for is over, not only the one
//! it refused.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

/// At most `requests` requests in any window of `per`.
///
/// ```
/// use std::time::Duration;
/// use copper_bulk_raw::throttle::RateLimit;
///
/// let bulk = RateLimit::per_second(3);
/// assert_eq!(bulk.spacing(), Duration::from_nanos(343_333_333));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    requests: NonZeroU32,
    per: Duration,
    margin: Duration,
    bulk_only: bool,
    rolling: bool,
}

/// The kinds of request Copper counts apart: its bulk endpoints have a limit
/// of their own besides the account-wide one, which searches count toward
/// too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// A bulk create or update: counted by every limit.
    Bulk,
    /// A search, which only reads: counted by the limits that are not
    /// [`RateLimit::bulk_only`].
    Search,
}

impl RequestKind {
    /// The kind of a request to this URL path: a search when the path ends
    /// in `/search` (`/developer_api/v1/people/search`), a bulk request
    /// otherwise, so that a request the throttle does not know keeps to
    /// every limit.
    ///
    /// ```
    /// use copper_bulk_raw::throttle::RequestKind;
    ///
    /// assert_eq!(RequestKind::of_path("/developer_api/v1/leads/search"), RequestKind::Search);
    /// assert_eq!(RequestKind::of_path("/developer_api/v1/leads/bulk_create"), RequestKind::Bulk);
    /// ```
    pub fn of_path(path: &str) -> Self {
        if path.trim_end_matches('/').ends_with("/search") {
            RequestKind::Search
        } else {
            RequestKind::Bulk
        }
    }
}

impl RateLimit {
    /// The largest margin added between requests by default: network jitter
    /// can bring two requests closer together on their way to Copper than
    /// they were sent, and 10 ms keeps them apart without giving up more than
    /// 3% of Copper's limit of 3 per second.
    pub const DEFAULT_MARGIN: Duration = Duration::from_millis(10);

    /// The default margin is at most this fraction (1/33) of the window
    /// divided by the number of requests. A fixed 10 ms would cost a fast
    /// rate far more than 3% (half of 100 a second), so a faster rate gets a
    /// proportionally smaller margin; 1/33 is just over 3%, so the margin at
    /// Copper's 3 a second is still the whole [`Self::DEFAULT_MARGIN`].
    const MARGIN_DIVISOR: u32 = 33;

    /// At most `requests` in any window of `per`, with the default margin:
    /// [`Self::DEFAULT_MARGIN`], or 1/33 of `per / requests` when that is
    /// less, so that the margin never slows a rate down by more than about
    /// 3%. A smaller margin is trimmed so that the spacing is whole
    /// milliseconds, the resolution of tokio's timer.
    ///
    /// ```
    /// use std::time::Duration;
    /// use copper_bulk_raw::throttle::RateLimit;
    ///
    /// assert_eq!(
    ///     RateLimit::per_second(3).spacing(),
    ///     Duration::from_nanos(333_333_333) + RateLimit::DEFAULT_MARGIN,
    /// );
    /// // 6 a second: 166.67 ms apart, plus 5.05 ms (1/33), down to whole ms.
    /// assert_eq!(RateLimit::per_second(6).spacing(), Duration::from_millis(171));
    /// ```
    ///
    /// # Panics
    ///
    /// When `requests` is zero or `per` is zero.
    pub fn new(requests: u32, per: Duration) -> Self {
        let requests = NonZeroU32::new(requests).expect("a rate limit allows at least one request");
        assert!(
            !per.is_zero(),
            "a rate limit needs a window longer than zero"
        );
        let base = per / requests.get();
        let proportional = base / Self::MARGIN_DIVISOR;
        let margin = if proportional >= Self::DEFAULT_MARGIN {
            Self::DEFAULT_MARGIN
        } else {
            // tokio's timer fires on whole milliseconds, and the limiter
            // counts the next place from when a request actually went, so a
            // spacing with a fraction of a millisecond is rounded up on every
            // request and a fast rate loses far more than the margin. The
            // spacing is rounded down to whole milliseconds instead, never
            // below the window divided by the requests.
            let spacing = base + proportional;
            let whole =
                Duration::from_millis(u64::try_from(spacing.as_millis()).unwrap_or(u64::MAX));
            whole.saturating_sub(base)
        };
        RateLimit {
            requests,
            per,
            margin,
            bulk_only: false,
            rolling: false,
        }
    }

    /// At most `requests` in any second.
    pub fn per_second(requests: u32) -> Self {
        RateLimit::new(requests, Duration::from_secs(1))
    }

    /// At most `requests` in any minute.
    pub fn per_minute(requests: u32) -> Self {
        RateLimit::new(requests, Duration::from_secs(60))
    }

    /// The same limit with `margin` added between consecutive requests.
    pub fn with_margin(self, margin: Duration) -> Self {
        RateLimit { margin, ..self }
    }

    /// The same limit, counting bulk requests only: Copper's 3 requests a
    /// second, which searches do not count toward. A limit counts every
    /// kind of request unless this is called.
    pub fn bulk_only(self) -> Self {
        RateLimit {
            bulk_only: true,
            ..self
        }
    }

    /// The same limit, kept as a rolling window instead of by spacing:
    /// up to [`Self::requests`] may go at once, and then each waits until
    /// the oldest of them is [`Self::per`] plus the margin in the past.
    ///
    /// The margin of a rolling window is at least [`Self::ROLLING_MARGIN`]
    /// of its length (300 ms of a minute). When the window is full, every
    /// request follows one a whole window before it: if it reaches Copper
    /// sooner after leaving than that one did, by more than the margin,
    /// Copper counts one request too many. The spaced margin (10 ms) is too
    /// little for that, as a benchmark that kept both of Copper's limits
    /// full for six minutes found (two 429s in 1,052 requests), while 300
    /// ms of a minute costs half a percent of its rate.
    ///
    /// ```
    /// use std::time::Duration;
    /// use copper_bulk_raw::throttle::RateLimit;
    ///
    /// assert_eq!(RateLimit::per_minute(180).rolling().margin(), Duration::from_millis(300));
    /// ```
    ///
    /// Copper's 180 requests a minute is kept this way, so that the
    /// searches a client sends in a burst (looking up a batch's records)
    /// are not spaced 343 ms apart while the minute has room. Spacing stays
    /// the default because it also keeps every shorter window within the
    /// limit's rate, which matters at Copper's 3 bulk requests a second.
    pub fn rolling(self) -> Self {
        RateLimit {
            rolling: true,
            margin: self.margin.max(self.per / Self::ROLLING_MARGIN),
            ..self
        }
    }

    /// A rolling window's margin is at least its length divided by this.
    pub const ROLLING_MARGIN: u32 = 200;

    /// Whether the limit counts bulk requests only ([`Self::bulk_only`]).
    pub fn is_bulk_only(&self) -> bool {
        self.bulk_only
    }

    /// Whether the limit is kept as a rolling window ([`Self::rolling`]).
    pub fn is_rolling(&self) -> bool {
        self.rolling
    }

    /// Whether requests of `kind` count toward the limit.
    pub fn counts(&self, kind: RequestKind) -> bool {
        match kind {
            RequestKind::Bulk => true,
            RequestKind::Search => !self.bulk_only,
        }
    }

    /// The number of requests allowed per window.
    pub fn requests(&self) -> u32 {
        self.requests.get()
    }

    /// The window.
    pub fn per(&self) -> Duration {
        self.per
    }

    /// The time between two consecutive requests: the window divided by the
    /// number of requests, plus the margin. Spacing requests evenly is what
    /// keeps every window, wherever it starts, within the limit; a token
    /// bucket would allow a burst at the end of one window and the start of
    /// the next.
    pub fn spacing(&self) -> Duration {
        self.per / self.requests.get() + self.margin
    }

    /// What is added between requests ([`Self::spacing`]), or to a rolling
    /// window's length ([`Self::rolling`]).
    pub fn margin(&self) -> Duration {
        self.margin
    }
}

/// The limiters every request of a client (and of its clones) waits for,
/// and the pause a refused request may have asked for.
#[derive(Debug)]
pub struct Throttle {
    limits: Vec<RateLimit>,
    /// One per spaced limit, with the kinds it counts.
    spaced: Vec<(RateLimit, Mutex<Pace>)>,
    /// The rolling limits, and when each request they counted was sent:
    /// at most [`RateLimit::requests`] of them, oldest first. One lock for
    /// all, so that a request takes its place in every window at once.
    rolling: Mutex<Vec<(RateLimit, VecDeque<tokio::time::Instant>)>>,
    /// No request may be sent before this instant, when set.
    paused_until: Mutex<Option<tokio::time::Instant>>,
}

/// The schedule of one spaced limit, and how far it has widened its
/// spacing after 429s, by the rule [`Throttle::note_refused`] describes.
#[derive(Debug)]
struct Pace {
    /// When the next place may be given, if one was given before.
    next: Option<tokio::time::Instant>,
    /// What the spacing has widened to beyond the limit's own.
    extra: Duration,
    /// Places given since the spacing last changed.
    given: u32,
    /// When the spacing last widened: a 429 for a request sent before then
    /// does not widen it again.
    widened_at: Option<tokio::time::Instant>,
}

/// A 429 widens the spacing by one part in this many (6.25%).
const WIDEN_DIVISOR: u32 = 16;
/// Quiet narrows the spacing by this much...
const NARROW_STEP: Duration = Duration::from_millis(1);
/// ...every this many places given without a 429...
const NARROW_AFTER: u32 = 16;
/// ...or this part of the widening, when that is more.
const NARROW_DIVISOR: u32 = 64;

/// A place taken in a [`Pace`], and the schedule before it.
#[derive(Clone, Copy, Debug)]
struct Taken {
    previous: Option<tokio::time::Instant>,
    mine: tokio::time::Instant,
}
/// The spacing never widens beyond this many times the limit's own: a
/// server that refuses everything is answered by the retry policy, not by
/// a client that slows to a halt.
const MAX_WIDENING: u32 = 4;

impl Pace {
    fn new() -> Self {
        Pace {
            next: None,
            extra: Duration::ZERO,
            given: 0,
            widened_at: None,
        }
    }

    /// How long until a place is free, if one is not free now.
    fn wait(&self, now: tokio::time::Instant) -> Option<Duration> {
        self.next.filter(|next| *next > now).map(|next| next - now)
    }

    /// Takes the place free now (see [`Pace::wait`]), and narrows the
    /// spacing when enough places went without a 429. Returns what a
    /// [`Pace::give_back`] needs.
    fn take(&mut self, limit: &RateLimit, now: tokio::time::Instant) -> Taken {
        let taken = Taken {
            previous: self.next,
            mine: now + limit.spacing() + self.extra,
        };
        self.next = Some(taken.mine);
        // Only a widened spacing counts its places, toward narrowing.
        if !self.extra.is_zero() {
            self.given += 1;
            if self.given >= NARROW_AFTER {
                // A millisecond, or a 64th of the widening when that is
                // more: a spacing widened far (a run of 429s from a crowded
                // account) comes back within minutes, not hours, while
                // the last milliseconds, where 429s begin, go slowly.
                let step = NARROW_STEP.max(self.extra / NARROW_DIVISOR);
                self.extra = self.extra.saturating_sub(step);
                self.given = 0;
            }
        }
        taken
    }

    /// Gives back a place taken for a request that was not sent after all
    /// (a pause began, or the minute's window was full), unless a later
    /// place was given since.
    fn give_back(&mut self, taken: Taken) {
        if self.next == Some(taken.mine) {
            self.next = taken.previous;
            self.given = self.given.saturating_sub(1);
        }
    }

    /// Widens the spacing after a 429 for a request sent at `sent_at`.
    fn widen(&mut self, limit: &RateLimit, sent_at: tokio::time::Instant) {
        // Requests sent before the widening, or within a window after it,
        // met arrivals from before it: the same crowding, already answered.
        if self
            .widened_at
            .is_some_and(|widened| sent_at <= widened + limit.per)
        {
            return;
        }
        let spacing = limit.spacing() + self.extra;
        let widest = limit.spacing() * MAX_WIDENING;
        let wider = (spacing + spacing / WIDEN_DIVISOR).min(widest);
        self.extra = wider.saturating_sub(limit.spacing());
        self.given = 0;
        self.widened_at = Some(tokio::time::Instant::now());
        // The place already given keeps its time; the next one is counted
        // from it with the wider spacing.
    }
}

impl Throttle {
    /// A throttle that keeps to every one of `limits`.
    pub fn new(limits: impl IntoIterator<Item = RateLimit>) -> Self {
        let limits: Vec<RateLimit> = limits.into_iter().collect();
        let spaced = limits
            .iter()
            .filter(|limit| !limit.rolling)
            .map(|limit| (*limit, Mutex::new(Pace::new())))
            .collect();
        let rolling = limits
            .iter()
            .filter(|limit| limit.rolling)
            .map(|limit| (*limit, VecDeque::new()))
            .collect();
        Throttle {
            limits,
            spaced,
            rolling: Mutex::new(rolling),
            paused_until: Mutex::new(None),
        }
    }

    /// The limits it keeps to.
    pub fn limits(&self) -> &[RateLimit] {
        &self.limits
    }

    /// Waits until a bulk request may be sent, and takes its place: the
    /// same as [`Self::acquire_for`] a [`RequestKind::Bulk`], which every
    /// limit counts.
    pub async fn acquire(&self) -> Duration {
        self.acquire_for(RequestKind::Bulk).await
    }

    /// Waits until a request of `kind` may be sent under every limit that
    /// counts it and no pause is in effect, and takes its place in each;
    /// returns how long it waited.
    ///
    /// Time is tokio's, so a test with a paused clock does not really wait.
    pub async fn acquire_for(&self, kind: RequestKind) -> Duration {
        let started = tokio::time::Instant::now();
        loop {
            self.wait_for_pause().await;
            // Every spaced place is taken at one instant, or none is: a
            // request that took one limit's place and then waited for
            // another's would go out later than its first place says, and
            // the next request by the first limit could follow it by less
            // than that limit's spacing.
            let taken = match self.take_spaced(kind) {
                Ok(taken) => taken,
                Err(wait) => {
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            // A pause that began while this request waited holds it back
            // too: its places are given back, and after the pause it
            // queues again, so the requests held back together still go
            // out one place apart.
            if self.pause_end().is_some() {
                self.give_back(kind, taken);
                continue;
            }
            // Nothing is awaited between the places taken above and the
            // rolling windows: the request is sent at the instant it was
            // given its spaced places. When a window is full, the spaced
            // places are given back and taken again once it has room.
            match self.enter_rolling_windows(kind) {
                Ok(()) => return started.elapsed(),
                Err(room_at) => {
                    self.give_back(kind, taken);
                    tokio::time::sleep_until(room_at).await;
                }
            }
        }
    }

    /// The spaced limits that count `kind`, with their paces.
    fn spaced_for(&self, kind: RequestKind) -> impl Iterator<Item = &(RateLimit, Mutex<Pace>)> {
        self.spaced
            .iter()
            .filter(move |(limit, _)| limit.counts(kind))
    }

    /// Takes a place now in every spaced limit that counts `kind`, or, when
    /// one has none free, takes none and says how long until all may be.
    fn take_spaced(&self, kind: RequestKind) -> Result<Vec<Taken>, Duration> {
        let now = tokio::time::Instant::now();
        // The paces are locked in one order, the limits', by every caller.
        let mut paces: Vec<_> = self
            .spaced_for(kind)
            .map(|(limit, pace)| (limit, lock(pace)))
            .collect();
        if let Some(wait) = paces.iter().filter_map(|(_, pace)| pace.wait(now)).max() {
            return Err(wait);
        }
        Ok(paces
            .iter_mut()
            .map(|(limit, pace)| pace.take(limit, now))
            .collect())
    }

    /// Gives back the places [`Throttle::take_spaced`] took.
    fn give_back(&self, kind: RequestKind, taken: Vec<Taken>) {
        for ((_, pace), taken) in self.spaced_for(kind).zip(taken) {
            lock(pace).give_back(taken);
        }
    }

    /// Takes a place for a request of `kind` sent now in every rolling
    /// window that counts it, or, when one is full, takes none and says
    /// when that window will have room.
    fn enter_rolling_windows(&self, kind: RequestKind) -> Result<(), tokio::time::Instant> {
        let now = tokio::time::Instant::now();
        let mut windows = self.lock_rolling();
        let mut room_at = None;
        for (limit, sent) in windows.iter_mut().filter(|(limit, _)| limit.counts(kind)) {
            let length = limit.per + limit.margin;
            while sent
                .front()
                .is_some_and(|oldest| now.saturating_duration_since(*oldest) >= length)
            {
                sent.pop_front();
            }
            if sent.len() >= limit.requests() as usize
                && let Some(oldest) = sent.front()
            {
                room_at = room_at.max(Some(*oldest + length));
            }
        }
        if let Some(room_at) = room_at {
            return Err(room_at);
        }
        for (_, sent) in windows.iter_mut().filter(|(limit, _)| limit.counts(kind)) {
            sent.push_back(now);
        }
        Ok(())
    }

    /// Holds back every request (of every clone of the client sharing this
    /// throttle) until `duration` from now: what a 429 asks for. A pause
    /// already in effect that ends later is kept; a shorter one does not cut
    /// it short.
    pub fn pause_for(&self, duration: Duration) {
        let now = tokio::time::Instant::now();
        // A wait too long for the clock to hold is as good as an endless
        // one; about a century stays within every platform's clock.
        let until = now
            .checked_add(duration)
            .unwrap_or_else(|| now + Duration::from_secs(u64::from(u32::MAX)));
        let mut paused_until = self.lock_pause();
        if paused_until.is_none_or(|current| current < until) {
            *paused_until = Some(until);
        }
    }

    /// When the pause in effect ends, if one is.
    pub fn pause_end(&self) -> Option<tokio::time::Instant> {
        let paused_until = *self.lock_pause();
        paused_until.filter(|until| *until > tokio::time::Instant::now())
    }

    /// Widens the spacing of every spaced limit that counts `kind` after
    /// Copper refused (429) a request of that kind sent at `sent_at`.
    ///
    /// The rule is additive increase and multiplicative decrease, as TCP's
    /// congestion control has it, on the rate: a 429 multiplies the spacing
    /// by 17/16 (at most once for the requests sent before it, or within a
    /// window of the limit after it, which the same crowding may refuse
    /// too), and every 16 places given without a 429 take a millisecond off
    /// it (a 64th of what it widened by, when that is more), never below the
    /// limit's own spacing, and never wider than 4 times it. Copper counts requests when they
    /// arrive, and a network that delays each by a random 0 to J ms can
    /// bring four of them within one second although they left 343 ms
    /// apart: no spacing below `(1000 + J) / 3` ms is safe. The client
    /// cannot see J, so it finds that spacing from the 429s: a step past
    /// it, then a slow walk back, so that a run spends most of its time
    /// just above the spacing that causes 429s and meets one only every
    /// few hundred requests. With no jitter nothing is refused and the
    /// spacing stays the limit's.
    ///
    /// A refused search widens nothing: what refused it is the minute's
    /// limit (searches do not count toward Copper's 3 a second), which its
    /// rolling window keeps with a margin of its own.
    pub fn note_refused(&self, kind: RequestKind, sent_at: tokio::time::Instant) {
        if kind == RequestKind::Search {
            return;
        }
        for (limit, pace) in self.spaced_for(kind) {
            lock(pace).widen(limit, sent_at);
        }
    }

    /// The spacing bulk requests keep now: the widest of the spaced limits
    /// that count them, with what 429s added to it; `None` when no spaced
    /// limit counts them.
    pub fn pace(&self) -> Option<Duration> {
        self.spaced
            .iter()
            .filter(|(limit, _)| limit.counts(RequestKind::Bulk))
            .map(|(limit, pace)| limit.spacing() + lock(pace).extra)
            .max()
    }

    async fn wait_for_pause(&self) {
        while let Some(until) = self.pause_end() {
            tokio::time::sleep_until(until).await;
        }
    }

    fn lock_rolling(
        &self,
    ) -> std::sync::MutexGuard<'_, Vec<(RateLimit, VecDeque<tokio::time::Instant>)>> {
        // Each window is changed whole under the lock (old places dropped,
        // then one added to every window or none), and nothing in between
        // can panic, so a poisoned lock still guards consistent windows.
        self.rolling
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_pause(&self) -> std::sync::MutexGuard<'_, Option<tokio::time::Instant>> {
        // The guarded value is a plain instant, written whole, so a panic
        // elsewhere while it was held cannot have left it half-written.
        self.paused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A pace's lock. Each change to a [`Pace`] is made whole under it and
/// nothing in between can panic, so a poisoned lock still guards a
/// consistent pace.
fn lock(pace: &Mutex<Pace>) -> std::sync::MutexGuard<'_, Pace> {
    pace.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::task::JoinHandle;

    use super::*;

    /// `n` tasks sharing `throttle`, each acquiring once and returning when
    /// it got its place, counted from `start`.
    fn spawn_acquires(
        throttle: &Arc<Throttle>,
        n: usize,
        start: tokio::time::Instant,
    ) -> Vec<JoinHandle<Duration>> {
        (0..n)
            .map(|_| {
                let throttle = throttle.clone();
                tokio::spawn(async move {
                    throttle.acquire().await;
                    start.elapsed()
                })
            })
            .collect()
    }

    async fn sorted_times(tasks: Vec<JoinHandle<Duration>>) -> Vec<Duration> {
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap());
        }
        times.sort();
        times
    }

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_strictest_limit() {
        let throttle = Throttle::new([
            RateLimit::per_second(3).with_margin(Duration::ZERO),
            RateLimit::per_minute(180).with_margin(Duration::ZERO),
        ]);
        let start = tokio::time::Instant::now();
        let mut sent = Vec::new();
        for _ in 0..7 {
            throttle.acquire().await;
            sent.push(start.elapsed());
        }
        // No window of one second holds more than three.
        for (i, at) in sent.iter().enumerate() {
            let in_window = sent[i..]
                .iter()
                .filter(|t| **t - *at < Duration::from_secs(1));
            assert!(in_window.count() <= 3, "{sent:?}");
        }
        assert_eq!(sent[0], Duration::ZERO);
        assert!(sent[6] >= Duration::from_secs(2), "{sent:?}");
        assert!(sent[6] < Duration::from_millis(2_010), "{sent:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_tighter_of_two_limits_wins() {
        let throttle = Throttle::new([
            RateLimit::per_second(10).with_margin(Duration::ZERO),
            RateLimit::new(2, Duration::from_secs(1)).with_margin(Duration::ZERO),
        ]);
        let start = tokio::time::Instant::now();
        throttle.acquire().await;
        throttle.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_share_one_schedule() {
        let limit = RateLimit::per_second(4);
        let throttle = Arc::new(Throttle::new([limit]));
        let start = tokio::time::Instant::now();
        let tasks = spawn_acquires(&throttle, 8, start);
        let times = sorted_times(tasks).await;
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= limit.spacing(), "{times:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_back_the_next_request() {
        let throttle = Throttle::new([RateLimit::per_second(3)]);
        let start = tokio::time::Instant::now();
        throttle.acquire().await;
        throttle.pause_for(Duration::from_secs(2));
        throttle.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_back_a_throttle_without_limits() {
        let throttle = Throttle::new([]);
        let start = tokio::time::Instant::now();
        throttle.pause_for(Duration::from_millis(1_500));
        throttle.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(1_500));
        throttle.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(1_500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_back_every_sharer_already_waiting() {
        let throttle = Arc::new(Throttle::new([
            RateLimit::per_second(3).with_margin(Duration::ZERO)
        ]));
        let start = tokio::time::Instant::now();
        throttle.acquire().await;
        // Four requests of clones queue for their places, 333 ms apart...
        let tasks = spawn_acquires(&throttle, 4, start);
        // ...when the first is refused and asks for two seconds.
        tokio::time::sleep(Duration::from_millis(100)).await;
        throttle.pause_for(Duration::from_secs(2));
        let times = sorted_times(tasks).await;
        assert!(times[0] >= Duration::from_millis(2_100), "{times:?}");
        // After the pause they still go out one place apart.
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(333), "{times:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_shorter_pause_does_not_cut_a_longer_one_short() {
        let throttle = Throttle::new([]);
        let start = tokio::time::Instant::now();
        throttle.pause_for(Duration::from_secs(5));
        throttle.pause_for(Duration::from_secs(1));
        assert_eq!(throttle.pause_end(), Some(start + Duration::from_secs(5)));
        throttle.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        // A longer one extends it.
        throttle.pause_for(Duration::from_secs(1));
        throttle.pause_for(Duration::from_secs(3));
        throttle.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(8));
    }

    /// Paces one bulk request after another on `throttle`, `n` times, and
    /// returns the spacing after each.
    async fn paces(throttle: &Throttle, n: usize) -> Vec<Duration> {
        let mut paces = Vec::new();
        for _ in 0..n {
            throttle.acquire().await;
            paces.push(throttle.pace().unwrap());
        }
        paces
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_429s_widens_once_per_crowding_and_quiet_narrows_back_to_the_limit() {
        let limit = RateLimit::per_second(3).bulk_only();
        let throttle = copper();
        let base = limit.spacing();
        assert_eq!(throttle.pace(), Some(base));
        // Three requests in flight are refused together: one widening.
        let sent = tokio::time::Instant::now();
        throttle.acquire().await;
        for _ in 0..3 {
            throttle.note_refused(RequestKind::Bulk, sent);
        }
        let once = base + base / WIDEN_DIVISOR;
        assert_eq!(throttle.pace(), Some(once));
        // So is one sent within a second (the limit's window) after it:
        // what crowded it arrived before the widening.
        tokio::time::sleep(Duration::from_millis(900)).await;
        throttle.note_refused(RequestKind::Bulk, tokio::time::Instant::now());
        assert_eq!(throttle.pace(), Some(once));
        // A request sent later and refused widens again.
        tokio::time::sleep(Duration::from_millis(200)).await;
        throttle.note_refused(RequestKind::Bulk, tokio::time::Instant::now());
        let twice = once + once / WIDEN_DIVISOR;
        assert_eq!(throttle.pace(), Some(twice));
        // Requests now go out the wider spacing apart.
        throttle.acquire().await;
        let start = tokio::time::Instant::now();
        throttle.acquire().await;
        let apart = start.elapsed();
        assert!(
            apart >= twice && apart < twice + Duration::from_millis(2),
            "{apart:?}"
        );
        // Quiet narrows it a millisecond every 16 places, back to the
        // limit's own spacing and never below it.
        let paces = paces(&throttle, 16 * 120).await;
        assert!(paces.windows(2).all(|pair| pair[1] <= pair[0]), "{paces:?}");
        assert_eq!(paces[15], twice - NARROW_STEP, "{paces:?}");
        assert_eq!(*paces.last().unwrap(), base);
        assert!(paces.iter().all(|pace| *pace >= base));
    }

    #[tokio::test(start_paused = true)]
    async fn a_spacing_widened_far_comes_back_in_a_bounded_number_of_places() {
        let throttle = copper();
        let base = throttle.pace().unwrap();
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(1_001)).await;
            throttle.note_refused(RequestKind::Bulk, tokio::time::Instant::now());
        }
        assert_eq!(throttle.pace(), Some(base * MAX_WIDENING));
        // A millisecond every 16 places would take 16 * 1030 places; a
        // 64th of the widening while it is large takes far fewer.
        let paces = paces(&throttle, 16 * 300).await;
        assert_eq!(
            *paces.last().unwrap(),
            base,
            "{:?}",
            &paces[paces.len() - 20..]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_takes_every_spaced_place_at_once() {
        // One bulk request a second, and two requests of any kind a second.
        let throttle = Throttle::new([
            RateLimit::new(1, Duration::from_secs(1))
                .with_margin(Duration::ZERO)
                .bulk_only(),
            RateLimit::new(2, Duration::from_secs(1)).with_margin(Duration::ZERO),
        ]);
        let start = tokio::time::Instant::now();
        // A search takes the second limit's place at 0; the first bulk
        // request waits for it until 0.5 s.
        throttle.acquire_for(RequestKind::Search).await;
        throttle.acquire().await;
        let first = start.elapsed();
        throttle.acquire().await;
        let second = start.elapsed();
        assert_eq!(first, Duration::from_millis(500));
        // Had the first taken the bulk limit's place at 0 and only then
        // waited, the second would follow it by half a second.
        assert_eq!(second - first, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_place_not_used_because_the_minute_is_full_is_given_back() {
        // Three requests of any kind a second, spaced; two bulk requests a
        // minute, rolling.
        let throttle = Arc::new(Throttle::new([
            RateLimit::per_second(3).with_margin(Duration::ZERO),
            RateLimit::per_minute(2).rolling().bulk_only(),
        ]));
        let start = tokio::time::Instant::now();
        throttle.acquire().await;
        throttle.acquire().await;
        // The third bulk request finds its spaced place free at 666 ms and
        // the minute full: it gives the place back and waits for a minute.
        let waiting = spawn_acquires(&throttle, 1, start);
        tokio::time::sleep_until(start + Duration::from_millis(700)).await;
        // A search, which the minute's limit does not count, may take the
        // place the bulk request did not use.
        throttle.acquire_for(RequestKind::Search).await;
        assert_eq!(start.elapsed(), Duration::from_millis(700));
        let waited = sorted_times(waiting).await;
        assert!(waited[0] >= Duration::from_secs(60), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_search_does_not_widen_the_bulk_spacing_and_widening_is_bounded() {
        // A spaced limit that counts searches too: a refused search still
        // says nothing about how crowded bulk requests arrive.
        let throttle = Throttle::new([RateLimit::per_second(3)]);
        let base = throttle.pace().unwrap();
        throttle.note_refused(RequestKind::Search, tokio::time::Instant::now());
        assert_eq!(throttle.pace(), Some(base));
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(1_001)).await;
            throttle.note_refused(RequestKind::Bulk, tokio::time::Instant::now());
        }
        assert_eq!(throttle.pace(), Some(base * MAX_WIDENING));
        // Without a spaced limit there is no pace to widen.
        let unspaced = Throttle::new([RateLimit::per_minute(180).rolling()]);
        unspaced.note_refused(RequestKind::Bulk, tokio::time::Instant::now());
        assert_eq!(unspaced.pace(), None);
    }

    /// Copper's limits as the facade sets them: 3 bulk requests a second,
    /// spaced, and 180 requests of any kind a minute, rolling.
    fn copper() -> Throttle {
        Throttle::new([
            RateLimit::per_second(3).bulk_only(),
            RateLimit::per_minute(180).rolling(),
        ])
    }

    #[test]
    fn a_request_is_a_search_by_its_path() {
        for (path, kind) in [
            ("/developer_api/v1/people/search", RequestKind::Search),
            ("/developer_api/v1/activities/search/", RequestKind::Search),
            ("/developer_api/v1/people/bulk_create", RequestKind::Bulk),
            ("/developer_api/v1/people/bulk_update", RequestKind::Bulk),
            ("/developer_api/v1/research", RequestKind::Bulk),
        ] {
            assert_eq!(RequestKind::of_path(path), kind, "{path}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn searches_are_not_spaced_but_count_toward_the_minute() {
        let throttle = copper();
        let start = tokio::time::Instant::now();
        // A burst of searches goes at once: the bulk spacing of 343 ms does
        // not apply to them...
        for _ in 0..180 {
            throttle.acquire_for(RequestKind::Search).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        // ...but the minute's 180 does: the next search, and a bulk request
        // too, wait until the first has left the window.
        let minute = Duration::from_secs(60) + Duration::from_millis(300);
        throttle.acquire_for(RequestKind::Search).await;
        assert_eq!(start.elapsed(), minute);
        throttle.acquire().await;
        assert_eq!(start.elapsed(), minute);
        // Bulk requests keep their spacing whatever the searches do.
        // (tokio's timer fires on whole milliseconds.)
        throttle.acquire().await;
        let spaced = minute + RateLimit::per_second(3).spacing();
        assert!(start.elapsed() >= spaced, "{:?}", start.elapsed());
        assert!(
            start.elapsed() <= spaced + Duration::from_millis(1),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_mix_keeps_to_both_limits() {
        let throttle = Arc::new(copper());
        let start = tokio::time::Instant::now();
        // 120 bulk requests and 300 searches, all queued at once, from
        // concurrent tasks as the facade sends them.
        let tasks: Vec<_> = (0..420)
            .map(|i| {
                let kind = if i % 7 < 2 {
                    RequestKind::Bulk
                } else {
                    RequestKind::Search
                };
                let throttle = throttle.clone();
                tokio::spawn(async move {
                    throttle.acquire_for(kind).await;
                    (start.elapsed(), kind)
                })
            })
            .collect();
        let mut sent = Vec::new();
        for task in tasks {
            sent.push(task.await.unwrap());
        }
        sent.sort_by_key(|(at, _)| *at);
        assert_eq!(sent.len(), 420);
        let bulk: Vec<Duration> = sent
            .iter()
            .filter(|(_, kind)| *kind == RequestKind::Bulk)
            .map(|(at, _)| *at)
            .collect();
        assert_eq!(bulk.len(), 120);
        for (i, (at, _)) in sent.iter().enumerate() {
            let in_minute = sent[i..]
                .iter()
                .filter(|(t, _)| *t - *at < Duration::from_secs(60))
                .count();
            assert!(
                in_minute <= 180,
                "{in_minute} requests in the minute from {at:?}"
            );
        }
        for (i, at) in bulk.iter().enumerate() {
            let in_second = bulk[i..]
                .iter()
                .filter(|t| **t - *at < Duration::from_secs(1))
                .count();
            assert!(
                in_second <= 3,
                "{in_second} bulk requests in the second from {at:?}"
            );
        }
        // The account's budget is used, not wasted on spacing: the first
        // minute holds its full 180 requests.
        let first_minute = sent
            .iter()
            .filter(|(at, _)| *at < Duration::from_secs(60))
            .count();
        assert_eq!(first_minute, 180);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_back_searches_too() {
        let throttle = copper();
        let start = tokio::time::Instant::now();
        throttle.acquire_for(RequestKind::Search).await;
        throttle.pause_for(Duration::from_secs(2));
        throttle.acquire_for(RequestKind::Search).await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        throttle.pause_for(Duration::from_secs(1));
        throttle.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn an_endless_pause_does_not_panic() {
        let throttle = Throttle::new([]);
        throttle.pause_for(Duration::MAX);
        assert!(throttle.pause_end().is_some());
    }
}
