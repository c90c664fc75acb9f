//! The gateway's cache of successful authentications, and the change stream
//! from identity that keeps it honest.
//!
//! A cached principal may only be served while this gateway holds a lease
//! from identity: it asks for one every [`LEASE_RENEWAL`] on the
//! `WatchAuthChanges` stream, and the lease counts from when it asked. On
//! every change notice (a token revoked or rotated, a member removed, a
//! session ended) the cache is emptied, open sockets are told, and the
//! change's number is reported back. Identity answers a change RPC only once
//! every gateway with a live lease has reported it, so an answered
//! revocation is refused by the very next request on every gateway. A
//! gateway cut off from identity loses its lease within [`LEASE_RENEWAL`]
//! plus the lease length and then caches nothing.

use crate::principal::Principal;
use crate::state::AppState;
use clickclack_common::retry::Reconnect;
use clickclack_common::token::TokenHash;
use clickclack_proto::identity as pb;
use moka::sync::Cache;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often the gateway asks identity for a new lease.
pub const LEASE_RENEWAL: Duration = Duration::from_millis(300);
/// Change notices a socket may fall behind by before it re-checks anyway.
const CHANGE_BUFFER: usize = 256;
/// The most principals kept; the least used go first beyond it.
const CACHE_CAPACITY: u64 = 10_000;

pub type CacheKey = (TokenHash, String);

/// Cache of successful authentications, emptied on every change notice and
/// unused while this gateway holds no lease.
pub struct AuthCache {
    ttl: Duration,
    entries: Cache<CacheKey, Arc<Principal>>,
    /// Bumped on every clear; an answer fetched before a clear is not cached.
    generation: AtomicU64,
    /// The lease's end, in microseconds after `epoch` (0: no lease).
    lease_until: AtomicU64,
    epoch: Instant,
    /// Tells open WebSockets what changed, so the ones concerned re-check.
    changed: tokio::sync::broadcast::Sender<Arc<pb::AuthChange>>,
}

impl AuthCache {
    pub fn new(ttl: Duration) -> Self {
        AuthCache {
            ttl,
            entries: Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .expire_after(UntilCredentialEnds { ttl })
                .build(),
            generation: AtomicU64::new(0),
            lease_until: AtomicU64::new(0),
            epoch: Instant::now(),
            changed: tokio::sync::broadcast::channel(CHANGE_BUFFER).0,
        }
    }

    fn micros(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_micros() as u64
    }

    /// Whether this gateway holds a lease (and so whether caching is on).
    pub fn is_live(&self) -> bool {
        self.micros(Instant::now()) < self.lease_until.load(Ordering::SeqCst)
    }

    /// A lease runs until `until`; it never moves back.
    fn extend_lease(&self, until: Instant) {
        self.lease_until
            .fetch_max(self.micros(until), Ordering::SeqCst);
    }

    fn end_lease(&self) {
        self.lease_until.store(0, Ordering::SeqCst);
    }

    /// Every change notice from now on (a lagging receiver must assume
    /// anything changed).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<pb::AuthChange>> {
        self.changed.subscribe()
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn get(&self, key: &CacheKey) -> Option<Arc<Principal>> {
        if !self.is_live() {
            return None;
        }
        let principal = self.entries.get(key)?;
        // The entry's own expiry should have dropped it at the credential's
        // end; this check makes that end exact whatever the cache holds.
        if principal.time_left().is_some_and(|left| left.is_zero()) {
            self.entries.invalidate(key);
            return None;
        }
        Some(principal)
    }

    pub fn put(&self, key: CacheKey, principal: Arc<Principal>, fetched_in: u64) {
        if self.ttl.is_zero() || !self.is_live() || self.generation() != fetched_in {
            return;
        }
        self.entries.insert(key.clone(), principal);
        // A clear that came between the check above and the insert has
        // already counted a new generation: the answer may predate it, so
        // it must not stay. (A clear after this point drops it anyway.)
        if self.generation() != fetched_in {
            self.entries.invalidate(&key);
        }
    }

    /// Drops everything cached and tells open sockets what changed.
    pub fn clear(&self, change: pb::AuthChange) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.invalidate_all();
        // No socket listening is fine.
        let _ = self.changed.send(Arc::new(change));
    }
}

/// A principal is cached for the cache's TTL, but never past the end of
/// its own credential (a session or a rotated token's grace).
struct UntilCredentialEnds {
    ttl: Duration,
}

impl UntilCredentialEnds {
    fn lifetime(&self, principal: &Principal) -> Duration {
        principal
            .time_left()
            .map_or(self.ttl, |left| left.min(self.ttl))
    }
}

impl moka::Expiry<CacheKey, Arc<Principal>> for UntilCredentialEnds {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        principal: &Arc<Principal>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(self.lifetime(principal))
    }

    /// An insert over an entry still in the cache (a lazily invalidated
    /// one too) counts afresh from the new principal: moka's default keeps
    /// the old entry's remaining time, which let a principal cached before
    /// a rotation outlive the grace period by up to the TTL.
    fn expire_after_update(
        &self,
        _key: &CacheKey,
        principal: &Arc<Principal>,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.lifetime(principal))
    }
}

fn resync() -> pb::AuthChange {
    pb::AuthChange {
        kind: "resync".into(),
        ..Default::default()
    }
}

/// Keeps this gateway subscribed to identity's authentication changes until
/// `shutdown`: applies and reports each change, renews the lease, and
/// reconnects (with the cache off) whenever the stream is lost.
pub fn watch_auth_changes(state: AppState, shutdown: CancellationToken) {
    let watcher_id = clickclack_common::ids::new_id("gw_");
    tokio::spawn(async move {
        let mut retry = Reconnect::new(Duration::from_millis(100));
        while !shutdown.is_cancelled() {
            if follow(&state, &watcher_id, &shutdown, &mut retry).await {
                return;
            }
            // Without a lease nothing may be served from the cache.
            state.auth_cache.end_lease();
            state.auth_cache.clear(resync());
            if !retry.wait(&shutdown).await {
                return;
            }
        }
    });
}

/// One stream's life. Returns true when the gateway is shutting down.
async fn follow(
    state: &AppState,
    watcher_id: &str,
    shutdown: &CancellationToken,
    retry: &mut Reconnect,
) -> bool {
    let cache = &state.auth_cache;
    let (reports, outgoing) = mpsc::channel(64);
    let report = |applied_seq: i64, lease_request: bool| pb::WatcherReport {
        watcher_id: watcher_id.to_owned(),
        applied_seq,
        lease_request,
    };
    // Everything up to this change number has been applied to the cache.
    let mut applied = 0_i64;
    // When the unanswered lease request was sent.
    let mut lease_asked = Some(Instant::now());
    let _ = reports.try_send(report(applied, true));
    let opened = state
        .identity()
        .watch_auth_changes(tokio_stream::wrappers::ReceiverStream::new(outgoing))
        .await;
    let Ok(response) = opened else {
        return false;
    };
    let mut stream = response.into_inner();
    let mut renew = tokio::time::interval(LEASE_RENEWAL);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next = tokio::select! {
            next = stream.message() => next,
            _ = renew.tick() => {
                match lease_asked {
                    None => {
                        lease_asked = Some(Instant::now());
                        if reports.send(report(applied, true)).await.is_err() {
                            return false;
                        }
                    }
                    // An answer is overdue: the stream is stuck.
                    Some(asked) if asked.elapsed() > 4 * LEASE_RENEWAL => return false,
                    Some(_) => {}
                }
                continue;
            }
            _ = shutdown.cancelled() => return true,
        };
        let Ok(Some(change)) = next else {
            return false;
        };
        if change.kind == "lease" {
            // Identity had passed on every change up to `seq` when it wrote
            // the lease; anything not applied yet is dropped wholesale.
            if change.seq > applied {
                cache.clear(resync());
                applied = change.seq;
                if reports.send(report(applied, false)).await.is_err() {
                    return false;
                }
            }
            if let Some(asked) = lease_asked.take() {
                cache.extend_lease(asked + Duration::from_millis(change.lease_ms.into()));
                retry.reset();
            }
            continue;
        }
        // hello, resync, or a change: drop everything, then say so.
        applied = applied.max(change.seq);
        cache.clear(change);
        if reports.send(report(applied, false)).await.is_err() {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickclack_common::token::RawToken;

    fn principal(ends_in: Option<Duration>) -> Arc<Principal> {
        let ends = ends_in.map(|left| chrono::Utc::now() + left);
        Arc::new(Principal::test_bot(None, ends))
    }

    fn live_cache() -> AuthCache {
        let cache = AuthCache::new(Duration::from_secs(30));
        cache.extend_lease(Instant::now() + Duration::from_secs(60));
        cache
    }

    fn key() -> CacheKey {
        (RawToken::from_presented("ccb_x").hash(), String::new())
    }

    /// A token cached before its rotation, then cached again (with the
    /// grace's end) right after the change notice emptied the cache: the
    /// new entry ends with the grace, not with the old entry's TTL.
    #[test]
    fn an_entry_cached_over_an_older_one_ends_with_its_own_credential() {
        for round in 0..20 {
            let cache = live_cache();
            cache.put(key(), principal(None), cache.generation());
            assert!(cache.get(&key()).is_some(), "round {round}: cached");
            cache.clear(resync());
            let rotated = principal(Some(Duration::from_millis(60)));
            cache.put(key(), rotated, cache.generation());
            assert!(cache.get(&key()).is_some(), "round {round}: within grace");
            std::thread::sleep(Duration::from_millis(70));
            assert!(
                cache.get(&key()).is_none(),
                "round {round}: served past the credential's end"
            );
        }
    }

    #[test]
    fn an_entry_replaced_in_place_ends_with_its_own_credential() {
        let cache = live_cache();
        cache.put(key(), principal(None), cache.generation());
        cache.put(
            key(),
            principal(Some(Duration::from_millis(40))),
            cache.generation(),
        );
        std::thread::sleep(Duration::from_millis(50));
        assert!(cache.get(&key()).is_none());
    }

    #[test]
    fn nothing_is_served_without_a_lease() {
        let cache = AuthCache::new(Duration::from_secs(30));
        cache.put(key(), principal(None), cache.generation());
        assert!(cache.get(&key()).is_none());
    }
}
