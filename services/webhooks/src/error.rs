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
}
