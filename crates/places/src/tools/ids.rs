//! References in arguments — place ids, chains, metros, categories — to data-set indexes.

use crate::catalog::{CATEGORIES, CHAINS, Category};
use crate::dataset::Dataset;

/// A place id (`place:<n>`) to its index.
pub fn parse_place_id(data: &Dataset, id: &str) -> Result<u32, String> {
    let n = id
        .trim()
        .strip_prefix("place:")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (*n as usize) < data.pois.len())
        .ok_or_else(|| format!("unknown place id {id:?} (expected e.g. \"place:123\")"))?;
    Ok(n)
}

/// A chain reference (`chain:starbucks`, `starbucks` or `Starbucks`) to its index.
pub fn parse_chain(id: &str) -> Result<u16, String> {
    let key = id
        .trim()
        .strip_prefix("chain:")
        .unwrap_or(id.trim())
        .to_lowercase();
    CHAINS
        .iter()
        .position(|c| c.slug == key || c.name.to_lowercase() == key)
        .map(|c| c as u16)
        .ok_or_else(|| format!("unknown chain {id:?}"))
}

/// A metro reference (`metro:austin`, `austin`, `Austin`) to its index.
pub fn parse_metro(data: &Dataset, id: &str) -> Result<u16, String> {
    let key = id
        .trim()
        .strip_prefix("metro:")
        .unwrap_or(id.trim())
        .to_lowercase();
    let slug = key.replace([' ', '.'], "-").replace("--", "-");
    data.metros
        .iter()
        .position(|m| {
            m.def.slug == slug
                || m.def.name.to_lowercase() == key
                || m.def.title.to_lowercase() == key
        })
        .map(|m| m as u16)
        .ok_or_else(|| format!("unknown metro {id:?} (see list_metros)"))
}

/// A category name or synonym, or an error listing the categories.
pub fn parse_category(s: &str) -> Result<Category, String> {
    Category::parse(s).ok_or_else(|| {
        format!(
            "unknown category {s:?} (one of: {})",
            CATEGORIES
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}
