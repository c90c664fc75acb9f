//! The gateway also speaks HTTP/2 without TLS (h2c, prior knowledge), as a
//! proxy in front of it may. There an answer given before a request's body
//! was read ends that stream only: the next request on the same connection
//! is served, for every early answer (429 and 503 too) and body size, and a body too large to
//! drain resets its stream, never the connection.

use clickclack_testkit::TestStack;
use clickclack_testkit::http::{Multipart, sized_body};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Bytes;
use hyper::body::Frame;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::time::Duration;

const SIZES: [usize; 3] = [5 * 1024, 200 * 1024, 2 * 1024 * 1024];
const ROUNDS: usize = 3;
const BOUNDARY: &str = Multipart::BOUNDARY;

type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

async fn connect(http_url: &str) -> SendRequest<Body> {
    let addr = http_url.trim_start_matches("http://");
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("an HTTP/2 handshake");
    tokio::spawn(connection);
    sender
}

async fn send(
    sender: &mut SendRequest<Body>,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: Body,
) -> Result<u16, String> {
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://t{path}"))
        .header("content-type", content_type);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(body).unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        sender
            .ready()
            .await
            .map_err(|e| format!("not ready: {e}"))?;
        let answer = sender
            .send_request(request)
            .await
            .map_err(|e| format!("no answer: {e}"))?;
        let status = answer.status().as_u16();
        answer
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?;
        Ok(status)
    })
    .await
    .map_err(|_| "no answer within 10 s".to_owned())?
}

/// What, method, path, token, content type, expected status.
type Case<'a> = (&'a str, &'a str, String, Option<&'a str>, &'a str, u16);

async fn health(sender: &mut SendRequest<Body>) -> Result<u16, String> {
    send(
        sender,
        "GET",
        "/healthz",
        None,
        "text/plain",
        Full::new(Bytes::new()).boxed(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http2_an_early_answer_ends_its_stream_and_the_connection_serves_on() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.clone();
    let (_, reader) = stack.service_bot(&ws, "reader", "bot:read").await;
    let (_, writer) = stack.service_bot(&ws, "writer", "bot:write").await;
    let messages = format!("/api/channels/{}/messages", boot.general.id);
    let uploads = format!("/api/uploads?workspace_id={ws}");
    let multipart = format!("multipart/form-data; boundary={BOUNDARY}");
    let json = "application/json";
    let cases: Vec<Case> = vec![
        (
            "400 from the input filter",
            "POST",
            "/api/channels/chn_%00/messages".into(),
            Some(&writer),
            json,
            400,
        ),
        (
            "401 on an upload",
            "POST",
            uploads.clone(),
            None,
            &multipart,
            401,
        ),
        (
            "403 on an upload",
            "POST",
            uploads.clone(),
            Some(&reader),
            &multipart,
            403,
        ),
        ("404", "POST", "/api/nope".into(), None, json, 404),
        ("405", "DELETE", "/api/me".into(), Some(&writer), json, 405),
        (
            "415",
            "POST",
            messages.clone(),
            Some(&writer),
            "text/plain",
            415,
        ),
    ];
    let mut sender = connect(&stack.http_url).await;
    let (mut lost, mut sent) = (0, 0);
    for round in 0..ROUNDS {
        for size in SIZES {
            for (what, method, path, token, content_type, expected) in &cases {
                let what = format!("{what} with {size} bytes, round {round}");
                let body = Full::new(Bytes::from(sized_body(content_type, size))).boxed();
                sent += 2;
                match send(&mut sender, method, path, *token, content_type, body).await {
                    Ok(status) => assert!(
                        status == *expected || (status == 413 && size > 1024 * 1024),
                        "{what}: answered {status}"
                    ),
                    Err(why) => {
                        eprintln!("{what}: {why}");
                        lost += 1;
                    }
                }
                match health(&mut sender).await {
                    Ok(200) => {}
                    Ok(other) => panic!("{what}: the health check answered {other}"),
                    Err(why) => {
                        eprintln!("{what}: the next request was lost: {why}");
                        lost += 1;
                        sender = connect(&stack.http_url).await;
                    }
                }
            }
        }
    }
    // An upload over the limit (2 MiB against the test's 256 KiB): 413.
    for round in 0..ROUNDS {
        let body = Full::new(Bytes::from(sized_body(&multipart, 2 * 1024 * 1024))).boxed();
        sent += 2;
        let status = send(
            &mut sender,
            "POST",
            &uploads,
            Some(&writer),
            &multipart,
            body,
        )
        .await;
        assert_eq!(status, Ok(413), "round {round}");
        if health(&mut sender).await != Ok(200) {
            lost += 1;
            sender = connect(&stack.http_url).await;
        }
    }
    // A body announced as 64 MiB and streamed without end in sight: the
    // stream is answered or reset, and the connection serves the next one.
    for round in 0..ROUNDS {
        let chunks = futures_util::stream::iter((0..1024).map(|_| {
            Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(vec![b'z'; 64 * 1024])))
        }));
        let body = StreamBody::new(chunks).boxed();
        let mut request = sender.clone();
        let huge = tokio::spawn({
            let (uploads, writer, multipart) = (uploads.clone(), writer.clone(), multipart.clone());
            async move {
                send(
                    &mut request,
                    "POST",
                    &uploads,
                    Some(&writer),
                    &multipart,
                    body,
                )
                .await
            }
        });
        let answered = huge.await.unwrap();
        assert!(
            matches!(answered, Ok(413)) || answered.is_err(),
            "round {round}: {answered:?}"
        );
        eprintln!("round {round}: the 64 MiB stream got {answered:?}");
        sent += 1;
        if health(&mut sender).await != Ok(200) {
            eprintln!("round {round}: the connection did not survive a reset stream");
            lost += 1;
            sender = connect(&stack.http_url).await;
        }
    }
    eprintln!("HTTP/2: {lost} of {sent} requests lost");
    assert_eq!(lost, 0);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http2_rate_limited_and_shed_answers_end_only_their_stream() {
    // A credential's first write passes the limiter and is shed (503);
    // every later one is 429.
    let stack = TestStack::start_with_limits(clickclack_gateway::limits::LimitsConfig {
        rate_writes: "1/h".parse().unwrap(),
        max_in_flight: 0,
        ..Default::default()
    })
    .await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.clone();
    let messages = format!("/api/channels/{}/messages", boot.general.id);
    let (_, limited) = stack.service_bot(&ws, "limited", "bot:write").await;
    let mut sender = connect(&stack.http_url).await;
    let (mut lost, mut sent) = (0, 0);
    for round in 0..ROUNDS {
        for size in SIZES {
            // A fresh credential is shed; the limited one is refused.
            let (_, fresh) = stack
                .service_bot(&ws, &format!("fresh-{round}-{}", size / 1024), "bot:write")
                .await;
            for (token, expected) in [(fresh.as_str(), 503), (limited.as_str(), 429)] {
                let what = format!("{expected} with {size} bytes, round {round}");
                let body = Full::new(Bytes::from(sized_body("application/json", size))).boxed();
                sent += 2;
                match send(
                    &mut sender,
                    "POST",
                    &messages,
                    Some(token),
                    "application/json",
                    body,
                )
                .await
                {
                    Ok(status) => assert!(
                        status == expected
                            || (status == 413 && size > 1024 * 1024)
                            || (expected == 429 && status == 503 && round == 0 && size == SIZES[0]),
                        "{what}: answered {status}"
                    ),
                    Err(why) => {
                        eprintln!("{what}: {why}");
                        lost += 1;
                    }
                }
                if health(&mut sender).await != Ok(200) {
                    eprintln!("{what}: the next request was lost");
                    lost += 1;
                    sender = connect(&stack.http_url).await;
                }
            }
        }
    }
    eprintln!("HTTP/2 429 and 503: {lost} of {sent} requests lost");
    assert_eq!(lost, 0);
    stack.stop().await;
}
