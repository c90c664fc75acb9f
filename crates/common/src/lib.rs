//! Pieces shared by every ClickClack crate. Each module is small and has one
//! job; anything service-specific lives in that service's crate instead.

pub mod actions;
pub mod assertion;
pub mod caller_policy;
pub mod commands;
pub mod cursor;
pub mod db;
pub mod event_types;
pub mod grpc;
pub mod ids;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod retry;
pub mod roles;
pub mod scopes;
pub mod service;
pub mod shutdown;
pub mod telemetry;
pub mod time;
pub mod token;
pub mod visibility;
pub mod wire;
