//! When to try again, and how long to wait first.
//!
//! Only transient failures are retried: connection errors, timeouts, a body cut
//! mid-stream, 5xx, 408 and 429 (see [`super::FetchError::kind`]). A `404` or a checksum
//! mismatch is an answer, not a hiccup: the fetcher moves on to the next mirror instead.
//!
//! The schedule follows the "try every mirror, then back off, then start over" shape: a
//! round tries each URL of a package once (resuming a cut body on the same URL right away),
//! and only when a whole round failed transiently does the fetcher sleep — exponentially
//! longer each round, with jitter, and at least as long as a server's `Retry-After` asked.

use std::time::{Duration, SystemTime};

/// Rounds over a package's URLs before giving up. Three rounds with the default backoff
/// span about 1.5 s of waiting plus the servers' own time: enough to ride out a restarting
/// mirror or a brief rate limit, short enough that a dead source does not stall the chain.
pub const MAX_ROUNDS: u32 = 3;
/// Resumes of a cut body on the same URL within one round. A connection that keeps
/// dropping after this many partial deliveries is treated as broken for this round.
pub const MAX_RESUMES: u32 = 8;
/// First backoff between rounds; doubled each round.
pub const BASE_BACKOFF: Duration = Duration::from_millis(500);
/// Longest backoff between rounds.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Longest `Retry-After` honoured. A server asking for more is skipped for this round
/// (the next mirror or source is a better bet than sleeping for minutes).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Retry and backoff settings. [`RetryPolicy::default`] uses the named constants above;
/// tests shrink the waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Rounds over all URLs (at least 1).
    pub max_rounds: u32,
    /// Resumes of a cut body on one URL within a round.
    pub max_resumes: u32,
    /// Backoff before round 2; doubled for each later round.
    pub base_backoff: Duration,
    /// Cap on the computed backoff.
    pub max_backoff: Duration,
    /// Cap on a server's `Retry-After`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_rounds: MAX_ROUNDS,
            max_resumes: MAX_RESUMES,
            base_backoff: BASE_BACKOFF,
            max_backoff: MAX_BACKOFF,
            max_retry_after: MAX_RETRY_AFTER,
        }
    }
}

impl RetryPolicy {
    /// No retries at all: one round, no resumes.
    pub fn none() -> Self {
        RetryPolicy {
            max_rounds: 1,
            max_resumes: 0,
            ..RetryPolicy::default()
        }
    }

    /// The wait after failed round `round` (1-based): exponential with "equal jitter" (half
    /// fixed, half random, so concurrent clients spread out but never retry instantly), and
    /// never shorter than what a server asked for with `Retry-After` (capped).
    pub fn backoff(&self, round: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << round.saturating_sub(1).min(16))
            .min(self.max_backoff);
        let half = exp / 2;
        let jitter = if half.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_nanos(rand::random_range(0..=half.as_nanos() as u64))
        };
        let computed = half + jitter;
        match retry_after {
            Some(ra) => computed.max(ra.min(self.max_retry_after)),
            None => computed,
        }
    }
}

/// Parses a `Retry-After` value: delay-seconds (`120`) or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`), relative to `now`. A date in the past is zero.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let p = RetryPolicy::default();
        for round in 1..10 {
            let exp = BASE_BACKOFF
                .saturating_mul(1 << (round - 1))
                .min(MAX_BACKOFF);
            let d = p.backoff(round, None);
            assert!(d >= exp / 2 && d <= exp, "round {round}: {d:?}");
        }
        assert_eq!(
            p.backoff(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.backoff(1, Some(Duration::from_secs(3600))),
            MAX_RETRY_AFTER
        );
    }
}
