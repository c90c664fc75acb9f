//! What integration tests need to exercise ClickClack for real:
//!
//! - [`TestDatabase`]: a fresh Postgres database per test, dropped afterwards,
//!   on the server named by `CLICKCLACK_TEST_DATABASE_URL` (default: the local
//!   Postgres). When no server answers there but a Docker engine does, a
//!   Postgres container is started with testcontainers instead.
//! - [`TestStack`]: every service plus the gateway, in-process, on ephemeral
//!   ports, against such a database, with a real HTTP client.
//! - [`Api`]: the one HTTP client of the tests; it also checks that every
//!   answer is JSON with no `null` inside.
//! - [`capture_logs`]: records every log line of the process, so a test can
//!   assert that no secret was ever logged.

mod database;
mod event_log;
pub mod http;
mod logs;
pub mod openclaw;
mod sessions;
pub mod smtp;
mod stack;
pub mod webhooks;
pub mod ws;

pub use clickclack_cli::stack::DbPools;
pub use database::TestDatabase;
pub use event_log::LoggedEvent;
pub use http::{Answer, Api};
pub use logs::{LogCapture, capture_logs};
pub use stack::{Bootstrapped, MailConfig, TEST_UPLOAD_MAX_BYTES, TestStack, WebhookSettings};
