//! Client-side request spacing, so UltraCart's leaky bucket never overflows.

use std::{fmt, num::NonZeroU32, time::Duration};

use governor::{DefaultDirectRateLimiter, Quota, middleware::StateInformationMiddleware};

use crate::Error;

/// The widest spacing a limit may ask for; the limiter counts in
/// nanoseconds, and a limit of less than one request a year is a mistake.
const LONGEST_SPACING: Duration = Duration::from_secs(365 * 86_400);

/// A client-side limit on how fast requests start, shared by every clone of
/// a client.
///
/// UltraCart allows, by default, 1,000 requests an hour and 10,000 a day per
/// application and IP, enforced as a leaky bucket.
/// [`RateLimit::ultracart_default`] spaces requests to fit both; accounts
/// whose limits UltraCart raised can describe their own with
/// [`per_hour`](RateLimit::per_hour) and friends. Limits combine: a request
/// waits until every one of them allows it.
///
/// Given the very limit the server enforces, the client never overflows
/// its bucket: it keeps one request of the burst in reserve for network
/// jitter (a limit with a burst of one is spaced a tenth wider instead).
/// Without a rate limit the client learns the pace from UltraCart's 429s;
/// see [`Client::pacing`](crate::Client::pacing).
///
/// ```
/// use ultracart_conversation::{Client, RateLimit};
///
/// let client = Client::builder()
///     .api_key("my-key")
///     .rate_limit(RateLimit::ultracart_default())
///     .build()?;
/// # Ok::<(), ultracart_conversation::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RateLimit {
    quotas: Vec<QuotaSpec>,
}

#[derive(Clone, Copy, Debug)]
struct QuotaSpec {
    /// One request per `period` on average.
    period: Duration,
    /// How many may start back to back.
    burst: NonZeroU32,
}

impl RateLimit {
    /// UltraCart's published defaults: 1,000 an hour and 10,000 a day.
    ///
    /// ```
    /// # use ultracart_conversation::RateLimit;
    /// let limit = RateLimit::ultracart_default();
    /// # let _ = limit;
    /// ```
    pub fn ultracart_default() -> Self {
        let hourly = Self::per_period(1_000, Duration::from_secs(3_600));
        let daily = Self::per_period(10_000, Duration::from_secs(86_400));
        match (hourly, daily) {
            (Ok(mut hourly), Ok(daily)) => {
                hourly.quotas.extend(daily.quotas);
                hourly
            }
            // Both are constants well inside the valid range.
            _ => Self { quotas: Vec::new() },
        }
    }

    /// At most `requests` per second, `requests` of them back to back.
    ///
    /// ```
    /// # use ultracart_conversation::RateLimit;
    /// let limit = RateLimit::per_second(5)?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn per_second(requests: u32) -> Result<Self, Error> {
        Self::per_period(requests, Duration::from_secs(1))
    }

    /// At most `requests` per minute.
    ///
    /// ```
    /// # use ultracart_conversation::RateLimit;
    /// let limit = RateLimit::per_minute(60)?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn per_minute(requests: u32) -> Result<Self, Error> {
        Self::per_period(requests, Duration::from_secs(60))
    }

    /// At most `requests` per hour, as UltraCart counts its limits.
    ///
    /// ```
    /// # use ultracart_conversation::RateLimit;
    /// // An account whose limit UltraCart raised to 5,000 an hour.
    /// let limit = RateLimit::per_hour(5_000)?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn per_hour(requests: u32) -> Result<Self, Error> {
        Self::per_period(requests, Duration::from_secs(3_600))
    }

    /// At most `requests` per `period`, `requests` of them back to back.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::RateLimit;
    /// let limit = RateLimit::per_period(100, Duration::from_secs(600))?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn per_period(requests: u32, period: Duration) -> Result<Self, Error> {
        let burst = NonZeroU32::new(requests)
            .ok_or_else(|| Error::config("a rate limit must allow at least one request"))?;
        let spacing = period / requests;
        if spacing.is_zero() {
            return Err(Error::config(
                "a rate limit's period is too short for its request count",
            ));
        }
        if spacing > LONGEST_SPACING {
            return Err(Error::config(
                "a rate limit must allow at least one request a year",
            ));
        }
        Ok(Self {
            quotas: vec![QuotaSpec {
                period: spacing,
                burst,
            }],
        })
    }

    /// Caps how many requests may start back to back (default: the whole
    /// count); `1` spaces every request evenly.
    ///
    /// ```
    /// # use ultracart_conversation::RateLimit;
    /// let even = RateLimit::per_second(10)?.with_burst(1)?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn with_burst(mut self, burst: u32) -> Result<Self, Error> {
        let burst = NonZeroU32::new(burst)
            .ok_or_else(|| Error::config("a rate limit's burst must be at least one"))?;
        for quota in &mut self.quotas {
            quota.burst = quota.burst.min(burst);
        }
        Ok(self)
    }

    /// The spacing and burst of each quota as enforced. They leave headroom
    /// for network jitter: a request sent exactly on time can still arrive
    /// a little early, and a server whose bucket is exactly full answers it
    /// 429. So one request of a burst is kept in reserve, and a limit
    /// without a burst spaces requests a tenth wider.
    pub(crate) fn cells(&self) -> impl Iterator<Item = (Duration, NonZeroU32)> + '_ {
        self.quotas
            .iter()
            .map(|q| match NonZeroU32::new(q.burst.get() - 1) {
                Some(burst) => (q.period, burst),
                None => (q.period + q.period / 10, q.burst),
            })
    }

    /// The running limiter, one process's own.
    pub(crate) fn build(&self) -> RateLimiter {
        let limiters = self
            .cells()
            .filter_map(|(period, burst)| {
                Quota::with_period(period).map(|quota| quota.allow_burst(burst))
            })
            .map(|quota| DefaultDirectRateLimiter::direct(quota).with_middleware())
            .collect();
        RateLimiter { limiters }
    }
}

/// The running limiter: one GCRA cell per quota, each saying what it has
/// left as it lets a request through.
pub(crate) struct RateLimiter {
    limiters: Vec<DefaultDirectRateLimiter<StateInformationMiddleware>>,
}

impl RateLimiter {
    pub(crate) async fn until_ready(&self) {
        for limiter in &self.limiters {
            crate::metrics::budget_remaining(&limiter.until_ready().await);
        }
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("quotas", &self.limiters.len())
            .finish()
    }
}
