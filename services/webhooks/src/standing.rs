//! Whether bots may still have their events pushed, as identity says
//! (`CheckBotStandings`): the bot and its owner still members, and one of
//! its tokens still working and reading realtime. Asked right before each
//! batch is queued and again right before it is sent, so a revoked token
//! or a departed owner stops deliveries at once.

use clickclack_common::grpc::Peer;
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use std::collections::{BTreeSet, HashMap};

/// A bot in a workspace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BotKey {
    pub workspace_id: String,
    pub bot_user_id: String,
}

/// `Ok` when the bot is in standing; otherwise why not.
pub type Standing = Result<(), String>;

#[derive(Clone)]
pub struct Standings {
    identity: IdentityServiceClient<Peer>,
}

/// Identity asks about at most this many bots per call.
const PER_CALL: usize = 1000;

impl Standings {
    pub fn new(identity: IdentityServiceClient<Peer>) -> Standings {
        Standings { identity }
    }

    /// The standing of each bot. An error means identity could not answer:
    /// nothing may be sent or queued on a guess.
    pub async fn check(
        &self,
        bots: BTreeSet<BotKey>,
    ) -> Result<HashMap<BotKey, Standing>, tonic::Status> {
        let bots: Vec<BotKey> = bots.into_iter().collect();
        let mut answers = HashMap::with_capacity(bots.len());
        for chunk in bots.chunks(PER_CALL) {
            let request = pb::CheckBotStandingsRequest {
                bots: chunk
                    .iter()
                    .map(|bot| pb::BotRef {
                        workspace_id: bot.workspace_id.clone(),
                        bot_user_id: bot.bot_user_id.clone(),
                    })
                    .collect(),
            };
            let list = self
                .identity
                .clone()
                .check_bot_standings(request)
                .await?
                .into_inner();
            if list.standings.len() != chunk.len() {
                return Err(tonic::Status::internal(
                    "identity answered for a different number of bots",
                ));
            }
            for (bot, standing) in chunk.iter().zip(list.standings) {
                let answer = if standing.in_standing {
                    Ok(())
                } else {
                    Err(standing.reason)
                };
                answers.insert(bot.clone(), answer);
            }
        }
        Ok(answers)
    }
}
