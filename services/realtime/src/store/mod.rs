//! Diesel queries for the `realtime` schema.

pub mod events;
pub mod schema;
