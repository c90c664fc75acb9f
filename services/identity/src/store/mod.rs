//! Diesel queries for the `identity` schema, one module per table. Nothing
//! here knows about gRPC or business rules; callers own the transaction.

pub mod app_installations;
pub mod audit;
pub mod bots;
pub mod changes;
pub mod commands;
pub mod invites;
pub mod members;
pub mod schema;
pub mod sessions;
pub mod setup_codes;
pub mod tokens;
pub mod users;
pub mod workspaces;
