//! Whether readers may still have their events pushed, as identity says
//! (`CheckReaderStandings`): for a bot, the bot and its owner still
//! members and one of its tokens still working and reading realtime; for
//! the member behind a subscription made without a bot, still a member.
//! Asked right before each batch is queued and again right before it is
//! sent, so a revoked token or a departed owner stops deliveries at once.

use clickclack_common::grpc::Peer;
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use std::collections::{BTreeSet, HashMap};

/// Whose view of a workspace a subscription delivers: a bot, or the member
/// who made a subscription without one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReaderKey {
    pub workspace_id: String,
    pub user_id: String,
}

/// `Ok` when the reader is in standing; otherwise why not.
pub type Standing = Result<(), String>;

#[derive(Clone)]
pub struct Standings {
    identity: IdentityServiceClient<Peer>,
}

/// Identity is asked about at most this many readers per call.
const PER_CALL: usize = 1000;

impl Standings {
    pub fn new(identity: IdentityServiceClient<Peer>) -> Standings {
        Standings { identity }
    }

    /// The standing of each reader. An error means identity could not
    /// answer: nothing may be sent or queued on a guess.
    pub async fn check(
        &self,
        readers: BTreeSet<ReaderKey>,
    ) -> Result<HashMap<ReaderKey, Standing>, tonic::Status> {
        let readers: Vec<ReaderKey> = readers.into_iter().collect();
        let mut answers = HashMap::with_capacity(readers.len());
        for chunk in readers.chunks(PER_CALL) {
            let request = pb::CheckReaderStandingsRequest {
                readers: chunk
                    .iter()
                    .map(|reader| pb::ReaderRef {
                        workspace_id: reader.workspace_id.clone(),
                        user_id: reader.user_id.clone(),
                    })
                    .collect(),
            };
            let list = self
                .identity
                .clone()
                .check_reader_standings(request)
                .await?
                .into_inner();
            if list.standings.len() != chunk.len() {
                return Err(tonic::Status::internal(
                    "identity answered for a different number of readers",
                ));
            }
            for (reader, standing) in chunk.iter().zip(list.standings) {
                let answer = if standing.in_standing {
                    Ok(())
                } else {
                    Err(standing.reason)
                };
                answers.insert(reader.clone(), answer);
            }
        }
        Ok(answers)
    }
}
