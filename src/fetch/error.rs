//! What can go wrong fetching, and the one place that decides what is retried
//! ([`FetchError::kind`]: only transient faults are).

use std::path::PathBuf;

use crate::vocab::{error_chain, ErrorKind};

/// A fetch failure. `url` is always the URL actually requested (after rewriting).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    #[error("not found: {url} (HTTP {status})")]
    NotFound { url: String, status: u16 },

    #[error("HTTP {status} from {url}")]
    Status { url: String, status: u16 },

    #[error("request to {url} failed")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("timed out fetching {url}")]
    Timeout { url: String },

    #[error("{url}: {what} mismatch: expected {expected}, got {actual}")]
    Integrity {
        url: String,
        what: String,
        expected: String,
        actual: String,
    },

    #[error("{url}: body larger than the {limit}-byte limit")]
    TooLarge { url: String, limit: u64 },

    #[error("I/O error at {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid URL `{url}`: {detail}")]
    BadUrl { url: String, detail: String },

    /// A URL that must not be fetched: a local file named by remote metadata, a scheme
    /// other than http(s)/file (see [`super::url`]).
    #[error("refused to fetch {url}: {detail}")]
    Refused { url: String, detail: String },

    /// Slower than the minimum throughput (`low_speed_limit` over `low_speed_time`).
    #[error("{url}: {bytes} bytes in {secs} s, below the minimum of {limit} bytes/s")]
    TooSlow {
        url: String,
        bytes: u64,
        secs: u64,
        limit: u64,
    },

    /// The package's overall deadline (`download_deadline`) passed.
    #[error("{url}: not complete within the {secs} s download deadline")]
    Deadline { url: String, secs: u64 },

    /// Redirects that do not end (a loop, or more than the client follows): a broken
    /// mirror, not a passing fault.
    #[error("{url}: redirect loop or too many redirects")]
    Redirect {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

impl FetchError {
    /// `410 Gone`: the server removed the file for good (not "not there yet").
    pub fn is_gone(&self) -> bool {
        matches!(self, FetchError::NotFound { status: 410, .. })
    }

    /// The kind a caller branches on. This is also the one place that decides what is
    /// retried: only [`ErrorKind::Transient`] errors are.
    pub fn kind(&self) -> ErrorKind {
        match self {
            FetchError::NotFound { .. } => ErrorKind::NotFound,
            FetchError::Status { status, .. } if is_transient_status(*status) => {
                ErrorKind::Transient
            }
            FetchError::Status { .. } => ErrorKind::Other,
            FetchError::Transport { .. }
            | FetchError::Timeout { .. }
            | FetchError::TooSlow { .. }
            | FetchError::Deadline { .. } => ErrorKind::Transient,
            FetchError::Redirect { .. } => ErrorKind::Other,
            FetchError::Refused { .. } => ErrorKind::Integrity,
            FetchError::Integrity { .. } => ErrorKind::Integrity,
            FetchError::TooLarge { .. } => ErrorKind::Other,
            FetchError::Io { .. } => ErrorKind::Other,
            FetchError::BadUrl { .. } => ErrorKind::Config,
        }
    }

    /// The URL (or path) the error is about.
    pub fn url(&self) -> String {
        match self {
            FetchError::NotFound { url, .. }
            | FetchError::Status { url, .. }
            | FetchError::Transport { url, .. }
            | FetchError::Timeout { url }
            | FetchError::Integrity { url, .. }
            | FetchError::TooLarge { url, .. }
            | FetchError::BadUrl { url, .. }
            | FetchError::Refused { url, .. }
            | FetchError::TooSlow { url, .. }
            | FetchError::Deadline { url, .. }
            | FetchError::Redirect { url, .. } => url.clone(),
            FetchError::Io { path, .. } => path.display().to_string(),
        }
    }
}

/// Statuses worth retrying: server faults, request timeout, rate limiting.
pub fn is_transient_status(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// A status that is not success as the error it means: 404/410 are `NotFound`.
pub(super) fn check_status(url: &str, status: reqwest::StatusCode) -> Result<(), FetchError> {
    let s = status.as_u16();
    if status.is_success() {
        Ok(())
    } else if s == 404 || s == 410 {
        Err(FetchError::NotFound {
            url: url.to_string(),
            status: s,
        })
    } else {
        Err(FetchError::Status {
            url: url.to_string(),
            status: s,
        })
    }
}

/// A reqwest failure as a fetch error: timeouts and bad URLs are told apart.
pub(super) fn transport(url: &str, e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout {
            url: url.to_string(),
        }
    } else if e.is_redirect() {
        FetchError::Redirect {
            url: url.to_string(),
            source: e,
        }
    } else if e.is_builder() {
        FetchError::BadUrl {
            url: url.to_string(),
            detail: error_chain(&e),
        }
    } else {
        FetchError::Transport {
            url: url.to_string(),
            source: e,
        }
    }
}

/// The error that explains a failed fetch best: a wrong-bytes answer anywhere beats a
/// transient fault (the last one), which beats "not found".
pub(super) fn most_telling(errors: Vec<FetchError>) -> FetchError {
    let mut integrity = None;
    let mut fault = None;
    let mut missing = None;
    for e in errors {
        match e.kind() {
            ErrorKind::Integrity => {
                integrity.get_or_insert(e);
            }
            ErrorKind::NotFound => {
                missing.get_or_insert(e);
            }
            _ => fault = Some(e),
        }
    }
    integrity
        .or(fault)
        .or(missing)
        .unwrap_or(FetchError::BadUrl {
            url: String::new(),
            detail: "no URL to fetch".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one place that decides what is retried is `FetchError::kind`: pinned here.
    #[test]
    fn only_transient_faults_are_retried() {
        let s = |status| FetchError::Status {
            url: "u".into(),
            status,
        };
        for st in [500, 502, 503, 504, 408, 429] {
            assert_eq!(s(st).kind(), ErrorKind::Transient, "{st}");
        }
        for st in [400, 401, 403, 416] {
            assert_eq!(s(st).kind(), ErrorKind::Other, "{st}");
        }
        let nf = FetchError::NotFound {
            url: "u".into(),
            status: 404,
        };
        assert_eq!(nf.kind(), ErrorKind::NotFound);
        let bad = FetchError::Integrity {
            url: "u".into(),
            what: "sha256".into(),
            expected: "a".into(),
            actual: "b".into(),
        };
        assert_eq!(bad.kind(), ErrorKind::Integrity);
        assert_eq!(
            FetchError::Timeout { url: "u".into() }.kind(),
            ErrorKind::Transient
        );
    }

    #[test]
    fn integrity_errors_explain_a_failed_fetch_best() {
        let nf = || FetchError::NotFound {
            url: "a".into(),
            status: 404,
        };
        let bad = FetchError::Integrity {
            url: "b".into(),
            what: "sha256".into(),
            expected: "x".into(),
            actual: "y".into(),
        };
        let e = most_telling(vec![nf(), bad, FetchError::Timeout { url: "c".into() }]);
        assert_eq!(e.kind(), ErrorKind::Integrity);
        let e = most_telling(vec![nf(), FetchError::Timeout { url: "c".into() }]);
        assert_eq!(e.kind(), ErrorKind::Transient);
        assert_eq!(most_telling(vec![nf()]).kind(), ErrorKind::NotFound);
    }
}
