//! The watch: its polls, the changes it reports, and how old they are
//! when reported.

#[cfg(feature = "metrics")]
use std::time::{SystemTime, UNIX_EPOCH};

#[cfg(feature = "metrics")]
use super::names::{WATCH_CHANGE_AGE_SECONDS, WATCH_CHANGES_TOTAL, WATCH_POLLS_TOTAL};
#[cfg(feature = "metrics")]
use crate::Timestamp;
use crate::{Change, Error};

/// Counts one poll of a watch, as it starts.
#[inline]
pub(crate) fn watch_poll() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(WATCH_POLLS_TOTAL).increment(1);
}

/// Counts what a watch yields, if a change, with its age.
#[inline]
pub(crate) fn watch_reported(next: &Result<Change, Error>) {
    #[cfg(feature = "metrics")]
    if let Ok(change) = next {
        let dts = change.summary().last_message_dts.as_ref();
        ::metrics::counter!(WATCH_CHANGES_TOTAL).increment(1);
        if let Some(age) = dts.and_then(|dts| age_of(dts, SystemTime::now())) {
            ::metrics::histogram!(WATCH_CHANGE_AGE_SECONDS).record(age);
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = next;
}

/// Seconds from `dts` to `now`; zero for a time ahead of this machine's
/// clock. A zone-less time is read as UTC, as the watch reads it.
#[cfg(feature = "metrics")]
fn age_of(dts: &Timestamp, now: SystemTime) -> Option<f64> {
    let then = dts
        .utc()
        .map(|t| t.timestamp_millis())
        .or_else(|| dts.naive().map(|t| t.and_utc().timestamp_millis()))?;
    let now = i64::try_from(now.duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()?;
    Some(now.saturating_sub(then).max(0) as f64 / 1_000.0)
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_change_is_as_old_as_its_last_message() {
        let now = UNIX_EPOCH + Duration::from_millis(1_750_000_012_500);
        let at = |text: &str| age_of(&Timestamp::parse(text), now);
        // 1_750_000_000 is 2025-06-15T15:06:40Z.
        assert_eq!(at("2025-06-15T15:06:40Z"), Some(12.5));
        assert_eq!(at("2025-06-15T11:06:40-04:00"), Some(12.5));
        assert_eq!(at("2025-06-15T15:06:40"), Some(12.5));
        assert_eq!(at("2025-06-15T15:07:40Z"), Some(0.0), "ahead of the clock");
        assert_eq!(at("soon"), None);
    }
}
