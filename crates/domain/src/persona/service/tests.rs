use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::Utc;
use uuid::Uuid;

use super::*;
use crate::agent::{Block, MockBlockStore};
use crate::persona::{MockPersonaRepo, PersonaLockGuard};

struct NoLock;
struct NoGuard;

#[async_trait]
impl PersonaLockGuard for NoGuard {
    async fn release(self: Box<Self>) {}
}

#[async_trait]
impl PersonaLock for NoLock {
    async fn lock(&self, _: &PersonaHandle) -> Result<Box<dyn PersonaLockGuard>, RepoError> {
        Ok(Box::new(NoGuard))
    }
}

fn persona(block: Option<&str>) -> Persona {
    Persona {
        id: Uuid::nil(),
        def: PersonaDef::derived(PersonaHandle::parse("qsr_real_estate").unwrap()),
        shared_block_id: block.map(|b| BlockId(b.into())),
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn block(id: &str) -> Block {
    Block {
        id: BlockId(id.into()),
        label: "qsr_real_estate_service_experience".into(),
        value: String::new(),
        limit: 8000,
        description: "d".into(),
        read_only: false,
    }
}

fn handle() -> PersonaHandle {
    PersonaHandle::parse("qsr_real_estate").unwrap()
}

#[tokio::test]
async fn the_shared_block_is_created_once_and_then_found_by_id() {
    let stored = Arc::new(std::sync::Mutex::new(None::<String>));
    let mut repo = MockPersonaRepo::new();
    let s = stored.clone();
    repo.expect_get_by_handle()
        .returning(move |_| Ok(Some(persona(s.lock().unwrap().as_deref()))));
    let s = stored.clone();
    repo.expect_set_shared_block()
        .times(1)
        .returning(move |_, b| {
            *s.lock().unwrap() = Some(b.0.clone());
            Ok(())
        });
    let mut blocks = MockBlockStore::new();
    blocks
        .expect_create_block()
        .withf(|spec| {
            spec.label == "qsr_real_estate_service_experience"
                && spec.limit == 8000
                && spec.description.contains("Never write names")
        })
        .times(1)
        .returning(|_| Ok(block("block-1")));
    let svc = PersonaService::new(Arc::new(repo), Arc::new(blocks), Arc::new(NoLock), 4);
    for _ in 0..3 {
        assert_eq!(
            svc.get_or_create_shared_block(&handle()).await.unwrap().0,
            "block-1"
        );
    }
}

#[tokio::test]
async fn fan_out_skips_agents_that_have_the_block_and_survives_failures() {
    let mut repo = MockPersonaRepo::new();
    repo.expect_get_by_handle()
        .returning(|_| Ok(Some(persona(Some("block-1")))));
    repo.expect_agents_of_persona()
        .returning(|_| Ok((0..6).map(|i| AgentId(format!("agent-{i}"))).collect()));
    let mut blocks = MockBlockStore::new();
    blocks
        .expect_agents_of_block()
        .returning(|_| Ok(vec![AgentId("agent-0".into()), AgentId("agent-1".into())]));
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    blocks.expect_attach_block().returning(move |agent, _| {
        c.fetch_add(1, Ordering::SeqCst);
        assert!(
            agent.0 != "agent-0" && agent.0 != "agent-1",
            "already attached"
        );
        if agent.0 == "agent-3" {
            Err(AgentError::Unavailable("boom".into()))
        } else {
            Ok(())
        }
    });
    let svc = PersonaService::new(Arc::new(repo), Arc::new(blocks), Arc::new(NoLock), 2);
    let report = svc.attach_shared_block(&handle()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(report.already_attached, 2);
    let attached: Vec<&str> = report.attached.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(attached, ["agent-2", "agent-4", "agent-5"]);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0.0, "agent-3");
}

#[tokio::test]
async fn assign_validates_handle_and_confidence() {
    let svc = PersonaService::new(
        Arc::new(MockPersonaRepo::new()),
        Arc::new(MockBlockStore::new()),
        Arc::new(NoLock),
        2,
    );
    for (h, c) in [
        ("QSR", 0.5),
        ("qsr_real_estate", 1.5),
        ("qsr_real_estate", -0.1),
        ("qsr_real_estate", f64::NAN),
    ] {
        assert!(
            matches!(
                svc.assign(crate::user::UserId::new(), h, c).await,
                Err(PersonaError::Invalid(_))
            ),
            "{h} {c}"
        );
    }
}
