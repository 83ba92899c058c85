//! Times in responses, serialised as one string.
//!
//! The text is what chrono's own `Serialize` writes (RFC 3339, `Z` for UTC, as many fractional
//! digits as needed), but chrono writes it piece by piece through `collect_str`, and serde_json
//! runs its escaping writer over each piece: on `GET /chat/conversations` that was 8 % of the
//! server's CPU. Formatting into a string first and writing it once costs a fraction of that.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

/// `#[serde(serialize_with = "crate::rfc3339::serialize")]` on a `DateTime<Utc>` field.
pub(crate) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[derive(serde::Serialize)]
    struct Wrapped(#[serde(serialize_with = "serialize")] DateTime<Utc>);

    #[test]
    fn writes_what_chrono_writes() {
        let base = Utc.with_ymd_and_hms(2026, 12, 6, 15, 24, 42).unwrap();
        let mut times = vec![
            base,
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
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
