//! Webhooks (issue 25, first step): the parts of outgoing event deliveries
//! that hold whatever service ends up running them, each tested on its
//! own against real sockets:
//!
//! - [`domain::signing`]: signing secrets and the signatures a receiver
//!   checks (Standard Webhooks, plus the `X-ClickClack-Signature` that
//!   upstream ClickClack receivers verify).
//! - [`domain::sealing`]: how a signing secret is kept at rest. It must be
//!   able to sign again, so it is encrypted (AES-256-GCM), not hashed.
//! - [`domain::matching`]: which events a subscription asks for (durable
//!   types from the catalogue, or `*`; optionally some channels) and the
//!   body a receiver gets.
//! - [`domain::target`]: which URLs may be registered and which addresses
//!   may be connected to (no private, loopback, link-local or metadata
//!   address unless the operator allows it).
//! - [`domain::schedule`]: what an answer means (delivered, retry later,
//!   gone, failed) and when the next attempt is due.
//! - [`delivery`]: the one HTTP client that sends: it resolves, checks and
//!   connects to the checked address, follows no redirect, gives up after
//!   10 s and reads at most 1 KiB of the answer.
//! - [`store::queue`]: the delivery queue in Postgres: one delivery at a
//!   time per subscription, in log order, claimed with `SKIP LOCKED` and a
//!   lease so replicas share the work; and the delivery log.
//! - [`worker`]: one pass of the worker: claim, sign, send, and write down
//!   the outcome (retry, give up, disable on 410 or after five failing
//!   days).

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

pub mod delivery;
pub mod domain;
pub mod error;
pub mod feeder;
pub mod standing;
pub mod store;
pub mod worker;

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "webhooks";
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
