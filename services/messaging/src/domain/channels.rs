use super::events::{self, EventDraft};
use super::{access, rules, views};
use crate::error::{MessagingError, Result};
use crate::store::channels::{self, ChannelChanges, ChannelRow};
use crate::store::violates;
use chrono::Utc;
use clickclack_common::assertion::ActingUser;
use clickclack_common::ids;
use clickclack_common::outbox::RecordedEvent;
use diesel::{Connection, PgConnection};
use serde_json::json;

const DUPLICATE_NAME: &str = "channel name must be unique in the workspace";

pub struct NewChannel {
    pub name: String,
    pub kind: String,
    pub display_title: Option<String>,
    pub sidebar_section: Option<String>,
    pub external_managed: bool,
    pub external_ref: Option<String>,
    pub external_url: Option<String>,
    /// Return an existing channel of that name instead of a conflict.
    pub if_missing: bool,
}

pub fn list(conn: &mut PgConnection, caller: &ActingUser) -> Result<Vec<views::Channel>> {
    let rows = channels::list(conn, &caller.workspace_id)?;
    Ok(views::channels(conn, &caller.user_id, rows)?)
}

pub fn get(conn: &mut PgConnection, caller: &ActingUser, id: &str) -> Result<views::Channel> {
    let row = access::channel(conn, caller, id)?;
    Ok(views::channel(conn, &caller.user_id, row)?)
}

pub fn create(
    conn: &mut PgConnection,
    caller: &ActingUser,
    new: NewChannel,
) -> Result<(views::Channel, Option<RecordedEvent>)> {
    let name = rules::channel_name(&new.name)?;
    let kind = rules::channel_kind(&new.kind)?;
    let display_title = rules::channel_label("display_title", new.display_title)?;
    let sidebar_section = rules::channel_label("sidebar_section", new.sidebar_section)?;
    let external_ref = rules::channel_label("external_ref", new.external_ref)?;
    let external_url = rules::external_url(new.external_url)?;
    let created = conn.transaction(|conn| -> Result<_> {
        if let Some(existing) = channels::find_by_name(conn, &caller.workspace_id, &name)? {
            if new.if_missing {
                return Ok((existing, None));
            }
            return Err(MessagingError::Conflict(DUPLICATE_NAME.into()));
        }
        let row = channels::insert(
            conn,
            &ChannelRow {
                id: ids::new_id(ids::CHANNEL),
                workspace_id: caller.workspace_id.clone(),
                name,
                display_title,
                kind,
                created_by: caller.user_id.clone(),
                created_at: Utc::now(),
                archived_at: None,
                external_managed: new.external_managed,
                external_ref,
                external_url,
                sidebar_section,
                last_seq: 0,
            },
        )?;
        let event = events::record(
            conn,
            EventDraft::new("channel.created", &caller.workspace_id)
                .channel(Some(&row.id))
                .with("channel_id", json!(row.id))
                .with("name", json!(row.name))
                .with("created_by", json!(caller.user_id)),
        )?;
        Ok((row, Some(event)))
    });
    let (row, event) = created.map_err(name_taken)?;
    Ok((views::channel(conn, &caller.user_id, row)?, event))
}

/// A channel name already used in the workspace is a conflict, not a
/// database failure.
fn name_taken(error: MessagingError) -> MessagingError {
    match error {
        MessagingError::Db(clickclack_common::db::DbError::Query(ref d))
            if violates(d, "channels_workspace_id_name_key") =>
        {
            MessagingError::Conflict(DUPLICATE_NAME.into())
        }
        other => other,
    }
}

pub struct ChannelUpdate {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub archived: Option<bool>,
    /// For the optional labels, `Some("")` clears the field.
    pub display_title: Option<String>,
    pub external_managed: Option<bool>,
    pub external_ref: Option<String>,
    pub external_url: Option<String>,
    pub sidebar_section: Option<String>,
}

pub fn update(
    conn: &mut PgConnection,
    caller: &ActingUser,
    id: &str,
    update: ChannelUpdate,
) -> Result<(views::Channel, RecordedEvent)> {
    let changes = ChannelChanges {
        name: update
            .name
            .as_deref()
            .map(rules::channel_name)
            .transpose()?,
        kind: update
            .kind
            .as_deref()
            .map(rules::channel_kind)
            .transpose()?,
        display_title: cleared_or_set(update.display_title, |v| {
            rules::channel_label("display_title", v)
        })?,
        archived_at: update.archived.map(|archived| archived.then(Utc::now)),
        external_managed: update.external_managed,
        external_ref: cleared_or_set(update.external_ref, |v| {
            rules::channel_label("external_ref", v)
        })?,
        external_url: cleared_or_set(update.external_url, rules::external_url)?,
        sidebar_section: cleared_or_set(update.sidebar_section, |v| {
            rules::channel_label("sidebar_section", v)
        })?,
    };
    if changes.is_empty() {
        return Err(MessagingError::Invalid(
            "nothing to update: give name, kind, archived, display_title, external_managed, external_ref, external_url or sidebar_section".into(),
        ));
    }
    let updated = conn.transaction(|conn| -> Result<_> {
        let channel = access::channel(conn, caller, id)?;
        if let Some(name) = &changes.name
            && name != &channel.name
            && channels::find_by_name(conn, &caller.workspace_id, name)?.is_some()
        {
            return Err(MessagingError::Conflict(DUPLICATE_NAME.into()));
        }
        let row = channels::update(conn, &channel.id, &changes)?;
        let event = events::record(
            conn,
            EventDraft::new("channel.updated", &caller.workspace_id)
                .channel(Some(&row.id))
                .with("channel_id", json!(row.id)),
        )?;
        Ok((row, event))
    });
    let (row, event) = updated.map_err(name_taken)?;
    Ok((views::channel(conn, &caller.user_id, row)?, event))
}

/// A PATCH field: absent leaves the column alone (`None`); present sets it,
/// and a blank value clears it (`Some(None)`).
fn cleared_or_set(
    raw: Option<String>,
    check: impl FnOnce(Option<String>) -> Result<Option<String>>,
) -> Result<Option<Option<String>>> {
    raw.map(|value| check(Some(value))).transpose()
}
