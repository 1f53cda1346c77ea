//! `POST /v1/resolve`, the identity a request names, and how results map to statuses.
//!
//! Statuses follow the CLI's exit codes: 400 invalid input (2), 404 not found (3), 502
//! integrity (4), 503 + `Retry-After` transient, 500 anything else (1).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Service, RETRY_AFTER_SECS};
use crate::identity::{IdentityError, KernelIdentity};
use crate::resolver::Error;
use crate::resolver::{Resolution, ResolvedHeaders};
use crate::vocab::error_chain;
use crate::vocab::ErrorKind;

/// The identity fields, as a JSON body or a query string.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRequest {
    pub release: String,
    pub arch: String,
    pub distro: String,
    pub distro_version: String,
    #[serde(default)]
    pub kernel_version: Option<String>,
}

impl IdentityRequest {
    /// Validates the identity (no I/O).
    pub fn identity(&self) -> Result<KernelIdentity, IdentityError> {
        KernelIdentity::build(
            &self.release,
            Some(&self.arch),
            &self.distro,
            &self.distro_version,
            self.kernel_version.as_deref().filter(|v| !v.is_empty()),
        )
    }
}

/// A failed request, ready to be rendered.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: StatusCode,
    pub kind: ErrorKind,
    pub message: String,
    /// A `not_found` that is final: a source answered `410 Gone` ([`Error::is_gone`]).
    pub gone: bool,
    /// The field at fault, for invalid input.
    pub field: Option<&'static str>,
    pub resolution: Option<Box<Resolution>>,
}

impl Failure {
    pub fn invalid(message: String, field: Option<&'static str>) -> Failure {
        Failure {
            status: StatusCode::BAD_REQUEST,
            kind: ErrorKind::InvalidInput,
            message,
            gone: false,
            field,
            resolution: None,
        }
    }

    pub fn from_error(e: &Error) -> Failure {
        let kind = e.kind();
        let status = match kind {
            ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Integrity => StatusCode::BAD_GATEWAY,
            ErrorKind::Transient => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Config | ErrorKind::Other => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let field = match e {
            Error::Identity(ie) => Some(ie.field),
            _ => None,
        };
        Failure {
            status,
            kind,
            message: error_chain(e),
            gone: e.is_gone(),
            field,
            resolution: e.resolution().cloned().map(Box::new),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut doc = crate::resolver::document::failure(
            self.kind,
            &self.message,
            self.gone,
            self.resolution.as_deref(),
            &[],
            &|u| u.to_string(),
        );
        if let Some(f) = self.field {
            doc["error"]["field"] = json!(f);
        }
        let mut resp = (self.status, axum::Json(doc)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                RETRY_AFTER_SECS
                    .to_string()
                    .parse()
                    .expect("digits are a header value"),
            );
        }
        resp
    }
}

/// A resolution's result, shared by every coalesced request.
pub type Resolved = Arc<Result<ResolvedHeaders, Failure>>;

/// Parses a `POST /v1/resolve` body: JSON, every field a string, no unknown fields.
pub fn parse_body(body: &[u8]) -> Result<(IdentityRequest, KernelIdentity), Failure> {
    let req: IdentityRequest = serde_json::from_slice(body).map_err(|e| {
        Failure::invalid(
            format!(
                "invalid request body: {e} (expected {{\"release\", \"arch\", \"distro\", \"distro_version\", \"kernel_version\"?}})"
            ),
            None,
        )
    })?;
    let id = req
        .identity()
        .map_err(|e| Failure::invalid(e.to_string(), Some(e.field)))?;
    Ok((req, id))
}

impl Service {
    /// Resolves `id` (downloaded and verified), joining an identical resolution under way.
    pub async fn resolve(&self, id: &KernelIdentity) -> Resolved {
        let key = id.cache_key();
        let (out, joined) = self
            .resolutions
            .run(&key, || async {
                let r = self
                    .observed(self.resolver.resolve_headers(id), |h| &h.resolution)
                    .await;
                Arc::new(r.map_err(|e| Failure::from_error(&e)))
            })
            .await;
        if joined {
            self.metrics.coalesced.inc();
        }
        out
    }

    /// Runs one resolution (`work`) under the resolution metrics: in flight while it runs,
    /// its duration, and every attempt it made, whether it succeeded or not.
    pub(super) async fn observed<T>(
        &self,
        work: impl Future<Output = Result<T, Error>>,
        resolution_of: impl Fn(&T) -> &Resolution,
    ) -> Result<T, Error> {
        self.metrics.in_flight.inc();
        let started = Instant::now();
        let r = work.await;
        self.metrics
            .resolution_seconds
            .observe(started.elapsed().as_secs_f64());
        self.metrics.in_flight.dec();
        if let Some(res) = match &r {
            Ok(v) => Some(resolution_of(v)),
            Err(e) => e.resolution(),
        } {
            self.metrics.record_attempts(res);
        }
        r
    }

    /// The `resolve --json` document of a resolution.
    pub fn document(&self, h: &ResolvedHeaders) -> Value {
        let fetcher = self.resolver.fetcher().clone();
        crate::resolver::document::success(&h.resolution, &h.packages, None, &move |u| {
            fetcher.rewrite(u)
        })
    }
}

/// `POST /v1/resolve`.
pub async fn resolve(State(svc): State<Arc<Service>>, body: Bytes) -> Response {
    let (_, id) = match parse_body(&body) {
        Ok(v) => v,
        Err(f) => return f.into_response(),
    };
    match &*svc.resolve(&id).await {
        Ok(h) => axum::Json(svc.document(h)).into_response(),
        Err(f) => f.clone().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_identity_names_its_field() {
        let body = br#"{"release":"6.8.9-300.fc40.x86_64","arch":"x86_64","distro":"fedora","distro_version":"39"}"#;
        let f = parse_body(body).unwrap_err();
        assert_eq!(f.status, StatusCode::BAD_REQUEST);
        assert_eq!(f.field, Some("distro_version"), "{}", f.message);
    }

    #[test]
    fn unknown_and_missing_fields_are_invalid_input() {
        let f = parse_body(
            br#"{"release":"x","arch":"x86_64","distro":"fedora","distro_version":"40","extra":1}"#,
        )
        .unwrap_err();
        assert!(f.message.contains("unknown field `extra`"), "{}", f.message);
        let f = parse_body(br#"{"arch":"x86_64"}"#).unwrap_err();
        assert!(
            f.message.contains("missing field `release`"),
            "{}",
            f.message
        );
        assert_eq!(f.status, StatusCode::BAD_REQUEST);
    }
}

#[cfg(test)]
mod status_tests {
    use super::*;

    fn resolution() -> Box<Resolution> {
        Box::new(Resolution {
            identity: KernelIdentity::new("6.1.0-18-amd64", "x86_64", "debian", "12").unwrap(),
            source: None,
            packages: vec![],
            requirements: vec![],
            notes: vec![],
            attempts: vec![],
        })
    }

    #[test]
    fn transient_upstream_failure_is_503_with_retry_after() {
        let e = Error::SourcesFailed {
            identity: "x".into(),
            detail: "HTTP 503".into(),
            transient: true,
            resolution: resolution(),
        };
        let resp = Failure::from_error(&e).into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            resp.headers()[header::RETRY_AFTER],
            RETRY_AFTER_SECS.to_string()
        );
    }

    #[test]
    fn integrity_failure_is_502_and_not_found_is_404() {
        let e = Error::Integrity {
            identity: "x".into(),
            detail: "sha256 mismatch".into(),
            resolution: resolution(),
        };
        assert_eq!(Failure::from_error(&e).status, StatusCode::BAD_GATEWAY);
        let e = Error::NotFound {
            identity: "x".into(),
            resolution: resolution(),
            gone: false,
        };
        assert_eq!(Failure::from_error(&e).status, StatusCode::NOT_FOUND);
    }
}
