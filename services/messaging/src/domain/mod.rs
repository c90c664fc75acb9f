//! Messaging's rules. Each operation runs in one database transaction that
//! also re-checks the caller's access and writes the events it emits.

pub mod access;
pub mod channels;
pub mod dms;
pub mod events;
pub mod messages;
pub mod reactions;
pub mod rules;
pub mod search;
pub mod uploads;
pub mod views;
