//! Cell parsing shared by the readers: every failure is a message for a [`crate::Rejection`].

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, NaiveDate};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

/// The first text field of a place holding a NUL byte (PostgreSQL cannot store one): such a
/// row is rejected rather than failing the whole import on one engine.
pub(crate) fn nul_field(p: &crate::PlaceRecord) -> Option<&'static str> {
    let fields: [(&'static str, Option<&str>); 9] = [
        ("id", Some(p.key.as_str())),
        ("name", Some(p.name.as_str())),
        ("brand", p.brand.as_deref()),
        ("category", p.category.as_deref()),
        ("sub_category", p.sub_category.as_deref()),
        ("street", p.street.as_deref()),
        ("city", p.city.as_deref()),
        ("region", p.region.as_deref()),
        ("postcode", p.postcode.as_deref()),
    ];
    fields
        .into_iter()
        .find(|(_, v)| v.is_some_and(|v| v.contains('\0')))
        .map(|(name, _)| name)
        .or_else(|| {
            p.country
                .as_deref()
                .filter(|c| c.contains('\0'))
                .map(|_| "country")
        })
}

/// A trimmed, non-empty cell.
pub(crate) fn text(cell: Option<&str>) -> Option<String> {
    cell.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A number cell; empty is `None`.
pub(crate) fn number(cell: Option<&str>) -> Result<Option<f64>, String> {
    match cell.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(format!("{s:?} is not a number")),
        },
    }
}

/// A non-negative integer cell (`12` or `12.0`); empty is `None`.
pub(crate) fn count(cell: Option<&str>) -> Result<Option<u64>, String> {
    match number(cell)? {
        None => Ok(None),
        Some(v) if v >= 0.0 && v.fract() == 0.0 && v < 9.0e15 => Ok(Some(v as u64)),
        Some(v) => Err(format!("{v} is not a count")),
    }
}

/// Latitude and longitude, both present and in range.
pub(crate) fn coordinates(
    lat: Option<f64>,
    lon: Option<f64>,
) -> Result<(f64, f64), (&'static str, String)> {
    let lat = lat.ok_or(("latitude", "missing".to_owned()))?;
    let lon = lon.ok_or(("longitude", "missing".to_owned()))?;
    if !(-90.0..=90.0).contains(&lat) {
        return Err(("latitude", format!("{lat} is out of range (-90..90)")));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(("longitude", format!("{lon} is out of range (-180..180)")));
    }
    Ok((lat, lon))
}

/// A date: `2024-01-01`, or a timestamp with an offset (`2024-01-01T00:00:00-05:00`), whose
/// local date is taken, as Patterns publishes period bounds.
pub(crate) fn date(cell: Option<&str>) -> Result<NaiveDate, String> {
    let s = cell.map(str::trim).unwrap_or("");
    if s.is_empty() {
        return Err("missing".to_owned());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.date_naive());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return Ok(t.date());
    }
    Err(format!("{s:?} is not a date (YYYY-MM-DD or RFC 3339)"))
}

/// A JSON array of counts (`[1,2,3]`); empty is `None`.
pub(crate) fn json_counts(cell: Option<&str>) -> Result<Option<Vec<u32>>, String> {
    match cell.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => serde_json::from_str::<Vec<f64>>(s)
            .map_err(|e| format!("not a JSON array of counts: {e}"))?
            .into_iter()
            .map(|v| {
                if v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX) {
                    Ok(v as u32)
                } else {
                    Err(format!("{v} is not a count"))
                }
            })
            .collect::<Result<Vec<u32>, String>>()
            .map(Some),
    }
}

/// A JSON object of `key: value` in the file's order; empty is no pairs.
pub(crate) fn json_pairs<V: for<'de> Deserialize<'de>>(
    cell: Option<&str>,
) -> Result<Vec<(String, V)>, String> {
    match cell.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Vec::new()),
        Some(s) => serde_json::from_str::<Pairs<V>>(s)
            .map(|p| p.0)
            .map_err(|e| format!("not a JSON object of numbers: {e}")),
    }
}

/// A JSON object read as its pairs, in order (a map would sort or drop duplicates).
struct Pairs<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Pairs<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PairsVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for PairsVisitor<V> {
            type Value = Pairs<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some(pair) = map.next_entry::<String, V>()? {
                    out.push(pair);
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(PairsVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_take_the_local_day_of_a_timestamp() {
        let d = NaiveDate::from_ymd_opt(2019, 12, 30).unwrap();
        assert_eq!(date(Some("2019-12-30T00:00:00-05:00")).unwrap(), d);
        assert_eq!(date(Some("2019-12-30")).unwrap(), d);
        assert!(date(Some("30/12/2019")).is_err());
        assert!(date(Some("")).is_err());
    }

    #[test]
    fn json_cells_keep_their_order_and_refuse_deep_nesting() {
        let pairs: Vec<(String, u64)> = json_pairs(Some(r#"{"<5":3,"5-10":2,"11-20":1}"#)).unwrap();
        assert_eq!(pairs[0].0, "<5");
        assert_eq!(pairs[2], ("11-20".to_owned(), 1));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(json_counts(Some(&deep)).is_err());
        let deep_object = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
        assert!(json_pairs::<u64>(Some(&deep_object)).is_err());
        assert_eq!(
            json_counts(Some("[1, 2.0, 3]")).unwrap(),
            Some(vec![1, 2, 3])
        );
        assert!(json_counts(Some("[1, -2]")).is_err());
        assert!(json_counts(Some("[1, 2")).is_err());
    }

    #[test]
    fn counts_and_coordinates_are_checked() {
        assert_eq!(count(Some(" 12 ")).unwrap(), Some(12));
        assert!(count(Some("-1")).is_err());
        assert!(count(Some("1.5")).is_err());
        assert!(number(Some("NaN")).is_err());
        assert_eq!(
            coordinates(Some(91.0), Some(0.0)).unwrap_err().0,
            "latitude"
        );
        assert_eq!(coordinates(Some(0.0), None).unwrap_err().0, "longitude");
    }
}
