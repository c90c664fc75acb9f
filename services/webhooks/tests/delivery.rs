//! The delivery client against real sockets on this machine: what it sends,
//! what it refuses to reach, and how it reads answers.

use clickclack_webhooks::delivery::{Attempt, KEPT_BODY_BYTES, Outgoing, Sender};
use clickclack_webhooks::domain::schedule::{Outcome, Verdict, verdict};
use clickclack_webhooks::domain::signing::{SigningSecret, delivery_headers};
use clickclack_webhooks::domain::target::TargetPolicy;
use std::time::Duration;
use support::{Answer, WAIT, answer, receiver};
use url::Url;

mod support;

/// Posts `{}` with no headers to `url`.
async fn post_empty(sender: &Sender, url: &Url) -> Attempt {
    sender
        .send(Outgoing {
            url,
            body: b"{}",
            headers: &[],
        })
        .await
}

fn loopback_allowed() -> Sender {
    Sender::new(TargetPolicy {
        allow_private_networks: true,
        ..TargetPolicy::default()
    })
}

#[tokio::test]
async fn a_delivery_arrives_signed_and_the_answer_is_kept_to_a_bound() {
    let (base, mut received) = receiver(answer("200 OK", "", &"y".repeat(5000))).await;
    let url = Url::parse(&format!("{base}/hooks/ci")).unwrap();
    let secret = SigningSecret::generate();
    let body = br#"{"type":"message.created"}"#;
    let headers = delivery_headers(std::slice::from_ref(&secret), "evt_1", 1_700_000_000, body);
    let attempt = loopback_allowed()
        .send(Outgoing {
            url: &url,
            body,
            headers: &headers,
        })
        .await;
    assert_eq!(
        attempt.outcome,
        Outcome::Answered {
            status: 200,
            retry_after: None
        }
    );
    assert_eq!(verdict(&attempt.outcome, 1, 0.5), Verdict::Delivered);
    assert_eq!(attempt.response_body.len(), KEPT_BODY_BYTES);
    let got = received.next(WAIT).await.expect("a delivery");
    assert_eq!(got.request_line, "POST /hooks/ci HTTP/1.1");
    assert_eq!(got.body, body);
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("webhook-id"), Some("evt_1"));
    assert_eq!(got.header("webhook-timestamp"), Some("1700000000"));
    // The receiver verifies with the secret it was shown.
    let shown = SigningSecret::parse(secret.expose()).unwrap();
    assert_eq!(
        got.header("webhook-signature"),
        Some(shown.sign("evt_1", 1_700_000_000, body).as_str())
    );
    assert_eq!(
        got.header("x-clickclack-signature"),
        Some(shown.sign_upstream(1_700_000_000, body).as_str())
    );
    assert!(
        got.header("user-agent")
            .unwrap()
            .starts_with("ClickClack-Webhooks/")
    );
}

#[tokio::test]
async fn private_addresses_are_never_reached_unless_the_operator_allows_them() {
    let (base, mut received) = receiver(answer("200 OK", "", "ok")).await;
    let port = Url::parse(&base).unwrap().port().unwrap();
    let strict = Sender::new(TargetPolicy::default());
    for target in [
        format!("http://127.0.0.1:{port}/hook"),
        // A name that resolves to loopback: checked after resolution.
        format!("http://localhost:{port}/hook"),
    ] {
        let url = Url::parse(&target).unwrap();
        let attempt = post_empty(&strict, &url).await;
        assert_eq!(attempt.outcome, Outcome::Refused, "{target}");
        assert!(
            attempt
                .error
                .as_deref()
                .unwrap()
                .contains("does not deliver to"),
            "{:?}",
            attempt.error
        );
        assert_eq!(verdict(&attempt.outcome, 1, 0.5), Verdict::Failed);
    }
    // A host the operator lists is reached, at any address.
    let listed = Sender::new(TargetPolicy {
        allowed_hosts: vec!["localhost".into()],
        ..TargetPolicy::default()
    });
    let url = Url::parse(&format!("http://localhost:{port}/hook")).unwrap();
    let attempt = post_empty(&listed, &url).await;
    assert!(matches!(
        attempt.outcome,
        Outcome::Answered { status: 200, .. }
    ));
    assert_eq!(
        received.next(WAIT).await.expect("a delivery").request_line,
        "POST /hook HTTP/1.1"
    );
    assert!(
        received.try_next().is_none(),
        "the refused attempts sent nothing"
    );
}

#[tokio::test]
async fn redirects_are_answers_not_directions() {
    let (elsewhere, mut reached) = receiver(answer("200 OK", "", "ok")).await;
    let (base, mut received) = receiver(answer(
        "302 Found",
        &format!("Location: {elsewhere}/stolen\r\n"),
        "",
    ))
    .await;
    let url = Url::parse(&format!("{base}/hook")).unwrap();
    let attempt = post_empty(&loopback_allowed(), &url).await;
    assert!(matches!(
        attempt.outcome,
        Outcome::Answered { status: 302, .. }
    ));
    assert_eq!(verdict(&attempt.outcome, 1, 0.5), Verdict::Failed);
    received.next(WAIT).await.expect("a delivery");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        reached.try_next().is_none(),
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn busy_gone_unreachable_and_silent_receivers() {
    let sender = loopback_allowed();
    let send = |url: Url| {
        let sender = sender.clone();
        async move { post_empty(&sender, &url).await }
    };
    let (busy, _) = receiver(answer("429 Too Many Requests", "Retry-After: 30\r\n", "")).await;
    let attempt = send(Url::parse(&busy).unwrap()).await;
    assert_eq!(
        attempt.outcome,
        Outcome::Answered {
            status: 429,
            retry_after: Some(Duration::from_secs(30))
        }
    );
    assert_eq!(
        verdict(&attempt.outcome, 1, 0.5),
        Verdict::RetryAfter(Duration::from_secs(30))
    );

    let (gone, _) = receiver(answer("410 Gone", "", "")).await;
    let attempt = send(Url::parse(&gone).unwrap()).await;
    assert_eq!(
        verdict(&attempt.outcome, 1, 0.5),
        Verdict::DisableSubscription
    );

    // Nobody listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let attempt = send(Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap()).await;
    assert_eq!(attempt.outcome, Outcome::Unreachable);
    assert!(attempt.error.unwrap().starts_with("could not connect"));

    // Accepts, reads, never answers: given up after the attempt timeout.
    let (silent, _) = receiver(Answer::Hang).await;
    let attempt = send(Url::parse(&silent).unwrap()).await;
    assert_eq!(attempt.outcome, Outcome::TimedOut);
    assert!(
        attempt.latency >= Duration::from_secs(9),
        "{:?}",
        attempt.latency
    );
    assert!(
        attempt.latency < Duration::from_secs(12),
        "{:?}",
        attempt.latency
    );
    assert!(matches!(
        verdict(&attempt.outcome, 1, 0.5),
        Verdict::RetryAfter(_)
    ));
}
