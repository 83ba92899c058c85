//! A bounded-staleness cache of users by id, in front of a [`UserRepo`].
//!
//! Every authenticated request loads its user; with the cache that is a memory read for up to
//! `ttl` after the last load. Writes made through any [`CachedUserRepo`] sharing the cache forget
//! the user at once, so this process never serves its own stale writes. Writes made elsewhere —
//! another replica, `pi-server admin grant|revoke` — are seen within `ttl`: that is the bound on
//! how long a revoked admin or a deleted user keeps access on a replica.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dashmap::DashMap;

use super::{CreateUserError, Email, NewUser, User, UserId, UserRepo};
use crate::RepoError;

/// Users loaded recently, shared by the repos of one process.
#[derive(Debug)]
pub struct UserCache {
    ttl: Duration,
    entries: DashMap<UserId, (User, Instant)>,
}

impl UserCache {
    /// A cache whose entries are served for `ttl` (zero: nothing is cached).
    pub fn new(ttl: Duration) -> Arc<Self> {
        Arc::new(Self {
            ttl,
            entries: DashMap::new(),
        })
    }

    fn get(&self, id: UserId) -> Option<User> {
        let entry = self.entries.get(&id)?;
        let (user, loaded) = entry.value();
        (loaded.elapsed() < self.ttl).then(|| user.clone())
    }

    fn put(&self, user: &User) {
        if self.ttl.is_zero() {
            return;
        }
        // Bounded: expired entries go once the map grows past what a replica serves at once.
        if self.entries.len() >= 100_000 {
            self.entries
                .retain(|_, (_, loaded)| loaded.elapsed() < self.ttl);
        }
        self.entries.insert(user.id, (user.clone(), Instant::now()));
    }

    /// Forgets `id` (after a write to that user).
    pub fn forget(&self, id: UserId) {
        self.entries.remove(&id);
    }
}

/// A [`UserRepo`] that answers `find_by_id` from a [`UserCache`] when `reads` is set, and forgets
/// users on every write it makes either way.
pub struct CachedUserRepo {
    inner: Arc<dyn UserRepo>,
    cache: Arc<UserCache>,
    reads: bool,
}

impl std::fmt::Debug for CachedUserRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedUserRepo")
            .field("reads", &self.reads)
            .finish_non_exhaustive()
    }
}

impl CachedUserRepo {
    /// Serves `find_by_id` from `cache` (authentication), forgetting users it writes.
    pub fn reading(inner: Arc<dyn UserRepo>, cache: Arc<UserCache>) -> Self {
        Self {
            inner,
            cache,
            reads: true,
        }
    }

    /// Always reads `inner` (decisions that must see the latest row, e.g. whether the user has
    /// an agent yet), and forgets users it writes from `cache`.
    pub fn writing(inner: Arc<dyn UserRepo>, cache: Arc<UserCache>) -> Self {
        Self {
            inner,
            cache,
            reads: false,
        }
    }
}

#[async_trait]
impl UserRepo for CachedUserRepo {
    async fn create(&self, user: NewUser) -> Result<User, CreateUserError> {
        self.inner.create(user).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepoError> {
        self.inner.find_by_email(email).await
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, RepoError> {
        if self.reads
            && let Some(user) = self.cache.get(id)
        {
            return Ok(Some(user));
        }
        let user = self.inner.find_by_id(id).await?;
        match &user {
            Some(u) if self.reads => self.cache.put(u),
            Some(_) => {}
            None => self.cache.forget(id),
        }
        Ok(user)
    }

    async fn set_admin(&self, id: UserId, is_admin: bool) -> Result<Option<User>, RepoError> {
        let result = self.inner.set_admin(id, is_admin).await;
        self.cache.forget(id);
        result
    }

    async fn set_agent_id_if_unset(
        &self,
        id: UserId,
        agent_id: &str,
    ) -> Result<Option<String>, RepoError> {
        let result = self.inner.set_agent_id_if_unset(id, agent_id).await;
        self.cache.forget(id);
        result
    }

    async fn clear_agent_id(&self, id: UserId, expected: &str) -> Result<(), RepoError> {
        let result = self.inner.clear_agent_id(id, expected).await;
        self.cache.forget(id);
        result
    }

    async fn find_by_agent_ids(&self, agent_ids: &[String]) -> Result<Vec<User>, RepoError> {
        self.inner.find_by_agent_ids(agent_ids).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::user::MockUserRepo;

    fn user(id: UserId, admin: bool) -> User {
        User {
            id,
            email: Email::parse("cache@example.com").unwrap(),
            display_name: crate::user::DisplayName::parse("Cache").unwrap(),
            password_hash: crate::user::PasswordHash::new("$2b$04$hash"),
            agent_id: None,
            is_admin: admin,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[tokio::test]
    async fn reads_are_served_from_memory_until_the_ttl_passes() {
        let id = UserId::new();
        let mut inner = MockUserRepo::new();
        // Two loads: the first, and the one after the entry expired.
        inner
            .expect_find_by_id()
            .times(2)
            .returning(move |id| Ok(Some(user(id, false))));
        let repo =
            CachedUserRepo::reading(Arc::new(inner), UserCache::new(Duration::from_millis(80)));
        for _ in 0..5 {
            assert!(repo.find_by_id(id).await.unwrap().is_some());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(repo.find_by_id(id).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_write_through_any_sharing_repo_is_seen_at_once() {
        let id = UserId::new();
        let admin = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut inner = MockUserRepo::new();
        let flag = admin.clone();
        inner.expect_find_by_id().returning(move |id| {
            Ok(Some(user(
                id,
                flag.load(std::sync::atomic::Ordering::SeqCst),
            )))
        });
        let flag = admin.clone();
        inner.expect_set_admin().returning(move |id, value| {
            flag.store(value, std::sync::atomic::Ordering::SeqCst);
            Ok(Some(user(id, value)))
        });
        let inner: Arc<dyn UserRepo> = Arc::new(inner);
        let cache = UserCache::new(Duration::from_secs(3600));
        let auth = CachedUserRepo::reading(inner.clone(), cache.clone());
        let other = CachedUserRepo::writing(inner, cache);
        assert!(!auth.find_by_id(id).await.unwrap().unwrap().is_admin);
        other.set_admin(id, true).await.unwrap();
        assert!(auth.find_by_id(id).await.unwrap().unwrap().is_admin);
    }

    #[tokio::test]
    async fn a_zero_ttl_caches_nothing() {
        let id = UserId::new();
        let mut inner = MockUserRepo::new();
        inner
            .expect_find_by_id()
            .times(3)
            .returning(move |id| Ok(Some(user(id, false))));
        let repo = CachedUserRepo::reading(Arc::new(inner), UserCache::new(Duration::ZERO));
        for _ in 0..3 {
            repo.find_by_id(id).await.unwrap();
        }
    }
}
