//! The generated gRPC contract shared by every ClickClack service, the
//! gateway and the admin CLI. The `.proto` sources live in `proto/`.

/// Generated code, nested as the protobuf packages are so that
/// cross-package references (`messaging` uses `realtime.Event`) resolve.
pub mod clickclack {
    pub mod identity {
        pub mod v1 {
            tonic::include_proto!("clickclack.identity.v1");

            /// A Debug that names the message and leaves every field out:
            /// these carry raw secrets (see `build.rs`).
            macro_rules! redacted_debug {
                ($($message:ident),*) => {$(
                    impl std::fmt::Debug for $message {
                        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                            f.debug_struct(stringify!($message)).finish_non_exhaustive()
                        }
                    }
                )*};
            }
            redacted_debug!(
                AuthenticateRequest,
                CreateBotResponse,
                CreateBotTokenResponse,
                RotateBotTokenResponse,
                CreateMagicLinkResponse,
                ConsumeMagicLinkRequest,
                ConsumeMagicLinkResponse,
                RevokeSessionRequest,
                CreateSetupCodeResponse,
                ClaimSetupCodeRequest,
                ClaimSetupCodeResponse,
                CreateInviteResponse,
                AcceptInviteRequest
            );
        }
    }
    pub mod messaging {
        pub mod v1 {
            tonic::include_proto!("clickclack.messaging.v1");
        }
    }
    pub mod realtime {
        pub mod v1 {
            tonic::include_proto!("clickclack.realtime.v1");
        }
    }
    pub mod webhooks {
        pub mod v1 {
            tonic::include_proto!("clickclack.webhooks.v1");

            /// Secrets must never reach a log line through `{:?}`.
            impl std::fmt::Debug for SubscriptionWithSecret {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.debug_struct("SubscriptionWithSecret")
                        .field("subscription", &self.subscription)
                        .finish_non_exhaustive()
                }
            }
            impl std::fmt::Debug for IncomingHookWithSecret {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.debug_struct("IncomingHookWithSecret")
                        .field("hook", &self.hook)
                        .finish_non_exhaustive()
                }
            }
            impl std::fmt::Debug for ResolveIncomingHookRequest {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.debug_struct("ResolveIncomingHookRequest")
                        .field("id", &self.id)
                        .finish_non_exhaustive()
                }
            }
        }
    }
}

pub use clickclack::identity::v1 as identity;
pub use clickclack::messaging::v1 as messaging;
pub use clickclack::realtime::v1 as realtime;
pub use clickclack::webhooks::v1 as webhooks;

/// Encoded descriptors of every service, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("clickclack_descriptor");

/// The metadata key that carries the signed principal assertion between services.
pub const PRINCIPAL_METADATA_KEY: &str = "x-clickclack-principal";

/// Every workspace starts with a public `#general`: the request that makes
/// it, or finds it when it is already there.
pub fn general_channel_request() -> messaging::CreateChannelRequest {
    messaging::CreateChannelRequest {
        name: "general".into(),
        kind: "public".into(),
        if_missing: true,
        ..Default::default()
    }
}

/// Service names, as used by `grpc.health.v1` checks.
pub const IDENTITY_SERVICE_NAME: &str = "clickclack.identity.v1.IdentityService";
pub const MESSAGING_SERVICE_NAME: &str = "clickclack.messaging.v1.MessagingService";
pub const REALTIME_SERVICE_NAME: &str = "clickclack.realtime.v1.RealtimeService";
pub const WEBHOOKS_SERVICE_NAME: &str = "clickclack.webhooks.v1.WebhooksService";
