//! Diesel queries for the `webhooks` schema.

pub mod feed;
pub mod incoming;
pub mod queue;
pub mod schema;
pub mod subscriptions;
