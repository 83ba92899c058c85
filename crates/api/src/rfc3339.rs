//! Times in responses, serialised as one string.
//!
//! The text is what chrono's own `Serialize` writes (RFC 3339, `Z` for UTC, as many fractional
//! digits as needed), but chrono writes it piece by piece through `collect_str`, and serde_json
//! runs its escaping writer over each piece: on `GET /chat/conversations` that was 8 % of the
//! server's CPU. Formatting into a string first and writing it once cost 4.7 %; writing the
//! digits into a stack buffer costs a fraction of that (a page of 20 conversations has 40 times).

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::Serializer;

/// `#[serde(serialize_with = "crate::rfc3339::serialize")]` on a `DateTime<Utc>` field.
pub(crate) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0; 30];
    match write_utc(t, &mut buf).and_then(|n| std::str::from_utf8(&buf[..n]).ok()) {
        Some(text) => s.serialize_str(text),
        None => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z` into `buf`, returning its length; `None` for
/// what chrono writes in other shapes (years outside 0–9999, leap seconds).
fn write_utc(t: &DateTime<Utc>, buf: &mut [u8; 30]) -> Option<usize> {
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = t.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut at = 0;
    put(buf, &mut at, year, 4, Some(b'-'));
    put(buf, &mut at, t.month(), 2, Some(b'-'));
    put(buf, &mut at, t.day(), 2, Some(b'T'));
    put(buf, &mut at, t.hour(), 2, Some(b':'));
    put(buf, &mut at, t.minute(), 2, Some(b':'));
    let fraction = if nanos == 0 {
        None
    } else if nanos.is_multiple_of(1_000_000) {
        Some((nanos / 1_000_000, 3))
    } else if nanos.is_multiple_of(1_000) {
        Some((nanos / 1_000, 6))
    } else {
        Some((nanos, 9))
    };
    put(buf, &mut at, t.second(), 2, fraction.map(|_| b'.'));
    if let Some((digits, width)) = fraction {
        put(buf, &mut at, digits, width, None);
    }
    buf[at] = b'Z';
    Some(at + 1)
}

/// `value` as `width` decimal digits at `buf[*at..]`, then `then` if any; moves `at` past them.
fn put(buf: &mut [u8; 30], at: &mut usize, value: u32, width: usize, then: Option<u8>) {
    let mut rest = value;
    for slot in buf[*at..*at + width].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    *at += width;
    if let Some(c) = then {
        buf[*at] = c;
        *at += 1;
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    /// Fixed seed: CI runs the same cases every time.
    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 2_000,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x7266_6333_3339),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// Any instant from year 0 to 9999, at whole seconds and milli-, micro- and nanosecond
        /// precision.
        #[test]
        fn any_time_is_written_as_chrono_writes_it(
            secs in -62_167_219_200_i64..253_402_300_800,
            nanos in 0_u32..1_000_000_000,
            precision in 0_u32..4,
        ) {
            let nanos = match precision {
                0 => 0,
                1 => nanos / 1_000_000 * 1_000_000,
                2 => nanos / 1_000 * 1_000,
                _ => nanos,
            };
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            prop_assert_eq!(
                serde_json::to_string(&Wrapped(t)).unwrap(),
                serde_json::to_string(&t).unwrap()
            );
        }
    }

    #[derive(serde::Serialize)]
    struct Wrapped(#[serde(serialize_with = "serialize")] DateTime<Utc>);

    #[test]
    fn writes_what_chrono_writes() {
        let base = Utc.with_ymd_and_hms(2026, 12, 6, 15, 24, 42).unwrap();
        let mut times = vec![
            base,
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            // Outside 0-9999 chrono writes a sign and more digits: the slow path.
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
        ];
        // Whole seconds, milli-, micro- and nanosecond precision, and a leap second.
        for nanos in [
            1_000_000,
            765_000_000,
            765_571_000,
            765_571_123,
            1_500_000_000,
        ] {
            times.push(base + chrono::Duration::nanoseconds(i64::from(nanos)));
        }
        times.push(
            Utc.from_utc_datetime(
                &chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
                    .unwrap()
                    .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
                    .unwrap(),
            ),
        );
        for t in times {
            assert_eq!(
                serde_json::to_string(&Wrapped(t)).unwrap(),
                serde_json::to_string(&t).unwrap()
            );
        }
    }
}
