//! Cache housekeeping: `kheaders cache gc [--max-size SIZE] [--older-than DURATION]`.
//!
//! What it removes, and when (layout: [`super::cache`]):
//!
//! | what | removed when |
//! |---|---|
//! | `*.partial` (a download or metadata fetch in progress) | its entry lock is free: the process that wrote it was killed |
//! | `.tmp-*` (an atomic write in progress) | older than [`STALE_TEMP_AGE`] |
//! | `locks-v1/*.lock` | nobody holds it |
//! | `metadata-v1/negative/*.json` | expired |
//! | `packages-v1/by-ref/*.json` | the package it names is gone |
//! | `trees-v1/.unpacking-*`, `trees-v1/.removing-*` (a tree being unpacked or removed) | older than [`STALE_TEMP_AGE`] / always |
//! | `trees-v1/<key>/` without its record (an unpack cut short) | its hold is free and it is older than [`GC_MIN_AGE`] |
//! | packages, metadata bodies, resolution records, unpacked trees (`trees-v1/<key>/`, as one entry) | last used longer ago than `--older-than`, or, oldest first, while the cache is larger than `--max-size` |
//!
//! An entry is removed only while its entry lock is held by the collector (taken without
//! waiting: an entry whose lock is held — a download, revalidation or resolution in progress,
//! in this process or another — is left alone and counted as in use), and never within
//! [`GC_MIN_AGE`] of its last use, so a resolution that just verified its packages can still
//! unpack them. "Last use" is the modification time: the fetcher touches a cached package
//! or metadata body whenever it answers from it, and `kheaders serve` a tree's record
//! ([`TREE_RECORD`]) whenever it streams the tree. A tree is read while a shared lock on its
//! entry lock is held ([`hold_tree`]: `serve` holds it from before it looks for the tree until
//! the last byte is streamed), so the collector's exclusive lock never removes a tree that is
//! being unpacked or streamed.

use fs4::fs_std::FileExt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::cache::{LOCKS, METADATA, PACKAGES};
use super::lock::{key_file_name, lock_file_is_current};
use super::FetchError;

/// Entries used more recently than this are never removed, whatever `--max-size` says: a
/// resolution reads its packages (verify, unpack) within minutes of answering from the cache.
pub const GC_MIN_AGE: Duration = Duration::from_secs(10 * 60);
/// A `.tmp-*` file older than this is left over by a killed process: atomic writes of cache
/// records take milliseconds.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60 * 60);
/// The resolution cache's directory (see `resolver::cache`).
const RESOLUTIONS: &str = "resolutions-v1";
/// Where `kheaders serve` unpacks trees: `<cache>/trees-v1/<identity cache key>/`.
pub const TREES: &str = "trees-v1";
/// The record at the root of an unpacked tree, written last: a tree without it is not
/// whole. Its modification time is the tree's last use.
pub const TREE_RECORD: &str = ".kheaders-tree.json";

/// What to collect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcOptions {
    /// Remove entries, least recently used first, until the cache holds at most this many
    /// bytes.
    pub max_size: Option<u64>,
    /// Remove entries not used for this long.
    pub older_than: Option<Duration>,
    /// See [`GC_MIN_AGE`].
    pub min_age: Duration,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            max_size: None,
            older_than: None,
            min_age: GC_MIN_AGE,
        }
    }
}

/// What was done.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GcReport {
    /// Bytes in the cache before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Entries removed (packages, metadata bodies, resolution records) and their bytes.
    pub entries_removed: u64,
    pub entry_bytes_removed: u64,
    /// Leftovers of killed processes removed: `.partial`, `.tmp-*`, unheld lock files,
    /// expired negative records, dangling by-ref records.
    pub stale_removed: u64,
    /// Entries kept because their lock was held (in use right now).
    pub in_use: u64,
}

/// One removable entry: its files (or, for a tree, its directory, and its record as the
/// file whose time is its last use), the lock that guards it, its size and last use.
struct Entry {
    files: Vec<PathBuf>,
    dir: Option<PathBuf>,
    lock_key: String,
    bytes: u64,
    used: SystemTime,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Parses `--max-size`: bytes, or a number with `K`, `M`, `G`, `T` (powers of 1024; `KiB`,
/// `MB`, ... accepted alike): `500M`, `2G`, `1.5GiB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (expected e.g. 500M, 2G, 1073741824)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        u => {
            return Err(format!(
                "`{s}`: unknown size unit `{u}` (expected K, M, G or T)"
            ))
        }
    };
    let v = n * mult as f64;
    if !v.is_finite() || v < 0.0 || v > u64::MAX as f64 {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(v as u64)
}

/// Parses `--older-than`: a number with `s`, `m`, `h`, `d` or `w`: `90s`, `12h`, `30d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (expected e.g. 12h, 30d, 90s)"))?;
    let secs = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "" => return Err(format!("`{s}`: a duration needs a unit (s, m, h, d or w)")),
        u => {
            return Err(format!(
                "`{s}`: unknown duration unit `{u}` (expected s, m, h, d or w)"
            ))
        }
    };
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{s}` is out of range"))
}

/// Collects garbage in the cache at `cache_dir` (blocking: call it from a blocking thread
/// in async code, as [`super::Fetcher::collect_garbage`] does).
pub fn collect_garbage(cache_dir: &Path, opts: &GcOptions) -> Result<GcReport, FetchError> {
    let locks = cache_dir.join(LOCKS);
    let now = SystemTime::now();
    let mut report = GcReport {
        bytes_before: dir_bytes(cache_dir),
        ..GcReport::default()
    };

    // 1. Leftovers of killed processes.
    let trees = cache_dir.join(TREES);
    for path in walk(cache_dir, Some(&trees))? {
        let name = file_name(&path);
        if path.starts_with(&locks) {
            continue;
        }
        if let Some(stem) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".partial"))
        {
            // Named after its entry's lock (`lock::partial_name`).
            let lock = locks.join(format!("{stem}.lock"));
            match try_lock(&lock)? {
                Some(_held) => {
                    remove(&path, &mut report.stale_removed)?;
                }
                None => report.in_use += 1,
            }
        } else if name.starts_with(".tmp-") && age(&path, now) > STALE_TEMP_AGE {
            remove(&path, &mut report.stale_removed)?;
        }
    }
    stale_trees(cache_dir, &trees, now, opts, &mut report)?;
    let negative = cache_dir.join(METADATA).join("negative");
    for path in files_in(&negative)? {
        let rec: Option<super::cache::NegativeRecord> = super::cache::read_json(&path);
        if rec.is_none_or(|r| r.until <= super::cache::unix_now()) {
            remove(&path, &mut report.stale_removed)?;
        }
    }

    // 2. Entries by age, then by size.
    let mut entries = entries(cache_dir)?;
    entries.sort_by_key(|e| e.used);
    let mut total = dir_bytes(cache_dir);
    for e in &entries {
        let idle = now.duration_since(e.used).unwrap_or_default();
        if idle < opts.min_age {
            continue;
        }
        let too_old = opts.older_than.is_some_and(|d| idle >= d);
        let too_big = opts.max_size.is_some_and(|m| total > m);
        if !(too_old || too_big) {
            continue;
        }
        let lock = locks.join(key_file_name(&e.lock_key));
        let Some(_held) = try_lock(&lock)? else {
            report.in_use += 1;
            continue;
        };
        // Re-check under the lock: the entry may have been used meanwhile.
        if e.files
            .first()
            .and_then(|f| modified(f))
            .is_some_and(|m| m > e.used)
        {
            continue;
        }
        if let Some(d) = &e.dir {
            remove_tree(d)?;
        }
        for f in e.files.iter().filter(|_| e.dir.is_none()) {
            match fs::remove_file(f) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(io(f)(err)),
            }
        }
        total = total.saturating_sub(e.bytes);
        report.entries_removed += 1;
        report.entry_bytes_removed += e.bytes;
    }

    // 3. Records that point at nothing, and lock files nobody holds.
    let by_ref = cache_dir.join(PACKAGES).join("by-ref");
    let store = cache_dir.join(PACKAGES).join("sha256");
    for path in files_in(&by_ref)? {
        let rec: Option<super::cache::RefRecord> = super::cache::read_json(&path);
        let alive = rec.is_some_and(|r| {
            ["rpm", "deb"]
                .iter()
                .any(|ext| store.join(format!("{}.{ext}", r.sha256)).is_file())
        });
        if !alive && age(&path, now) > opts.min_age {
            remove(&path, &mut report.stale_removed)?;
        }
    }
    for path in files_in(&locks)? {
        if !file_name(&path).ends_with(".lock") {
            continue;
        }
        // Held while removed: a process that opened it before the removal sees that the
        // path no longer names its file once it gets the lock, and opens it again
        // (`lock::lock_file_is_current`).
        if let Some(held) = try_lock(&path)? {
            remove(&path, &mut report.stale_removed)?;
            drop(held);
        }
    }
    report.bytes_after = dir_bytes(cache_dir);
    Ok(report)
}

/// The lock key of the unpacked tree of identity `key` (see [`hold_tree`]).
fn tree_lock_key(key: &str) -> String {
    format!("tree:{key}")
}

/// A reader's hold on one unpacked tree; dropping it lets the collector remove the tree.
#[derive(Debug)]
pub struct TreeHold {
    _file: fs::File,
}

/// Takes a shared hold on the tree of identity `key` under `cache_dir` (blocking: it waits
/// only while a collector is removing that very tree). Readers share it; the collector
/// takes it exclusively, without waiting, and leaves a held tree alone.
pub fn hold_tree(cache_dir: &Path, key: &str) -> Result<TreeHold, FetchError> {
    let lock = cache_dir
        .join(LOCKS)
        .join(key_file_name(&tree_lock_key(key)));
    if let Some(d) = lock.parent() {
        fs::create_dir_all(d).map_err(io(d))?;
    }
    loop {
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(io(&lock))?;
        FileExt::lock_shared(&f).map_err(io(&lock))?;
        // The collector removes lock files nobody holds: open the path again if it did.
        if lock_file_is_current(&lock, &f) {
            return Ok(TreeHold { _file: f });
        }
    }
}

/// Marks the tree at `dir` as used now (its record's modification time).
pub fn touch_tree(dir: &Path) {
    if let Ok(f) = fs::File::options().write(true).open(dir.join(TREE_RECORD)) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// Temporary directories of unpacks and removals cut short, and trees without a record.
fn stale_trees(
    cache: &Path,
    trees: &Path,
    now: SystemTime,
    opts: &GcOptions,
    report: &mut GcReport,
) -> Result<(), FetchError> {
    for dir in dirs_in(trees)? {
        let name = file_name(&dir);
        // Held while the tree is removed.
        let mut _held = None;
        let stale = if name.starts_with(".removing-") {
            true
        } else if name.starts_with('.') {
            age(&dir, now) > STALE_TEMP_AGE
        } else if dir.join(TREE_RECORD).is_file() || age(&dir, now) <= opts.min_age {
            false
        } else {
            let lock = cache.join(LOCKS).join(key_file_name(&tree_lock_key(&name)));
            match try_lock(&lock)? {
                Some(h) => {
                    _held = Some(h);
                    !dir.join(TREE_RECORD).is_file()
                }
                None => {
                    report.in_use += 1;
                    false
                }
            }
        };
        if stale {
            remove_tree(&dir)?;
            report.stale_removed += 1;
        }
    }
    Ok(())
}

/// Removes a tree: renamed aside first (one atomic step, so nobody ever sees a tree half
/// removed under its own name), then deleted.
fn remove_tree(dir: &Path) -> Result<(), FetchError> {
    let name = file_name(dir);
    let aside = if name.starts_with(".removing-") {
        dir.to_path_buf()
    } else {
        let aside = dir.with_file_name(format!(".removing-{:016x}", rand::random::<u64>()));
        match fs::rename(dir, &aside) {
            Ok(()) => aside,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(dir)(e)),
        }
    };
    match fs::remove_dir_all(&aside) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(&aside)(e)),
    }
}

/// Every removable entry with its lock key.
fn entries(cache: &Path) -> Result<Vec<Entry>, FetchError> {
    let mut out = Vec::new();
    let mut push = |files: Vec<PathBuf>, dir: Option<PathBuf>, lock_key: String| {
        let Some(used) = files.first().and_then(|f| modified(f)) else {
            return;
        };
        let bytes = match &dir {
            Some(d) => dir_bytes(d),
            None => files
                .iter()
                .filter_map(|f| fs::symlink_metadata(f).ok())
                .map(|m| m.len())
                .sum(),
        };
        out.push(Entry {
            files,
            dir,
            lock_key,
            bytes,
            used,
        });
    };
    for path in files_in(&cache.join(PACKAGES).join("sha256"))? {
        let name = file_name(&path);
        if name.starts_with('.') {
            continue;
        }
        if let Some((sha, _ext)) = name.split_once('.') {
            push(vec![path.clone()], None, format!("pkg:sha256:{sha}"));
        }
    }
    let meta = cache.join(METADATA);
    if let Ok(rd) = fs::read_dir(&meta) {
        for bucket in rd.flatten() {
            let bname = bucket.file_name().to_string_lossy().into_owned();
            if bname == "negative" || !bucket.path().is_dir() {
                continue;
            }
            for path in files_in(&bucket.path())? {
                let name = file_name(&path);
                if name.starts_with('.') || name.ends_with(".meta.json") {
                    continue;
                }
                if bname == super::meta::BY_DIGEST {
                    push(vec![path.clone()], None, format!("digest:{name}"));
                } else {
                    let record = super::cache::meta_path(&path);
                    push(
                        vec![path.clone(), record],
                        None,
                        super::meta::meta_lock_key(&bname, &name),
                    );
                }
            }
        }
    }
    for path in files_in(&cache.join(RESOLUTIONS))? {
        let name = file_name(&path);
        if let Some(key) = name
            .strip_suffix(".json")
            .filter(|_| !name.starts_with('.'))
        {
            push(vec![path.clone()], None, format!("resolution:{key}"));
        }
    }
    for dir in dirs_in(&cache.join(TREES))? {
        let name = file_name(&dir);
        let record = dir.join(TREE_RECORD);
        if !name.starts_with('.') && record.is_file() {
            push(vec![record], Some(dir.clone()), tree_lock_key(&name));
        }
    }
    Ok(out)
}

/// Takes the advisory lock of `lock` without waiting: `None` when another holder has it.
/// A missing lock file is created (and so free).
fn try_lock(lock: &Path) -> Result<Option<fs::File>, FetchError> {
    if let Some(d) = lock.parent() {
        fs::create_dir_all(d).map_err(io(d))?;
    }
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock)
        .map_err(io(lock))?;
    match FileExt::try_lock_exclusive(&f) {
        Ok(true) if lock_file_is_current(lock, &f) => Ok(Some(f)),
        Ok(_) => Ok(None),
        Err(e) => Err(io(lock)(e)),
    }
}

fn remove(path: &Path, count: &mut u64) -> Result<(), FetchError> {
    match fs::remove_file(path) {
        Ok(()) => {
            *count += 1;
            tracing::debug!(path = %path.display(), "cache gc: removed");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path)(e)),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn modified(p: &Path) -> Option<SystemTime> {
    fs::symlink_metadata(p).ok()?.modified().ok()
}

fn age(p: &Path, now: SystemTime) -> Duration {
    modified(p)
        .and_then(|m| now.duration_since(m).ok())
        .unwrap_or_default()
}

/// Regular files directly in `dir` (none when it does not exist).
fn files_in(dir: &Path) -> Result<Vec<PathBuf>, FetchError> {
    entries_in(dir, fs::FileType::is_file)
}

/// Directories directly in `dir` (none when it does not exist).
fn dirs_in(dir: &Path) -> Result<Vec<PathBuf>, FetchError> {
    entries_in(dir, fs::FileType::is_dir)
}

/// The entries directly in `dir` whose type passes `keep` (none when `dir` does not exist).
fn entries_in(dir: &Path, keep: fn(&fs::FileType) -> bool) -> Result<Vec<PathBuf>, FetchError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir)(e)),
    };
    Ok(rd
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| keep(&t)))
        .map(|e| e.path())
        .collect())
}

/// Every regular file below `dir`, except below `skip`.
fn walk(dir: &Path, skip: Option<&Path>) -> Result<Vec<PathBuf>, FetchError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if skip.is_some_and(|s| d == s) {
            continue;
        }
        let rd = match fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&d)(e)),
        };
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => out.push(e.path()),
                _ => {}
            }
        }
    }
    Ok(out)
}

fn dir_bytes(dir: &Path) -> u64 {
    walk(dir, None)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| fs::symlink_metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_parse_with_units_and_name_bad_input() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("500M").unwrap(), 500 << 20);
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert!(parse_size("ten").unwrap_err().contains("not a size"));
        assert!(parse_size("5Q").unwrap_err().contains("unknown size unit"));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_duration("12h").unwrap(),
            Duration::from_secs(12 * 3600)
        );
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert!(parse_duration("30").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("3y")
            .unwrap_err()
            .contains("unknown duration unit"));
    }
}
