//! `pi-fake-llm [PORT]`: the fake OpenAI-compatible server behind a test Letta server
//! (started by `cargo xtask letta-up`). Listens on 127.0.0.1:PORT (default 18300) until killed.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        None => 18300,
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            eprintln!("pi-fake-llm: bad port: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("pi-fake-llm: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::from(1);
        }
    };
    let server = match pi_testkit::openai::FakeLlm::serve(listener) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pi-fake-llm: cannot serve on 127.0.0.1:{port}: {e}");
            return ExitCode::from(1);
        }
    };
    println!("pi-fake-llm: listening on {}", server.base_url());
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pi-fake-llm: cannot watch SIGTERM: {e}");
            return ExitCode::from(1);
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    ExitCode::SUCCESS
}
