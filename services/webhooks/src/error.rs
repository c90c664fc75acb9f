//! What can stop the feeder or a worker pass: the database, or a peer
//! service (realtime's log, or identity not answering whether a bot may
//! still be sent to: then nothing is queued or sent on a guess, and the
//! work is tried again).

use clickclack_common::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum WebhooksError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("peer service: {0}")]
    Peer(#[from] tonic::Status),
    /// The answer a caller gets as it is (not found, over quota, ...).
    #[error("{}", .0.message())]
    Refused(tonic::Status),
}

impl From<WebhooksError> for tonic::Status {
    fn from(error: WebhooksError) -> tonic::Status {
        match error {
            WebhooksError::Db(error) => clickclack_common::grpc::database_status(error, "webhooks"),
            WebhooksError::Query(error) => clickclack_common::grpc::database_status(
                clickclack_common::db::DbError::from(error),
                "webhooks",
            ),
            WebhooksError::Refused(status) => status,
            WebhooksError::Peer(status) => {
                tracing::warn!(%status, "webhooks: a peer service failed");
                tonic::Status::unavailable("a service webhooks depends on is unavailable")
            }
        }
    }
}
