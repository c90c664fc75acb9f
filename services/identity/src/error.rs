//! The one error type of the identity service, mapped once to `tonic::Status`.

use clickclack_common::db::DbError;
use clickclack_common::grpc::{database_status, status};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for IdentityError {
    fn from(error: diesel::result::Error) -> Self {
        IdentityError::Db(DbError::Query(error))
    }
}

impl From<IdentityError> for Status {
    fn from(error: IdentityError) -> Status {
        match error {
            IdentityError::NotFound(m) => status(Code::NotFound, m),
            IdentityError::Invalid(m) => status(Code::InvalidArgument, m),
            IdentityError::Conflict(m) => status(Code::AlreadyExists, m),
            IdentityError::Forbidden(m) => status(Code::PermissionDenied, m),
            IdentityError::Unauthenticated(m) => status(Code::Unauthenticated, m),
            IdentityError::Db(e) => database_status(e, "identity"),
        }
    }
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;
