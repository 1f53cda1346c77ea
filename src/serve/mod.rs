//! `kheaders serve`: the resolver over HTTP, for build services in any language.
//!
//! ```text
//! POST /v1/resolve   {"release":"6.1.0-18-amd64","arch":"x86_64","distro":"debian","distro_version":"12",
//!                     "kernel_version":"#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"}
//!                    → 200 the `kheaders resolve --json` document
//!                    → 400 invalid identity (checked before any I/O; `error.field` names the field)
//!                    → 404 no source carries it (with every attempt) · 502 integrity failure
//!                    → 503 + Retry-After when upstream is only transiently unavailable
//! GET  /v1/tree?release=…&arch=…&distro=…&distro_version=…[&kernel_version=…]
//!                    → 200 application/x-tar: the relocatable unpacked tree (`curl … | tar -x`),
//!                      X-Kheaders-Build-Dir: the directory to pass to `make -C` inside it
//! GET  /healthz      → 200 ok (never needs a token)
//! GET  /metrics      → Prometheus text, `kheaders_*`
//! ```
//!
//! With a token (`--auth-token-file`), every route but `/healthz` needs
//! `Authorization: Bearer <token>` (401 otherwise; compared in constant time). Bodies and
//! query strings are bounded. Identical concurrent requests share one resolution.

pub mod api;
pub mod flight;
pub mod metrics;
pub mod tree;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sha2::Digest;
use subtle::ConstantTimeEq;

use crate::resolver::Resolver;
use crate::tier::SharedCache;

/// Largest `POST /v1/resolve` body: an identity is ~300 bytes; this leaves room for long
/// `uname -v` strings and stops a client from streaming megabytes at the server.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest query string of `GET /v1/tree` (same fields, URL-encoded).
pub const MAX_QUERY_BYTES: usize = 4 * 1024;
/// What `Retry-After` says when upstream is transiently unavailable: long enough for a
/// mirror's 5xx burst or rate limit to pass, short enough for a build queue.
pub const RETRY_AFTER_SECS: u64 = 30;

/// Settings of the service.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Required bearer token, if any.
    pub auth_token: Option<String>,
    /// Where unpacked trees are kept (`<cache>/trees-v1`).
    pub tree_dir: PathBuf,
}

/// The shared state of every route.
#[derive(Debug)]
pub struct Service {
    pub resolver: Arc<Resolver>,
    pub metrics: metrics::Metrics,
    pub opts: ServeOptions,
    pub(crate) resolutions: flight::Flights<api::Resolved>,
    pub(crate) trees: flight::Flights<tree::Unpacked>,
}

impl Service {
    pub fn new(
        resolver: Arc<Resolver>,
        tier: Option<SharedCache>,
        opts: ServeOptions,
    ) -> Arc<Service> {
        Arc::new(Service {
            resolver,
            metrics: metrics::Metrics::new(tier),
            opts,
            resolutions: flight::Flights::default(),
            trees: flight::Flights::default(),
        })
    }
}

/// The routes, with auth, body limits and request metrics.
pub fn router(svc: Arc<Service>) -> Router {
    Router::new()
        .route("/v1/resolve", post(api::resolve))
        .route("/v1/tree", get(tree::tree))
        .route("/metrics", get(metrics_route))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(svc.clone(), auth))
        .with_state(svc)
}

async fn metrics_route(State(svc): State<Arc<Service>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        svc.metrics.render(),
    )
        .into_response()
}

/// Constant-time token check: both sides are hashed first, so neither the content nor the
/// length of the expected token leaks through timing.
pub fn token_matches(expected: &str, header: Option<&HeaderValue>) -> bool {
    let Some(given) = header
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
    else {
        return false;
    };
    let a = sha2::Sha256::digest(expected.as_bytes());
    let b = sha2::Sha256::digest(given.trim().as_bytes());
    a.ct_eq(&b).into()
}

async fn auth(State(svc): State<Arc<Service>>, req: Request, next: Next) -> Response {
    let route = route_name(req.uri().path());
    let started = Instant::now();
    if let Some(token) = &svc.opts.auth_token {
        if req.uri().path() != "/healthz"
            && !token_matches(token, req.headers().get(header::AUTHORIZATION))
        {
            svc.metrics
                .request(route, "unauthorized", started.elapsed().as_secs_f64());
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                axum::Json(serde_json::json!({"error": {"kind": "unauthorized",
                    "message": "this service needs `Authorization: Bearer <token>`"}})),
            )
                .into_response();
        }
    }
    let resp = next.run(req).await;
    let outcome = outcome_of(resp.status());
    svc.metrics
        .request(route, outcome, started.elapsed().as_secs_f64());
    resp
}

/// A bounded label: the known routes, else `other`.
fn route_name(path: &str) -> &'static str {
    match path {
        "/v1/resolve" => "/v1/resolve",
        "/v1/tree" => "/v1/tree",
        "/metrics" => "/metrics",
        "/healthz" => "/healthz",
        _ => "other",
    }
}

fn outcome_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "ok",
        400 | 413 | 414 | 422 => "invalid_input",
        401 => "unauthorized",
        404 => "not_found",
        405 => "method_not_allowed",
        502 => "integrity",
        503 => "unavailable",
        _ => "error",
    }
}

/// Serves until `shutdown` completes, then drains requests in flight and returns.
pub async fn run(
    listener: tokio::net::TcpListener,
    svc: Arc<Service>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(svc))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_must_match_exactly() {
        let h = |s: &str| HeaderValue::from_str(s).unwrap();
        assert!(token_matches("s3cret", Some(&h("Bearer s3cret"))));
        assert!(!token_matches("s3cret", Some(&h("Bearer s3cre"))));
        assert!(!token_matches("s3cret", Some(&h("Bearer s3cretx"))));
        assert!(!token_matches("s3cret", Some(&h("s3cret"))));
        assert!(!token_matches("s3cret", Some(&h("Basic s3cret"))));
        assert!(!token_matches("s3cret", None));
    }

    #[test]
    fn statuses_map_to_bounded_outcome_labels() {
        assert_eq!(outcome_of(StatusCode::OK), "ok");
        assert_eq!(outcome_of(StatusCode::BAD_REQUEST), "invalid_input");
        assert_eq!(outcome_of(StatusCode::BAD_GATEWAY), "integrity");
        assert_eq!(outcome_of(StatusCode::SERVICE_UNAVAILABLE), "unavailable");
        assert_eq!(route_name("/v1/../etc"), "other");
    }
}
