//! An in-process HTTP/1.1 server on loopback that serves a fixture tree, counts requests,
//! and can be told to misbehave (statuses, dropped bodies, ignored `Range`, delays, bodies
//! dripped a few bytes at a time, bodies that never end, redirects) per path.
//!
//! Hostile replies are bounded on the server side too (an endless body stops at its
//! `cap`), so a client bug makes a test fail, never hang or fill the disk.
//!
//! Every test that needs an "upstream mirror" starts one of these; nothing leaves loopback.
//!
//! ```ignore
//! let srv = TestServer::serve_dir("fixtures/rpm/repo").await;
//! srv.on("/repodata/repomd.xml", |_req, n| (n == 1).then(|| Reply::status(503)));
//! let url = srv.url("/repodata/repomd.xml");
//! assert_eq!(srv.hits("/repodata/repomd.xml"), 2);
//! ```
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A full response.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Announce `body.len()` bytes but close the connection after `cut_at` of them.
    Truncated { body: Vec<u8>, cut_at: usize },
    /// Wait, then answer.
    Delay(Duration, Box<Reply>),
    /// Hold the answer until `ready` holds (polled every 10 ms) or `within` passed: for a
    /// test that needs the client to have done something before this reply arrives.
    When {
        ready: Condition,
        within: Duration,
        then: Box<Reply>,
    },
    /// `200` with all of `body` announced: the first `head` bytes at once, the rest once
    /// `ready` holds (polled every 10 ms) or `within` passed; with `cut`, the connection
    /// is closed then instead.
    Hold {
        body: Vec<u8>,
        head: usize,
        ready: Condition,
        within: Duration,
        cut: bool,
    },
    /// Serve the file as usual but ignore any `Range` header (answer 200 with all bytes).
    IgnoreRange,
    /// Close the connection without answering.
    Hangup,
    /// `200` with `body`, written `chunk` bytes at a time with `every` between writes;
    /// `Content-Length` is sent only when `announce` is set.
    Drip {
        body: Vec<u8>,
        chunk: usize,
        every: Duration,
        announce: bool,
    },
    /// `200` whose body never ends: zero bytes, `chunk` at a time with `every` between
    /// writes (zero: as fast as the client reads), with `Content-Length: announce` when
    /// given (a lie), until the client hangs up or `cap` bytes were sent.
    Endless {
        announce: Option<u64>,
        chunk: usize,
        every: Duration,
        cap: u64,
    },
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply::Full {
            status,
            headers: vec![],
            body: format!("status {status}\n").into_bytes(),
        }
    }
    pub fn body(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status,
            headers: vec![],
            body: body.into(),
        }
    }
    /// A `302 Found` to `location`.
    pub fn redirect(location: &str) -> Reply {
        Reply::status(302).with_header("Location", location)
    }
    /// A `503` with `Retry-After: secs`.
    pub fn retry_after(secs: u64) -> Reply {
        Reply::status(503).with_header("Retry-After", &secs.to_string())
    }
    pub fn with_header(self, k: &str, v: &str) -> Reply {
        match self {
            Reply::Full {
                status,
                mut headers,
                body,
            } => {
                headers.push((k.to_string(), v.to_string()));
                Reply::Full {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }
}

/// A condition a [`Reply::When`] waits for.
#[derive(Clone)]
pub struct Condition(pub Arc<dyn Fn() -> bool + Send + Sync>);

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Condition(..)")
    }
}

type Handler = Arc<dyn Fn(&Request, usize) -> Option<Reply> + Send + Sync>;

#[derive(Default)]
struct State {
    hits: HashMap<String, usize>,
    /// Body bytes written per path (hostile replies only: drip and endless).
    sent: HashMap<String, u64>,
    log: Vec<Request>,
    handlers: Vec<(String, Handler)>,
}

/// The server. Dropping it stops accepting connections.
pub struct TestServer {
    pub addr: SocketAddr,
    root: Option<PathBuf>,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Serves files under `root` (paths map 1:1; `..` is refused).
    pub async fn serve_dir(root: impl AsRef<Path>) -> TestServer {
        Self::start(Some(root.as_ref().to_path_buf())).await
    }

    /// A server with no files: only handlers answer, everything else is 404.
    pub async fn empty() -> TestServer {
        Self::start(None).await
    }

    async fn start(root: Option<PathBuf>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let rt = root.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    break;
                };
                let st = st.clone();
                let rt = rt.clone();
                tokio::spawn(async move {
                    let _ = handle(sock, st, rt).await;
                });
            }
        });
        TestServer {
            addr,
            root,
            state,
            task,
        }
    }

    /// `http://127.0.0.1:PORT` + path.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Installs a handler for paths starting with `prefix`. It gets the request and the
    /// 1-based count of requests so far for that exact path; `None` falls through to files.
    pub fn on(
        &self,
        prefix: &str,
        f: impl Fn(&Request, usize) -> Option<Reply> + Send + Sync + 'static,
    ) {
        self.state
            .lock()
            .unwrap()
            .handlers
            .push((prefix.to_string(), Arc::new(f)));
    }

    /// Requests seen for an exact path (any method).
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Body bytes a drip or endless reply wrote for an exact path, over all requests.
    pub fn sent(&self, path: &str) -> u64 {
        self.state
            .lock()
            .unwrap()
            .sent
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Total requests seen.
    pub fn total_hits(&self) -> usize {
        self.state.lock().unwrap().hits.values().sum()
    }

    /// Every request seen, in order.
    pub fn log(&self) -> Vec<Request> {
        self.state.lock().unwrap().log.clone()
    }

    /// The served root, if any.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }
}

async fn read_request(sock: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&tmp[..n]);
        if buf.len() > 1 << 20 {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[header_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target, None),
    };
    Ok(Some(Request {
        method,
        path: percent_decode(&path),
        query,
        headers,
        body,
    }))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

async fn write_full(
    sock: &mut TcpStream,
    method: &str,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reason(status),
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    sock.write_all(head.as_bytes()).await?;
    if method != "HEAD" {
        sock.write_all(body).await?;
    }
    sock.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        206 => "Partial Content",
        304 => "Not Modified",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

async fn handle(
    mut sock: TcpStream,
    state: Arc<Mutex<State>>,
    root: Option<PathBuf>,
) -> std::io::Result<()> {
    let Some(req) = read_request(&mut sock).await? else {
        return Ok(());
    };
    let (count, handlers) = {
        let mut st = state.lock().unwrap();
        let c = st.hits.entry(req.path.clone()).or_insert(0);
        *c += 1;
        let count = *c;
        st.log.push(req.clone());
        let hs: Vec<Handler> = st
            .handlers
            .iter()
            .filter(|(p, _)| req.path.starts_with(p.as_str()))
            .map(|(_, h)| h.clone())
            .collect();
        (count, hs)
    };
    let mut reply = None;
    for h in handlers {
        if let Some(r) = h(&req, count) {
            reply = Some(r);
            break;
        }
    }
    let mut ignore_range = false;
    loop {
        match reply {
            Some(Reply::Delay(d, inner)) => {
                tokio::time::sleep(d).await;
                reply = Some(*inner);
            }
            Some(Reply::When {
                ready,
                within,
                then,
            }) => {
                let until = tokio::time::Instant::now() + within;
                while !(ready.0)() && tokio::time::Instant::now() < until {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                reply = Some(*then);
            }
            Some(Reply::Full {
                status,
                headers,
                body,
            }) => return write_full(&mut sock, &req.method, status, &headers, &body).await,
            Some(Reply::Truncated { body, cut_at }) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                sock.write_all(head.as_bytes()).await?;
                sock.write_all(&body[..cut_at.min(body.len())]).await?;
                sock.flush().await?;
                return Ok(());
            }
            Some(Reply::Hangup) => return Ok(()),
            Some(Reply::Hold {
                body,
                head,
                ready,
                within,
                cut,
            }) => {
                write_head(&mut sock, Some(body.len() as u64)).await?;
                let (first, rest) = body.split_at(head.min(body.len()));
                sock.write_all(first).await?;
                sock.flush().await?;
                let until = tokio::time::Instant::now() + within;
                while !(ready.0)() && tokio::time::Instant::now() < until {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                if cut {
                    return Ok(());
                }
                sock.write_all(rest).await?;
                sock.flush().await?;
                return Ok(());
            }
            Some(Reply::Drip {
                body,
                chunk,
                every,
                announce,
            }) => {
                let len = announce.then_some(body.len() as u64);
                write_head(&mut sock, len).await?;
                for piece in body.chunks(chunk.max(1)) {
                    sock.write_all(piece).await?;
                    sock.flush().await?;
                    count_sent(&state, &req.path, piece.len());
                    tokio::time::sleep(every).await;
                }
                return Ok(());
            }
            Some(Reply::Endless {
                announce,
                chunk,
                every,
                cap,
            }) => {
                write_head(&mut sock, announce).await?;
                let piece = vec![0u8; chunk.max(1)];
                let mut sent = 0u64;
                while sent < cap {
                    let n = piece.len().min((cap - sent) as usize);
                    if sock.write_all(&piece[..n]).await.is_err() {
                        return Ok(());
                    }
                    sent += n as u64;
                    count_sent(&state, &req.path, n);
                    if !every.is_zero() {
                        let _ = sock.flush().await;
                        tokio::time::sleep(every).await;
                    }
                }
                return Ok(());
            }
            Some(Reply::IgnoreRange) => {
                ignore_range = true;
                break;
            }
            None => break,
        }
    }
    serve_file(&mut sock, &req, root.as_deref(), ignore_range).await
}

/// A `200` status line and headers, with `Content-Length` when given.
async fn write_head(sock: &mut TcpStream, len: Option<u64>) -> std::io::Result<()> {
    let mut head = String::from("HTTP/1.1 200 OK\r\nConnection: close\r\n");
    if let Some(n) = len {
        head.push_str(&format!("Content-Length: {n}\r\n"));
    }
    head.push_str("\r\n");
    sock.write_all(head.as_bytes()).await?;
    sock.flush().await
}

fn count_sent(state: &Mutex<State>, path: &str, n: usize) {
    *state
        .lock()
        .unwrap()
        .sent
        .entry(path.to_string())
        .or_insert(0) += n as u64;
}

async fn serve_file(
    sock: &mut TcpStream,
    req: &Request,
    root: Option<&Path>,
    ignore_range: bool,
) -> std::io::Result<()> {
    let rel = req.path.trim_start_matches('/');
    let path = match root {
        Some(root) if !rel.split('/').any(|c| c == "..") => root.join(rel),
        _ => return write_full(sock, &req.method, 404, &[], b"not found\n").await,
    };
    let data = match tokio::fs::read(&path).await {
        Ok(d) if path.is_file() => d,
        _ => return write_full(sock, &req.method, 404, &[], b"not found\n").await,
    };
    let range = if ignore_range {
        None
    } else {
        req.header("range").and_then(parse_range)
    };
    match range {
        Some((start, end)) => {
            let end = end
                .unwrap_or(data.len().saturating_sub(1))
                .min(data.len().saturating_sub(1));
            if start >= data.len() {
                return write_full(
                    sock,
                    &req.method,
                    416,
                    &[("Content-Range".into(), format!("bytes */{}", data.len()))],
                    b"",
                )
                .await;
            }
            let hdr = vec![
                (
                    "Content-Range".to_string(),
                    format!("bytes {start}-{end}/{}", data.len()),
                ),
                ("Accept-Ranges".to_string(), "bytes".to_string()),
            ];
            write_full(sock, &req.method, 206, &hdr, &data[start..=end]).await
        }
        None => {
            write_full(
                sock,
                &req.method,
                200,
                &[("Accept-Ranges".into(), "bytes".into())],
                &data,
            )
            .await
        }
    }
}

fn parse_range(v: &str) -> Option<(usize, Option<usize>)> {
    let spec = v.strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let start = a.trim().parse().ok()?;
    let end = if b.trim().is_empty() {
        None
    } else {
        b.trim().parse().ok()
    };
    Some((start, end))
}
