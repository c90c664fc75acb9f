//! `clickclack admin bootstrap` and `clickclack admin workspace ...`.

use super::{Admin, AdminUser, RpcResult};
use anyhow::Context;
use clap::{Args, Subcommand};
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use serde_json::json;

#[derive(Args)]
pub(super) struct BootstrapArgs {
    /// The owner's display name.
    #[arg(long)]
    pub(super) name: String,
    /// The owner's email.
    #[arg(long)]
    pub(super) email: String,
    /// The new workspace's name.
    #[arg(long, default_value = "Default")]
    pub(super) workspace_name: String,
    /// The new workspace's slug; defaults to one made from the workspace name.
    #[arg(long, default_value = "")]
    pub(super) workspace_slug: String,
}

#[derive(Subcommand)]
pub(super) enum WorkspaceCommand {
    /// Create an empty workspace (`bootstrap` also creates its owner).
    Create {
        /// The workspace's name.
        #[arg(long)]
        name: String,
        /// URL-friendly name; defaults to one made from the name.
        #[arg(long, default_value = "")]
        slug: String,
    },
    /// List every workspace.
    List,
    /// Rename a workspace (members see workspace.updated).
    Update {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
        /// The new name.
        #[arg(long)]
        name: Option<String>,
        /// The new icon URL.
        #[arg(long)]
        icon_url: Option<String>,
    },
}

/// A workspace with its human owner and `#general`.
pub(super) async fn bootstrap(admin: &mut Admin, args: BootstrapArgs) -> anyhow::Result<()> {
    let created = admin
        .identity
        .bootstrap(pb::BootstrapRequest {
            owner_display_name: args.name,
            owner_email: args.email,
            workspace_name: args.workspace_name,
            workspace_slug: args.workspace_slug,
        })
        .await
        .rpc()?;
    let workspace = created
        .workspace
        .context("identity returned no workspace")?;
    let owner = created.owner.context("identity returned no owner")?;
    let general = clickclack_cli::stack::ensure_general_channel(
        &admin.messaging_addr,
        &admin.operator_key,
        &workspace.id,
        &owner.id,
    )
    .await
    .with_context(|| {
        format!(
            "workspace {} was created, but its general channel was not",
            workspace.id
        )
    })?;
    admin.out.show(
        || {
            json!({
                "workspace": wire::Workspace::from(workspace.clone()),
                "owner": AdminUser::from(owner.clone()),
                "channel": general,
            })
        },
        || {
            print_workspace(&workspace);
            println!(
                "owner      {}  {} <{}>",
                owner.id,
                owner.display_name,
                owner.email.as_deref().unwrap_or_default()
            );
            println!("channel    {}  #{}", general.id, general.name);
        },
    )
}

pub(super) async fn run(admin: &mut Admin, command: WorkspaceCommand) -> anyhow::Result<()> {
    let workspace = match command {
        WorkspaceCommand::Create { name, slug } => admin
            .identity
            .create_workspace(pb::CreateWorkspaceRequest { name, slug })
            .await
            .rpc()?,
        WorkspaceCommand::Update {
            workspace,
            name,
            icon_url,
        } => admin
            .identity
            .update_workspace(pb::UpdateWorkspaceRequest {
                workspace,
                name,
                icon_url,
                slug: None,
            })
            .await
            .rpc()?,
        WorkspaceCommand::List => {
            let list = admin
                .identity
                .list_workspaces(pb::ListWorkspacesRequest {
                    member_user_id: None,
                })
                .await
                .rpc()?;
            return admin.out.list(
                || {
                    let workspaces: Vec<wire::Workspace> =
                        list.workspaces.iter().cloned().map(Into::into).collect();
                    json!({ "workspaces": workspaces })
                },
                &["ID", "SLUG", "NAME", "CREATED"],
                || {
                    list.workspaces
                        .iter()
                        .cloned()
                        .map(|w| vec![w.id, w.slug, w.name, w.created_at])
                        .collect()
                },
            );
        }
    };
    admin.out.show(
        || json!({ "workspace": wire::Workspace::from(workspace.clone()) }),
        || print_workspace(&workspace),
    )
}

fn print_workspace(workspace: &pb::Workspace) {
    println!(
        "workspace  {}  {} ({})",
        workspace.id, workspace.name, workspace.slug
    );
}
