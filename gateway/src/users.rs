//! Users as messages and conversations show them, fetched from identity in
//! one batch per response and cached briefly (names rarely change), so a
//! page of 200 messages costs at most one identity call.

use crate::error::ApiError;
use clickclack_common::grpc::Peer;
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct UserDirectory {
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, wire::User)>>,
}

/// Above this many entries, stale ones are swept on insert.
const SWEEP_THRESHOLD: usize = 50_000;

impl UserDirectory {
    pub fn new(ttl: Duration) -> Self {
        UserDirectory {
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Drops one user, so their next appearance shows a profile just edited
    /// here (other gateways catch up within the TTL).
    pub fn forget(&self, id: &str) {
        self.cache.lock().expect("user cache lock").remove(id);
    }

    /// The users with these ids; unknown ids are left out.
    pub async fn lookup(
        &self,
        identity: &IdentityServiceClient<Peer>,
        ids: impl IntoIterator<Item = String>,
    ) -> Result<HashMap<String, wire::User>, ApiError> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.cache.lock().expect("user cache lock");
            for id in ids {
                if found.contains_key(&id) || missing.contains(&id) {
                    continue;
                }
                match cache.get(&id) {
                    Some((at, user)) if at.elapsed() < self.ttl => {
                        found.insert(id, user.clone());
                    }
                    _ => missing.push(id),
                }
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
        let mut cache = self.cache.lock().expect("user cache lock");
        if cache.len() >= SWEEP_THRESHOLD {
            let ttl = self.ttl;
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
        }
        let now = Instant::now();
        for user in users {
            let user = wire::User::from(user);
            cache.insert(user.id.clone(), (now, user.clone()));
            found.insert(user.id.clone(), user);
        }
        Ok(found)
    }
}
