//! The error kinds every layer maps its typed errors to, and the one renderer of an error
//! with its causes.

use serde::Serialize;

/// What went wrong, at the granularity a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request itself is wrong (a malformed or inconsistent identity). Retrying cannot help.
    InvalidInput,
    /// Nothing carries what was asked for.
    NotFound,
    /// A network or server fault that may pass; retrying later can help.
    Transient,
    /// Bytes did not match what signed or checksummed metadata promised.
    Integrity,
    /// The configuration is wrong (unknown key, bad URL, unknown placeholder).
    Config,
    /// Anything else (local I/O, a bug).
    Other,
}

impl ErrorKind {
    /// The stable snake_case name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Transient => "transient",
            ErrorKind::Integrity => "integrity",
            ErrorKind::Config => "config",
            ErrorKind::Other => "other",
        }
    }

    /// The CLI exit code for this kind: 0 found; 2 invalid input or config; 3 not found by
    /// any source; 4 integrity failure; 1 other.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::InvalidInput | ErrorKind::Config => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::Integrity => 4,
            ErrorKind::Transient | ErrorKind::Other => 1,
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Renders an error with its causes: `a: b: c` (a cause already contained in the text
/// before it is not repeated).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_match_the_cli_contract() {
        assert_eq!(ErrorKind::InvalidInput.exit_code(), 2);
        assert_eq!(ErrorKind::Config.exit_code(), 2);
        assert_eq!(ErrorKind::NotFound.exit_code(), 3);
        assert_eq!(ErrorKind::Integrity.exit_code(), 4);
        assert_eq!(ErrorKind::Transient.exit_code(), 1);
        assert_eq!(ErrorKind::Other.exit_code(), 1);
    }
}
