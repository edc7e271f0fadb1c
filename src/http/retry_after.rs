//! `Retry-After`, read once per answer, and never believed beyond a day.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, header::RETRY_AFTER};

/// The longest wait a `Retry-After` is taken to ask for. UltraCart's
/// longest limit is a daily one; a server asking for more is broken or
/// hostile, and a wait beyond this would only overflow clocks downstream.
pub(crate) const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(24 * 3_600);

/// The wait an answer's `Retry-After` asks for, as delay-seconds or an HTTP
/// date, at most [`LONGEST_RETRY_AFTER`].
pub(crate) fn read(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse(value, SystemTime::now())
}

fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let when = httpdate::parse_http_date(value).ok()?;
            when.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(LONGEST_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse(" 7 ", now), Some(7 * SECOND));
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(30 * SECOND)
        );
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse("soon", now), None);
        assert_eq!(parse("-1", now), None);
    }

    #[test]
    fn a_retry_after_of_ages_is_a_day() {
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(parse("9300000000000000000", now), Some(LONGEST_RETRY_AFTER));
        assert_eq!(
            parse("Fri, 31 Dec 9999 23:59:59 GMT", now),
            Some(LONGEST_RETRY_AFTER)
        );
        assert_eq!(parse("86399", now), Some(86_399 * SECOND));
    }
}
