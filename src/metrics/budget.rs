//! Budgets: how many requests a told hourly or daily rate lets the client
//! send now, in this process or shared through Redis; and the admissions
//! that could not reach the shared limits.

#[cfg(feature = "metrics")]
use std::time::Duration;

use governor::middleware::StateSnapshot;

#[cfg(feature = "metrics")]
use super::names::BUDGET_REMAINING;
#[cfg(all(feature = "metrics", feature = "redis"))]
use super::names::SHARED_LIMITS_UNAVAILABLE_TOTAL;

/// Records what a told rate's cell in this process has left, as its
/// limiter let a request through.
#[inline]
pub(crate) fn budget_remaining(state: &StateSnapshot) {
    #[cfg(feature = "metrics")]
    {
        let quota = state.quota();
        let window = window_of(quota.replenish_interval(), quota.burst_size().get());
        set_budget(window, state.remaining_burst_capacity());
    }
    #[cfg(not(feature = "metrics"))]
    let _ = state;
}

/// Records what the shared told rates have left, from the admission
/// script's answer: its `word`, and for `ok` a `text` of what each cell
/// has left, in the order of `cells` (spacing in µs, burst). No extra
/// round trip: the script that admits the request computes it.
#[cfg(feature = "redis")]
#[inline]
pub(crate) fn shared_budget(cells: impl Iterator<Item = (u64, u32)>, word: &str, text: &str) {
    #[cfg(feature = "metrics")]
    if word == "ok" {
        for ((spacing, burst), left) in cells.zip(text.split_ascii_whitespace()) {
            if let Ok(left) = left.parse() {
                set_budget(window_of(Duration::from_micros(spacing), burst), left);
            }
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (cells, word, text);
}

/// Counts an admission that could not consult the shared limits.
#[cfg(feature = "redis")]
#[inline]
pub(crate) fn shared_limits_unavailable() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(SHARED_LIMITS_UNAVAILABLE_TOTAL).increment(1);
}

/// The budget a told rate's cell enforces.
#[cfg(feature = "metrics")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Window {
    Hour,
    Day,
}

/// Which budget a cell of `spacing` and `burst` enforces, if an hourly or
/// a daily one. A rate of n requests a period becomes a cell of one
/// request every period / n, n - 1 of them at once: the client keeps one
/// in reserve ([`RateLimit`](crate::RateLimit)'s cells). So the period is
/// spacing × (burst + 1), within rounding (spacings are whole nanoseconds,
/// or microseconds in Redis).
#[cfg(feature = "metrics")]
fn window_of(spacing: Duration, burst: u32) -> Option<Window> {
    let period = spacing.as_secs_f64() * (f64::from(burst) + 1.0);
    let is = |seconds: f64| (period - seconds).abs() <= seconds / 1_000.0;
    if is(3_600.0) {
        Some(Window::Hour)
    } else if is(86_400.0) {
        Some(Window::Day)
    } else {
        None
    }
}

#[cfg(feature = "metrics")]
fn set_budget(window: Option<Window>, left: u32) {
    let gauge = match window {
        Some(Window::Hour) => ::metrics::gauge!(BUDGET_REMAINING, "window" => "hour"),
        Some(Window::Day) => ::metrics::gauge!(BUDGET_REMAINING, "window" => "day"),
        None => return,
    };
    gauge.set(f64::from(left));
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use super::*;
    use crate::{RateLimit, metrics::tests::rendered};

    fn windows(limit: &RateLimit) -> Vec<Option<Window>> {
        limit
            .cells()
            .map(|(spacing, burst)| window_of(spacing, burst.get()))
            .collect()
    }

    #[test]
    fn hourly_and_daily_rates_are_known_by_their_cells() {
        assert_eq!(
            windows(&RateLimit::ultracart_default()),
            [Some(Window::Hour), Some(Window::Day)]
        );
        assert_eq!(
            windows(&RateLimit::per_hour(5_000).unwrap()),
            [Some(Window::Hour)]
        );
        assert_eq!(
            windows(&RateLimit::per_hour(7).unwrap()),
            [Some(Window::Hour)],
            "a spacing cut to whole nanoseconds"
        );
        assert_eq!(
            windows(&RateLimit::per_period(25_000, Duration::from_secs(86_400)).unwrap()),
            [Some(Window::Day)]
        );
        for other in [
            RateLimit::per_second(20).unwrap(),
            RateLimit::per_minute(60).unwrap(),
            RateLimit::per_hour(1_000).unwrap().with_burst(5).unwrap(),
        ] {
            assert_eq!(windows(&other), [None], "{other:?}");
        }
        // Redis keeps spacings in whole microseconds, rounded up.
        assert_eq!(
            window_of(Duration::from_micros(3_600_000), 999),
            Some(Window::Hour)
        );
        assert_eq!(
            window_of(Duration::from_micros(8_640_000), 9_999),
            Some(Window::Day)
        );
    }

    #[test]
    fn a_told_rate_reports_what_its_limiter_has_left() {
        let limiter = governor::RateLimiter::direct(
            governor::Quota::with_period(Duration::from_millis(3_600))
                .unwrap()
                .allow_burst(std::num::NonZeroU32::new(999).unwrap()),
        )
        .with_middleware::<governor::middleware::StateInformationMiddleware>();
        let text = rendered(|| {
            for _ in 0..3 {
                budget_remaining(&limiter.check().unwrap());
            }
        });
        assert!(
            text.contains(r#"ultracart_conversation_budget_remaining{window="hour"} 996"#),
            "{text}"
        );
    }

    #[cfg(feature = "redis")]
    #[test]
    fn shared_budgets_come_from_the_admission_scripts_answer() {
        let cells = [(3_600_000, 999), (8_640_000, 9_999), (50_000, 4)];
        let text = rendered(|| {
            shared_budget(cells.into_iter(), "ok", "990 9900 3");
            shared_budget(cells.into_iter(), "stale", "{\"v\":1}");
        });
        assert!(
            text.contains(r#"ultracart_conversation_budget_remaining{window="hour"} 990"#),
            "{text}"
        );
        assert!(
            text.contains(r#"ultracart_conversation_budget_remaining{window="day"} 9900"#),
            "{text}"
        );
        let nothing = rendered(|| shared_budget(cells.into_iter(), "ok", ""));
        assert!(!nothing.contains("budget_remaining"), "{nothing}");
    }

    #[cfg(feature = "redis")]
    #[test]
    fn outages_are_counted() {
        let text = rendered(|| {
            shared_limits_unavailable();
            shared_limits_unavailable();
        });
        assert!(
            text.contains("ultracart_conversation_shared_limits_unavailable_total 2"),
            "{text}"
        );
    }
}
