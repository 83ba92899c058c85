//! The error every repository port shares, and the one kind of it callers treat apart.

/// A store failure (connection, query, constraint the caller could not foresee). "Not found" is
/// never a `RepoError`: look-ups return `Ok(None)`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct RepoError(#[from] pub anyhow::Error);

impl RepoError {
    /// The store cannot serve anyone right now (see [`StorageUnavailable`]); `context` says what
    /// was being done.
    pub fn unavailable(reason: impl Into<String>, context: &'static str) -> Self {
        Self(anyhow::Error::new(StorageUnavailable::new(reason)).context(context))
    }

    /// Whether this is a [`StorageUnavailable`] failure rather than a bug.
    pub fn is_unavailable(&self) -> bool {
        self.0.downcast_ref::<StorageUnavailable>().is_some()
    }
}

/// The database cannot be reached or cannot take writes right now: connection refused or reset,
/// pool exhausted, disk or database full, read-only, a server restarting. Not a bug: nothing was
/// written by the failed statement, and the same request may succeed once storage is back, so
/// callers answer "unavailable, retry" (HTTP 503) instead of "internal error".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage unavailable: {reason}")]
pub struct StorageUnavailable {
    /// What the store saw, for operators (never shown to clients).
    pub reason: String,
}

impl StorageUnavailable {
    /// A failure with `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// The first [`StorageUnavailable`] in `error`'s chain of sources, itself included.
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Self> {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(found) = e.downcast_ref::<Self>() {
                return Some(found);
            }
            next = e.source();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("failed")]
        Unexpected(#[source] anyhow::Error),
    }

    #[test]
    fn an_unavailable_store_is_found_through_context_and_wrapping_errors() {
        let repo = RepoError::unavailable("disk full", "failed to insert message");
        assert!(repo.is_unavailable());
        let outer = Outer::Unexpected(repo.0);
        let found = StorageUnavailable::find(&outer).map(|s| s.reason.as_str());
        assert_eq!(found, Some("disk full"));

        let bug = Outer::Unexpected(anyhow::anyhow!("corrupt row").context("reading"));
        assert!(StorageUnavailable::find(&bug).is_none());
        assert!(!RepoError(anyhow::anyhow!("x")).is_unavailable());
    }
}
