//! HTTP to Letta: routes (ids encoded as path segments, values as query pairs), the headers every
//! request carries, retries where repeating is safe, and error answers as the port's errors.

use std::fmt;
use std::time::Duration;

use pi_domain::agent::AgentError;
use reqwest::{Method, StatusCode, Url};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

/// Retries after a failed first attempt, for requests that are safe to repeat.
const RETRIES: u32 = 2;

/// Settings of the adapter.
#[derive(Clone)]
pub struct LettaConfig {
    /// e.g. `http://localhost:8283`.
    pub base_url: String,
    /// `LETTA_SERVER_PASSWORD` (or a Letta Cloud key).
    pub password: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Model handle for new agents.
    pub model: String,
    /// Embedding handle for new agents.
    pub embedding: String,
}

impl fmt::Debug for LettaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LettaConfig")
            .field("base_url", &self.base_url)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// A route under `/v1/`: path segments, each encoded as one segment, then query pairs.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    segments: Vec<String>,
    trailing_slash: bool,
    query: Vec<(&'static str, String)>,
}

impl Route {
    /// `/v1/<segments>`.
    pub(crate) fn item(segments: &[&str]) -> Self {
        Self {
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            trailing_slash: false,
            query: Vec::new(),
        }
    }

    /// `/v1/<segments>/`: Letta's collection routes need the trailing slash.
    pub(crate) fn collection(segments: &[&str]) -> Self {
        Self {
            trailing_slash: true,
            ..Self::item(segments)
        }
    }

    /// Adds `key=value` to the query.
    pub(crate) fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    fn url(&self, base_url: &str) -> Result<Url, AgentError> {
        // Empty and dot segments cannot be encoded as segments (URLs drop dot segments): no
        // Letta id is one.
        if let Some(bad) = self
            .segments
            .iter()
            .find(|s| matches!(s.as_str(), "" | "." | ".."))
        {
            return Err(AgentError::NotFound(format!("{bad:?} is not a Letta id")));
        }
        let unusable = |reason: String| {
            AgentError::Unavailable(format!("cannot reach Letta at {base_url}: {reason}"))
        };
        let mut url = Url::parse(base_url).map_err(|e| unusable(e.to_string()))?;
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| unusable("not an HTTP URL".into()))?;
            path.pop_if_empty().push("v1").extend(&self.segments);
            if self.trailing_slash {
                path.push("");
            }
        }
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        Ok(url)
    }
}

/// The path, unencoded and without the query (which may carry user text): for logs and errors.
impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/v1/{}", self.segments.join("/"))?;
        if self.trailing_slash {
            f.write_str("/")?;
        }
        Ok(())
    }
}

/// Whether a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Reads and idempotent writes: retried twice, with backoff, when Letta is unavailable.
    Safe,
    /// Sent once: a failed message send is never repeated blindly.
    Never,
}

/// The HTTP client of one Letta server (clones share the connection pool).
#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    config: LettaConfig,
}

impl Client {
    pub(crate) fn new(config: LettaConfig) -> Result<Self, AgentError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| AgentError::Unavailable(format!("cannot build the Letta client: {e}")))?;
        Ok(Self { http, config })
    }

    pub(crate) fn config(&self) -> &LettaConfig {
        &self.config
    }

    /// `GET`, retried, its answer decoded.
    pub(crate) async fn get<T: DeserializeOwned>(&self, route: &Route) -> Result<T, AgentError> {
        let text = self
            .request(Method::GET, route, None::<&()>, Repeat::Safe)
            .await?;
        decode(&Method::GET, route, &text)
    }

    /// `GET`, retried; the answer only has to be a success.
    pub(crate) async fn get_ok(&self, route: &Route) -> Result<(), AgentError> {
        self.call::<()>(Method::GET, route, None, Repeat::Safe)
            .await
    }

    /// A write, sent once, its answer decoded.
    pub(crate) async fn send<B, T>(
        &self,
        method: Method,
        route: &Route,
        body: &B,
    ) -> Result<T, AgentError>
    where
        B: Serialize + Sync + ?Sized,
        T: DeserializeOwned,
    {
        let text = self
            .request(method.clone(), route, Some(body), Repeat::Never)
            .await?;
        decode(&method, route, &text)
    }

    /// A request whose answer only has to be a success.
    pub(crate) async fn call<B>(
        &self,
        method: Method,
        route: &Route,
        body: Option<&B>,
        repeat: Repeat,
    ) -> Result<(), AgentError>
    where
        B: Serialize + Sync + ?Sized,
    {
        self.request(method, route, body, repeat).await.map(drop)
    }

    /// The answer's text, after retries where `repeat` allows them.
    async fn request<B>(
        &self,
        method: Method,
        route: &Route,
        body: Option<&B>,
        repeat: Repeat,
    ) -> Result<String, AgentError>
    where
        B: Serialize + Sync + ?Sized,
    {
        let url = route.url(&self.config.base_url)?;
        let mut attempt = 0u32;
        loop {
            match self.request_once(method.clone(), url.clone(), body).await {
                Err(AgentError::Unavailable(reason))
                    if repeat == Repeat::Safe && attempt < RETRIES =>
                {
                    tracing::warn!(%reason, attempt, path = %route, "Letta call failed; retrying");
                    metrics::counter!("pi_letta_retries_total").increment(1);
                    tokio::time::sleep(Duration::from_millis(150 * 2u64.pow(attempt))).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// A write sent once whose answer is a Server-Sent-Event stream: each `data:` payload (JSON
    /// text) goes to `on_data` as it arrives, until `[DONE]` or the end of the body. An
    /// `event: error` ends the stream with the error it carries.
    pub(crate) async fn stream<B>(
        &self,
        route: &Route,
        body: &B,
        mut on_data: impl FnMut(&str) -> Result<(), AgentError> + Send,
    ) -> Result<(), AgentError>
    where
        B: Serialize + Sync + ?Sized,
    {
        let url = route.url(&self.config.base_url)?;
        let mut response = self.respond(Method::POST, url, Some(body)).await?;
        let mut events = SseReader::default();
        while let Some(chunk) = response.chunk().await.map_err(read_error)? {
            for event in events.push(&chunk) {
                match event {
                    SseEvent::Data(data) => on_data(&data)?,
                    SseEvent::Error(data) => return Err(stream_error(&data)),
                    SseEvent::Done => return Ok(()),
                }
            }
        }
        Ok(())
    }

    /// Sends a request; an answer that is not a success is the error it stands for.
    async fn respond<B>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<reqwest::Response, AgentError>
    where
        B: Serialize + Sync + ?Sized,
    {
        let verb = method.clone();
        let mut request = self
            .http
            .request(method, url)
            .header("X-Stainless-Package-Version", "1.0.0");
        if let Some(password) = &self.config.password {
            request = request.bearer_auth(password);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let started = std::time::Instant::now();
        let sent = request.send().await;
        let status = match &sent {
            Ok(response) => response.status().as_str().to_owned(),
            Err(e) if e.is_timeout() => "timeout".to_owned(),
            Err(_) => "error".to_owned(),
        };
        metrics::histogram!(
            "pi_letta_request_duration_seconds",
            "method" => verb.as_str().to_owned(),
            "status" => status
        )
        .record(started.elapsed().as_secs_f64());
        let response = sent.map_err(|e| {
            if e.is_timeout() {
                AgentError::Timeout
            } else {
                // Without the URL: its query may hold user text (search queries, tags).
                AgentError::Unavailable(format!(
                    "cannot reach Letta at {}: {}",
                    self.config.base_url,
                    e.without_url()
                ))
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.map_err(read_error)?;
        Err(error_of(status, &ErrorBody::parse(&text)))
    }

    async fn request_once<B>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<String, AgentError>
    where
        B: Serialize + Sync + ?Sized,
    {
        let response = self.respond(method, url, body).await?;
        response.text().await.map_err(read_error)
    }
}

/// A failure while reading an answer's body.
fn read_error(e: reqwest::Error) -> AgentError {
    if e.is_timeout() {
        AgentError::Timeout
    } else {
        AgentError::Unavailable(format!("Letta's answer broke off: {}", e.without_url()))
    }
}

/// What an `event: error` of a stream stands for. Letta reports failures it finds after it
/// answered 200 this way, as `{"message_type": "error_message", "error_type", "message"}`
/// (a pending approval among them: its message starts with `CONFLICT`), or as an error body.
pub(crate) fn stream_error(data: &str) -> AgentError {
    let body = ErrorBody::parse(data);
    if let Some(llm) = body.llm_error() {
        return AgentError::Unavailable(format!(
            "Letta's LLM failed ({}): {}",
            llm.kind, llm.message
        ));
    }
    let message = match (body.message.as_deref(), body.detail()) {
        (Some(message), _) if !message.is_empty() => message,
        (_, "") => body.error_message().unwrap_or("no details"),
        (_, detail) => detail,
    };
    if message.starts_with("CONFLICT") {
        return AgentError::Rejected(format!("{CONFLICT}: {message}"));
    }
    match body.error_type.as_deref() {
        Some(kind) if kind.starts_with("llm_") => {
            AgentError::Unavailable(format!("Letta's LLM failed ({kind}): {message}"))
        }
        _ => AgentError::Unavailable(format!("Letta's stream failed: {message}")),
    }
}

/// One event of a Server-Sent-Event stream, as far as Letta's streams need.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SseEvent {
    /// A `data:` payload.
    Data(String),
    /// The payload of an `event: error`.
    Error(String),
    /// `data: [DONE]`.
    Done,
}

/// Splits a byte stream into events: lines are buffered until complete (a chunk may end inside
/// a line or a UTF-8 character); an event ends at a blank line.
#[derive(Debug, Default)]
pub(crate) struct SseReader {
    pending: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
}

impl SseReader {
    /// Takes the next chunk; returns the events it completed.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                events.extend(self.dispatch());
            } else if let Some(value) = line.strip_prefix("data:") {
                self.data
                    .push(value.strip_prefix(' ').unwrap_or(value).to_owned());
            } else if let Some(value) = line.strip_prefix("event:") {
                self.event = Some(value.trim().to_owned());
            }
            // Comments (`:`), `id:` and `retry:` lines carry nothing the adapter needs.
        }
        events
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if self.data.is_empty() {
            return None;
        }
        let data = std::mem::take(&mut self.data).join("\n");
        Some(match event.as_deref() {
            Some("error") => SseEvent::Error(data),
            _ if data == "[DONE]" => SseEvent::Done,
            _ => SseEvent::Data(data),
        })
    }
}

/// An answer Letta sent with success but that does not have the expected shape is a failure of
/// the backend, not of the request.
fn decode<T: DeserializeOwned>(
    method: &Method,
    route: &Route,
    text: &str,
) -> Result<T, AgentError> {
    serde_json::from_str(text).map_err(|e| {
        AgentError::Unavailable(format!(
            "Letta's answer to {method} {route} is not what the adapter expects: {e}"
        ))
    })
}

/// Maps a Letta error answer to the port's typed errors.
fn error_of(status: StatusCode, body: &ErrorBody) -> AgentError {
    if let Some(llm) = body.llm_error() {
        return AgentError::Unavailable(format!(
            "Letta's LLM failed ({}): {}",
            llm.kind, llm.message
        ));
    }
    let detail = body.detail();
    match status {
        StatusCode::NOT_FOUND => AgentError::NotFound(detail.to_owned()),
        // A path id that cannot be a Letta id (`agent-<uuid4>`) names no agent.
        StatusCode::UNPROCESSABLE_ENTITY if detail.contains("('path',") => {
            AgentError::NotFound(detail.to_owned())
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => AgentError::Unavailable(
            "Letta refused the credentials: check LETTA_SERVER_PASSWORD".into(),
        ),
        s if s.is_server_error() => {
            AgentError::Unavailable(format!("Letta failed ({s}): {detail}"))
        }
        StatusCode::CONFLICT => AgentError::Rejected(format!("{CONFLICT}: {detail}")),
        s => AgentError::Rejected(format!("Letta refused the request ({s}): {detail}")),
    }
}

/// How a 409 answer starts (Letta's `PENDING_APPROVAL`: the agent waits on a tool result).
pub(crate) const CONFLICT: &str = "Letta refused the request (409 Conflict)";

/// An error answer: `{"detail": "…"}`, `{"detail": {"code", "message"}}`, for LLM failures
/// `{"error": {"type", "message"}}`, in a stream `{"error_type", "message"}`. Read leniently:
/// any other body is an error without details.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    detail: Option<Detail>,
    #[serde(default)]
    error: Option<ErrorField>,
    /// Of an in-stream `error_message`.
    #[serde(default)]
    error_type: Option<String>,
    /// Of an in-stream `error_message`.
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Detail {
    Text(String),
    Object {
        #[serde(default)]
        message: String,
    },
    Other(IgnoredAny),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ErrorField {
    Llm(LlmError),
    Message { message: String },
    Other(IgnoredAny),
}

/// Letta's LLM failed (`llm_error`, `llm_rate_limit`, `llm_timeout`, …).
#[derive(Debug, Deserialize)]
struct LlmError {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

impl ErrorBody {
    /// Reads an error answer; a body that is not one gives an empty error.
    fn parse(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// The `detail` text (empty when there is none).
    fn detail(&self) -> &str {
        match &self.detail {
            Some(Detail::Text(text) | Detail::Object { message: text }) => text,
            Some(Detail::Other(_)) | None => "",
        }
    }

    /// The message of an `{"error": {"message"}}` that is not an LLM failure.
    fn error_message(&self) -> Option<&str> {
        match &self.error {
            Some(ErrorField::Llm(e)) => Some(&e.message),
            Some(ErrorField::Message { message }) => Some(message),
            Some(ErrorField::Other(_)) | None => None,
        }
    }

    /// The LLM failure, if that is what this is.
    fn llm_error(&self) -> Option<&LlmError> {
        match &self.error {
            Some(ErrorField::Llm(e)) => Some(e),
            Some(ErrorField::Message { .. } | ErrorField::Other(_)) | None => None,
        }
    }
}

#[cfg(test)]
mod tests;
