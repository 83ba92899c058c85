//! The error every repository port shares.

/// A store failure (connection, query, constraint the caller could not foresee). "Not found" is
/// never a `RepoError`: look-ups return `Ok(None)`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct RepoError(#[from] pub anyhow::Error);
