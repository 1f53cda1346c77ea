//! A hook for showing download progress. The library never prints; the CLI implements
//! [`Progress`] with indicatif bars on stderr, e.g.:
//!
//! ```no_run
//! use kheaders::fetch::{Progress, TransferProgress};
//! use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
//!
//! struct Bars(MultiProgress);
//! struct Bar(ProgressBar);
//!
//! impl Progress for Bars {
//!     fn start(&self, name: &str, _url: &str, total: Option<u64>) -> Box<dyn TransferProgress> {
//!         let bar = match total {
//!             Some(n) => ProgressBar::new(n).with_style(
//!                 ProgressStyle::with_template("{msg:40} {bytes}/{total_bytes} {bar:30} {eta}").unwrap(),
//!             ),
//!             None => ProgressBar::new_spinner(),
//!         };
//!         Box::new(Bar(self.0.add(bar.with_message(name.to_string()))))
//!     }
//! }
//! impl TransferProgress for Bar {
//!     fn advance(&mut self, bytes: u64) { self.0.inc(bytes) }
//!     fn restart(&mut self, _url: &str, _total: Option<u64>) { self.0.set_position(0) }
//!     fn finish(&mut self, ok: bool) {
//!         if ok { self.0.finish_and_clear() } else { self.0.abandon() }
//!     }
//! }
//!
//! // Only when stderr is a terminal:
//! let bars = std::sync::Arc::new(Bars(MultiProgress::with_draw_target(ProgressDrawTarget::stderr())));
//! let resolver = kheaders::Resolver::builder().progress(bars).build();
//! ```

use std::fmt;
use std::sync::Arc;

/// Receives download progress. `start` is called once per transfer (a package, or a large
/// metadata file fetched with [`super::Fetcher::get_file`]); the returned handle gets the
/// bytes as they arrive.
pub trait Progress: Send + Sync {
    /// A transfer of `name` from `url` begins; `total` is its size when known.
    fn start(&self, name: &str, url: &str, total: Option<u64>) -> Box<dyn TransferProgress>;
}

/// One transfer's progress.
pub trait TransferProgress: Send {
    /// `bytes` more were written (and hashed).
    fn advance(&mut self, bytes: u64);
    /// The transfer starts over from byte 0 (the server ignored `Range`, or the next mirror
    /// is tried). `total` is the new size when known.
    fn restart(&mut self, url: &str, total: Option<u64>) {
        let _ = (url, total);
    }
    /// The transfer ended; `ok` is false when it failed.
    fn finish(&mut self, ok: bool) {
        let _ = ok;
    }
}

/// A shareable [`Progress`] that is `Debug` and `Clone`, for option structs.
#[derive(Clone)]
pub struct ProgressHook(pub Arc<dyn Progress>);

impl fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressHook(..)")
    }
}

/// The do-nothing handle used when no hook is installed.
pub(crate) struct NoProgress;

impl TransferProgress for NoProgress {
    fn advance(&mut self, _bytes: u64) {}
}

pub(crate) fn start(
    hook: Option<&ProgressHook>,
    name: &str,
    url: &str,
    total: Option<u64>,
) -> Box<dyn TransferProgress> {
    match hook {
        Some(h) => h.0.start(name, url, total),
        None => Box::new(NoProgress),
    }
}
