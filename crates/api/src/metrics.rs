//! `GET /metrics`: Prometheus text exposition of the HTTP traffic, gathered by the
//! `request_context` middleware. Routes are labelled by their pattern
//! (`/chat/conversations/{id}/messages`), never by raw paths, so label sets stay bounded.
//!
//! Access: with `METRICS_TOKEN` set, callers present it as a bearer token; without it only
//! loopback peers may read (403 otherwise).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use dashmap::DashMap;

use crate::ApiError;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// Counters and histograms of the HTTP traffic.
pub struct HttpMetrics {
    started: Instant,
    token: Option<String>,
    requests: DashMap<(String, String, u16), AtomicU64>,
    latency: DashMap<String, Histogram>,
    in_flight: AtomicI64,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl HttpMetrics {
    /// Empty metrics; `token` guards `GET /metrics` (loopback only when `None`).
    pub fn new(token: Option<String>) -> Self {
        Self {
            started: Instant::now(),
            token,
            requests: DashMap::new(),
            latency: DashMap::new(),
            in_flight: AtomicI64::new(0),
        }
    }

    pub(crate) fn start(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one finished request.
    pub(crate) fn finish(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
        let h = self.latency.entry(route.to_owned()).or_default();
        let secs = elapsed.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&h.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        h.count.fetch_add(1, Ordering::Relaxed);
        h.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// The Prometheus text format (version 0.0.4), sorted for stable output.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP pi_build_info Version of the running service.\n# TYPE pi_build_info gauge\npi_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(
            out,
            "# HELP pi_process_uptime_seconds Seconds since start.\n# TYPE pi_process_uptime_seconds gauge\npi_process_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );
        let _ = writeln!(
            out,
            "# HELP pi_http_requests_in_flight Requests being served.\n# TYPE pi_http_requests_in_flight gauge\npi_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let mut requests: Vec<_> = self
            .requests
            .iter()
            .map(|e| (e.key().clone(), e.value().load(Ordering::Relaxed)))
            .collect();
        requests.sort();
        out.push_str("# HELP pi_http_requests_total HTTP requests by method, route pattern and status.\n# TYPE pi_http_requests_total counter\n");
        for ((method, route, status), n) in requests {
            let _ = writeln!(
                out,
                "pi_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(&route)
            );
        }
        let mut routes: Vec<String> = self.latency.iter().map(|e| e.key().clone()).collect();
        routes.sort();
        out.push_str("# HELP pi_http_request_duration_seconds Time to the response head, by route pattern.\n# TYPE pi_http_request_duration_seconds histogram\n");
        for route in routes {
            let Some(h) = self.latency.get(&route) else {
                continue;
            };
            let route = escape(&route);
            for (bound, bucket) in BUCKETS.iter().zip(&h.buckets) {
                let _ = writeln!(
                    out,
                    "pi_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    bucket.load(Ordering::Relaxed)
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "pi_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}\npi_http_request_duration_seconds_sum{{route=\"{route}\"}} {:.6}\npi_http_request_duration_seconds_count{{route=\"{route}\"}} {count}",
                h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            );
        }
        out
    }

    fn allows(&self, request: &HttpRequest) -> bool {
        match &self.token {
            Some(token) => crate::extractors::bearer_token(request)
                .is_some_and(|given| given.as_bytes() == token.as_bytes()),
            None => request.peer_addr().is_some_and(|a| a.ip().is_loopback()),
        }
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Prometheus metrics of the HTTP traffic (text format 0.0.4).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    responses(
        (status = 200, content_type = "text/plain", body = String,
         description = "pi_http_requests_total, pi_http_request_duration_seconds, pi_http_requests_in_flight, pi_process_uptime_seconds, pi_build_info"),
        (status = 403, body = crate::ErrorBody, description = "not loopback and no valid METRICS_TOKEN"),
    )
)]
pub(crate) async fn metrics(
    request: HttpRequest,
    metrics: web::Data<HttpMetrics>,
) -> Result<HttpResponse, ApiError> {
    if !metrics.allows(&request) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "metrics_forbidden",
            "Metrics are served to loopback callers, or with the METRICS_TOKEN bearer token.",
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = HttpMetrics::new(None);
        m.start();
        m.finish("GET", "/health", 200, Duration::from_millis(3));
        m.start();
        m.finish("GET", "/health", 200, Duration::from_millis(40));
        m.start();
        m.finish("POST", "/auth/login", 401, Duration::from_millis(240));
        let text = m.render();
        assert!(
            text.contains(
                "pi_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"
            )
        );
        assert!(
            text.contains(
                "pi_http_request_duration_seconds_bucket{route=\"/health\",le=\"0.005\"} 1"
            )
        );
        assert!(
            text.contains(
                "pi_http_request_duration_seconds_bucket{route=\"/health\",le=\"0.05\"} 2"
            )
        );
        assert!(text.contains("pi_http_request_duration_seconds_count{route=\"/auth/login\"} 1"));
        assert!(text.contains("pi_http_requests_in_flight 0"));
    }
}
