//! Users as messages and conversations show them, fetched from identity in
//! one batch per response and cached briefly (names rarely change), so a
//! page of 200 messages costs at most one identity call.

use crate::error::ApiError;
use clickclack_common::grpc::Peer;
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use moka::sync::Cache;
use std::collections::HashMap;
use std::time::Duration;

pub struct UserDirectory {
    cache: Cache<String, wire::User>,
}

/// The most users kept; the least used go first beyond it.
const CAPACITY: u64 = 50_000;

impl UserDirectory {
    pub fn new(ttl: Duration) -> Self {
        UserDirectory {
            cache: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// Drops one user, so their next appearance shows a profile just edited
    /// here (other gateways catch up within the TTL).
    pub fn forget(&self, id: &str) {
        self.cache.invalidate(id);
    }

    /// The users with these ids; unknown ids are left out.
    pub async fn lookup(
        &self,
        identity: &IdentityServiceClient<Peer>,
        ids: impl IntoIterator<Item = String>,
    ) -> Result<HashMap<String, wire::User>, ApiError> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for id in ids {
            if found.contains_key(&id) || missing.contains(&id) {
                continue;
            }
            match self.cache.get(&id) {
                Some(user) => {
                    found.insert(id, user);
                }
                None => missing.push(id),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let users = identity
            .clone()
            .get_users(pb::GetUsersRequest { ids: missing })
            .await?
            .into_inner()
            .users;
        for user in users {
            let user = wire::User::from(user);
            self.cache.insert(user.id.clone(), user.clone());
            found.insert(user.id.clone(), user);
        }
        Ok(found)
    }
}
