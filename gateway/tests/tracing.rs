//! One HTTP request is one trace: the gateway's span and the spans of every
//! service it called share a trace id, because the gateway sends W3C trace
//! context in gRPC metadata and each service continues it. Spans are
//! collected in memory from the real, in-process stack.
//!
//! This file holds one test: it installs the process's global subscriber.

use clickclack_testkit::TestStack;
use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

fn spans_named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|span| span.name == name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_is_one_trace_across_gateway_and_services() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");

    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let (_, token) = stack
        .service_bot(&boot.workspace.id, "tracer", "bot:write")
        .await;
    exporter.reset();

    let response = stack
        .api()
        .post(
            &format!("/api/channels/{}/messages", boot.general.id),
            Some(&token),
            json!({ "body": "traced" }),
        )
        .await;
    assert_eq!(response.status, 201);
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();

    let http = spans_named(&spans, "http");
    assert_eq!(http.len(), 1, "one gateway request span: {http:?}");
    let trace: TraceId = http[0].span_context.trace_id();
    assert_eq!(
        http[0].parent_span_id,
        SpanId::INVALID,
        "the request starts the trace"
    );

    for rpc in [
        "/clickclack.identity.v1.IdentityService/Authenticate",
        "/clickclack.messaging.v1.MessagingService/PostMessage",
    ] {
        let served = spans_named(&spans, rpc);
        assert_eq!(served.len(), 1, "{rpc} served once: {spans:#?}");
        assert_eq!(
            served[0].span_context.trace_id(),
            trace,
            "{rpc} continues the request's trace"
        );
        // Its parent is a span of the gateway's request, not a new root.
        assert!(
            spans.iter().any(
                |span| span.span_context.span_id() == served[0].parent_span_id
                    && span.span_context.trace_id() == trace
            ),
            "{rpc} has a parent in the request's trace"
        );
    }
    // Nothing the request caused started a trace of its own.
    let roots: Vec<&SpanData> = spans
        .iter()
        .filter(|span| {
            span.name.starts_with("/clickclack.") && span.span_context.trace_id() != trace
        })
        .collect();
    assert!(
        roots
            .iter()
            .all(|span| !span.name.contains("PostMessage") && !span.name.contains("Authenticate")),
        "{roots:#?}"
    );
    stack.stop().await;
}
