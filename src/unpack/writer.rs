//! Writes archive entries into the (temporary) root, enforcing [`super::safety`].
//!
//! Order matters for safety: regular files, directories and hard links are written first,
//! while no symlink exists in the root, so creating a parent directory can never follow a
//! link out of it. Symlinks are collected and created at the end, each one checked again
//! physically once all of them exist.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::safety::{self, UnpackLimits};
use super::UnpackError;

/// Size of the copy buffer for file data.
const COPY_BUF: usize = 128 * 1024;

/// A symlink waiting for the end of the unpack.
struct PendingLink {
    path: PathBuf,
    target: PathBuf,
    package: String,
}

pub(crate) struct Writer {
    root: PathBuf,
    limits: UnpackLimits,
    entries: u64,
    bytes: u64,
    /// The package being unpacked (for error messages).
    package: String,
    links: Vec<PendingLink>,
    /// cpio hard links: names seen so far per inode, and the name that holds the data.
    inodes: HashMap<u32, (Vec<PathBuf>, Option<PathBuf>)>,
    /// The last directory made by `make_parent`: consecutive entries mostly share one, and
    /// skipping `create_dir_all` for them saves two system calls per file.
    last_parent: Option<PathBuf>,
}

impl Writer {
    pub fn new(root: &Path, limits: UnpackLimits) -> Self {
        Writer {
            root: root.to_path_buf(),
            limits,
            entries: 0,
            bytes: 0,
            package: String::new(),
            links: Vec::new(),
            inodes: HashMap::new(),
            last_parent: None,
        }
    }

    /// Starts the next package (cpio inode numbers are per archive).
    pub fn begin_package(&mut self, label: &str) {
        self.package = label.to_string();
        self.inodes.clear();
    }

    pub fn refused(&self, entry: &[u8], reason: impl Into<String>) -> UnpackError {
        UnpackError::Refused {
            package: self.package.clone(),
            entry: String::from_utf8_lossy(entry).into_owned(),
            reason: reason.into(),
        }
    }

    pub fn malformed(&self, detail: impl Into<String>) -> UnpackError {
        UnpackError::Malformed {
            package: self.package.clone(),
            detail: detail.into(),
        }
    }

    /// Counts one entry and checks its name. `None`: the root entry itself.
    fn admit(&mut self, raw: &[u8], size: u64) -> Result<Option<PathBuf>, UnpackError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(self.refused(
                raw,
                format!(
                    "more than {} entries in the package set (limit)",
                    self.limits.max_entries
                ),
            ));
        }
        if self.bytes.saturating_add(size) > self.limits.max_total_bytes {
            return Err(self.refused(
                raw,
                format!(
                    "{size} bytes would bring the package set over its {}-byte limit",
                    self.limits.max_total_bytes
                ),
            ));
        }
        safety::entry_path(raw).map_err(|r| self.refused(raw, r))
    }

    fn io(path: &Path, source: io::Error) -> UnpackError {
        UnpackError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    fn make_parent(&mut self, full: &Path) -> Result<(), UnpackError> {
        if let Some(p) = full.parent() {
            if self.last_parent.as_deref() != Some(p) {
                fs::create_dir_all(p).map_err(|e| Self::io(p, e))?;
                self.last_parent = Some(p.to_path_buf());
            }
        }
        Ok(())
    }

    pub fn dir(&mut self, raw: &[u8], mode: u32) -> Result<(), UnpackError> {
        let Some(rel) = self.admit(raw, 0)? else {
            return Ok(());
        };
        let full = self.root.join(&rel);
        match fs::symlink_metadata(&full) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(self.refused(raw, "a directory over an existing non-directory")),
            Err(_) => fs::create_dir_all(&full).map_err(|e| Self::io(&full, e))?,
        }
        // Owner keeps rwx so later entries can be written below it.
        fs::set_permissions(&full, fs::Permissions::from_mode((mode & 0o777) | 0o700))
            .map_err(|e| Self::io(&full, e))
    }

    /// A regular file of `size` bytes read from `data`. `ino`/`nlink` describe cpio hard
    /// links (pass `nlink <= 1` otherwise).
    pub fn file(
        &mut self,
        raw: &[u8],
        mode: u32,
        mtime: u64,
        size: u64,
        data: &mut dyn Read,
        link: Option<(u32, u32)>,
    ) -> Result<(), UnpackError> {
        let Some(rel) = self.admit(raw, size)? else {
            return Err(self.refused(raw, "a file in place of the root directory"));
        };
        let full = self.root.join(&rel);
        self.make_parent(&full)?;

        if let Some((ino, _)) = link.filter(|(_, nlink)| *nlink > 1) {
            let (names, holder) = self.inodes.entry(ino).or_default();
            if size == 0 {
                if let Some(h) = holder.clone() {
                    let h = self.root.join(h);
                    return self.link_new(raw, &h, &full);
                }
                names.push(rel);
                // An empty placeholder until (if ever) the name with the data arrives.
                return self.write_file(raw, &full, mode, mtime, 0, data);
            }
            let earlier = std::mem::take(names);
            *holder = Some(rel);
            self.write_file(raw, &full, mode, mtime, size, data)?;
            for e in earlier {
                let e = self.root.join(e);
                fs::remove_file(&e).map_err(|err| Self::io(&e, err))?;
                fs::hard_link(&full, &e).map_err(|err| Self::io(&e, err))?;
            }
            return Ok(());
        }
        self.write_file(raw, &full, mode, mtime, size, data)
    }

    /// `hard_link(src, dst)`, replacing a file already at `dst`.
    fn link_new(&self, raw: &[u8], src: &Path, dst: &Path) -> Result<(), UnpackError> {
        match fs::hard_link(src, dst) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.replace_existing(raw, dst)?;
                fs::hard_link(src, dst)
            }
            other => other,
        }
        .map_err(|e| Self::io(dst, e))
    }

    fn replace_existing(&self, raw: &[u8], full: &Path) -> Result<(), UnpackError> {
        match fs::symlink_metadata(full) {
            Ok(m) if m.is_dir() => Err(self.refused(raw, "a file over an existing directory")),
            Ok(_) => fs::remove_file(full).map_err(|e| Self::io(full, e)),
            Err(_) => Ok(()),
        }
    }

    fn write_file(
        &mut self,
        raw: &[u8],
        full: &Path,
        mode: u32,
        mtime: u64,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<(), UnpackError> {
        let open = || {
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(full)
        };
        // Try the common case (nothing there yet) first; replace a file only when one exists.
        let mut f = match open() {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.replace_existing(raw, full)?;
                open()
            }
            other => other,
        }
        .map_err(|e| Self::io(full, e))?;
        let mut buf = vec![0u8; COPY_BUF.min(size.max(1) as usize)];
        let mut left = size;
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = match data.read(&mut buf[..want]) {
                Ok(0) => {
                    return Err(self.malformed(format!(
                        "`{}`: archive ended with {left} of {size} bytes missing",
                        String::from_utf8_lossy(raw)
                    )))
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(self.malformed(format!(
                        "`{}`: reading data failed: {e}",
                        String::from_utf8_lossy(raw)
                    )))
                }
            };
            f.write_all(&buf[..n]).map_err(|e| Self::io(full, e))?;
            left -= n as u64;
        }
        self.bytes += size;
        // Setuid/setgid/sticky bits are dropped: nothing in a headers tree needs them.
        f.set_permissions(fs::Permissions::from_mode(mode & 0o777))
            .map_err(|e| Self::io(full, e))?;
        // Kbuild decides what to rebuild by timestamps: keep the packaged ones.
        let _ = f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(mtime));
        Ok(())
    }

    /// A hard link to an earlier entry of the archive (tar `Link`).
    pub fn hardlink(&mut self, raw: &[u8], target: &[u8]) -> Result<(), UnpackError> {
        let Some(rel) = self.admit(raw, 0)? else {
            return Err(self.refused(raw, "a hard link in place of the root directory"));
        };
        let t = match safety::entry_path(target) {
            Ok(Some(t)) => t,
            Ok(None) => return Err(self.refused(raw, "hard link to the root directory")),
            Err(r) => {
                return Err(self.refused(
                    raw,
                    format!(
                        "hard link target `{}` is outside the destination: {r}",
                        String::from_utf8_lossy(target)
                    ),
                ))
            }
        };
        let tfull = self.root.join(&t);
        match fs::symlink_metadata(&tfull) {
            Ok(m) if m.is_file() => {}
            _ => {
                return Err(self.refused(
                    raw,
                    format!(
                        "hard link target `{}` is not a regular file unpacked earlier",
                        t.display()
                    ),
                ))
            }
        }
        let full = self.root.join(&rel);
        self.make_parent(&full)?;
        self.link_new(raw, &tfull, &full)
    }

    /// A symlink; created at [`Writer::finish`].
    pub fn symlink(&mut self, raw: &[u8], target: &[u8]) -> Result<(), UnpackError> {
        let Some(rel) = self.admit(raw, 0)? else {
            return Err(self.refused(raw, "a symlink in place of the root directory"));
        };
        let target = safety::link_target(&rel, target).map_err(|r| self.refused(raw, r))?;
        self.links.push(PendingLink {
            path: rel,
            target,
            package: self.package.clone(),
        });
        Ok(())
    }

    /// Creates the symlinks and checks each one physically. Returns (entries, bytes).
    pub fn finish(mut self) -> Result<(u64, u64), UnpackError> {
        let links = std::mem::take(&mut self.links);
        for l in &links {
            self.package.clone_from(&l.package);
            let raw = l.path.as_os_str().as_encoded_bytes();
            // No ancestor may be a symlink: writing below one would land wherever it points.
            let mut anc = self.root.clone();
            if let Some(parent) = l.path.parent() {
                for c in parent.iter() {
                    anc.push(c);
                    if fs::symlink_metadata(&anc).is_ok_and(|m| m.file_type().is_symlink()) {
                        return Err(self.refused(raw, "entry below a symlink"));
                    }
                }
            }
            let full = self.root.join(&l.path);
            self.make_parent(&full)?;
            match fs::symlink_metadata(&full) {
                Ok(m) if m.is_dir() => {
                    return Err(self.refused(raw, "a symlink over an existing directory"))
                }
                Ok(_) => fs::remove_file(&full).map_err(|e| Self::io(&full, e))?,
                Err(_) => {}
            }
            std::os::unix::fs::symlink(&l.target, &full).map_err(|e| Self::io(&full, e))?;
        }
        for l in &links {
            if let Err(r) = safety::resolve_in_root(&self.root, &l.path) {
                self.package.clone_from(&l.package);
                return Err(self.refused(
                    l.path.as_os_str().as_encoded_bytes(),
                    format!("symlink to `{}`: {r}", l.target.display()),
                ));
            }
        }
        Ok((self.entries, self.bytes))
    }
}
