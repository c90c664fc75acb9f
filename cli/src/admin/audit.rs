//! `clickclack admin audit ...`.

use super::{Admin, RpcResult};
use clap::Subcommand;
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use serde_json::json;

#[derive(Subcommand)]
pub(super) enum AuditCommand {
    /// A workspace's entries, newest first.
    List {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

pub(super) async fn run(admin: &mut Admin, command: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::List { workspace, limit } = command;
    let list = admin
        .identity
        .list_audit(pb::ListAuditRequest {
            workspace,
            actor_user_id: None,
            limit,
            before: String::new(),
        })
        .await
        .rpc()?;
    admin.out.list(
        || {
            let entries: Vec<wire::AuditEntry> =
                list.entries.iter().cloned().map(Into::into).collect();
            json!({ "entries": entries })
        },
        &["WHEN", "WHO", "ACTION", "TARGET", "DETAIL"],
        || {
            list.entries
                .iter()
                .cloned()
                .map(|e| {
                    vec![
                        e.created_at,
                        e.actor_user_id.unwrap_or_else(|| "operator".into()),
                        e.action,
                        e.target_id,
                        e.detail_json,
                    ]
                })
                .collect()
        },
    )
}
