//! The offline model: a deterministic stand-in for an LLM, used when no
//! `LLM_BASE_URL` is configured.
//!
//! It is not a language model. It recognises a handful of intents in the user's text — analytics
//! questions (busiest places or chains in a city, summaries, comparisons of brands, trade areas,
//! audiences, visit flows, covered metros) and personal facts ("my name is…", "I like…") —
//! extracts brands, categories, cities and years (`parse`), calls the same tools a real model
//! would (`plan`), and phrases the answer from the tools' typed outputs (`phrase`), always
//! saying which tools it used.

mod parse;
mod phrase;
mod plan;
mod tools;

use async_trait::async_trait;
use pi_domain::agent::AgentError;
use pi_domain::agent::runtime::{ChatRequest, ChatResponse, LanguageModel};

/// The offline model.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineModel;

impl OfflineModel {
    /// The model's answer to a request (what [`LanguageModel::complete`] returns).
    pub fn answer(&self, request: &ChatRequest) -> ChatResponse {
        plan::plan(request)
    }
}

#[async_trait]
impl LanguageModel for OfflineModel {
    fn describe(&self) -> String {
        "offline (deterministic stand-in; set LLM_BASE_URL for a real model)".into()
    }

    /// With a listener, the answer is told word by word (each word with the whitespace before
    /// it), as a streaming model would.
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, AgentError> {
        let response = self.answer(&request);
        if let (Some(sink), Some(text)) = (&request.on_text, &response.content) {
            for word in words(text) {
                sink.send(word);
                tokio::task::yield_now().await;
            }
        }
        Ok(response)
    }
}

/// `text` cut before each run of whitespace: the pieces concatenate to `text`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let start = rest.len() - rest.trim_start().len();
        let end = rest[start..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |i| start + i);
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(word)
    })
}

#[cfg(test)]
mod tests;
