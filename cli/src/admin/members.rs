//! `clickclack admin member ...`.

use super::{Admin, RpcResult};
use anyhow::Context;
use clap::Subcommand;
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use serde_json::json;

#[derive(Subcommand)]
pub(super) enum MemberCommand {
    /// Add a user to a workspace with a role.
    Add {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
        /// User id (usr_...).
        #[arg(long)]
        user: String,
        /// owner, moderator, member or guest.
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// Remove a user from a workspace.
    Remove {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
        /// User id (usr_...).
        #[arg(long)]
        user: String,
    },
    /// List a workspace's members, humans and bots.
    List {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
    },
}

pub(super) async fn run(admin: &mut Admin, command: MemberCommand) -> anyhow::Result<()> {
    let (key, member, verb) = match command {
        MemberCommand::Add {
            workspace,
            user,
            role,
        } => {
            let member = admin
                .identity
                .add_member(pb::AddMemberRequest {
                    workspace,
                    user_id: user,
                    role,
                })
                .await
                .rpc()?;
            ("member", member, "is now a")
        }
        MemberCommand::Remove { workspace, user } => {
            let removed = admin
                .identity
                .remove_member(pb::RemoveMemberRequest {
                    workspace,
                    user_id: user,
                })
                .await
                .rpc()?
                .removed
                .context("identity returned no member")?;
            ("removed", removed, "was removed; they were a")
        }
        MemberCommand::List { workspace } => {
            let list = admin
                .identity
                .list_members(pb::ListMembersRequest { workspace })
                .await
                .rpc()?;
            return admin.out.list(
                || {
                    let members: Vec<wire::Member> =
                        list.members.iter().cloned().map(Into::into).collect();
                    json!({ "members": members })
                },
                &["USER", "KIND", "ROLE", "HANDLE", "NAME", "JOINED"],
                || {
                    list.members
                        .iter()
                        .cloned()
                        .map(|m| {
                            let user = m.user.unwrap_or_default();
                            vec![
                                user.id,
                                user.kind,
                                m.role,
                                format!("@{}", user.handle),
                                user.display_name,
                                m.joined_at,
                            ]
                        })
                        .collect()
                },
            );
        }
    };
    admin.out.show(
        || json!({ key: wire::Member::from(member.clone()) }),
        || {
            let user = member.user.clone().unwrap_or_default();
            println!(
                "{} (@{}) {verb} {} of {}",
                user.id, user.handle, member.role, member.workspace_id
            );
        },
    )
}
