//! Reaching a service's port is never enough (docs/architecture.md, "Who may call what"): every RPC of
//! identity, messaging and realtime checks who is calling. A raw gRPC client
//! with no credential, a wrong one, or the gateway's own calling an admin RPC
//! is refused, on every method.

use clickclack_common::assertion::{AssertionKey, Claims, DEV_INTERNAL_KEY, DEV_OPERATOR_KEY};
use clickclack_common::scopes;
use clickclack_testkit::TestStack;
use tonic::Code;
use tonic::transport::Channel;

/// Every `rpc Name(` in a .proto file.
fn methods(proto: &str) -> Vec<String> {
    proto
        .lines()
        .filter_map(|line| line.trim().strip_prefix("rpc "))
        .map(|rest| rest.split('(').next().unwrap().trim().to_owned())
        .collect()
}

/// Calls `/{service}/{method}` with an empty message and `assertion`.
async fn call(channel: &Channel, service: &str, method: &str, assertion: Option<String>) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.expect("channel ready");
    let mut metadata = tonic::metadata::MetadataMap::new();
    if let Some(assertion) = assertion {
        metadata.insert(
            clickclack_proto::PRINCIPAL_METADATA_KEY,
            assertion.parse().unwrap(),
        );
    }
    let path: http::uri::PathAndQuery = format!("/{service}/{method}").parse().unwrap();
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let outcome = match method {
        "WatchAuthChanges" => {
            let mut request = tonic::Request::new(tokio_stream::iter(Vec::<()>::new()));
            *request.metadata_mut() = metadata;
            grpc.streaming(request, path, codec).await.map(|_| ())
        }
        "Subscribe" => {
            let mut request = tonic::Request::new(());
            *request.metadata_mut() = metadata;
            grpc.server_streaming(request, path, codec)
                .await
                .map(|_| ())
        }
        _ => {
            let mut request = tonic::Request::new(());
            *request.metadata_mut() = metadata;
            grpc.unary(request, path, codec).await.map(|_| ())
        }
    };
    match outcome {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

fn signed(key: &AssertionKey, claims: &Claims) -> Option<String> {
    Some(key.sign(claims))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_grpc_callers_without_the_right_credential_are_refused_on_every_method() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let internal = AssertionKey::from_secret(DEV_INTERNAL_KEY).unwrap();
    let operator = AssertionKey::operator(DEV_OPERATOR_KEY).unwrap();
    let stranger = AssertionKey::operator("someone-elses-key-that-is-long-enough-0123").unwrap();
    let stranger_internal =
        AssertionKey::from_secret("someone-elses-key-that-is-long-enough-0123").unwrap();
    let bot = Claims::new(
        "usr_bot",
        "bot",
        &boot.workspace.id,
        "bot",
        &scopes::expand(&["bot:admin"]).unwrap(),
    );
    // An "operator" minted with the internal key (what a compromised
    // gateway could make) is no operator.
    let forged_operator = {
        let mut claims = Claims::operator(None);
        claims.iss = Claims::gateway().iss;
        claims.aud = Claims::gateway().aud;
        claims
    };

    let admin_rpcs = [
        "CreateUser",
        "ListUsers",
        "CreateWorkspace",
        "UpdateWorkspace",
        "AddMember",
        "RemoveMember",
        "Bootstrap",
        // (CreateMagicLink is the gateway's too: it mails links on request.)
    ];
    let services = [
        (
            clickclack_proto::IDENTITY_SERVICE_NAME,
            &stack.identity_url,
            methods(include_str!("../../proto/proto/identity.proto")),
        ),
        (
            clickclack_proto::MESSAGING_SERVICE_NAME,
            &stack.messaging_url,
            methods(include_str!("../../proto/proto/messaging.proto")),
        ),
        (
            clickclack_proto::REALTIME_SERVICE_NAME,
            &stack.realtime_url,
            methods(include_str!("../../proto/proto/realtime.proto")),
        ),
    ];
    let mut checked = 0;
    for (service, url, methods) in services {
        assert!(methods.len() >= 4, "{service}: {methods:?}");
        let channel = Channel::from_shared(url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap();
        for method in &methods {
            for (who, assertion) in [
                ("no credential", None),
                (
                    "a stranger's operator key",
                    signed(&stranger, &Claims::operator(None)),
                ),
                (
                    "a stranger's internal key",
                    signed(&stranger_internal, &Claims::gateway()),
                ),
                (
                    "an operator forged with the internal key",
                    signed(&internal, &forged_operator),
                ),
            ] {
                let code = call(&channel, service, method, assertion).await;
                assert_eq!(code, Code::Unauthenticated, "{service}/{method} with {who}");
                checked += 1;
            }
        }
        if service == clickclack_proto::IDENTITY_SERVICE_NAME {
            for method in admin_rpcs {
                assert!(methods.iter().any(|m| m == method), "{method}");
                for (who, claims) in [("the gateway", Claims::gateway()), ("a bot", bot.clone())] {
                    let code = call(&channel, service, method, signed(&internal, &claims)).await;
                    assert_eq!(code, Code::PermissionDenied, "{method} by {who}");
                    checked += 1;
                }
            }
            // The operator's own credential gets through.
            let code = call(
                &channel,
                service,
                "ListUsers",
                signed(&operator, &Claims::operator(None)),
            )
            .await;
            assert_eq!(code, Code::Ok);
        }
        if service == clickclack_proto::REALTIME_SERVICE_NAME {
            for (who, claims) in [("the gateway", Claims::gateway()), ("a bot", bot.clone())] {
                let code = call(&channel, service, "Append", signed(&internal, &claims)).await;
                assert_eq!(code, Code::PermissionDenied, "Append by {who}");
                checked += 1;
            }
        }
        if service == clickclack_proto::MESSAGING_SERVICE_NAME {
            let code = call(&channel, service, "LocateResource", signed(&internal, &bot)).await;
            assert_eq!(code, Code::PermissionDenied, "LocateResource by a bot");
        }
    }
    eprintln!("{checked} refused calls checked");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_started_on_its_own_refuses_the_development_key() {
    let refused = clickclack_gateway::run(Default::default(), Default::default())
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("CLICKCLACK_INTERNAL_KEY is the built-in development key"),
        "{refused}"
    );
}
