//! The JSON text cells of stored visits (day and hour arrays, dwell buckets, home areas,
//! related brands), as both staging paths write them.

/// `value` as JSON text.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}

/// `items` as JSON text, `None` (NULL) when there are none.
pub(crate) fn nonempty_json<T: serde::Serialize>(items: &[T]) -> Option<String> {
    (!items.is_empty()).then(|| json(&items)).flatten()
}
