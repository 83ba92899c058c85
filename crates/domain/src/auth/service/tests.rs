use std::sync::Arc;

use chrono::Utc;
use mockall::predicate::*;

use super::*;
use crate::auth::{MockPasswordHasher, MockTokenService};
use crate::user::MockUserRepo;

fn user(email: &str, is_admin: bool) -> User {
    User {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse("Ada").unwrap(),
        password_hash: PasswordHash::new("$2b$04$stored"),
        agent_id: None,
        is_admin,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn token() -> IssuedToken {
    IssuedToken {
        token: "t".into(),
        expires_at: Utc::now(),
        expires_in_secs: 3600,
    }
}

fn tokens_ok() -> MockTokenService {
    let mut tokens = MockTokenService::new();
    tokens.expect_issue().returning(|_| Ok(token()));
    tokens
}

fn service(
    users: MockUserRepo,
    hasher: MockPasswordHasher,
    tokens: MockTokenService,
) -> AuthService {
    AuthService::new(Arc::new(users), Arc::new(hasher), Arc::new(tokens))
}

fn signup_req(email: &str, password: &str, name: &str) -> SignupRequest {
    SignupRequest {
        email: email.into(),
        password: password.into(),
        display_name: name.into(),
    }
}

#[tokio::test]
async fn signup_reports_every_invalid_field_without_touching_the_store() {
    let svc = service(
        MockUserRepo::new(),
        MockPasswordHasher::new(),
        MockTokenService::new(),
    );
    let err = svc
        .signup(signup_req("nope", "short", " "))
        .await
        .unwrap_err();
    let SignupError::Invalid(errors) = err else {
        panic!("expected Invalid, got {err:?}");
    };
    let fields: Vec<_> = errors.errors().iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["email", "password", "display_name"]);
}

#[tokio::test]
async fn signup_stores_a_hash_and_lower_cased_email() {
    let mut users = MockUserRepo::new();
    users.expect_find_by_email().returning(|_| Ok(None));
    users
        .expect_create()
        .withf(|u| {
            u.email.as_str() == "ada@example.com"
                && u.password_hash.as_str() == "$2b$04$hashed"
                && !u.is_admin
        })
        .times(1)
        .returning(|u| {
            let mut stored = user(u.email.as_str(), u.is_admin);
            stored.id = u.id;
            Ok(stored)
        });
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .withf(|p| p.expose() == "correct horse")
        .returning(|_| Ok(PasswordHash::new("$2b$04$hashed")));
    let svc = service(users, hasher, tokens_ok());
    let session = svc
        .signup(signup_req("Ada@Example.com", "correct horse", "Ada"))
        .await
        .unwrap();
    assert_eq!(session.user.email.as_str(), "ada@example.com");
}

#[tokio::test]
async fn signup_never_creates_an_admin() {
    let mut users = MockUserRepo::new();
    users.expect_find_by_email().returning(|_| Ok(None));
    users
        .expect_create()
        .withf(|u| !u.is_admin)
        .times(1)
        .returning(|u| Ok(user(u.email.as_str(), false)));
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .returning(|_| Ok(PasswordHash::new("h")));
    let svc = service(users, hasher, tokens_ok());
    let session = svc
        .signup(signup_req("boss@example.com", "password1", "Boss"))
        .await
        .unwrap();
    assert!(!session.user.is_admin);
}

#[tokio::test]
async fn signup_race_on_the_unique_index_is_email_taken() {
    let mut users = MockUserRepo::new();
    users.expect_find_by_email().returning(|_| Ok(None));
    users
        .expect_create()
        .returning(|_| Err(CreateUserError::Duplicate));
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .returning(|_| Ok(PasswordHash::new("h")));
    let svc = service(users, hasher, MockTokenService::new());
    let err = svc
        .signup(signup_req("a@example.com", "password1", "A"))
        .await
        .unwrap_err();
    assert!(matches!(err, SignupError::EmailTaken));
}

#[tokio::test]
async fn taken_email_is_refused_before_hashing() {
    let mut users = MockUserRepo::new();
    users
        .expect_find_by_email()
        .returning(|e| Ok(Some(user(e.as_str(), false))));
    // No expectation on the hasher: calling it would fail the test.
    let svc = service(users, MockPasswordHasher::new(), MockTokenService::new());
    let err = svc
        .signup(signup_req("a@example.com", "password1", "A"))
        .await
        .unwrap_err();
    assert!(matches!(err, SignupError::EmailTaken));
}

#[tokio::test]
async fn unknown_email_still_runs_one_verification() {
    let mut users = MockUserRepo::new();
    users.expect_find_by_email().returning(|_| Ok(None));
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok(PasswordHash::new("dummy")));
    hasher
        .expect_verify()
        .withf(|_, h| h.as_str() == "dummy")
        .times(2)
        .returning(|_, _| Ok(false));
    let svc = service(users, hasher, MockTokenService::new());
    for _ in 0..2 {
        let err = svc
            .login(LoginRequest {
                email: "ghost@example.com".into(),
                password: "whatever1".into(),
                client: None,
            })
            .await
            .unwrap_err();
        assert!(matches!(err, LoginError::InvalidCredentials));
    }
}

#[tokio::test]
async fn wrong_password_is_invalid_credentials() {
    let mut users = MockUserRepo::new();
    users
        .expect_find_by_email()
        .returning(|e| Ok(Some(user(e.as_str(), false))));
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_verify()
        .with(always(), eq(PasswordHash::new("$2b$04$stored")))
        .returning(|_, _| Ok(false));
    let svc = service(users, hasher, MockTokenService::new());
    let err = svc
        .login(LoginRequest {
            email: "a@example.com".into(),
            password: "wrong-password".into(),
            client: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::InvalidCredentials));
}

/// bcrypt reads 72 bytes: a longer password sharing them must not log in, and is not hashed
/// (the mocks expect no call at all).
#[tokio::test]
async fn login_refuses_passwords_beyond_72_bytes_without_hashing() {
    let svc = service(
        MockUserRepo::new(),
        MockPasswordHasher::new(),
        MockTokenService::new(),
    );
    let err = svc
        .login(LoginRequest {
            email: "a@example.com".into(),
            password: format!("{}tail", "p".repeat(72)),
            client: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::InvalidCredentials));
}

#[tokio::test]
async fn set_admin_grants_and_revokes_by_email() {
    let existing = user("boss@example.com", false);
    let id = existing.id;
    let mut users = MockUserRepo::new();
    let found = existing.clone();
    users
        .expect_find_by_email()
        .withf(|e| e.as_str() == "boss@example.com")
        .returning(move |_| Ok(Some(found.clone())));
    users.expect_find_by_email().returning(|_| Ok(None));
    users
        .expect_set_admin()
        .with(eq(id), eq(true))
        .times(1)
        .returning(move |_, _| {
            let mut u = existing.clone();
            u.is_admin = true;
            Ok(Some(u))
        });
    let svc = service(users, MockPasswordHasher::new(), MockTokenService::new());
    let granted = svc.set_admin(" BOSS@example.com", true).await.unwrap();
    assert!(granted.is_admin);
    assert!(matches!(
        svc.set_admin("nobody@example.com", true).await,
        Err(SetAdminError::UnknownUser)
    ));
    assert!(matches!(
        svc.set_admin("not an email", false).await,
        Err(SetAdminError::Invalid(_))
    ));
}

#[tokio::test]
async fn expired_token_and_deleted_user_are_unauthenticated() {
    let mut tokens = MockTokenService::new();
    tokens
        .expect_verify()
        .with(eq("old"))
        .returning(|_| Err(TokenError::Expired));
    let ghost = UserId::new();
    tokens
        .expect_verify()
        .with(eq("ghost"))
        .returning(move |_| Ok(ghost));
    let mut users = MockUserRepo::new();
    users.expect_find_by_id().returning(|_| Ok(None));
    let svc = service(users, MockPasswordHasher::new(), tokens);
    assert!(matches!(
        svc.authenticate("old").await,
        Err(AuthenticateError::Unauthenticated("token expired"))
    ));
    assert!(matches!(
        svc.authenticate("ghost").await,
        Err(AuthenticateError::Unauthenticated(_))
    ));
}

#[tokio::test]
async fn store_failure_is_unexpected_not_invalid_credentials() {
    let mut users = MockUserRepo::new();
    users
        .expect_find_by_email()
        .returning(|_| Err(RepoError(anyhow::anyhow!("connection reset"))));
    let svc = service(users, MockPasswordHasher::new(), MockTokenService::new());
    let err = svc
        .login(LoginRequest {
            email: "a@example.com".into(),
            password: "password1".into(),
            client: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::Unexpected(_)));
}

/// A counter whose account and client keys hold `failures` and whose in-flight slots are free.
fn counter_at(failures: u32) -> crate::auth::MockAttemptCounter {
    let count = |attempts| crate::auth::AttemptCount {
        attempts,
        window_ends_at: Utc::now() + chrono::Duration::seconds(600),
    };
    let mut counter = crate::auth::MockAttemptCounter::new();
    counter
        .expect_current()
        .returning(move |_, _| Ok(count(failures)));
    counter
        .expect_record()
        .withf(|k, _| k.as_str().starts_with("inflight:"))
        .returning(move |_, _| Ok(count(1)));
    counter
}

fn login_from(client: &str, email: &str, password: &str) -> LoginRequest {
    LoginRequest {
        email: email.into(),
        password: password.into(),
        client: Some(client.into()),
    }
}

/// Over the limit: refused before any lookup or hash (the mocks expect none), with the time
/// left in the window, for known and unknown emails alike.
#[tokio::test]
async fn attempts_beyond_the_limit_are_throttled_without_hashing() {
    let svc = service(
        MockUserRepo::new(),
        MockPasswordHasher::new(),
        MockTokenService::new(),
    )
    .with_login_throttle(
        Arc::new(counter_at(5)),
        crate::auth::ThrottlePolicy::default(),
    );
    let err = svc
        .login(login_from(
            "203.0.113.9",
            "whoever@example.com",
            "password1",
        ))
        .await
        .unwrap_err();
    let LoginError::Throttled { retry_after } = err else {
        panic!("expected Throttled, got {err:?}");
    };
    assert!(
        retry_after.as_secs() > 590 && retry_after.as_secs() <= 600,
        "{retry_after:?}"
    );
}

/// A successful login frees its in-flight slot and clears the account's failures; nothing is
/// counted against the client.
#[tokio::test]
async fn success_resets_the_account_and_frees_its_slot() {
    let mut counter = counter_at(1);
    counter
        .expect_reset()
        .withf(|k| k.as_str() == "account:ada@example.com")
        .times(1)
        .returning(|_| Ok(()));
    counter
        .expect_forgive()
        .withf(|k| k.as_str() == "inflight:ada@example.com")
        .times(1)
        .returning(|_| Ok(()));
    let mut users = MockUserRepo::new();
    users
        .expect_find_by_email()
        .returning(|e| Ok(Some(user(e.as_str(), false))));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().returning(|_, _| Ok(true));
    let svc = service(users, hasher, tokens_ok())
        .with_login_throttle(Arc::new(counter), crate::auth::ThrottlePolicy::default());
    svc.login(login_from("198.51.100.7", " Ada@Example.com", "password1"))
        .await
        .unwrap();
}

/// A wrong password counts one failure against the account and one against the client, and
/// frees its slot.
#[tokio::test]
async fn a_failure_counts_against_account_and_client() {
    let mut counter = counter_at(0);
    counter
        .expect_forgive()
        .withf(|k| k.as_str() == "inflight:ada@example.com")
        .times(1)
        .returning(|_| Ok(()));
    let recorded = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = recorded.clone();
    counter
        .expect_record()
        .withf(|k, _| !k.as_str().starts_with("inflight:"))
        .returning(move |k, _| {
            seen.lock().unwrap().push(k.as_str().to_owned());
            Ok(crate::auth::AttemptCount {
                attempts: 1,
                window_ends_at: Utc::now(),
            })
        });
    let mut users = MockUserRepo::new();
    users
        .expect_find_by_email()
        .returning(|e| Ok(Some(user(e.as_str(), false))));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().returning(|_, _| Ok(false));
    let svc = service(users, hasher, MockTokenService::new())
        .with_login_throttle(Arc::new(counter), crate::auth::ThrottlePolicy::default());
    let err = svc
        .login(login_from("198.51.100.7", "ada@example.com", "password1"))
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::InvalidCredentials), "{err:?}");
    assert_eq!(
        *recorded.lock().unwrap(),
        ["account:ada@example.com", "client:198.51.100.7"]
    );
}
