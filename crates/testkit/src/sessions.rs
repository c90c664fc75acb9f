//! Human sign-in for tests: the same magic-link flow an operator and a UI
//! use, end to end through identity and the gateway.

use crate::TestStack;
use clickclack_proto::identity as pb;

impl TestStack {
    /// Signs a user in (creating them when `email` is new): an operator's
    /// magic link, consumed over HTTP. Returns the user and the `sst_` token.
    pub async fn sign_in(&self, email: &str) -> (pb::User, String) {
        let link = self
            .identity()
            .await
            .create_magic_link(pb::CreateMagicLinkRequest {
                email: email.into(),
                ..Default::default()
            })
            .await
            .expect("create magic link")
            .into_inner();
        let body = self
            .api()
            .post(
                "/api/auth/magic/consume",
                None,
                serde_json::json!({ "token": link.token }),
            )
            .await
            .expect(200, "consuming a fresh link works");
        let token = body["session"]["token"]
            .as_str()
            .expect("session token")
            .to_owned();
        (link.user.expect("user"), token)
    }

    /// A human member of `workspace` with `role`, signed in.
    pub async fn member_session(
        &self,
        workspace: &str,
        handle: &str,
        role: &str,
    ) -> (pb::User, String) {
        let user = self.add_human(workspace, handle).await;
        if role != "member" {
            self.identity()
                .await
                .add_member(pb::AddMemberRequest {
                    workspace: workspace.into(),
                    user_id: user.id.clone(),
                    role: role.into(),
                })
                .await
                .expect("set role");
        }
        self.sign_in(user.email.as_deref().expect("human email"))
            .await
    }
}
