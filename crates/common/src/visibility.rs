//! Who may see an event of realtime's log: one rule for realtime's own
//! subscriptions, the gateway's sockets and the webhooks service's
//! deliveries, so a bot never gets pushed what its socket would not show.

use clickclack_proto::realtime as rt;

/// Whether `user_id`, reading workspace `workspace_id`, may see `event`:
/// the workspace's events whose audience is empty or names the user. (The
/// realtime store applies the same rule in SQL for backfills.)
pub fn visible_to(event: &rt::Event, workspace_id: &str, user_id: &str) -> bool {
    event.workspace_id == workspace_id
        && (event.audience.is_empty() || event.audience.iter().any(|id| id == user_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(workspace: &str, audience: &[&str]) -> rt::Event {
        rt::Event {
            workspace_id: workspace.into(),
            audience: audience.iter().map(|id| id.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_workspace_event_is_seen_by_its_members_and_an_audience_only_by_those_it_names() {
        assert!(visible_to(&event("wsp_a", &[]), "wsp_a", "usr_1"));
        assert!(visible_to(
            &event("wsp_a", &["usr_2", "usr_1"]),
            "wsp_a",
            "usr_1"
        ));
        assert!(!visible_to(&event("wsp_a", &["usr_2"]), "wsp_a", "usr_1"));
        assert!(!visible_to(&event("wsp_b", &[]), "wsp_a", "usr_1"));
        assert!(!visible_to(&event("wsp_b", &["usr_1"]), "wsp_a", "usr_1"));
    }
}
