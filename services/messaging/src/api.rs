//! gRPC handlers: take the verified caller, translate the request, call the
//! domain. No SQL and no rules live here.

use crate::domain::messages::Window;
use crate::domain::messages::{self as msgs, NewMessage, Target};
use crate::domain::reactions::ReadTarget;
use crate::domain::uploads::{NewUpload, UploadStore};
use crate::domain::{access, channels, dms, reactions, rules, search, uploads};
use crate::error::MessagingError;
use crate::wire;
use clickclack_common::assertion::{ActingUser, acting_user};
use clickclack_common::db::{self, PgPool};
use clickclack_common::outbox::{RecordedEvent, Relay};
use clickclack_proto::messaging as pb;
use clickclack_proto::messaging::messaging_service_server::MessagingService;
use clickclack_proto::realtime as rt;
use diesel::PgConnection;
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct MessagingApi {
    pool: PgPool,
    uploads: UploadStore,
    relay: Arc<Relay>,
}

impl MessagingApi {
    pub fn new(pool: PgPool, uploads: UploadStore, relay: Arc<Relay>) -> Self {
        MessagingApi {
            pool,
            uploads,
            relay,
        }
    }

    /// Hands committed events to the relay, which delivers them to realtime
    /// in the background; they are answered without cursors (clients take
    /// cursors from the realtime stream, never from a write's answer).
    async fn published(&self, events: Vec<RecordedEvent>) -> Vec<rt::Event> {
        self.relay.enqueue(events)
    }

    async fn published_one(&self, event: Option<RecordedEvent>) -> Option<rt::Event> {
        self.published(event.into_iter().collect()).await.pop()
    }

    /// Runs `work` for the request's caller with a pooled connection, off
    /// the async runtime.
    async fn run<R, T, F>(&self, request: &Request<R>, work: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection, &ActingUser) -> Result<T, MessagingError> + Send + 'static,
    {
        let caller = acting_user(request)?;
        Ok(db::run(&self.pool, move |conn| work(conn, &caller)).await?)
    }
}

type Reply<T> = Result<Response<T>, Status>;

/// Exactly one of a channel or a DM.
fn list_target(
    channel_id: Option<String>,
    conversation_id: Option<String>,
) -> Result<Target, Status> {
    match (channel_id, conversation_id) {
        (Some(channel), None) => Ok(Target::Channel(channel)),
        (None, Some(conversation)) => Ok(Target::Conversation(conversation)),
        _ => Err(Status::invalid_argument(
            "give exactly one of channel_id or direct_conversation_id",
        )),
    }
}

#[tonic::async_trait]
impl MessagingService for MessagingApi {
    async fn list_channels(
        &self,
        request: Request<pb::ListChannelsRequest>,
    ) -> Reply<pb::ChannelList> {
        let channels = self.run(&request, channels::list).await?;
        Ok(Response::new(pb::ChannelList {
            channels: wire::all(channels),
        }))
    }

    async fn create_channel(
        &self,
        request: Request<pb::CreateChannelRequest>,
    ) -> Reply<pb::ChannelReply> {
        let req = request.get_ref().clone();
        let new = channels::NewChannel {
            name: req.name,
            kind: req.kind,
            display_title: req.display_title,
            sidebar_section: req.sidebar_section,
            external_managed: req.external_managed,
            external_ref: req.external_ref,
            external_url: req.external_url,
            if_missing: req.if_missing,
        };
        let (channel, event) = self
            .run(&request, move |conn, caller| {
                channels::create(conn, caller, new)
            })
            .await?;
        Ok(Response::new(pb::ChannelReply {
            channel: Some(channel.into()),
            event: self.published_one(event).await,
        }))
    }

    async fn update_channel(
        &self,
        request: Request<pb::UpdateChannelRequest>,
    ) -> Reply<pb::ChannelReply> {
        let req = request.get_ref().clone();
        let update = channels::ChannelUpdate {
            name: req.name,
            kind: req.kind,
            archived: req.archived,
            display_title: req.display_title,
            external_managed: req.external_managed,
            external_ref: req.external_ref,
            external_url: req.external_url,
            sidebar_section: req.sidebar_section,
        };
        let (channel, event) = self
            .run(&request, move |conn, caller| {
                channels::update(conn, caller, &req.channel_id, update)
            })
            .await?;
        Ok(Response::new(pb::ChannelReply {
            channel: Some(channel.into()),
            event: self.published_one(Some(event)).await,
        }))
    }

    async fn get_channel(&self, request: Request<pb::GetChannelRequest>) -> Reply<pb::Channel> {
        let id = request.get_ref().channel_id.clone();
        let channel = self
            .run(&request, move |conn, caller| {
                channels::get(conn, caller, &id)
            })
            .await?;
        Ok(Response::new(channel.into()))
    }

    async fn post_message(&self, request: Request<pb::PostMessageRequest>) -> Reply<pb::PostReply> {
        let req = request.get_ref().clone();
        let target = match (
            req.channel_id,
            req.direct_conversation_id,
            req.thread_parent_id,
        ) {
            (Some(channel), None, None) => Target::Channel(channel),
            (None, Some(conversation), None) => Target::Conversation(conversation),
            (None, None, Some(parent)) => Target::Thread(parent),
            _ => {
                return Err(Status::invalid_argument(
                    "give exactly one of channel_id, direct_conversation_id or thread_parent_id",
                ));
            }
        };
        let new = NewMessage {
            target,
            body: req.body,
            quoted_message_id: req.quoted_message_id.filter(|q| !q.is_empty()),
            nonce: req.nonce,
            kind: req.kind,
            turn_id: req.turn_id,
            correlation_id: req.correlation_id,
            actions: clickclack_common::actions::from_pb(req.actions),
        };
        let posted = self
            .run(&request, move |conn, caller| msgs::post(conn, caller, new))
            .await?;
        Ok(Response::new(pb::PostReply {
            message: Some(posted.message.into()),
            created: posted.created,
            events: self.published(posted.events).await,
            thread_state: posted.thread_state.map(Into::into),
        }))
    }

    async fn get_message(
        &self,
        request: Request<pb::GetMessageRequest>,
    ) -> Reply<pb::MessageReply> {
        let id = request.get_ref().message_id.clone();
        let message = self
            .run(&request, move |conn, caller| msgs::get(conn, caller, &id))
            .await?;
        Ok(Response::new(pb::MessageReply {
            message: Some(message.into()),
            event: None,
        }))
    }

    async fn get_message_by_nonce(
        &self,
        request: Request<pb::GetMessageByNonceRequest>,
    ) -> Reply<pb::MessageReply> {
        let nonce = request.get_ref().nonce.clone();
        let message = self
            .run(&request, move |conn, caller| {
                msgs::by_nonce(conn, caller, &nonce)
            })
            .await?;
        Ok(Response::new(pb::MessageReply {
            message: Some(message.into()),
            event: None,
        }))
    }

    async fn list_messages(
        &self,
        request: Request<pb::ListMessagesRequest>,
    ) -> Reply<pb::MessagePage> {
        let req = request.get_ref().clone();
        let target = list_target(req.channel_id, req.direct_conversation_id)?;
        let window = msgs::window(
            req.after_seq,
            req.before_seq,
            req.around_seq,
            Window::Newest,
        )?;
        let limit = rules::page_limit(req.limit, rules::DEFAULT_PAGE, rules::MAX_PAGE)?;
        let page = self
            .run(&request, move |conn, caller| {
                msgs::list(conn, caller, target, window, limit)
            })
            .await?;
        Ok(Response::new(pb::MessagePage {
            messages: wire::all(page.messages),
            oldest_seq: page.oldest_seq,
            newest_seq: page.newest_seq,
            has_older: page.has_older,
            has_newer: page.has_newer,
        }))
    }

    async fn edit_message(
        &self,
        request: Request<pb::EditMessageRequest>,
    ) -> Reply<pb::MessageReply> {
        let req = request.get_ref().clone();
        let (message, event) = self
            .run(&request, move |conn, caller| {
                msgs::edit(
                    conn,
                    caller,
                    &req.message_id,
                    msgs::Edit {
                        body: req.body,
                        actions: req
                            .set_actions
                            .then(|| clickclack_common::actions::from_pb(req.actions)),
                    },
                    req.correlation_id.as_deref(),
                )
            })
            .await?;
        Ok(Response::new(pb::MessageReply {
            message: Some(message.into()),
            event: self.published_one(Some(event)).await,
        }))
    }

    async fn delete_message(
        &self,
        request: Request<pb::DeleteMessageRequest>,
    ) -> Reply<pb::MessageReply> {
        let req = request.get_ref().clone();
        let (message, event) = self
            .run(&request, move |conn, caller| {
                msgs::delete(conn, caller, &req.message_id, req.correlation_id.as_deref())
            })
            .await?;
        Ok(Response::new(pb::MessageReply {
            message: Some(message.into()),
            event: self.published_one(event).await,
        }))
    }

    async fn get_thread(&self, request: Request<pb::GetThreadRequest>) -> Reply<pb::ThreadPage> {
        let req = request.get_ref().clone();
        let default = if req.latest {
            Window::Newest
        } else {
            Window::Oldest
        };
        let window = msgs::window(req.after_seq, req.before_seq, None, default)?;
        let limit = rules::page_limit(req.limit, rules::DEFAULT_PAGE, rules::MAX_PAGE)?;
        let thread = self
            .run(&request, move |conn, caller| {
                msgs::thread(conn, caller, &req.message_id, window, limit)
            })
            .await?;
        Ok(Response::new(pb::ThreadPage {
            root: Some(thread.root.into()),
            replies: wire::all(thread.replies.messages),
            thread_state: Some(thread.state.into()),
            oldest_seq: thread.replies.oldest_seq,
            newest_seq: thread.replies.newest_seq,
            has_older: thread.replies.has_older,
            has_newer: thread.replies.has_newer,
        }))
    }

    async fn open_conversation(
        &self,
        request: Request<pb::OpenConversationRequest>,
    ) -> Reply<pb::ConversationReply> {
        let members = dms::member_ids(&request.get_ref().member_ids)?;
        let (conversation, created) = self
            .run(&request, move |conn, caller| {
                dms::open(conn, caller, &members)
            })
            .await?;
        Ok(Response::new(pb::ConversationReply {
            conversation: Some(conversation.into()),
            created,
        }))
    }

    async fn list_conversations(
        &self,
        request: Request<pb::ListConversationsRequest>,
    ) -> Reply<pb::ConversationList> {
        let conversations = self.run(&request, dms::list).await?;
        Ok(Response::new(pb::ConversationList {
            conversations: wire::all(conversations),
        }))
    }

    async fn get_conversation(
        &self,
        request: Request<pb::GetConversationRequest>,
    ) -> Reply<pb::Conversation> {
        let id = request.get_ref().conversation_id.clone();
        let conversation = self
            .run(&request, move |conn, caller| dms::get(conn, caller, &id))
            .await?;
        Ok(Response::new(conversation.into()))
    }

    async fn hide_conversation(
        &self,
        request: Request<pb::GetConversationRequest>,
    ) -> Reply<pb::HideConversationReply> {
        let id = request.get_ref().conversation_id.clone();
        self.run(&request, move |conn, caller| dms::hide(conn, caller, &id))
            .await?;
        Ok(Response::new(pb::HideConversationReply {}))
    }

    async fn show_conversation(
        &self,
        request: Request<pb::GetConversationRequest>,
    ) -> Reply<pb::Conversation> {
        let id = request.get_ref().conversation_id.clone();
        let conversation = self
            .run(&request, move |conn, caller| dms::show(conn, caller, &id))
            .await?;
        Ok(Response::new(conversation.into()))
    }

    async fn add_reaction(
        &self,
        request: Request<pb::ReactionRequest>,
    ) -> Reply<pb::ReactionReply> {
        self.reaction(request, true).await
    }

    async fn remove_reaction(
        &self,
        request: Request<pb::ReactionRequest>,
    ) -> Reply<pb::ReactionReply> {
        self.reaction(request, false).await
    }

    async fn mark_read(&self, request: Request<pb::MarkReadRequest>) -> Reply<pb::ReceiptReply> {
        let req = request.get_ref().clone();
        let target = match (req.channel_id, req.direct_conversation_id) {
            (Some(channel), None) => ReadTarget::Channel(channel),
            (None, Some(conversation)) => ReadTarget::Conversation(conversation),
            _ => {
                return Err(Status::invalid_argument(
                    "give exactly one of channel_id or direct_conversation_id",
                ));
            }
        };
        let (receipt, event) = self
            .run(&request, move |conn, caller| {
                reactions::mark_read(conn, caller, target, req.seq)
            })
            .await?;
        Ok(Response::new(pb::ReceiptReply {
            receipt: Some(receipt.into()),
            event: self.published_one(Some(event)).await,
        }))
    }

    async fn create_upload(
        &self,
        request: Request<pb::CreateUploadRequest>,
    ) -> Reply<pb::UploadReply> {
        let caller = acting_user(&request)?;
        let req = request.into_inner();
        let new = NewUpload {
            filename: req.filename,
            content_type: req.content_type,
            content: req.content,
            nonce: req.nonce,
        };
        let store = self.uploads.clone();
        let (upload, created) = db::run(&self.pool, move |conn| {
            uploads::create(conn, &caller, &store, new)
        })
        .await?;
        Ok(Response::new(pb::UploadReply {
            upload: Some(upload.into()),
            created,
        }))
    }

    async fn get_upload_by_nonce(
        &self,
        request: Request<pb::GetUploadByNonceRequest>,
    ) -> Reply<pb::UploadReply> {
        let nonce = request.get_ref().nonce.clone();
        let upload = self
            .run(&request, move |conn, caller| {
                uploads::by_nonce(conn, caller, &nonce)
            })
            .await?;
        Ok(Response::new(pb::UploadReply {
            upload: Some(upload.into()),
            created: false,
        }))
    }

    async fn download_upload(
        &self,
        request: Request<pb::DownloadUploadRequest>,
    ) -> Reply<pb::UploadContent> {
        let id = request.get_ref().upload_id.clone();
        let store = self.uploads.clone();
        let (upload, content) = self
            .run(&request, move |conn, caller| {
                uploads::download(conn, caller, &store, &id)
            })
            .await?;
        Ok(Response::new(pb::UploadContent {
            upload: Some(upload.into()),
            content,
        }))
    }

    async fn attach_upload(
        &self,
        request: Request<pb::AttachUploadRequest>,
    ) -> Reply<pb::MessageReply> {
        let req = request.get_ref().clone();
        let (message, event) = self
            .run(&request, move |conn, caller| {
                uploads::attach(
                    conn,
                    caller,
                    &req.message_id,
                    &req.upload_id,
                    req.correlation_id.as_deref(),
                )
            })
            .await?;
        Ok(Response::new(pb::MessageReply {
            message: Some(message.into()),
            event: self.published_one(event).await,
        }))
    }

    async fn search(&self, request: Request<pb::SearchRequest>) -> Reply<pb::SearchResults> {
        let req = request.get_ref().clone();
        let results = self
            .run(&request, move |conn, caller| {
                search::search(
                    conn,
                    caller,
                    &req.query,
                    req.channel_id.as_deref(),
                    req.limit,
                    req.cursor.as_deref(),
                )
            })
            .await?;
        Ok(Response::new(results.into()))
    }

    async fn locate_resource(
        &self,
        request: Request<pb::LocateResourceRequest>,
    ) -> Reply<pb::ResourceLocation> {
        // The gateway asks as itself (the policy admits only it), before it
        // knows which user's workspace the id is in.
        let id = request.into_inner().id;
        let found = db::run(&self.pool, move |conn| access::workspace_of(conn, &id)).await?;
        let workspace_id = found.ok_or_else(|| Status::not_found("not found"))?;
        Ok(Response::new(pb::ResourceLocation { workspace_id }))
    }
}

impl MessagingApi {
    async fn reaction(
        &self,
        request: Request<pb::ReactionRequest>,
        add: bool,
    ) -> Reply<pb::ReactionReply> {
        let req = request.get_ref().clone();
        let outcome = self
            .run(&request, move |conn, caller| {
                reactions::react(conn, caller, &req.message_id, &req.emoji, add)
            })
            .await?;
        Ok(Response::new(pb::ReactionReply {
            event: self.published_one(outcome.event).await,
            reactions: wire::all(outcome.reactions),
            changed: outcome.changed,
        }))
    }
}
