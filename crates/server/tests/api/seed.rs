//! `pi-server seed` is idempotent on both databases.

use pi_server::config::Secret;
use pi_store::Engine;
use pi_store::testing::TestDatabase;
use sea_orm::{ConnectionTrait, Statement};

const TABLES: [&str; 7] = [
    "users",
    "personas",
    "user_personas",
    "runtime_agents",
    "runtime_blocks",
    "runtime_agent_blocks",
    "conversations",
];

async fn counts(url: &str) -> Vec<(String, i64)> {
    let db = pi_store::connect(url).await.unwrap();
    let mut out = Vec::new();
    for table in TABLES {
        let row = db
            .connection()
            .query_one_raw(Statement::from_string(
                db.connection().get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        out.push((table.to_owned(), row.try_get::<i64>("", "n").unwrap()));
    }
    db.close().await.unwrap();
    out
}

pi_store::engine_tests!(pi_store::testing::on_engine => [
    seed_twice_changes_nothing,
    a_failing_seed_has_shown_the_generated_password,
]);

async fn seed_twice_changes_nothing(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let settings = pi_server::Settings {
        persona_seed_password: Some(Secret::new("demo-password-123")),
        ..crate::helpers::test_settings(test_db.url())
    };
    let mut first = Vec::new();
    pi_server::seed::run(&settings, &mut first).await.unwrap();
    let first = String::from_utf8(first).unwrap();
    assert!(first.contains("[4/4]"), "{first}");
    let after_first = counts(test_db.url()).await;
    let n = |c: &[(String, i64)], t: &str| c.iter().find(|x| x.0 == t).unwrap().1;
    assert!(n(&after_first, "personas") >= 8);
    assert_eq!(n(&after_first, "users"), n(&after_first, "personas"));
    assert_eq!(n(&after_first, "user_personas"), n(&after_first, "users"));
    assert_eq!(n(&after_first, "runtime_agents"), n(&after_first, "users"));
    // Three own blocks per agent plus one shared block per persona.
    assert_eq!(
        n(&after_first, "runtime_blocks"),
        3 * n(&after_first, "runtime_agents") + n(&after_first, "personas")
    );
    assert_eq!(
        n(&after_first, "runtime_agent_blocks"),
        4 * n(&after_first, "runtime_agents")
    );

    let mut second = Vec::new();
    pi_server::seed::run(&settings, &mut second).await.unwrap();
    let second = String::from_utf8(second).unwrap();
    assert!(
        second.contains("0 created") && second.contains("password unchanged"),
        "{second}"
    );
    assert_eq!(
        counts(test_db.url()).await,
        after_first,
        "a second seed changes nothing"
    );
    test_db.destroy().await;
}

/// Users created before a later step fails keep a password someone saw: a generated one is
/// printed with the first user it is given to.
async fn a_failing_seed_has_shown_the_generated_password(engine: Engine) {
    let Some(test_db) = TestDatabase::new(engine).await else {
        return;
    };
    let mut settings = crate::helpers::test_settings(test_db.url());
    settings.persona_seed_password = None;
    settings.agent_backend = pi_server::config::AgentRuntime::Letta;
    settings.letta_base_url = "http://127.0.0.1:9".into();
    settings.letta_timeout_secs = 2;
    let mut out = Vec::new();
    let result = pi_server::seed::run(&settings, &mut out).await;
    let out = String::from_utf8(out).unwrap();
    assert!(result.is_err(), "Letta is unreachable: {out}");
    assert!(out.contains(": created"), "{out}");
    assert!(
        out.contains("generated password for the new demo users (shown once): "),
        "{out}"
    );
    test_db.destroy().await;
}
