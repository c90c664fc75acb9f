//! Every answer given before a request's body was read (429, 400, 401, 403,
//! 404, 405, 413, 415, 503) leaves the HTTP/1.1 keep-alive connection usable
//! for the next request: measured as a client pool uses a connection, one
//! request, its answer, then `GET /healthz` on the same connection, with 5 KB,
//! 200 KB and 2 MiB bodies. A lost request is one whose connection broke
//! without the answer before it saying `Connection: close`.

use clickclack_gateway::limits::LimitsConfig;
use clickclack_testkit::TestStack;
use clickclack_testkit::http::{Multipart, sized_body};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const SIZES: [usize; 3] = [5 * 1024, 200 * 1024, 2 * 1024 * 1024];
const ROUNDS: usize = 4;
const BOUNDARY: &str = Multipart::BOUNDARY;

/// One answer off the connection: status and head, or why there was none.
async fn read_answer(reader: &mut BufReader<TcpStream>) -> Result<(u16, String), String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let read = tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line))
            .await
            .map_err(|_| "no answer within 10 s".to_owned())?
            .map_err(|error| format!("read failed: {error}"))?;
        if read == 0 {
            return Err(format!("the connection closed; head so far {head:?}"));
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .ok_or(format!("not an HTTP answer: {head:?}"))?;
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .ok_or(format!("no content-length: {head:?}"))?;
    let mut body = vec![0; length];
    reader
        .read_exact(&mut body)
        .await
        .map_err(|error| format!("body: {error}"))?;
    Ok((status, head.to_ascii_lowercase()))
}

/// A request with a body of `size` bytes: JSON, or a multipart upload.
fn request(method: &str, path: &str, headers: &str, content_type: &str, size: usize) -> Vec<u8> {
    let body = sized_body(content_type, size);
    let mut bytes = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\n{headers}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(&body);
    bytes
}

/// One kind of early answer: the request that draws it and the statuses
/// it may get (a JSON body over 1 MiB is 413 before anything else looks).
struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    headers: String,
    content_type: String,
    expected: u16,
}

impl Case {
    fn accepts(&self, status: u16, size: usize) -> bool {
        status == self.expected
            || (status == 413 && size > 1024 * 1024 && !self.content_type.starts_with("multipart/"))
    }
}

/// Sends each case at each size `ROUNDS` times, each followed by a
/// health check on the same connection; answers how many requests of how
/// many were lost.
async fn exchange(http_url: &str, cases: &[Case]) -> (usize, usize) {
    let addr = http_url.trim_start_matches("http://").to_owned();
    let mut connection = BufReader::new(TcpStream::connect(&addr).await.unwrap());
    let (mut lost, mut sent) = (0, 0);
    for round in 0..ROUNDS {
        for size in SIZES {
            for case in cases {
                let what = format!("{} with {size} bytes, round {round}", case.name);
                let early = request(
                    case.method,
                    &case.path,
                    &case.headers,
                    &case.content_type,
                    size,
                );
                sent += 2;
                let written = tokio::time::timeout(
                    Duration::from_secs(10),
                    connection.get_mut().write_all(&early),
                )
                .await;
                if !matches!(written, Ok(Ok(()))) {
                    eprintln!("{what}: the request could not be sent: {written:?}");
                    lost += 2;
                    connection = BufReader::new(TcpStream::connect(&addr).await.unwrap());
                    continue;
                }
                let (status, head) = match read_answer(&mut connection).await {
                    Ok(answer) => answer,
                    Err(why) => {
                        eprintln!("{what}: {why}");
                        lost += 2;
                        connection = BufReader::new(TcpStream::connect(&addr).await.unwrap());
                        continue;
                    }
                };
                assert!(case.accepts(status, size), "{what}: answered {status}");
                assert!(
                    !head.contains("connection: close"),
                    "{what}: a body this small is drained, not a reason to close"
                );
                connection
                    .get_mut()
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                    .await
                    .ok();
                match read_answer(&mut connection).await {
                    Ok((200, _)) => {}
                    Ok((other, _)) => panic!("{what}: the health check answered {other}"),
                    Err(why) => {
                        eprintln!("{what}: the next request was lost: {why}");
                        lost += 1;
                        connection = BufReader::new(TcpStream::connect(&addr).await.unwrap());
                    }
                }
            }
        }
    }
    (lost, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_answers_keep_the_connection_for_the_next_request() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.clone();
    let (_, reader) = stack.service_bot(&ws, "reader", "bot:read").await;
    let (_, writer) = stack.service_bot(&ws, "writer", "bot:write").await;
    let messages = format!("/api/channels/{}/messages", boot.general.id);
    let uploads = format!("/api/uploads?workspace_id={ws}");
    let multipart = format!("multipart/form-data; boundary={BOUNDARY}");
    let json = "application/json".to_owned();
    let bearer = |token: &str| format!("Authorization: Bearer {token}\r\n");
    let cases = [
        Case {
            name: "400 from the input filter",
            method: "POST",
            path: "/api/channels/chn_%00/messages".into(),
            headers: bearer(&writer),
            content_type: json.clone(),
            expected: 400,
        },
        Case {
            name: "401 on an upload",
            method: "POST",
            path: uploads.clone(),
            headers: String::new(),
            content_type: multipart.clone(),
            expected: 401,
        },
        Case {
            name: "403 on an upload",
            method: "POST",
            path: uploads.clone(),
            headers: bearer(&reader),
            content_type: multipart.clone(),
            expected: 403,
        },
        Case {
            name: "404",
            method: "POST",
            path: "/api/nope".into(),
            headers: String::new(),
            content_type: json.clone(),
            expected: 404,
        },
        Case {
            name: "405",
            method: "DELETE",
            path: "/api/me".into(),
            headers: bearer(&writer),
            content_type: json.clone(),
            expected: 405,
        },
        Case {
            name: "413 on an upload over the limit",
            method: "POST",
            path: uploads.clone(),
            headers: bearer(&writer),
            content_type: multipart.clone(),
            // Small bodies are within the test limit (256 KiB): created.
            expected: 413,
        },
        Case {
            name: "415",
            method: "POST",
            path: messages.clone(),
            headers: bearer(&writer),
            content_type: "text/plain".into(),
            expected: 415,
        },
    ];
    // The 413 case only draws a 413 above the upload limit.
    let (over_limit, within): (Vec<_>, Vec<_>) =
        cases.into_iter().partition(|case| case.expected == 413);
    let (lost, sent) = exchange(&stack.http_url, &within).await;
    let (lost_413, sent_413) = exchange_sized(&stack.http_url, &over_limit).await;
    eprintln!(
        "400/401/403/404/405/415: {lost} of {sent} requests lost; 413: {lost_413} of {sent_413}"
    );
    assert_eq!((lost, lost_413), (0, 0));
    stack.stop().await;
}

/// [`exchange`] for the 413 case: only the 2 MiB body is over the limit.
async fn exchange_sized(http_url: &str, cases: &[Case]) -> (usize, usize) {
    let addr = http_url.trim_start_matches("http://").to_owned();
    let mut connection = BufReader::new(TcpStream::connect(&addr).await.unwrap());
    let (mut lost, mut sent) = (0, 0);
    for round in 0..ROUNDS * 3 {
        for case in cases {
            let early = request(
                case.method,
                &case.path,
                &case.headers,
                &case.content_type,
                2 * 1024 * 1024,
            );
            sent += 2;
            connection.get_mut().write_all(&early).await.unwrap();
            let (status, head) = read_answer(&mut connection)
                .await
                .unwrap_or_else(|why| panic!("round {round}: {why}"));
            assert_eq!(status, 413, "{}", case.name);
            assert!(!head.contains("connection: close"));
            connection
                .get_mut()
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                .await
                .ok();
            match read_answer(&mut connection).await {
                Ok((200, _)) => {}
                Ok((other, _)) => panic!("the health check answered {other}"),
                Err(why) => {
                    eprintln!("round {round}: the next request was lost: {why}");
                    lost += 1;
                    connection = BufReader::new(TcpStream::connect(&addr).await.unwrap());
                }
            }
        }
    }
    (lost, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_and_shed_answers_keep_the_connection_too() {
    // Every write and upload after a credential's first is 429; everything
    // that passes the limiter is shed with 503.
    let stack = TestStack::start_with_limits(LimitsConfig {
        rate_writes: "1/h".parse().unwrap(),
        rate_uploads: "1/h".parse().unwrap(),
        max_in_flight: 0,
        ..LimitsConfig::default()
    })
    .await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.clone();
    let (_, limited) = stack.service_bot(&ws, "limited", "bot:write").await;
    let messages = format!("/api/channels/{}/messages", boot.general.id);
    let uploads = format!("/api/uploads?workspace_id={ws}");
    let bearer = format!("Authorization: Bearer {limited}\r\n");
    let mut shed = Vec::new();
    for n in 0..SIZES.len() * ROUNDS {
        let (_, token) = stack
            .service_bot(&ws, &format!("shed-{n}"), "bot:write")
            .await;
        shed.push(token);
    }
    // The limited bot's first write and first upload take its allowance.
    let addr = stack.http_url.trim_start_matches("http://").to_owned();
    let mut first = BufReader::new(TcpStream::connect(&addr).await.unwrap());
    for (path, content_type) in [
        (&messages, "application/json".to_owned()),
        (
            &uploads,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ),
    ] {
        let bytes = request("POST", path, &bearer, &content_type, 10);
        first.get_mut().write_all(&bytes).await.unwrap();
        assert_eq!(read_answer(&mut first).await.unwrap().0, 503);
    }
    let cases = [
        Case {
            name: "429 on a post",
            method: "POST",
            path: messages.clone(),
            headers: bearer.clone(),
            content_type: "application/json".into(),
            expected: 429,
        },
        Case {
            name: "429 on an upload",
            method: "POST",
            path: uploads.clone(),
            headers: bearer.clone(),
            content_type: format!("multipart/form-data; boundary={BOUNDARY}"),
            expected: 429,
        },
    ];
    let (lost_429, sent_429) = exchange(&stack.http_url, &cases).await;
    // 503: each shed request by a credential whose allowance is untouched.
    let (mut lost_503, mut sent_503) = (0, 0);
    for (n, token) in shed.iter().enumerate() {
        let case = Case {
            name: "503 shed",
            method: "POST",
            path: uploads.clone(),
            headers: format!("Authorization: Bearer {token}\r\n"),
            content_type: format!("multipart/form-data; boundary={BOUNDARY}"),
            expected: 503,
        };
        let size = SIZES[n % SIZES.len()];
        let mut connection = BufReader::new(TcpStream::connect(&addr).await.unwrap());
        let bytes = request(
            case.method,
            &case.path,
            &case.headers,
            &case.content_type,
            size,
        );
        sent_503 += 2;
        connection.get_mut().write_all(&bytes).await.unwrap();
        let (status, head) = read_answer(&mut connection).await.unwrap();
        assert_eq!(status, 503, "{size} bytes");
        assert!(!head.contains("connection: close"));
        connection
            .get_mut()
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .ok();
        if !matches!(read_answer(&mut connection).await, Ok((200, _))) {
            lost_503 += 1;
        }
    }
    eprintln!("429: {lost_429} of {sent_429} requests lost; 503: {lost_503} of {sent_503}");
    assert_eq!((lost_429, lost_503), (0, 0));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_too_large_to_drain_is_answered_and_the_close_announced() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let (_, writer) = stack
        .service_bot(&boot.workspace.id, "writer", "bot:write")
        .await;
    let addr = stack.http_url.trim_start_matches("http://").to_owned();
    for round in 0..5 {
        let mut connection = TcpStream::connect(&addr).await.unwrap();
        // Announced as 64 MiB, far past anything the gateway drains, and
        // sent whole before the client looks for an answer, as a simple
        // client streaming a large file does.
        let head = format!(
            "POST /api/uploads?workspace_id={} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {writer}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
            boot.workspace.id,
            64 * 1024 * 1024
        );
        connection.write_all(head.as_bytes()).await.unwrap();
        let chunk = vec![b'z'; 64 * 1024];
        let mut sent = 0;
        for _ in 0..1024 {
            if connection.write_all(&chunk).await.is_err() {
                break;
            }
            sent += chunk.len();
        }
        let mut reader = BufReader::new(connection);
        let (status, answer_head) = read_answer(&mut reader).await.unwrap_or_else(|why| {
            panic!("round {round}: the answer is there after {sent} bytes sent: {why}")
        });
        assert_eq!(status, 413, "round {round}");
        assert!(
            answer_head.contains("connection: close"),
            "round {round}: the close is announced: {answer_head}"
        );
        // The connection then ends.
        let mut rest = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut rest))
            .await
            .expect("closed in time");
        assert!(
            matches!(ended, Ok(0)) || ended.is_err(),
            "round {round}: nothing follows the answer: {ended:?}"
        );
    }
    stack.stop().await;
}
