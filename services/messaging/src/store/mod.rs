//! Diesel queries for the `messaging` schema, one module per table. Nothing
//! here knows about gRPC or business rules; callers own the transaction.

pub mod channels;
pub mod conversations;
pub mod locate;
pub mod messages;
pub mod reactions;
pub mod receipts;
pub mod schema;
pub mod search;
pub mod uploads;

use diesel::result::{DatabaseErrorKind, Error};

/// True when `error` is a unique violation of the named constraint or index.
pub fn violates(error: &Error, constraint: &str) -> bool {
    matches!(
        error,
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(constraint)
    )
}
