//! The one error type of the realtime service, mapped once to `tonic::Status`.

use clickclack_common::db::DbError;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    /// The subscriber must re-sync (unknown or too old cursor).
    #[error("{0}")]
    ResyncRequired(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for RealtimeError {
    fn from(error: diesel::result::Error) -> Self {
        RealtimeError::Db(DbError::Query(error))
    }
}

impl From<RealtimeError> for Status {
    fn from(error: RealtimeError) -> Status {
        match error {
            RealtimeError::Invalid(m) => Status::invalid_argument(m),
            RealtimeError::Forbidden(m) => Status::permission_denied(m),
            RealtimeError::ResyncRequired(m) => Status::failed_precondition(m),
            RealtimeError::Db(DbError::Pool(e)) => {
                tracing::warn!(error = %e, "database pool unavailable");
                Status::unavailable("realtime database unavailable")
            }
            RealtimeError::Db(e) => {
                tracing::error!(error = %e, "realtime database error");
                Status::internal("internal error")
            }
        }
    }
}

pub type Result<T, E = RealtimeError> = std::result::Result<T, E>;
