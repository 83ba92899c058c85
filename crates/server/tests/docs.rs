//! Issue 31: the docs say what the binary does. Every setting is documented, with its default,
//! in OPERATIONS §2, and every variable the docs and deploy files name is a setting or one of
//! the few others listed here with what reads them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use pi_server::Settings;
use pi_server::config::KEYS;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The rows of OPERATIONS' "Every setting" table: variable → default as written.
fn documented_settings() -> BTreeMap<String, String> {
    let ops = read("docs/OPERATIONS.md");
    let start = ops
        .find("**Every setting.**")
        .expect("OPERATIONS has the settings table");
    ops[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
        })
        .collect()
}

/// A default as the table writes it.
fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "unset".to_owned(),
        serde_json::Value::String(s) if s.is_empty() => "empty".to_owned(),
        serde_json::Value::String(s) => format!("`{s}`"),
        other => other.to_string(),
    }
}

#[test]
fn every_setting_is_documented_with_its_default() {
    let documented = documented_settings();
    let names: BTreeSet<String> = KEYS.iter().map(|k| k.to_uppercase()).collect();
    let in_docs: BTreeSet<String> = documented.keys().cloned().collect();
    assert_eq!(in_docs, names, "the table and the settings type differ");
    let defaults = serde_json::to_value(Settings::default()).unwrap();
    for key in KEYS {
        let expected = shown(&defaults[*key]);
        assert_eq!(
            documented[&key.to_uppercase()],
            expected,
            "default of {}",
            key.to_uppercase()
        );
    }
}

/// Names in the docs that are not `pi-server` settings, and what reads each.
const OTHERS: &[(&str, &str)] = &[
    ("PI_CONFIG", "pi-server: the path of the configuration file"),
    ("POSTGRES_USER", "compose: the postgres service"),
    ("POSTGRES_DB", "compose: the postgres service"),
    ("POSTGRES_PASSWORD", "compose: the postgres service"),
    ("PI_PORT", "compose: the load balancer's published port"),
    ("PI_SUBNET", "compose: the network"),
    ("PI_IMAGE", "compose: the image"),
    ("PI_API_SLOTS", "compose/HAProxy: server slots"),
    ("PI_STOP_GRACE_PERIOD", "compose: stop_grace_period"),
    ("LETTA_PG_PASSWORD", "compose: the letta profile's database"),
    ("LETTA_PG_URI", "compose: the letta server"),
    ("LETTA_OPENAI_API_KEY", "compose: the letta server's LLM"),
    ("LETTA_OPENAI_BASE_URL", "compose: the letta server's LLM"),
    ("OPENAI_API_KEY", "compose: the letta server's LLM"),
    ("OPENAI_BASE_URL", "compose: the letta server's LLM"),
    ("MIMALLOC_PURGE_DELAY", "mimalloc itself"),
    ("REQUIRE_POSTGRES", "the tests"),
    ("REQUIRE_FAULTS", "the tests"),
    ("TEST_DATABASE_URL", "the tests"),
    ("LETTA_IT", "the live Letta suite"),
    ("PI_LETTA_HOME", "cargo xtask letta-it"),
    ("PI_FUZZ_HOME", "cargo xtask fuzz"),
    ("PI_DEPLOY_TOOLS", "deploy/check.sh"),
    ("PI_K8S_VERSION", "deploy/check.sh"),
    ("PLACES_BENCH_SCALES", "cargo xtask bench places"),
    ("AF_INET", "systemd: RestrictAddressFamilies"),
    ("AF_INET6", "systemd: RestrictAddressFamilies"),
    ("AF_UNIX", "systemd: RestrictAddressFamilies"),
];

#[test]
fn every_variable_the_docs_name_is_a_setting_or_a_known_other() {
    let settings: BTreeSet<String> = KEYS.iter().map(|k| k.to_uppercase()).collect();
    let others: BTreeSet<&str> = OTHERS.iter().map(|(name, _)| *name).collect();
    let mut unknown = BTreeSet::new();
    for path in [
        "README.md",
        "docs/OPERATIONS.md",
        "deploy/README.md",
        "deploy/.env.example",
        "deploy/systemd/pi-backend.env.example",
        "deploy/systemd/pi-backend.service",
        "deploy/compose.yaml",
        "deploy/k8s/base/configmap.yaml",
        "deploy/k8s/base/deployment.yaml",
    ] {
        let text = read(path);
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            let looks_like_a_variable = word.contains('_')
                && word.starts_with(|c: char| c.is_ascii_uppercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && !word.starts_with('_')
                && !word.ends_with('_');
            if looks_like_a_variable && !settings.contains(word) && !others.contains(word) {
                unknown.insert(format!("{word} ({path})"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "variables that are neither settings nor known others (a typo, or a setting the \
         binary does not read?): {unknown:?}"
    );
}

/// A fenced block of a doc.
#[derive(Debug)]
struct Block {
    at: String,
    info: String,
    body: String,
}

fn fenced_blocks(path: &str) -> Vec<Block> {
    let text = read(path);
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((i + 1, info.trim().to_owned(), Vec::new())),
            (Some(_), Some(_)) => {
                let (line, info, body) = open.take().unwrap();
                blocks.push(Block {
                    at: format!("{path}:{line}"),
                    info,
                    body: body.join("\n"),
                });
            }
            (Some((_, _, body)), None) => body.push(line),
            (None, None) => {}
        }
    }
    blocks
}

/// Shell blocks to run, after checking every other one says why it cannot run here.
fn runnable(path: &str) -> Vec<Block> {
    fenced_blocks(path)
        .into_iter()
        .filter(|b| b.info.starts_with("sh"))
        .filter(|b| match b.info.split_once("not-run:") {
            Some((_, reason)) => {
                assert!(
                    !reason.trim().is_empty(),
                    "{}: not-run needs a reason",
                    b.at
                );
                false
            }
            None => true,
        })
        .collect()
}

/// `cargo run --release --bin pi-server [-- ARGS]` as the docs write it runs the binary under
/// test; `curl` fails on an HTTP error (`--fail-with-body`), so a documented call that answers
/// 4xx/5xx fails the test.
fn shims(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let write = |name: &str, script: &str| {
        let path = dir.join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    write(
        "cargo",
        "#!/bin/sh\n\
         if [ \"$1 $2 $3 $4\" = \"run --release --bin pi-server\" ]; then\n\
           shift 4; [ \"$1\" = \"--\" ] && shift; exec \"$PI_SERVER_BIN\" \"$@\"\n\
         fi\n\
         echo \"docs test: a cargo command it cannot run: $*\" >&2; exit 97\n",
    );
    write(
        "curl",
        "#!/bin/sh\nexec /usr/bin/curl --fail-with-body \"$@\"\n",
    );
}

fn shell(script: &str, cwd: &std::path::Path, env: &[(&str, String)]) -> std::process::Output {
    std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap()
}

/// Every shell block of README.md, docs/OPERATIONS.md and deploy/README.md runs here, as
/// written, against the binary under test — or says (`not-run: why`) what it needs that this
/// machine does not have. README's two commands: the first starts the server the curl blocks
/// then talk to (on a free port instead of 8000); the second is what `.ci/run` runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_commands_run_here() {
    let Some(pg) = pi_store::testing::TestDatabase::new(pi_store::Engine::Postgres).await else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    shims(bin.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = vec![
        (
            "PATH",
            format!(
                "{}:{}",
                bin.path().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        ),
        ("PI_SERVER_BIN", env!("CARGO_BIN_EXE_pi-server").to_owned()),
        ("BIND_ADDR", format!("127.0.0.1:{port}")),
        ("BCRYPT_COST", "4".to_owned()),
        ("PLACES_SCALE", "small".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ];

    // README: the two commands.
    let readme = runnable("README.md");
    let (two, rest) = readme.split_first().unwrap();
    assert_eq!(rest.len(), 3, "README: the curl walk-through, chat, tools");
    let commands: Vec<&str> = two
        .body
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(
        commands,
        ["cargo run --release --bin pi-server", "cargo xtask test"]
    );
    assert!(
        read(".ci/run").contains("\ncargo xtask test\n"),
        "CI runs the test command"
    );
    let mut server = std::process::Command::new("bash")
        .args(["-c", &format!("exec {}", commands[0])])
        .current_dir(work.path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let up = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        shell(
            &format!("curl -s localhost:{port}/health"),
            work.path(),
            &env,
        )
        .status
        .success()
    });
    assert!(up, "the README's run command serves");

    // README: every other block, in order, in one shell (later blocks use earlier variables).
    let script = rest
        .iter()
        .map(|b| {
            b.body
                .replace("localhost:8000", &format!("localhost:{port}"))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let out = shell(&script, work.path(), &env);
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        out.status.success(),
        "README's blocks ({}) failed: {}\n{}",
        rest.iter()
            .map(|b| b.at.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );

    // OPERATIONS and deploy/README: next to the server's pi.db, with DATABASE_URL a migrated
    // PostgreSQL database.
    let mut pg_env = env.clone();
    pg_env.push(("DATABASE_URL", pg.url().to_owned()));
    let migrated = shell("\"$PI_SERVER_BIN\" migrate", work.path(), &pg_env);
    assert!(migrated.status.success(), "{migrated:?}");
    let mut ran = Vec::new();
    for path in ["docs/OPERATIONS.md", "deploy/README.md"] {
        for block in runnable(path) {
            ran.push(block.at.clone());
            let out = shell(&block.body, work.path(), &pg_env);
            assert!(
                out.status.success(),
                "{} failed: {}",
                block.at,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert_eq!(
        ran.len(),
        2,
        "OPERATIONS: the PostgreSQL and SQLite backups: {ran:?}"
    );
    assert!(
        work.path().join("pi-backup.db").exists() && work.path().join("pi-compact.db").exists(),
        "the SQLite backups were written"
    );
    pg.destroy().await;
}
