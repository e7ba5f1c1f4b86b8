//! Reading a server's `Retry-After` header without trusting it.
//!
//! The header is whatever the server (or a proxy in front of it) sends, so a
//! value is either a sane wait, clamped to [`MAX_RETRY_AFTER`], or absent:
//! no value can make the caller panic or wait without end.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The longest wait a `Retry-After` is read as; a longer one (`1e20`, a date
/// in the year 9999) is clamped to it.
///
/// An hour is far beyond Copper's longest rate-limit window (a minute) and
/// beyond any sensible retry budget, so a request whose server asks for at
/// least this long gives up at once rather than waiting, and the arithmetic
/// of every wait stays far from overflowing.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// Reads a `Retry-After` value, relative to `now`: a number of seconds
/// (fractions and exponents allowed) or an HTTP date.
///
/// A wait longer than [`MAX_RETRY_AFTER`] is clamped to it and a date in the
/// past is no wait at all. Anything else (a negative number, `NaN`, `inf`,
/// text that is neither a number nor a date) is `None`: the server said
/// nothing usable, and the caller's own backoff applies.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use copper_bulk_raw::retry_after::{MAX_RETRY_AFTER, parse_retry_after};
///
/// let now = SystemTime::now();
/// assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
/// assert_eq!(parse_retry_after("1e20", now), Some(MAX_RETRY_AFTER));
/// assert_eq!(parse_retry_after("-5", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if is_number(value) {
        let seconds: f64 = value.parse().ok()?;
        // A negative wait (`-inf` included) is nonsense; `NaN` cannot be
        // written with these characters, but is refused all the same.
        if seconds.is_nan() || seconds < 0.0 {
            return None;
        }
        // Clamping before converting keeps `Duration::from_secs_f64` away
        // from values it panics on (`inf`, more than `u64::MAX` seconds).
        let seconds = seconds.min(MAX_RETRY_AFTER.as_secs_f64());
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let wait = at.duration_since(now).unwrap_or(Duration::ZERO);
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The `Retry-After` of a response's `headers`, read by
/// [`parse_retry_after`]; `None` when it is missing, not text, or unusable.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, now)
}

/// Whether `value` is written as a number (`2`, `0.25`, `1e20`, `-5`),
/// rather than a date or a word. Rust's float parser also takes `inf` and
/// `NaN`, which no server means as a number of seconds.
fn is_number(value: &str) -> bool {
    value.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn seconds_and_dates_are_read() {
        let now = now();
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(" 0.25 ", now),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
    }

    #[test]
    fn waits_too_long_are_clamped() {
        let now = now();
        for value in [
            "1e20",
            "1e400",
            "18446744073709551616",
            "3601",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            assert_eq!(
                parse_retry_after(value, now),
                Some(MAX_RETRY_AFTER),
                "{value}"
            );
        }
        assert_eq!(
            parse_retry_after("3599", now),
            Some(MAX_RETRY_AFTER - Duration::from_secs(1))
        );
    }

    #[test]
    fn nonsense_is_absent() {
        let now = now();
        for value in [
            "-5",
            "-1",
            "-0.5",
            "-1e20",
            "-inf",
            "inf",
            "+inf",
            "infinity",
            "NaN",
            "nan",
            "soon",
            "",
            "1.2.3",
            "e5",
            "--1",
            "Fri, 32 Dec 9999 23:59:59 GMT",
        ] {
            assert_eq!(parse_retry_after(value, now), None, "{value:?}");
        }
    }

    #[test]
    fn headers_without_a_usable_value_are_absent() {
        let now = now();
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);
        headers.insert(RETRY_AFTER, "1e20".parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(MAX_RETRY_AFTER));
        headers.insert(
            RETRY_AFTER,
            reqwest::header::HeaderValue::from_bytes(b"\xff").unwrap(),
        );
        assert_eq!(retry_after(&headers, now), None);
    }

    proptest::proptest! {
        #[test]
        fn any_text_reads_without_panic_and_within_the_maximum(
            // Text of every kind, and numbers of every size and notation,
            // which random text almost never is.
            value in proptest::prop_oneof!["\\PC*", "[-+]?[0-9]{0,25}(\\.[0-9]{0,5})?([eE][-+]?[0-9]{1,3})?"],
        ) {
            if let Some(wait) = parse_retry_after(&value, now()) {
                proptest::prop_assert!(wait <= MAX_RETRY_AFTER, "{value:?} -> {wait:?}");
            }
        }

        #[test]
        fn any_number_reads_without_panic_and_within_the_maximum(seconds in proptest::num::f64::ANY) {
            let value = seconds.to_string();
            let wait = parse_retry_after(&value, now());
            match wait {
                Some(wait) => proptest::prop_assert!(wait <= MAX_RETRY_AFTER, "{value} -> {wait:?}"),
                None => proptest::prop_assert!(seconds.is_nan() || seconds < 0.0 || seconds.is_infinite(), "{value}"),
            }
        }

        #[test]
        fn any_date_reads_without_panic_and_within_the_maximum(secs in 0u64..253_402_300_799) {
            let date = httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(secs));
            let wait = parse_retry_after(&date, now());
            proptest::prop_assert!(wait.is_some_and(|wait| wait <= MAX_RETRY_AFTER), "{date} -> {wait:?}");
        }
    }
}
