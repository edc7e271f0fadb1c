//! The pace a client learns from UltraCart's 429s, as a pure state machine
//! over explicit instants.
//!
//! UltraCart limits each application with a leaky bucket: it holds `C`
//! requests and drains at `r` a second, and a request that finds it full is
//! answered 429, with a `Retry-After`. The client models that bucket:
//!
//! - Until the first 429 it does not pace at all: a server that never
//!   throttles never slows the client.
//! - The first 429 tells the bucket's capacity: the requests accepted in
//!   the second before it. Every 429's `Retry-After` is heeded by every
//!   clone; a 429 without one pauses nothing, and the pace holds requests
//!   back instead.
//! - Then the client probes for the drain rate: after the pause it spends
//!   the bucket's capacity at once (the pause has drained it) and sends at a
//!   rate that starts at capacity / pause (a pause of at least a second)
//!   and doubles every quarter second,
//!   so that the next 429, if one comes, comes soon.
//! - Any later 429 measures the rate: between two 429s the bucket went from
//!   full to full, so what it accepted in between, over the time between,
//!   is a lower bound of the drain rate; so is what it accepted beyond its
//!   capacity since the pause ended, over that time. The larger of the two
//!   becomes the pace (never above 90% of the pace that overflowed).
//! - Paced, the client keeps one request of the bucket's capacity in
//!   reserve for network jitter. While callers keep it busy and no 429
//!   comes, it speeds up by a fifth every `max(2 s, 25 requests)`, so it
//!   recovers when the server allows more. Each time such a step runs into
//!   a 429, the next step waits twice as long: on a server whose limit
//!   stays put, the client probes it less and less often. After ten quiet
//!   minutes it forgets what it learned.

use std::{collections::VecDeque, time::Duration};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::moment::Moment;

/// The probing rate after the first 429 starts at the bucket's capacity over
/// the pause, or over this when the pause is shorter (or absent).
const SHORTEST_PROBE_WINDOW: Duration = Duration::from_secs(1);
/// How long the probing rate takes to double.
const PROBE_DOUBLING: Duration = Duration::from_millis(250);
/// After a throttle-free stretch this long (at least), the pace grows.
const GROWTH_PERIOD: Duration = Duration::from_secs(2);
const LONGEST_GROWTH_PERIOD: Duration = Duration::from_secs(600);
const GROWTH_REQUESTS: f64 = 25.0;
const GROWTH_FACTOR: f64 = 1.2;
/// A pace that overflowed the bucket without a lower measurement is cut to
/// this share.
const BACKOFF_FACTOR: f64 = 0.9;
/// The slowest pace the client learns: one request a minute.
const SLOWEST_RATE: f64 = 1.0 / 60.0;
/// Quiet this long, the client forgets what it learned.
const FORGET_AFTER: Duration = Duration::from_secs(600);
/// The window whose accepted requests estimate the bucket's capacity.
const CAPACITY_WINDOW: Duration = Duration::from_secs(1);
const MAX_REMEMBERED: usize = 4096;
/// A `Retry-After` longer than this is taken as this: a day is as good as
/// forever for a client, and instants must not overflow.
const LONGEST_PAUSE: Duration = Duration::from_secs(86_400);

/// What a client knows of UltraCart's bucket, and when it may send next.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Learned<T = Instant> {
    /// Accepted requests of the last [`CAPACITY_WINDOW`], by send time.
    recent: VecDeque<T>,
    model: Option<Model<T>>,
    paused_until: Option<T>,
    /// Bumped by every 429, so that waits computed before it are redone.
    epoch: u64,
    throttled: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Model<T> {
    /// Requests the bucket holds.
    capacity: f64,
    pace: Pace,
    /// The last 429: when, and how many requests were accepted since.
    throttled_at: T,
    accepted_since: u32,
    /// When the pause after it ended.
    resumed_at: T,
    /// The client's side of the bucket: requests it may still send at once
    /// (negative: reserved ahead), as of `counted_at`.
    tokens: f64,
    counted_at: T,
    /// When the pace last grew (or was set).
    grown_at: T,
    accepted_since_growth: u32,
    /// How long a throttle-free stretch must be before the pace grows.
    growth_period: Duration,
    /// Whether the pace grew since it was last measured.
    grew: bool,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
enum Pace {
    /// Rate unknown: starts at this many a second and doubles every
    /// [`PROBE_DOUBLING`] after the pause.
    Probing { start: f64 },
    /// Requests a second.
    Measured(f64),
}

/// A request's place in the pace: when it was sent, and under which epoch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ticket<T = Instant> {
    pub(crate) sent_at: T,
    pub(crate) epoch: u64,
}

impl<T> Default for Learned<T> {
    fn default() -> Self {
        Self {
            recent: VecDeque::new(),
            model: None,
            paused_until: None,
            epoch: 0,
            throttled: 0,
        }
    }
}

impl<T: Moment> Learned<T> {
    /// A request's turn at `now`: it goes (and takes its place in the
    /// pace), or it must wait until the instant given. Nothing is taken
    /// from a request that waits, so one that gives up costs nothing.
    pub(crate) fn turn(&mut self, now: T) -> Result<Ticket<T>, T> {
        if let Some(until) = self.paused_until.filter(|until| *until > now) {
            return Err(until);
        }
        if self
            .model
            .as_ref()
            .is_some_and(|model| now.saturating_duration_since(model.throttled_at) > FORGET_AFTER)
        {
            self.model = None;
        }
        if let Some(model) = &mut self.model {
            let wait = model.wait(now);
            if !wait.is_zero() {
                return Err(now.later(wait));
            }
            model.take_token(now);
        }
        Ok(Ticket {
            sent_at: now,
            epoch: self.epoch,
        })
    }

    /// Whether a request's turn can change anything: only once a 429 has
    /// taught a pace.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn is_pacing(&self) -> bool {
        self.model.is_some()
    }

    /// The server accepted a request (answered anything but 429).
    pub(crate) fn accepted(&mut self, ticket: Ticket<T>, now: T) {
        self.recent.push_back(ticket.sent_at);
        while self.recent.len() > MAX_REMEMBERED
            || self
                .recent
                .front()
                .is_some_and(|&sent| now.saturating_duration_since(sent) > CAPACITY_WINDOW)
        {
            self.recent.pop_front();
        }
        if let Some(model) = &mut self.model {
            model.accepted_since += 1;
            model.accepted_since_growth += 1;
            model.grow(now);
        }
    }

    /// The server answered 429; `retry_after` is what it asked for.
    pub(crate) fn throttled(&mut self, ticket: Ticket<T>, now: T, retry_after: Option<Duration>) {
        self.throttled += 1;
        // Only a `Retry-After` pauses every request; without one the pace
        // alone holds requests back.
        let pause = retry_after.unwrap_or(Duration::ZERO).min(LONGEST_PAUSE);
        let resume = now.later(pause);
        if !pause.is_zero() {
            self.paused_until = Some(self.paused_until.map_or(resume, |until| until.max(resume)));
        }
        if ticket.epoch != self.epoch {
            // Sent before the 429 the client already learned from: the same
            // overflow, which teaches nothing new.
            return;
        }
        self.epoch += 1;
        let accepted_recently = self
            .recent
            .iter()
            .filter(|&&sent| ticket.sent_at.saturating_duration_since(sent) <= CAPACITY_WINDOW)
            .count();
        let model = match self.model.take() {
            None => Model::first(accepted_recently as f64, pause, now, resume),
            Some(model) => model.overflowed(now, resume),
        };
        self.model = Some(model);
    }

    /// How long a request that wanted to go now would wait, without
    /// reserving anything.
    pub(crate) fn delay_ahead(&self, now: T) -> Duration {
        let paused = self.paused_for(now);
        let paced = self
            .model
            .as_ref()
            .map_or(Duration::ZERO, |model| model.wait(now));
        paused.max(paced)
    }

    /// How long every request is held back by a 429's `Retry-After`.
    pub(crate) fn paused_for(&self, now: T) -> Duration {
        self.paused_until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now))
    }

    /// What the client knows, for callers to look at.
    pub(crate) fn state(&self, now: T) -> LearnedState {
        let (rate, capacity) = match &self.model {
            Some(model) => (Some(model.rate_at(now)), Some(model.capacity)),
            None => (None, None),
        };
        LearnedState {
            requests_per_second: rate,
            capacity,
            probing: matches!(
                self.model,
                Some(Model {
                    pace: Pace::Probing { .. },
                    ..
                })
            ),
            paused_for: self.paused_for(now),
            throttled: self.throttled,
        }
    }
}

/// A snapshot of [`Learned`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LearnedState {
    pub(crate) requests_per_second: Option<f64>,
    pub(crate) capacity: Option<f64>,
    pub(crate) probing: bool,
    pub(crate) paused_for: Duration,
    pub(crate) throttled: u64,
}

impl<T: Moment> Model<T> {
    /// After the first 429: the capacity is what was just accepted; the
    /// rate is yet to be found.
    fn first(accepted: f64, pause: Duration, now: T, resume: T) -> Self {
        let capacity = accepted.max(1.0);
        Self {
            capacity,
            pace: Pace::Probing {
                start: capacity / pause.max(SHORTEST_PROBE_WINDOW).as_secs_f64(),
            },
            throttled_at: now,
            accepted_since: 0,
            resumed_at: resume,
            // The pause drains the bucket: its capacity is free at resume.
            tokens: burst(capacity),
            counted_at: resume,
            grown_at: resume,
            accepted_since_growth: 0,
            growth_period: GROWTH_PERIOD,
            grew: false,
        }
    }

    /// After another 429: measure the drain rate from what was accepted
    /// since the last one.
    fn overflowed(self, now: T, resume: T) -> Self {
        let accepted = f64::from(self.accepted_since);
        let since_throttle = now
            .saturating_duration_since(self.throttled_at)
            .as_secs_f64();
        let since_resume = now.saturating_duration_since(self.resumed_at).as_secs_f64();
        let full_to_full = if since_throttle > 0.0 {
            accepted / since_throttle
        } else {
            0.0
        };
        let beyond_capacity = if since_resume > 0.0 {
            (accepted - self.capacity) / since_resume
        } else {
            0.0
        };
        let measured = full_to_full.max(beyond_capacity);
        let overflowing = self.rate_at(now);
        // Below the pace that overflowed, the measurement is the estimate;
        // a 429 at or under the measured rate only trims the pace, so that
        // a server whose 429s are not about pace cannot talk it to nothing.
        let rate = if measured > 0.0 && measured < overflowing {
            measured
        } else if measured > 0.0 {
            overflowing * BACKOFF_FACTOR
        } else {
            // Nothing was accepted since the last 429: nothing to measure,
            // and the pause (if any) already holds requests back.
            overflowing
        }
        .max(SLOWEST_RATE);
        let pause = resume.saturating_duration_since(now).as_secs_f64();
        // Whether the pause will have drained the bucket: then its
        // capacity is free at resume; otherwise requests start at the pace.
        let drained = rate * pause >= self.capacity;
        Self {
            pace: Pace::Measured(rate),
            throttled_at: now,
            accepted_since: 0,
            resumed_at: resume,
            tokens: if drained { burst(self.capacity) } else { 0.0 },
            counted_at: resume,
            grown_at: resume,
            accepted_since_growth: 0,
            // A step up that ran into the limit: step up less often.
            growth_period: if self.grew {
                (self.growth_period * 2).min(LONGEST_GROWTH_PERIOD)
            } else {
                self.growth_period
            },
            grew: false,
            ..self
        }
    }

    /// The client's side of the bucket at `now`.
    fn tokens_at(&self, now: T) -> f64 {
        let refill =
            self.rate_at(now) * now.saturating_duration_since(self.counted_at).as_secs_f64();
        (self.tokens + refill).min(burst(self.capacity))
    }

    /// How long until a request may go at the pace.
    fn wait(&self, now: T) -> Duration {
        let tokens = self.tokens_at(now);
        if tokens >= 1.0 {
            return Duration::ZERO;
        }
        let seconds = (1.0 - tokens) / self.rate_at(now);
        Duration::try_from_secs_f64(seconds).map_or(LONGEST_PAUSE, |wait| wait.min(LONGEST_PAUSE))
    }

    /// Takes one request's place at the pace, at `now`.
    fn take_token(&mut self, now: T) {
        self.tokens = self.tokens_at(now) - 1.0;
        self.counted_at = self.counted_at.max(now);
    }

    fn rate_at(&self, at: T) -> f64 {
        match self.pace {
            Pace::Measured(rate) => rate,
            Pace::Probing { start } => {
                let probing = at.saturating_duration_since(self.resumed_at);
                start * 2f64.powf(probing.as_secs_f64() / PROBE_DOUBLING.as_secs_f64())
            }
        }
    }

    /// A fifth faster after a throttle-free stretch of use.
    fn grow(&mut self, now: T) {
        let Pace::Measured(rate) = self.pace else {
            return;
        };
        let period = self
            .growth_period
            .max(Duration::from_secs_f64((GROWTH_REQUESTS / rate).min(600.0)));
        if now.saturating_duration_since(self.grown_at) >= period
            && f64::from(self.accepted_since_growth)
                >= GROWTH_REQUESTS.min(rate * period.as_secs_f64() / 2.0)
        {
            self.pace = Pace::Measured(rate * GROWTH_FACTOR);
            self.grown_at = now;
            self.accepted_since_growth = 0;
            self.grew = true;
        }
    }
}

/// How many requests may go back to back: the bucket's capacity, less one
/// kept in reserve for network jitter.
fn burst(capacity: f64) -> f64 {
    (capacity - 1.0).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// UltraCart's bucket as the tests' server runs it.
    struct Bucket {
        capacity: f64,
        leak: f64,
        level: f64,
        at: Instant,
    }

    impl Bucket {
        /// `Err(retry_after)` when full; `Retry-After` in whole seconds,
        /// rounded up, as HTTP writes it.
        fn arrive(&mut self, now: Instant) -> Result<(), Duration> {
            let drained = self.leak * now.saturating_duration_since(self.at).as_secs_f64();
            self.level = (self.level - drained).max(0.0);
            self.at = now;
            if self.level + 1.0 > self.capacity + 1e-9 {
                let wait = (self.level + 1.0 - self.capacity) / self.leak;
                return Err(Duration::from_secs(wait.ceil() as u64));
            }
            self.level += 1.0;
            Ok(())
        }
    }

    impl Bucket {
        fn new(capacity: f64, leak: f64, at: Instant) -> Self {
            Self {
                capacity,
                leak,
                level: 0.0,
                at,
            }
        }
    }

    /// One request through the pace, answered by `bucket` half a
    /// `round_trip` after it leaves. Returns when the answer is in, and
    /// whether the bucket accepted it.
    fn send(
        learned: &mut Learned,
        bucket: &mut Bucket,
        now: Instant,
        round_trip: Duration,
    ) -> (Instant, bool) {
        let mut at = now;
        let ticket = loop {
            match learned.turn(at) {
                Ok(ticket) => break ticket,
                Err(until) => at = until,
            }
        };
        let outcome = bucket.arrive(at + round_trip / 2);
        let answered = at + round_trip;
        match outcome {
            Ok(()) => learned.accepted(ticket, answered),
            Err(retry_after) => learned.throttled(ticket, answered, Some(retry_after)),
        }
        (answered, outcome.is_ok())
    }

    /// Sends `requests` one after another, `round_trip` apart at the
    /// least, through the pace; returns the 429s and the time taken.
    fn run(capacity: f64, leak: f64, requests: u32, round_trip: Duration) -> (u64, Duration) {
        let start = Instant::now();
        let mut bucket = Bucket::new(capacity, leak, start);
        let mut learned = Learned::default();
        let mut now = start;
        let mut done = 0;
        while done < requests {
            let (answered, accepted) = send(&mut learned, &mut bucket, now, round_trip);
            now = answered;
            done += u32::from(accepted);
        }
        (learned.throttled, now - start)
    }

    fn floor(capacity: f64, leak: f64, requests: u32) -> Duration {
        Duration::from_secs_f64((f64::from(requests) - capacity) / leak)
    }

    #[test]
    fn a_server_that_never_throttles_is_never_waited_for() {
        let mut learned = Learned::default();
        let now = Instant::now();
        for i in 0..1000 {
            let ticket = learned.turn(now).unwrap_or_else(|_| panic!("{i} waited"));
            learned.accepted(ticket, now);
        }
    }

    #[test]
    fn the_issues_bucket_draws_few_429s_and_stays_near_the_floor() {
        // Holds 5, drains 20 a second, 30 requests: the floor is 1.25 s.
        for round_trip in [Duration::from_millis(2), Duration::from_millis(20)] {
            let (throttled, took) = run(5.0, 20.0, 30, round_trip);
            assert!(throttled <= 4, "{throttled} 429s at {round_trip:?}");
            let ratio = took.as_secs_f64() / floor(5.0, 20.0, 30).as_secs_f64();
            assert!(ratio <= 2.5, "{ratio:.2}x the floor at {round_trip:?}");
        }
    }

    #[test]
    fn other_buckets_are_learned_without_a_storm_of_429s() {
        for (capacity, leak, requests) in [
            (10.0, 5.0, 60),
            (20.0, 2.0, 60),
            (3.0, 10.0, 50),
            (5.0, 20.0, 300),
        ] {
            let (throttled, took) = run(capacity, leak, requests, Duration::from_millis(3));
            assert!(throttled <= 6, "{capacity}/{leak}: {throttled} 429s");
            let ratio = took.as_secs_f64() / floor(capacity, leak, requests).as_secs_f64();
            assert!(ratio <= 2.0, "{capacity}/{leak}: {ratio:.2}x the floor");
        }
    }

    #[test]
    fn a_steady_limit_is_probed_less_and_less_often() {
        // 3,000 requests at 20 a second: two and a half minutes at the limit.
        let (throttled, took) = run(5.0, 20.0, 3_000, Duration::from_millis(3));
        assert!(throttled <= 10, "{throttled} 429s");
        let ratio = took.as_secs_f64() / floor(5.0, 20.0, 3_000).as_secs_f64();
        assert!(ratio <= 1.3, "{ratio:.2}x the floor");
    }

    #[test]
    fn a_429_pauses_every_request_for_its_retry_after() {
        let mut learned = Learned::default();
        let now = Instant::now();
        let ticket = learned.turn(now).unwrap();
        learned.throttled(ticket, now, Some(Duration::from_secs(3)));
        assert_eq!(learned.paused_for(now), Duration::from_secs(3));
        assert_eq!(learned.turn(now).unwrap_err(), now + Duration::from_secs(3));
        // A request that waits takes nothing: asking again changes nothing.
        assert_eq!(learned.turn(now).unwrap_err(), now + Duration::from_secs(3));
        assert!(learned.turn(now + Duration::from_secs(3)).is_ok());
    }

    #[test]
    fn the_pace_recovers_when_the_server_allows_more_and_is_forgotten_later() {
        let mut learned = Learned::default();
        let start = Instant::now();
        let mut now = start;
        // Learn a slow bucket first.
        let mut bucket = Bucket::new(5.0, 20.0, start);
        let mut served = 0;
        while served < 100 {
            let (answered, accepted) = send(&mut learned, &mut bucket, now, Duration::ZERO);
            now = answered;
            served += u32::from(accepted);
        }
        let slow = learned.state(now).requests_per_second.unwrap();
        assert!((10.0..=22.0).contains(&slow), "{slow}");
        // The server now drains ten times faster: the pace climbs.
        bucket.leak = 200.0;
        let until = now + Duration::from_secs(60);
        while now < until {
            now = send(&mut learned, &mut bucket, now, Duration::ZERO).0;
        }
        let fast = learned.state(now).requests_per_second.unwrap();
        assert!(fast > slow * 2.0, "{slow} -> {fast}");
        // Ten quiet minutes later, nothing is held back.
        let later = now + FORGET_AFTER + Duration::from_secs(1);
        assert!(learned.turn(later).is_ok());
        assert_eq!(learned.state(later).requests_per_second, None);
    }
}
