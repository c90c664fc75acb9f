//! Generates the tonic clients and servers from `proto/*.proto`.
//!
//! protoc comes from the `protoc-bin-vendored` crate so the build needs no
//! system protobuf compiler.

/// Messages that carry a raw secret; `src/lib.rs` gives them a Debug that
/// redacts it.
const SECRET_BEARING: [&str; 16] = [
    "clickclack.identity.v1.AuthenticateRequest",
    "clickclack.identity.v1.CreateBotResponse",
    "clickclack.identity.v1.CreateBotTokenResponse",
    "clickclack.identity.v1.RotateBotTokenResponse",
    "clickclack.identity.v1.CreateMagicLinkResponse",
    "clickclack.identity.v1.ConsumeMagicLinkRequest",
    "clickclack.identity.v1.ConsumeMagicLinkResponse",
    "clickclack.identity.v1.RevokeSessionRequest",
    "clickclack.identity.v1.CreateSetupCodeResponse",
    "clickclack.identity.v1.ClaimSetupCodeRequest",
    "clickclack.identity.v1.ClaimSetupCodeResponse",
    "clickclack.identity.v1.CreateInviteResponse",
    "clickclack.identity.v1.AcceptInviteRequest",
    "clickclack.webhooks.v1.SubscriptionWithSecret",
    "clickclack.webhooks.v1.IncomingHookWithSecret",
    "clickclack.webhooks.v1.ResolveIncomingHookRequest",
];

/// Serialisation for messages the gateway sends as JSON as they are.
const JSON_OUT: &str = "#[serde_with::skip_serializing_none]\n#[derive(serde::Serialize)]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: build scripts are single-threaded; nothing else reads the
    // environment while we set it.
    unsafe { std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?) };

    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let protos = [
        "proto/identity.proto",
        "proto/messaging.proto",
        "proto/realtime.proto",
        "proto/webhooks.proto",
    ];
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("clickclack_descriptor.bin"))
        // The raw bearer token must never reach a log line through `{:?}`.
        .skip_debug(SECRET_BEARING)
        // Messaging's field names are API.md's, so the gateway serialises
        // these messages straight to JSON. Unset optional fields are left
        // out rather than sent as null (API.md §0). Byte payloads never go
        // out as JSON.
        .type_attribute(".clickclack.messaging.v1", JSON_OUT)
        .type_attribute(".clickclack.realtime.v1.Event", JSON_OUT)
        .field_attribute(
            ".clickclack.messaging.v1.CreateUploadRequest.content",
            "#[serde(skip)]",
        )
        .field_attribute(
            ".clickclack.messaging.v1.UploadContent.content",
            "#[serde(skip)]",
        )
        .compile_protos(&protos, &["proto"])?;
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    Ok(())
}
