use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;

use super::*;
use crate::agent::{AgentReply, MockAgentGateway, PiAgentTemplate};
use crate::chat::{MockConversationRepo, MockIdempotencyRepo, MockMessageRepo};
use crate::user::UserId;
use crate::user::{DisplayName, Email, MockUserRepo, PasswordHash};

fn user(agent: Option<&str>) -> User {
    User {
        id: UserId::new(),
        email: Email::parse("ada@example.com").unwrap(),
        display_name: DisplayName::parse("Ada").unwrap(),
        password_hash: PasswordHash::new("h"),
        agent_id: agent.map(str::to_owned),
        is_admin: false,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn conversation(owner: UserId, id: ConversationId) -> Conversation {
    Conversation {
        id,
        user_id: owner,
        title: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn stored(conv: ConversationId, role: Role, content: &str) -> Message {
    Message {
        id: super::super::MessageId::new(),
        conversation_id: conv,
        role,
        content: content.into(),
        created_at: Utc::now(),
    }
}

fn text_reply(text: &str) -> AgentReply {
    AgentReply {
        steps: vec![AgentStep::Assistant { text: text.into() }],
        usage: Default::default(),
    }
}

type AppendLog = Arc<std::sync::Mutex<Vec<(Role, String, Option<String>)>>>;

/// Messages repo that accepts appends to any conversation of `owner` and records them.
fn messages_for(owner: UserId, log: AppendLog) -> MockMessageRepo {
    let mut messages = MockMessageRepo::new();
    messages
        .expect_append()
        .returning(move |who, conv, role, content, title| {
            assert_eq!(who, owner);
            log.lock().unwrap().push((role, content.clone(), title));
            Ok(Some((
                stored(conv, role, &content),
                conversation(owner, conv),
            )))
        });
    messages
}

fn service(
    users: MockUserRepo,
    messages: MockMessageRepo,
    agents: MockAgentGateway,
) -> ChatService {
    keyed_service(users, messages, MockIdempotencyRepo::new(), agents)
}

fn keyed_service(
    users: MockUserRepo,
    messages: MockMessageRepo,
    keys: MockIdempotencyRepo,
    agents: MockAgentGateway,
) -> ChatService {
    let users = Arc::new(users);
    let agents = Arc::new(agents);
    let provisioner = Arc::new(AgentProvisioner::new(
        users.clone(),
        agents.clone(),
        Arc::new(PiAgentTemplate::builtin().unwrap()),
        Vec::new(),
    ));
    ChatService::new(
        users,
        Arc::new(MockConversationRepo::new()),
        Arc::new(messages),
        Arc::new(keys),
        agents,
        provisioner,
    )
}

#[tokio::test]
async fn first_message_creates_the_agent_once_and_stores_both_messages() {
    let u = user(None);
    let uid = u.id;
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut users = MockUserRepo::new();
    let fresh = u.clone();
    users
        .expect_find_by_id()
        .returning(move |_| Ok(Some(fresh.clone())));
    users
        .expect_set_agent_id_if_unset()
        .times(1)
        .returning(|_, id| Ok(Some(id.to_owned())));
    let mut agents = MockAgentGateway::new();
    agents
        .expect_create_agent()
        .times(1)
        .withf(|spec| {
            spec.memory_blocks
                .iter()
                .any(|b| b.label == "human" && b.value.contains("Ada"))
        })
        .returning(|_| Ok(AgentId("agent-1".into())));
    agents
        .expect_send_message()
        .withf(move |id, m| id.0 == "agent-1" && m.on_behalf_of == Some(uid))
        .returning(|_, _| Ok(text_reply("Hi Ada")));
    let svc = service(users, messages_for(uid, log.clone()), agents);
    let conv = ConversationId::new();
    let exchange = svc
        .send_message(
            &u,
            conv,
            "Which coffee chains are busiest in Austin?".into(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(exchange.assistant_message.content, "Hi Ada");
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].0, Role::User);
    assert_eq!(
        log[0].2.as_deref(),
        Some("Which coffee chains are busiest in Austin")
    );
    assert_eq!(log[1].0, Role::Agent);
    assert_eq!(log[1].2, None);
}

#[tokio::test]
async fn concurrent_first_messages_create_one_agent() {
    let u = user(None);
    let uid = u.id;
    let stored_agent = Arc::new(std::sync::Mutex::new(None::<String>));
    let mut users = MockUserRepo::new();
    let (s1, s2) = (stored_agent.clone(), stored_agent.clone());
    let base = u.clone();
    users.expect_find_by_id().returning(move |_| {
        let mut v = base.clone();
        v.agent_id = s1.lock().unwrap().clone();
        Ok(Some(v))
    });
    users
        .expect_set_agent_id_if_unset()
        .returning(move |_, id| {
            let mut slot = s2.lock().unwrap();
            Ok(Some(slot.get_or_insert_with(|| id.to_owned()).clone()))
        });
    let creates = Arc::new(AtomicUsize::new(0));
    let c = creates.clone();
    let mut agents = MockAgentGateway::new();
    agents.expect_create_agent().returning(move |_| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        Ok(AgentId(format!("agent-{n}")))
    });
    agents
        .expect_send_message()
        .returning(|_, _| Ok(text_reply("ok")));
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let svc = Arc::new(service(users, messages_for(uid, log), agents));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let svc = svc.clone();
            let u = u.clone();
            tokio::spawn(async move {
                svc.send_message(&u, ConversationId::new(), format!("hello {i}"), None)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(creates.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn losing_the_cross_process_race_deletes_the_extra_agent() {
    let u = user(None);
    let mut users = MockUserRepo::new();
    let fresh = u.clone();
    users
        .expect_find_by_id()
        .returning(move |_| Ok(Some(fresh.clone())));
    users
        .expect_set_agent_id_if_unset()
        .returning(|_, _| Ok(Some("agent-winner".into())));
    let mut agents = MockAgentGateway::new();
    agents
        .expect_create_agent()
        .returning(|_| Ok(AgentId("agent-loser".into())));
    agents
        .expect_delete_agent()
        .withf(|id| id.0 == "agent-loser")
        .times(1)
        .returning(|_| Ok(()));
    let svc = service(users, MockMessageRepo::new(), agents);
    assert_eq!(svc.ensure_agent(&u).await.unwrap().0, "agent-winner");
}

#[tokio::test]
async fn agent_failure_keeps_the_user_message_and_stores_no_reply() {
    for (error, expect_timeout) in [
        (AgentError::Unavailable("connection refused".into()), false),
        (AgentError::Timeout, true),
    ] {
        let u = user(Some("agent-1"));
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut agents = MockAgentGateway::new();
        let e = error.clone();
        agents
            .expect_send_message()
            .returning(move |_, _| Err(e.clone()));
        let svc = service(MockUserRepo::new(), messages_for(u.id, log.clone()), agents);
        let err = svc
            .send_message(&u, ConversationId::new(), "hello".into(), None)
            .await
            .unwrap_err();
        if expect_timeout {
            assert!(matches!(err, ChatError::AgentTimeout), "{err:?}");
        } else {
            assert!(matches!(err, ChatError::AgentUnavailable(_)), "{err:?}");
        }
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 1, "only the user message is stored");
        assert_eq!(log[0].0, Role::User);
    }
}

#[tokio::test]
async fn a_vanished_agent_is_replaced_once() {
    let u = user(Some("agent-gone"));
    let mut users = MockUserRepo::new();
    users
        .expect_clear_agent_id()
        .withf(|_, expected| expected == "agent-gone")
        .times(1)
        .returning(|_, _| Ok(()));
    let mut no_agent = u.clone();
    no_agent.agent_id = None;
    users
        .expect_find_by_id()
        .returning(move |_| Ok(Some(no_agent.clone())));
    users
        .expect_set_agent_id_if_unset()
        .returning(|_, id| Ok(Some(id.to_owned())));
    let mut agents = MockAgentGateway::new();
    agents
        .expect_send_message()
        .withf(|id, _| id.0 == "agent-gone")
        .returning(|_, _| Err(AgentError::NotFound("agent".into())));
    agents
        .expect_create_agent()
        .times(1)
        .returning(|_| Ok(AgentId("agent-new".into())));
    agents
        .expect_send_message()
        .withf(|id, _| id.0 == "agent-new")
        .returning(|_, _| Ok(text_reply("back")));
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let svc = service(users, messages_for(u.id, log), agents);
    let exchange = svc
        .send_message(&u, ConversationId::new(), "hello".into(), None)
        .await
        .unwrap();
    assert_eq!(exchange.assistant_message.content, "back");
}

#[tokio::test]
async fn another_users_conversation_is_not_found_and_the_agent_is_not_called() {
    let u = user(Some("agent-1"));
    let mut messages = MockMessageRepo::new();
    messages.expect_append().returning(|_, _, _, _, _| Ok(None));
    // No expectations on the gateway: any call would fail the test.
    let svc = service(MockUserRepo::new(), messages, MockAgentGateway::new());
    let err = svc
        .send_message(&u, ConversationId::new(), "hello".into(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::NotFound));
}

#[tokio::test]
async fn empty_and_oversized_content_are_invalid() {
    let u = user(Some("agent-1"));
    let svc = service(
        MockUserRepo::new(),
        MockMessageRepo::new(),
        MockAgentGateway::new(),
    );
    for content in [String::new(), "   \n".into(), "x".repeat(16_001)] {
        let err = svc
            .send_message(&u, ConversationId::new(), content, None)
            .await
            .unwrap_err();
        assert!(matches!(err, ChatError::Invalid(_)));
    }
}

#[tokio::test]
async fn an_empty_agent_answer_is_a_failure_not_a_blank_reply() {
    let u = user(Some("agent-1"));
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut agents = MockAgentGateway::new();
    agents.expect_send_message().returning(|_, _| {
        Ok(AgentReply {
            steps: vec![AgentStep::Reasoning { text: "hmm".into() }],
            usage: Default::default(),
        })
    });
    let svc = service(MockUserRepo::new(), messages_for(u.id, log.clone()), agents);
    let err = svc
        .send_message(&u, ConversationId::new(), "hello".into(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::AgentUnavailable(_)));
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failing_agent_store_is_our_fault_not_the_agents() {
    let u = user(Some("agent-1"));
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut agents = MockAgentGateway::new();
    agents
        .expect_send_message()
        .returning(|_, _| Err(AgentError::Store("read history".into())));
    let svc = service(MockUserRepo::new(), messages_for(u.id, log.clone()), agents);
    let err = svc
        .send_message(&u, ConversationId::new(), "hello".into(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::Unexpected(_)), "{err:?}");
    assert_eq!(log.lock().unwrap().len(), 1, "the user message is kept");
}

#[tokio::test]
async fn a_user_deleted_mid_turn_is_not_a_missing_conversation() {
    let u = user(None);
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut users = MockUserRepo::new();
    users.expect_find_by_id().returning(|_| Ok(None));
    let svc = service(users, messages_for(u.id, log), MockAgentGateway::new());
    let err = svc
        .send_message(&u, ConversationId::new(), "hello".into(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::UserGone), "{err:?}");
}

// ---- Idempotency keys: the state machine over the port ---------------------------------------

fn key() -> IdempotencyKey {
    IdempotencyKey::parse("k-1").unwrap()
}

fn record(conv: ConversationId, state: KeyState, owner: &str, lease_in_ms: i64) -> KeyRecord {
    KeyRecord {
        conversation_id: conv,
        content: "hello".into(),
        state,
        owner: owner.into(),
        lease_until: Utc::now().timestamp_millis() + lease_in_ms,
        user_message: None,
        assistant_message: None,
        steps: Vec::new(),
    }
}

/// Keys that find `existing` under the key (purges allowed, releases counted).
fn keys_finding(existing: KeyRecord, releases: Arc<AtomicUsize>) -> MockIdempotencyRepo {
    let mut keys = MockIdempotencyRepo::new();
    keys.expect_purge().returning(|_| Ok(0));
    keys.expect_insert_or_get()
        .returning(move |_, _, _, _, _, _| {
            Ok(Some(KeyClaim::Existing(Box::new(existing.clone()))))
        });
    keys.expect_release().returning(move |_, _, _| {
        releases.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    keys
}

#[tokio::test]
async fn a_key_running_on_another_replica_within_its_lease_is_409_and_calls_nothing() {
    let u = user(Some("agent-1"));
    let conv = ConversationId::new();
    let releases = Arc::new(AtomicUsize::new(0));
    let keys = keys_finding(
        record(conv, KeyState::Running, "elsewhere.1", 60_000),
        releases.clone(),
    );
    // No expectations on messages or the gateway: any call fails the test.
    let svc = keyed_service(
        MockUserRepo::new(),
        MockMessageRepo::new(),
        keys,
        MockAgentGateway::new(),
    );
    let err = svc
        .send_message(&u, conv, "hello".into(), Some(key()))
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::KeyInUse { .. }), "{err:?}");
}

#[tokio::test]
async fn a_lease_that_ended_is_taken_over_and_a_stored_user_message_completed_not_resent() {
    let u = user(Some("agent-1"));
    let conv = ConversationId::new();
    let mut abandoned = record(conv, KeyState::Running, "elsewhere.1", -1);
    let first = stored(conv, Role::User, "hello");
    abandoned.user_message = Some(first.clone());
    let mut keys = keys_finding(abandoned, Arc::new(AtomicUsize::new(0)));
    keys.expect_take_over()
        .times(1)
        .returning(|_, _, seen, _, _| Ok(seen.user_message.is_some()));
    keys.expect_append_user_message().never();
    keys.expect_append_reply()
        .times(1)
        .returning(move |_, _, _, c, text, _| Ok(Some(stored(c, Role::Agent, &text))));
    let mut agents = MockAgentGateway::new();
    agents
        .expect_send_message()
        .times(1)
        .withf(|_, m| m.content == "hello")
        .returning(|_, _| Ok(text_reply("Done now.")));
    let svc = keyed_service(MockUserRepo::new(), MockMessageRepo::new(), keys, agents);
    let exchange = svc
        .send_message(&u, conv, "hello".into(), Some(key()))
        .await
        .unwrap();
    assert_eq!(
        exchange.user_message, first,
        "the stored message, not a new one"
    );
    assert_eq!(exchange.assistant_message.content, "Done now.");
}

#[tokio::test]
async fn losing_the_take_over_race_or_being_taken_over_is_409() {
    let u = user(Some("agent-1"));
    let conv = ConversationId::new();
    // Another retry took the failed attempt first.
    let mut keys = keys_finding(
        record(conv, KeyState::Failed, "elsewhere.1", 60_000),
        Arc::new(AtomicUsize::new(0)),
    );
    keys.expect_take_over().returning(|_, _, _, _, _| Ok(false));
    let svc = keyed_service(
        MockUserRepo::new(),
        MockMessageRepo::new(),
        keys,
        MockAgentGateway::new(),
    );
    let err = svc
        .send_message(&u, conv, "hello".into(), Some(key()))
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::KeyInUse { .. }), "{err:?}");

    // This attempt's lease ended and another took the key before the user message was stored:
    // nothing stored, 409, and this attempt marked failed.
    let releases = Arc::new(AtomicUsize::new(0));
    let mut keys = MockIdempotencyRepo::new();
    keys.expect_purge().returning(|_| Ok(0));
    keys.expect_insert_or_get()
        .returning(|_, _, _, _, _, _| Ok(Some(KeyClaim::Inserted)));
    keys.expect_append_user_message()
        .returning(|_, _, _, _, _, _| {
            Err(RepoError(anyhow::Error::new(
                super::super::AttemptTakenOver,
            )))
        });
    let counted = releases.clone();
    keys.expect_release().returning(move |_, _, _| {
        counted.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    let svc = keyed_service(
        MockUserRepo::new(),
        MockMessageRepo::new(),
        keys,
        MockAgentGateway::new(),
    );
    let err = svc
        .send_message(&u, conv, "hello".into(), Some(key()))
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::KeyInUse { .. }), "{err:?}");
    assert_eq!(releases.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_finished_key_replays_its_exchange_without_the_agent() {
    let u = user(Some("agent-1"));
    let conv = ConversationId::new();
    let mut done = record(conv, KeyState::Done, "elsewhere.1", -1);
    done.user_message = Some(stored(conv, Role::User, "hello"));
    done.assistant_message = Some(stored(conv, Role::Agent, "Hi."));
    done.steps = vec![AgentStep::Assistant { text: "Hi.".into() }];
    let keys = keys_finding(done.clone(), Arc::new(AtomicUsize::new(0)));
    let svc = keyed_service(
        MockUserRepo::new(),
        MockMessageRepo::new(),
        keys,
        MockAgentGateway::new(),
    );
    let exchange = svc
        .send_message(&u, conv, "hello".into(), Some(key()))
        .await
        .unwrap();
    assert_eq!(Some(exchange.user_message), done.user_message);
    assert_eq!(Some(exchange.assistant_message), done.assistant_message);
    assert_eq!(exchange.steps, done.steps);
}

#[tokio::test]
async fn a_cancelled_keyed_send_is_marked_failed_for_the_next_retry() {
    let u = user(Some("agent-1"));
    let conv = ConversationId::new();
    let releases = Arc::new(AtomicUsize::new(0));
    let mut keys = MockIdempotencyRepo::new();
    keys.expect_purge().returning(|_| Ok(0));
    keys.expect_insert_or_get()
        .returning(|_, _, _, _, _, _| Ok(Some(KeyClaim::Inserted)));
    keys.expect_append_user_message()
        .returning(move |_, _, _, c, text, _| Ok(Some(stored(c, Role::User, &text))));
    let counted = releases.clone();
    keys.expect_release().returning(move |_, _, _| {
        counted.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    // The request goes away mid-turn, after the user message is stored: here the future is
    // abandoned by a panic while the reply is being stored (what dropping it does to the
    // guard is the same: no normal end).
    keys.expect_append_reply()
        .returning(|_, _, _, _, _, _| panic!("the request went away"));
    let mut agents = MockAgentGateway::new();
    agents
        .expect_send_message()
        .returning(|_, _| Ok(text_reply("never stored")));
    let svc = keyed_service(MockUserRepo::new(), MockMessageRepo::new(), keys, agents);
    let send = svc.send_message(&u, conv, "hello".into(), Some(key()));
    let abandoned = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(send)).await;
    assert!(abandoned.is_err(), "the send was cut short");
    assert_eq!(releases.load(Ordering::SeqCst), 0, "not by the send itself");
    for _ in 0..100 {
        if releases.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        releases.load(Ordering::SeqCst),
        1,
        "released once, in the background"
    );
    assert!(svc.running.is_empty(), "the key is free in this process");
}
