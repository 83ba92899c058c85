//! Pages read as one row of JSON (`json_group_array` on SQLite, `json_agg` on PostgreSQL):
//! sqlx-sqlite hands every result row from its worker thread to the caller's, so a page of N
//! rows costs N hops and one aggregated row costs one. These read back what the engines write.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A time as either engine writes it into JSON: RFC 3339 (SQLite keeps the text it was given,
/// PostgreSQL writes `timestamptz` so), or SQLite's form with a space.
pub(crate) fn time(s: &str) -> Option<DateTime<Utc>> {
    utc(s.as_bytes()).or_else(|| any_offset(s))
}

/// The shape both engines write for UTC, read without chrono's general parser (a page of 20
/// conversations has 40 times): `YYYY-MM-DD(T| )HH:MM:SS[.f…](Z|+00:00)` with 1 to 9 fraction
/// digits. Anything else, or an impossible date, is `None`.
fn utc(b: &[u8]) -> Option<DateTime<Utc>> {
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0_u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if b.len() < 20 || separators.iter().any(|&(at, c)| b[at] != c) || !matches!(b[10], b'T' | b' ')
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos = 0;
    if let Some((b'.', fraction)) = rest.split_first() {
        let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&len) {
            return None;
        }
        nanos = number(&fraction[..len])? * 10_u32.pow(9 - len as u32);
        rest = &fraction[len..];
    }
    if rest != b"Z" && rest != b"+00:00" {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(number(&b[0..4])?).ok()?,
        number(&b[5..7])?,
        number(&b[8..10])?,
    )?;
    let time = chrono::NaiveTime::from_hms_nano_opt(
        number(&b[11..13])?,
        number(&b[14..16])?,
        number(&b[17..19])?,
        nanos,
    )?;
    Some(date.and_time(time).and_utc())
}

/// Other offsets, leap seconds, and SQLite's form without an offset, through chrono.
fn any_offset(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// A UUID as either engine writes it into JSON: SQLite stores UUIDs as 16-byte blobs, which
/// JSON cannot hold, so queries write `hex(id)`; PostgreSQL writes the hyphenated form.
pub(crate) fn uuid(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s).ok()
}

#[cfg(test)]
mod tests {
    use chrono::Timelike;
    use proptest::prelude::*;

    use super::*;

    /// Fixed seed: CI runs the same cases every time.
    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 2_000,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x6167_6772_6567),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// Any instant from year 0 to 9999 at any precision, in every form the engines write,
        /// reads back as itself, and as chrono reads it.
        #[test]
        fn any_time_in_either_engines_form_reads_back(
            secs in -62_167_219_200_i64..253_402_300_800,
            nanos in 0_u32..1_000_000_000,
            format in 0_usize..4,
            space in any::<bool>(),
            zulu in any::<bool>(),
        ) {
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            let formats = [
                chrono::SecondsFormat::Secs,
                chrono::SecondsFormat::Millis,
                chrono::SecondsFormat::Micros,
                chrono::SecondsFormat::Nanos,
            ];
            let mut text = t.to_rfc3339_opts(formats[format], zulu);
            if space {
                text.replace_range(10..11, " ");
            }
            let truncated = match format {
                0 => t.with_nanosecond(0),
                1 => t.with_nanosecond(nanos / 1_000_000 * 1_000_000),
                2 => t.with_nanosecond(nanos / 1_000 * 1_000),
                _ => Some(t),
            };
            prop_assert_eq!(time(&text), truncated, "{}", text);
            prop_assert_eq!(utc(text.as_bytes()), any_offset(&text), "{}", text);
        }
    }

    #[test]
    fn the_fast_path_declines_what_it_does_not_know() {
        for text in [
            "2026-12-06T15:24:42.765571+01:00",
            "2026-12-06 15:24:42.765571",
            "2026-02-30T15:24:42Z",
            "2016-12-31T23:59:60.5Z",
            "2026-12-06T15:24:42.Z",
            "2026-12-06T15:24:42.1234567890Z",
            "2026-12-06T15:24:4x Z",
            "+2026-12-06T15:24:42Z",
            "",
        ] {
            assert_eq!(utc(text.as_bytes()), None, "{text}");
        }
        // chrono still reads the ones that are times.
        assert!(time("2026-12-06T15:24:42.765571+01:00").is_some());
        assert!(time("2016-12-31T23:59:60.5Z").is_some());
    }

    #[test]
    fn reads_both_engines_forms() {
        let t = time("2026-12-06T15:24:42.765571+00:00").unwrap();
        assert_eq!(time("2026-12-06 15:24:42.765571+00:00"), Some(t));
        assert_eq!(time("2026-12-06T16:24:42.765571+01:00"), Some(t));
        assert_eq!(time("2026-12-06 15:24:42.765571"), Some(t));
        assert_eq!(time("yesterday"), None);
        let id = Uuid::now_v7();
        assert_eq!(uuid(&id.simple().to_string().to_uppercase()), Some(id));
        assert_eq!(uuid(&id.hyphenated().to_string()), Some(id));
    }
}
