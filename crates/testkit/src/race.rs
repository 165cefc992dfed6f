//! Requests that truly arrive together, for the races of the refresh flow. A refresh sent
//! after a rotation committed is a replay (RFC 9700 §4.14.2), however soon after; so a
//! test of concurrent refreshes must make them concurrent at the server, not only start
//! its threads together: a fast server may finish the first before the last is sent.
//!
//! Each request goes on its own connection as raw HTTP/1.1: the head and all of the body
//! but its last byte first. When every request is that far, a pause lets the server read
//! every head and start every handler (which stamps the request's arrival before it reads
//! the body); then every last byte is sent at once.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Barrier;
use std::time::Duration;

use serde_json::Value;

/// How long the server gets to read every held request's head.
const SETTLE: Duration = Duration::from_millis(500);

/// POSTs each `(url, form body)` at once, as described above; returns each (status, body),
/// in the order given. The body carries any client credentials (`client_id`,
/// `client_secret`): the requests are written by hand, headers and all.
pub fn post_forms_together(requests: &[(String, String)]) -> Vec<(u16, Value)> {
    let held = Barrier::new(requests.len());
    let go = Barrier::new(requests.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = requests
            .iter()
            .map(|(url, body)| {
                let (held, go) = (&held, &go);
                scope.spawn(move || {
                    let (mut stream, last) = send_all_but_the_last_byte(url, body);
                    if held.wait().is_leader() {
                        std::thread::sleep(SETTLE);
                    }
                    go.wait();
                    stream.write_all(&[last]).unwrap();
                    read_response(stream)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn send_all_but_the_last_byte(url: &str, body: &str) -> (TcpStream, u8) {
    let url = reqwest::Url::parse(url).unwrap();
    let (host, port) = (
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap(),
    );
    let mut stream = TcpStream::connect((host, port)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let (rest, last) = body.as_bytes().split_at(body.len() - 1);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n",
        path = url.path(),
        len = body.len(),
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(rest).unwrap();
    (stream, last[0])
}

/// The status and the JSON body (a string if it is not JSON) of a `Connection: close`
/// response, with a `Content-Length` or a chunked body.
fn read_response(mut stream: TcpStream) -> (u16, Value) {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut body = raw[split + 4..].to_vec();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn dechunk(mut chunked: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = chunked
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size");
        let size = std::str::from_utf8(&chunked[..line_end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return body;
        }
        let start = line_end + 2;
        body.extend_from_slice(&chunked[start..start + size]);
        chunked = &chunked[start + size + 2..];
    }
}
