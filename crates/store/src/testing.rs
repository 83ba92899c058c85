//! Test databases: a temp SQLite file, or a fresh PostgreSQL database created on
//! `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and dropped after.
//!
//! When PostgreSQL is unreachable, [`TestDatabase::postgres`] prints a loud SKIP and returns
//! `None`, unless `REQUIRE_POSTGRES=1`, in which case it panics so CI fails.

use sea_orm::{ConnectionTrait, Database as SeaDatabase};

use crate::Engine;

/// Default server for PostgreSQL test databases.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for one test.
#[derive(Debug)]
pub enum TestDatabase {
    /// A SQLite file in a temp directory (removed on drop).
    Sqlite {
        /// Keeps the directory alive.
        dir: tempfile::TempDir,
        /// `sqlite://…?mode=rwc`.
        url: String,
    },
    /// A PostgreSQL database named `pi_test_<uuid>`.
    Postgres {
        /// The maintenance connection URL it was created from.
        admin_url: String,
        /// Database name.
        name: String,
        /// URL of the new database.
        url: String,
    },
}

fn with_database(admin_url: &str, name: &str) -> String {
    // Replace the path component (the database name) of the admin URL, keeping any query.
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let root = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

impl TestDatabase {
    /// A fresh SQLite file.
    ///
    /// # Panics
    /// If no temp directory can be created.
    #[expect(
        clippy::expect_used,
        reason = "test helper: failing loudly is the point"
    )]
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir for the test database");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("pi-test.db").display()
        );
        Self::Sqlite { dir, url }
    }

    /// A fresh PostgreSQL database, or `None` (after a loud SKIP) when the server is unreachable
    /// and `REQUIRE_POSTGRES` is not `1`.
    ///
    /// # Panics
    /// When PostgreSQL is unreachable and `REQUIRE_POSTGRES=1`, or the database cannot be created.
    pub async fn postgres() -> Option<Self> {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        let admin = match SeaDatabase::connect(admin_url.as_str()).await {
            Ok(conn) => conn,
            Err(e) => {
                if std::env::var("REQUIRE_POSTGRES").as_deref() == Ok("1") {
                    panic!("REQUIRE_POSTGRES=1 but PostgreSQL at {admin_url} is unreachable: {e}");
                }
                eprintln!(
                    "\n*** SKIP: PostgreSQL at {admin_url} is unreachable ({e}); \
                     PostgreSQL tests are NOT running. Set REQUIRE_POSTGRES=1 to fail instead. ***\n"
                );
                return None;
            }
        };
        let name = format!("pi_test_{}", uuid::Uuid::new_v4().simple());
        if let Err(e) = admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
        {
            panic!("cannot create test database {name}: {e}");
        }
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        Some(Self::Postgres {
            admin_url,
            name,
            url,
        })
    }

    /// A fresh database on `engine`, or `None` when PostgreSQL is skipped.
    pub async fn new(engine: Engine) -> Option<Self> {
        match engine {
            Engine::Sqlite => Some(Self::sqlite()),
            Engine::Postgres => Self::postgres().await,
        }
    }

    /// The URL to give the application.
    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    /// Makes the database unusable for the running application: PostgreSQL drops it (closing
    /// every connection), SQLite cannot be taken away from an open pool, so callers close the
    /// pool instead. Returns whether this method did it.
    pub async fn take_down(&self) -> bool {
        match self {
            Self::Sqlite { .. } => false,
            Self::Postgres { .. } => {
                self.drop_postgres().await;
                true
            }
        }
    }

    async fn drop_postgres(&self) {
        if let Self::Postgres {
            admin_url, name, ..
        } = self
            && let Ok(admin) = SeaDatabase::connect(admin_url.as_str()).await
        {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            let _ = admin.close().await;
        }
    }

    /// Removes the database (PostgreSQL); the SQLite directory goes when `self` drops.
    pub async fn destroy(&self) {
        self.drop_postgres().await;
    }
}

/// Runs each listed test on both engines, as `sqlite::NAME` and `postgres::NAME`:
/// `RUNNER(engine, "NAME", super::NAME)`. Groups with different runners share the two modules:
///
/// `pi_store::engine_tests!(crate::helpers::run_named => [a, b], super::with_llm => [c]);`
#[macro_export]
macro_rules! engine_tests {
    ($($runner:path => [$($name:ident),* $(,)?]),+ $(,)?) => {
        mod sqlite {
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $runner($crate::Engine::Sqlite, stringify!($name), super::$name).await;
                }
            )*)+
        }
        mod postgres {
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $runner($crate::Engine::Postgres, stringify!($name), super::$name).await;
                }
            )*)+
        }
    };
}

/// A test that sets itself up on `engine`, as an [`engine_tests!`] runner.
pub async fn on_engine<F, Fut>(engine: Engine, _name: &str, test: F)
where
    F: FnOnce(Engine) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    test(engine).await;
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}

/// A small tmpfs mounted for one test (CI runs as root), to fill up on purpose: a full disk
/// under SQLite. Unmounted on drop.
#[derive(Debug)]
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `mebibytes` MiB, or `None` (after a loud SKIP) when this process may
    /// not mount one and `REQUIRE_FAULTS` is not `1`.
    ///
    /// # Panics
    /// When mounting fails and `REQUIRE_FAULTS=1`, or no temp directory can be created.
    #[expect(
        clippy::expect_used,
        reason = "test helper: failing loudly is the point"
    )]
    pub fn mount(mebibytes: u32) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir for the mount point");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mebibytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            return Some(Self { dir });
        }
        assert!(
            std::env::var("REQUIRE_FAULTS").as_deref() != Ok("1"),
            "REQUIRE_FAULTS=1 but a tmpfs cannot be mounted (run as root)"
        );
        eprintln!("SKIP: cannot mount a tmpfs (not root?); the full-disk test did not run");
        None
    }

    /// The mount point.
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Fills the disk to the last byte with a filler file.
    ///
    /// # Panics
    /// On an I/O error other than "no space left".
    #[expect(clippy::expect_used, reason = "test helper")]
    pub fn fill(&self) {
        use std::io::Write as _;
        let mut file = std::fs::File::create(self.filler()).expect("create the filler");
        let block = vec![0_u8; 4096];
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
        // Whatever is left, byte by byte (a partly filled block).
        while file.write(&[0]).is_ok_and(|n| n == 1) {}
    }

    /// Removes the filler: the space is back.
    ///
    /// # Panics
    /// When the filler cannot be removed.
    #[expect(clippy::expect_used, reason = "test helper")]
    pub fn free(&self) {
        std::fs::remove_file(self.filler()).expect("remove the filler");
    }

    fn filler(&self) -> std::path::PathBuf {
        self.dir.path().join("filler")
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
