//! Persona fan-out (`cargo xtask bench personas`): attach a persona's shared block to 1,000
//! agents through a `BlockStore` stand-in that adds 5 ms per call, as the server does it
//! (bounded concurrency), beside a sequential baseline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use pi_domain::RepoError;
use pi_domain::agent::{AgentGateway, AgentId, AgentSpec, BlockId, PiAgentTemplate};
use pi_domain::persona::{
    Persona, PersonaDef, PersonaHandle, PersonaLock, PersonaLockGuard, PersonaRepo, PersonaService,
    UserPersona,
};
use pi_domain::user::{DisplayName, UserId};
use pi_testkit::FakeAgentBackend;
use uuid::Uuid;

/// An in-memory persona repository whose persona has `agents` linked.
struct Repo {
    persona: Mutex<Persona>,
    agents: Vec<AgentId>,
}

#[async_trait]
impl PersonaRepo for Repo {
    async fn list(&self) -> Result<Vec<Persona>, RepoError> {
        Ok(vec![self.persona.lock().unwrap().clone()])
    }
    async fn get_by_handle(&self, _: &PersonaHandle) -> Result<Option<Persona>, RepoError> {
        Ok(Some(self.persona.lock().unwrap().clone()))
    }
    async fn get_or_create(&self, _: PersonaDef) -> Result<Persona, RepoError> {
        Ok(self.persona.lock().unwrap().clone())
    }
    async fn upsert_link(&self, _: UserId, _: Uuid, _: f64) -> Result<(), RepoError> {
        Ok(())
    }
    async fn agents_of_persona(&self, _: Uuid) -> Result<Vec<AgentId>, RepoError> {
        Ok(self.agents.clone())
    }
    async fn personas_of(&self, _: UserId) -> Result<Vec<UserPersona>, RepoError> {
        Ok(Vec::new())
    }
    async fn agent_of_user(&self, _: UserId) -> Result<Option<AgentId>, RepoError> {
        Ok(None)
    }
    async fn set_shared_block(&self, _: Uuid, block: &BlockId) -> Result<(), RepoError> {
        self.persona.lock().unwrap().shared_block_id = Some(block.clone());
        Ok(())
    }
}

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

async fn fan_out(agents: usize, concurrency: usize) -> (Duration, usize) {
    let backend = Arc::new(FakeAgentBackend::new());
    let template = PiAgentTemplate::builtin().unwrap();
    let name = DisplayName::parse("Bench").unwrap();
    let mut ids = Vec::with_capacity(agents);
    for _ in 0..agents {
        let spec: AgentSpec = template.spec_for(&name, None, Vec::new(), &[]);
        ids.push(backend.create_agent(spec).await.unwrap());
    }
    backend.set_latency(Duration::from_millis(5));
    let handle = PersonaHandle::parse("qsr_real_estate").unwrap();
    let repo = Arc::new(Repo {
        persona: Mutex::new(Persona {
            id: Uuid::nil(),
            def: PersonaDef::derived(handle.clone()),
            shared_block_id: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }),
        agents: ids,
    });
    let service = PersonaService::new(repo, backend, Arc::new(NoLock), concurrency);
    let started = Instant::now();
    let report = service.attach_shared_block(&handle).await.unwrap();
    (started.elapsed(), report.attached.len())
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let n = if full { 1_000 } else { 50 };
    for concurrency in [32, 64] {
        let (elapsed, attached) = rt.block_on(fan_out(n, concurrency));
        println!(
            "persona fan-out to {n} agents, 5 ms per call, concurrency {concurrency}: {:.0} ms ({attached} attached)",
            elapsed.as_secs_f64() * 1e3
        );
        assert_eq!(attached, n);
    }
    let (elapsed, attached) = rt.block_on(fan_out(n, 1));
    println!(
        "baseline, sequential (concurrency 1): {:.0} ms ({attached} attached)",
        elapsed.as_secs_f64() * 1e3
    );
}
