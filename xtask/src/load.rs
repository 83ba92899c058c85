//! A small closed-loop HTTP/1.1 load generator for loopback benchmarks: `connections` threads,
//! each with one keep-alive connection sending the same request back to back for a fixed time.
//! Plain blocking sockets keep its own cost per request to a few microseconds of CPU, and it is
//! the same for a ceiling and for the route measured against it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// One request to repeat. Connection `i` sends `paths[i % paths.len()]`.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) method: &'static str,
    pub(crate) paths: Vec<String>,
    pub(crate) bearer: Option<String>,
    pub(crate) body: Option<String>,
}

impl Target {
    pub(crate) fn get(path: impl Into<String>, bearer: Option<&str>) -> Self {
        Self {
            method: "GET",
            paths: vec![path.into()],
            bearer: bearer.map(str::to_owned),
            body: None,
        }
    }

    fn request(&self, port: u16, connection: usize) -> Vec<u8> {
        let path = &self.paths[connection % self.paths.len()];
        let mut req = format!(
            "{} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n",
            self.method
        );
        if let Some(b) = &self.bearer {
            req.push_str(&format!("Authorization: Bearer {b}\r\n"));
        }
        let body = self.body.as_deref().unwrap_or_default();
        if !body.is_empty() {
            req.push_str("Content-Type: application/json\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        req.into_bytes()
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    /// Requests answered with a 2xx.
    pub(crate) ok: u64,
    /// Requests answered otherwise, or lost with their connection.
    pub(crate) errors: u64,
    /// The first error seen, for the report.
    pub(crate) first_error: Option<String>,
    pub(crate) seconds: f64,
    /// Latency percentiles of the 2xx answers, microseconds.
    pub(crate) p50_us: u32,
    pub(crate) p99_us: u32,
}

impl Outcome {
    pub(crate) fn per_second(&self) -> f64 {
        self.ok as f64 / self.seconds
    }
}

/// Sends `target` on `connections` connections for `warmup` (not counted), then `duration`.
pub(crate) fn run(
    port: u16,
    target: &Target,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> Outcome {
    let start = Instant::now() + Duration::from_millis(50);
    let counted_from = start + warmup;
    let end = counted_from + duration;
    let workers: Vec<_> = (0..connections)
        .map(|i| {
            let request = target.request(port, i);
            std::thread::spawn(move || worker(port, &request, start, counted_from, end))
        })
        .collect();
    let mut total = Outcome {
        seconds: duration.as_secs_f64(),
        ..Outcome::default()
    };
    let mut latencies = Vec::new();
    for w in workers {
        let Ok((ok, errors, first_error, mut lat)) = w.join() else {
            total.errors += 1;
            continue;
        };
        total.ok += ok;
        total.errors += errors;
        if total.first_error.is_none() {
            total.first_error = first_error;
        }
        latencies.append(&mut lat);
    }
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    total.p50_us = pick(0.50);
    total.p99_us = pick(0.99);
    total
}

type WorkerResult = (u64, u64, Option<String>, Vec<u32>);

fn worker(
    port: u16,
    request: &[u8],
    start: Instant,
    counted_from: Instant,
    end: Instant,
) -> WorkerResult {
    let (mut ok, mut errors, mut first_error) = (0, 0, None);
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut buf = vec![0u8; 1 << 16];
    std::thread::sleep(start.saturating_duration_since(Instant::now()));
    let mut conn: Option<TcpStream> = None;
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let stream = match conn.as_mut() {
            Some(s) => s,
            None => match connect(port) {
                Ok(s) => conn.insert(s),
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert(e);
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            },
        };
        let result = stream
            .write_all(request)
            .map_err(|e| e.to_string())
            .and_then(|()| read_response(stream, &mut buf));
        let counted = sent >= counted_from;
        match result {
            Ok((status, keep_alive)) => {
                if counted {
                    if (200..300).contains(&status) {
                        ok += 1;
                        let us = sent.elapsed().as_micros();
                        latencies.push(u32::try_from(us).unwrap_or(u32::MAX));
                    } else {
                        errors += 1;
                        first_error.get_or_insert(format!("HTTP {status}"));
                    }
                }
                if !keep_alive {
                    conn = None;
                }
            }
            Err(e) => {
                if counted {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
                conn = None;
            }
        }
    }
    (ok, errors, first_error, latencies)
}

fn connect(port: u16) -> Result<TcpStream, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

/// Reads one response with a `Content-Length` body; `(status, connection stays open)`.
fn read_response(s: &mut TcpStream, buf: &mut [u8]) -> Result<(u16, bool), String> {
    let mut filled = 0;
    let head_end = loop {
        if filled == buf.len() {
            return Err("response headers over 64 KiB".into());
        }
        let n = s.read(&mut buf[filled..]).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before a response".into());
        }
        filled += n;
        if let Some(i) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|e| e.to_string())?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("not an HTTP response")?;
    let mut length = None;
    let mut keep_alive = true;
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            keep_alive = false;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(format!("{value} bodies are not supported"));
        }
    }
    let length = length.ok_or("no Content-Length")?;
    let mut remaining = (head_end + length).saturating_sub(filled);
    while remaining > 0 {
        let take = remaining.min(buf.len());
        let n = s.read(&mut buf[..take]).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed inside a body".into());
        }
        remaining -= n;
    }
    Ok((status, keep_alive))
}
