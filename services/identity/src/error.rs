//! The one error type of the identity service, mapped once to `tonic::Status`.

use clickclack_common::db::DbError;
use tonic::Status;

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
            IdentityError::NotFound(m) => Status::not_found(m),
            IdentityError::Invalid(m) => Status::invalid_argument(m),
            IdentityError::Conflict(m) => Status::already_exists(m),
            IdentityError::Forbidden(m) => Status::permission_denied(m),
            IdentityError::Unauthenticated(m) => Status::unauthenticated(m),
            IdentityError::Db(DbError::Pool(e)) => {
                tracing::warn!(error = %e, "database pool unavailable");
                Status::unavailable("identity database unavailable")
            }
            IdentityError::Db(e) => {
                tracing::error!(error = %e, "identity database error");
                Status::internal("internal error")
            }
        }
    }
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;
