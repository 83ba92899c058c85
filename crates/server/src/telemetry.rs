//! Logging: `tracing` with pretty or JSON output, filtered by `RUST_LOG`.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::{LogFormat, Settings};

/// Installs the global subscriber. Call once, at start-up; later calls are ignored.
pub fn init(settings: &Settings) {
    // `Settings::validate` refused a RUST_LOG that does not parse.
    let filter = EnvFilter::try_new(&settings.rust_log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a terminal: a log file or a collector gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_span_events(FmtSpan::NONE)
        .with_target(true);
    let result = match settings.log_format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    // A subscriber already installed (tests) is not an error.
    drop(result);
}
