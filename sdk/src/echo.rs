//! A ready-made handler: answer every new message in its thread with
//! `echo: <text>`. Useful as a smoke test of a deployment and as a template
//! for real bots.
//!
//! ```no_run
//! # fn demo(client: clickclack_sdk::Client) -> clickclack_sdk::Result<()> {
//! let bot = clickclack_sdk::Bot::builder(client)
//!     .handler(clickclack_sdk::echo::reply_in_thread)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! Two echo bots in one workspace would answer each other forever; run one.

use crate::bot::{Context, HandlerError};
use crate::types::Event;

/// The idempotency nonce of the echo of `message_id`: the same source
/// message always yields the same nonce, so a redelivered event finds the
/// first reply instead of posting a second one.
pub fn nonce_for(message_id: &str) -> String {
    format!("echo-{message_id}")
}

/// For a `message.created` or `thread.reply_created` by someone other than
/// the bot, replies in the message's thread (the thread root is
/// `payload.root_message_id`, or the message itself) with `echo: <text>`.
/// Other events, deleted or empty messages are ignored.
pub async fn reply_in_thread(context: Context, event: Event) -> Result<(), HandlerError> {
    if !event.is_new_message() {
        return Ok(());
    }
    let Some(message_id) = event.message_id() else {
        return Ok(());
    };
    // The runner already skips the bot's own messages; checking here too
    // keeps the handler safe on its own (and covers servers whose
    // `thread.reply_created` lacks `author_id`).
    if event.author_id() == Some(context.me.id.as_str()) {
        return Ok(());
    }
    let message = context.client.get_message(message_id).await?;
    if message.author_id == context.me.id || message.deleted_at.is_some() {
        return Ok(());
    }
    if message.body.trim().is_empty() {
        return Ok(());
    }
    let root = event
        .root_message_id()
        .unwrap_or_else(|| message.root_id())
        .to_owned();
    let posted = context
        .client
        .reply_in_thread(
            &root,
            &format!("echo: {}", message.body),
            Some(&nonce_for(&message.id)),
        )
        .await?;
    tracing::debug!(
        source = %message.id,
        reply = %posted.message.id,
        created = posted.created,
        "echoed"
    );
    Ok(())
}
