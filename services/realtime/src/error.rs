//! The one error type of the realtime service, mapped once to `tonic::Status`.

use clickclack_common::db::DbError;
use clickclack_common::grpc::{database_status, status};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    /// The subscriber must re-sync; the reason says why.
    #[error("{}", .0.message())]
    ResyncRequired(Resync),
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
            RealtimeError::Invalid(m) => status(Code::InvalidArgument, m),
            RealtimeError::Forbidden(m) => status(Code::PermissionDenied, m),
            RealtimeError::ResyncRequired(why) => status(Code::FailedPrecondition, why.message()),
            RealtimeError::Db(e) => database_status(e, "realtime"),
        }
    }
}

/// Why a reader must start again from a fresh position (WebSocket close
/// 4001). The texts are fixed: they never echo the caller's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resync {
    /// Not a cursor this log ever issued (malformed, or from another log).
    UnknownCursor,
    /// A well-formed cursor beyond the newest event: the log was reset.
    CursorPastTail,
    /// More events to replay than one socket backfills.
    TooFarBehind,
}

impl Resync {
    pub fn message(self) -> &'static str {
        match self {
            Resync::UnknownCursor => "resync required: unknown cursor",
            Resync::CursorPastTail => "resync required: cursor is past the tail of the log",
            Resync::TooFarBehind => "resync required: more than 5000 events to replay",
        }
    }
}

pub type Result<T, E = RealtimeError> = std::result::Result<T, E>;
