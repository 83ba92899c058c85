//! `pi-server health [--ready]`: asks the server on this host for `/health` (or `/health/ready`),
//! so container images without curl can have a health check.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::Settings;

/// How long the probe waits for an answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Succeeds when the server at `BIND_ADDR` (loopback when it binds every address) answers 200;
/// prints the answer either way. `ready`: ask `/health/ready` with these checks (`all`: every
/// check) instead of `/health`.
///
/// # Errors
/// When nothing answers in time or the status is not 200.
pub async fn check(settings: &Settings, ready: Option<&str>) -> anyhow::Result<()> {
    let mut addr: SocketAddr = settings
        .bind_addr
        .parse()
        .context("BIND_ADDR is not an address")?;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            Ipv4Addr::LOCALHOST.into()
        } else {
            Ipv6Addr::LOCALHOST.into()
        });
    }
    let path = match ready {
        None => "/health".to_owned(),
        Some("all") => "/health/ready".to_owned(),
        Some(checks) => format!("/health/ready?checks={checks}"),
    };
    let url = format!("http://{addr}{path}");
    let response = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()?
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status != reqwest::StatusCode::OK {
        bail!("GET {url}: {status} {body}");
    }
    println!("{body}");
    Ok(())
}
