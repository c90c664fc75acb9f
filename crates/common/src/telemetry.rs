//! Logging set-up shared by every binary: `tracing` with `RUST_LOG` filtering.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the process-wide log subscriber. Safe to call more than once
/// (later calls are ignored), which the in-process dev stack relies on.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,h2=warn,hyper=warn,tower=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
