//! `GET /metrics`: Prometheus text exposition through the `metrics` facade and
//! `metrics-exporter-prometheus`. Every crate records with the facade's macros (HTTP traffic
//! here; agent turns, LLM and Letta calls, tool calls, login throttling and the database pool
//! where they happen); this module installs the process-wide recorder, adds the process
//! metrics (`metrics-process`: resident memory, CPU, open files, threads) at each scrape, and
//! renders. Routes are labelled by their pattern (`/chat/conversations/{id}/messages`), never
//! by raw paths, so label sets stay bounded.
//!
//! Access: an admin's JWT always reads; with `METRICS_TOKEN` set, callers present it as a bearer
//! token; without it only loopback clients may read (403 otherwise) — the client as resolved through
//! `TRUSTED_PROXIES`, so a proxy on the same host does not open the endpoint to everyone.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::ApiError;

/// Upper bounds (seconds) of every latency histogram's buckets.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0, 120.0,
];

/// How often histogram samples are folded into their buckets when nobody scrapes. The exporter
/// keeps every recorded sample (8 bytes and more each) until then: without this, a replica that
/// is not scraped grows by ~17 bytes per request for ever (1 MiB/s at 60k req/s).
const UPKEEP_EVERY: Duration = Duration::from_secs(1);

/// Work run before each scrape (e.g. reading the database pool's gauges).
pub type ScrapeHook = Arc<dyn Fn() + Send + Sync>;

/// The process's recorder: installed once, shared by every server in the process.
struct Recorder {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
    started: Instant,
}

fn recorder() -> &'static Recorder {
    static RECORDER: OnceLock<Recorder> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only when another recorder was installed first (then that one records).
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
        }
        if let Err(e) = spawn_upkeep(handle.clone(), UPKEEP_EVERY) {
            tracing::error!(error = %e, "cannot start metrics upkeep; only scrapes drain histograms");
        }
        describe();
        let process = metrics_process::Collector::new("pi_");
        process.describe();
        Recorder {
            handle,
            process,
            started: Instant::now(),
        }
    })
}

/// Drains `handle`'s pending histogram samples every `every`, on a small thread of its own
/// (independent of any async runtime, so it runs for the whole process).
fn spawn_upkeep(handle: PrometheusHandle, every: Duration) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                handle.run_upkeep();
            }
        })
        .map(drop)
}

/// Help texts of the metrics recorded across the workspace.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!("pi_build_info", "Version of the running service.");
    describe_gauge!("pi_uptime_seconds", Unit::Seconds, "Seconds since start.");
    describe_gauge!("pi_http_requests_in_flight", "Requests being served.");
    describe_counter!(
        "pi_http_requests_total",
        "HTTP requests by method, route pattern and status."
    );
    describe_histogram!(
        "pi_http_request_duration_seconds",
        Unit::Seconds,
        "Time to the response head, by route pattern."
    );
    describe_histogram!(
        "pi_agent_turn_duration_seconds",
        Unit::Seconds,
        "Agent turns (a user message to the agent's reply), by backend and outcome."
    );
    describe_counter!(
        "pi_agent_turn_failures_total",
        "Failed agent turns by backend and kind (unavailable, timeout, busy, ...)."
    );
    describe_histogram!(
        "pi_llm_request_duration_seconds",
        Unit::Seconds,
        "Requests to the OpenAI-compatible LLM, by HTTP status (or error)."
    );
    describe_counter!(
        "pi_llm_retries_total",
        "LLM requests retried after a 429, a 5xx or a connection error."
    );
    describe_histogram!(
        "pi_letta_request_duration_seconds",
        Unit::Seconds,
        "Requests to Letta, by method and HTTP status (or error)."
    );
    describe_counter!(
        "pi_letta_retries_total",
        "Letta requests retried after a 429, a 5xx or a connection error."
    );
    describe_histogram!(
        "pi_tool_call_duration_seconds",
        Unit::Seconds,
        "Tool calls run by Pi, by tool and outcome."
    );
    describe_counter!(
        "pi_login_throttled_total",
        "Login attempts refused by throttling (429) before any password check."
    );
    describe_gauge!(
        "pi_db_pool_connections",
        "Database pool connections by state (in_use, idle) and the pool's maximum (max)."
    );
    describe_counter!(
        "pi_db_pool_acquire_timeouts_total",
        "Requests that found every pool connection busy for the whole acquire timeout (10 s) and failed."
    );
}

/// The `/metrics` endpoint's state: who may read, and what to refresh before rendering.
pub struct HttpMetrics {
    token: Option<String>,
    hooks: Vec<ScrapeHook>,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("hooks", &self.hooks.len())
            .finish()
    }
}

impl HttpMetrics {
    /// Installs the process's recorder (once); `token` guards `GET /metrics` (loopback only
    /// when `None`); `hooks` run before each scrape.
    pub fn new(token: Option<String>, hooks: Vec<ScrapeHook>) -> Self {
        recorder();
        metrics::gauge!("pi_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        Self { token, hooks }
    }

    pub(crate) fn start(&self) {
        metrics::gauge!("pi_http_requests_in_flight").increment(1.0);
    }

    /// Records one finished request.
    pub(crate) fn finish(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        metrics::gauge!("pi_http_requests_in_flight").decrement(1.0);
        metrics::counter!(
            "pi_http_requests_total",
            "method" => method.to_owned(),
            "route" => route.to_owned(),
            "status" => status.to_string()
        )
        .increment(1);
        metrics::histogram!("pi_http_request_duration_seconds", "route" => route.to_owned())
            .record(elapsed.as_secs_f64());
    }

    /// The Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let recorder = recorder();
        for hook in &self.hooks {
            hook();
        }
        recorder.process.collect();
        metrics::gauge!("pi_uptime_seconds").set(recorder.started.elapsed().as_secs_f64());
        recorder.handle.run_upkeep();
        recorder.handle.render()
    }

    fn allows(&self, request: &HttpRequest) -> bool {
        match &self.token {
            Some(token) => crate::extractors::bearer_token(request)
                .is_some_and(|given| given.as_bytes() == token.as_bytes()),
            None => crate::client_address::client_ip(request).is_some_and(|ip| ip.is_loopback()),
        }
    }
}

/// Prometheus metrics (text format 0.0.4): HTTP traffic, agent turns, LLM, Letta and tool
/// calls, login throttling, the database pool and the process.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    responses(
        (status = 200, content_type = "text/plain", body = String,
         description = "pi_http_requests_total, pi_http_request_duration_seconds, pi_http_requests_in_flight, pi_agent_turn_duration_seconds, pi_agent_turn_failures_total, pi_llm_request_duration_seconds, pi_llm_retries_total, pi_letta_request_duration_seconds, pi_letta_retries_total, pi_tool_call_duration_seconds, pi_login_throttled_total, pi_db_pool_connections, pi_db_pool_acquire_timeouts_total, pi_process_* (resident memory, CPU seconds, open files, threads), pi_uptime_seconds, pi_build_info"),
        (status = 403, body = crate::ErrorBody, description = "neither the METRICS_TOKEN bearer token (when set), nor a loopback caller (when it is not), nor an admin's token"),
    )
)]
pub(crate) async fn metrics(
    request: HttpRequest,
    metrics: web::Data<HttpMetrics>,
) -> Result<HttpResponse, ApiError> {
    if !metrics.allows(&request) && !is_admin(&request).await {
        // Says what this server accepts: with METRICS_TOKEN set, loopback is not enough.
        let detail = if metrics.token.is_some() {
            "Metrics need the METRICS_TOKEN bearer token or an admin's token."
        } else {
            "Metrics are served to loopback callers or to an admin's token."
        };
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "metrics_forbidden",
            detail,
        ));
    }
    let metrics = metrics.into_inner();
    let text = web::block(move || metrics.render())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// An admin's own token also reads the metrics (the console's admin view shows them).
async fn is_admin(request: &HttpRequest) -> bool {
    use actix_web::FromRequest as _;
    crate::extractors::bearer_token(request).is_some()
        && crate::AdminUser::from_request(request, &mut actix_web::dev::Payload::None)
            .await
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_process_metrics() {
        let m = HttpMetrics::new(None, Vec::new());
        let route = "/unit-test/{id}";
        for ms in [3, 40] {
            m.start();
            m.finish("GET", route, 200, Duration::from_millis(ms));
        }
        let text = m.render();
        assert!(
            text.contains(
                "pi_http_requests_total{method=\"GET\",route=\"/unit-test/{id}\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains(
            "pi_http_request_duration_seconds_bucket{route=\"/unit-test/{id}\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "pi_http_request_duration_seconds_bucket{route=\"/unit-test/{id}\",le=\"0.05\"} 2"
        ));
        assert!(text.contains("# TYPE pi_http_request_duration_seconds histogram"));
        assert!(text.contains("pi_process_resident_memory_bytes "), "{text}");
        assert!(text.contains("pi_process_open_fds "));
        assert!(text.contains("pi_build_info{version="));
    }

    #[cfg(target_os = "linux")]
    fn resident_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// The exporter keeps every histogram sample until upkeep: 8 million samples are ~127 MiB
    /// if nothing drains them. Recorded in 32 chunks with a pause after each (longer than the
    /// upkeep interval), so the upkeep thread runs between chunks however busy the machine is.
    #[cfg(target_os = "linux")]
    #[test]
    fn upkeep_drains_histogram_samples_when_nobody_scrapes() {
        let recorder = PrometheusBuilder::new().build_recorder();
        spawn_upkeep(recorder.handle(), Duration::from_millis(5)).unwrap();
        let histogram = metrics::with_local_recorder(
            &recorder,
            || metrics::histogram!("pi_unit_upkeep_seconds", "route" => "/x"),
        );
        let before = resident_kib();
        for chunk in 0..32_u32 {
            for i in 0..250_000_u32 {
                histogram.record(f64::from((chunk + i) % 1000) / 1000.0);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let grown_mib = resident_kib().saturating_sub(before) / 1024;
        assert!(grown_mib < 24, "resident memory grew by {grown_mib} MiB");
        // The samples are counted, not dropped. Not exactly all: metrics-util's lock-free bucket
        // loses a sample when a push lands on a block a concurrent drain has already read, and a
        // block's worth (64) when a drain reads a new tail before the push links it to the old
        // one. A handful in 8 million on an idle machine (CI saw 7,999,997), up to 0.7 % while
        // another process loads both cores (7,945,971 seen): allow 1 in 100.
        let text = recorder.handle().render();
        let count: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("pi_unit_upkeep_seconds_count{route=\"/x\"} "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no count in {text}"));
        assert!((7_920_000..=8_000_000).contains(&count), "{text}");
    }
}
