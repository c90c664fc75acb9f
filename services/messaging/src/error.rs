//! The one error type of the messaging service, mapped once to `tonic::Status`.

use clickclack_common::db::DbError;
use clickclack_common::grpc::{database_status, status};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    /// Unknown, or not visible to the caller: both look the same from outside.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("upload storage failed: {0}")]
    Storage(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for MessagingError {
    fn from(error: diesel::result::Error) -> Self {
        MessagingError::Db(DbError::Query(error))
    }
}

impl From<MessagingError> for Status {
    fn from(error: MessagingError) -> Status {
        match error {
            MessagingError::NotFound(m) => status(Code::NotFound, m),
            MessagingError::Invalid(m) => status(Code::InvalidArgument, m),
            MessagingError::Conflict(m) => status(Code::AlreadyExists, m),
            MessagingError::Forbidden(m) => status(Code::PermissionDenied, m),
            MessagingError::Db(e) => database_status(e, "messaging"),
            MessagingError::Storage(e) => {
                tracing::error!(error = %e, "upload storage failed");
                Status::internal("internal error")
            }
        }
    }
}

pub type Result<T, E = MessagingError> = std::result::Result<T, E>;
