//! Pages read as one row of JSON (`json_group_array` on SQLite, `json_agg` on PostgreSQL):
//! sqlx-sqlite hands every result row from its worker thread to the caller's, so a page of N
//! rows costs N hops and one aggregated row costs one. These read back what the engines write.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A time as either engine writes it into JSON: RFC 3339 (SQLite keeps the text it was given,
/// PostgreSQL writes `timestamptz` so), or SQLite's form with a space.
pub(crate) fn time(s: &str) -> Option<DateTime<Utc>> {
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
    use super::*;

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
