//! Whether readers may still have their events pushed, as identity says
//! (`CheckReaderStandings`): for a bot, the bot and its owner still
//! members and one of its tokens still working and reading realtime; for
//! the member behind a subscription made without a bot, still a member.
//! Asked right before each batch is queued and again right before it is
//! sent, so a revoked token or a departed owner stops deliveries at once.
//!
//! Questions asked while one call is under way wait for it to end and
//! then go to identity together in the next call: each is still answered
//! by a call that began after it was asked, and a hundred subscriptions
//! delivering side by side cost a few calls, not a hundred.

use clickclack_common::grpc::Peer;
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use std::collections::{BTreeSet, HashMap};
use tokio::sync::{mpsc, oneshot};

/// Whose view of a workspace a subscription delivers: a bot, or the member
/// who made a subscription without one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReaderKey {
    pub workspace_id: String,
    pub user_id: String,
}

/// `Ok` when the reader is in standing; otherwise why not.
pub type Standing = Result<(), String>;

/// Identity's answers, or its error.
type Answers = Result<HashMap<ReaderKey, Standing>, tonic::Status>;

/// One question waiting for the next call.
struct Question {
    readers: BTreeSet<ReaderKey>,
    answer: oneshot::Sender<Answers>,
}

#[derive(Clone)]
pub struct Standings {
    questions: mpsc::UnboundedSender<Question>,
}

/// Identity is asked about at most this many readers per call.
const PER_CALL: usize = 1000;

impl Standings {
    /// Asks `identity`, from a task of its own that ends when the last
    /// clone of this is dropped. Call within a Tokio runtime.
    pub fn new(identity: IdentityServiceClient<Peer>) -> Standings {
        let (questions, waiting) = mpsc::unbounded_channel();
        tokio::spawn(answer_in_turn(identity, waiting));
        Standings { questions }
    }

    /// The standing of each reader. An error means identity could not
    /// answer: nothing may be sent or queued on a guess.
    pub async fn check(&self, readers: BTreeSet<ReaderKey>) -> Answers {
        if readers.is_empty() {
            return Ok(HashMap::new());
        }
        let (answer, answered) = oneshot::channel();
        let gone = || tonic::Status::unavailable("the standings task has stopped");
        self.questions
            .send(Question { readers, answer })
            .map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

/// Takes every question waiting, asks identity once about all their
/// readers, answers each with its own, and goes again.
async fn answer_in_turn(
    identity: IdentityServiceClient<Peer>,
    mut waiting: mpsc::UnboundedReceiver<Question>,
) {
    while let Some(first) = waiting.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = waiting.try_recv() {
            batch.push(more);
        }
        let readers: BTreeSet<ReaderKey> = batch
            .iter()
            .flat_map(|question| question.readers.iter().cloned())
            .collect();
        let answers = ask(&identity, readers).await;
        for question in batch {
            let own = match &answers {
                Ok(all) => Ok(question
                    .readers
                    .iter()
                    .filter_map(|reader| Some((reader.clone(), all.get(reader)?.clone())))
                    .collect()),
                Err(status) => Err(status.clone()),
            };
            // A question whose asker went away needs no answer.
            let _ = question.answer.send(own);
        }
    }
}

/// One round of calls to identity about `readers`.
async fn ask(identity: &IdentityServiceClient<Peer>, readers: BTreeSet<ReaderKey>) -> Answers {
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
        let list = identity
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
