//! `GET /v1/tree?…`: the relocatable unpacked tree as a tar stream.
//!
//! Each identity is unpacked once, into `<cache>/trees-v1/<cache key>/` (unpacked beside it
//! under a temporary name, each package as soon as it is verified while the others still
//! download, then renamed, so a half-unpacked tree is never served), and
//! streamed from there: directories, regular files and symlinks only, with paths relative to
//! the root. A symlink whose target would leave the root is not streamed (the unpacker never
//! makes one; this holds even if the directory was tampered with). The response carries
//! `X-Kheaders-Build-Dir` (the `make -C` directory, relative) and `X-Kheaders-Release`.
//!
//! Trees are evicted by `kheaders cache gc` like the rest of the cache (least recently
//! streamed first): each request holds the tree ([`gc::hold_tree`]) from before it looks for
//! it until the last byte is sent, and marks it used ([`gc::touch_tree`]).
//!
//! ```text
//! curl -fsS "$SVC/v1/tree?release=6.1.0-18-amd64&arch=x86_64&distro=debian&distro_version=12" | tar -x -C tree
//! make -C tree/usr/src/linux-headers-6.1.0-18-amd64 M=$PWD modules
//! ```

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::api::{Failure, IdentityRequest};
use super::{Service, MAX_QUERY_BYTES};
use crate::fetch::gc::{self, TREE_RECORD};
use crate::identity::KernelIdentity;
use crate::vocab::error_chain;

/// Bytes per chunk sent to the client, and chunks buffered ahead of a slow client: the
/// stream holds at most this much memory (16 × 256 KiB = 4 MiB) however big the tree.
const CHUNK_BYTES: usize = 256 * 1024;
const CHUNKS_AHEAD: usize = 16;

/// An unpacked tree on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TreeInfo {
    pub root: PathBuf,
    /// The `make -C` directory, relative to the root.
    pub build_dir: PathBuf,
    pub release: Option<String>,
}

pub type Unpacked = Arc<Result<TreeInfo, Failure>>;

/// Parses the tree route's query string into an identity (bounded, no duplicates).
pub fn parse_query(q: Option<&str>) -> Result<KernelIdentity, Failure> {
    let q = q.unwrap_or("");
    if q.len() > MAX_QUERY_BYTES {
        return Err(Failure::invalid(
            format!(
                "query string of {} bytes, more than the {MAX_QUERY_BYTES}-byte limit",
                q.len()
            ),
            None,
        ));
    }
    let mut map = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        if map
            .insert(k.to_string(), serde_json::Value::String(v.to_string()))
            .is_some()
        {
            return Err(Failure::invalid(
                format!("query parameter `{k}` given twice"),
                None,
            ));
        }
    }
    let req: IdentityRequest = serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| {
        Failure::invalid(
            format!("invalid query: {e} (expected release, arch, distro, distro_version[, kernel_version])"),
            None,
        )
    })?;
    req.identity()
        .map_err(|e| Failure::invalid(e.to_string(), Some(e.field)))
}

impl Service {
    /// The unpacked tree of `id`, unpacking it (once, however many ask at a time) if needed.
    pub async fn tree_of(&self, id: &KernelIdentity) -> Unpacked {
        let key = id.cache_key();
        let dest = self.opts.tree_dir.join(&key);
        if let Some(info) = read_record(&dest) {
            return Arc::new(Ok(info));
        }
        let (out, _) = self
            .trees
            .run(&key, || async {
                if let Some(info) = read_record(&dest) {
                    return Arc::new(Ok(info));
                }
                Arc::new(self.unpack_into(id, &dest).await)
            })
            .await;
        out
    }
}

fn read_record(dest: &Path) -> Option<TreeInfo> {
    let bytes = std::fs::read(dest.join(TREE_RECORD)).ok()?;
    let mut info: TreeInfo = serde_json::from_slice(&bytes).ok()?;
    info.root = dest.to_path_buf();
    Some(info)
}

fn internal(message: String) -> Failure {
    Failure {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        kind: crate::vocab::ErrorKind::Other,
        message,
        gone: false,
        field: None,
        resolution: None,
    }
}

impl Service {
    /// Resolves `id` and unpacks its tree into `dest`, each package as soon as it is
    /// verified ([`crate::resolver::Resolver::resolve_and_unpack`]), then writes the tree
    /// record and renames the tree into place.
    async fn unpack_into(&self, id: &KernelIdentity, dest: &Path) -> Result<TreeInfo, Failure> {
        let parent = dest.parent().expect("tree dir has a parent");
        std::fs::create_dir_all(parent)
            .map_err(|e| internal(format!("cannot create {}: {e}", parent.display())))?;
        let tmp = tempfile::Builder::new()
            .prefix(".unpacking-")
            .tempdir_in(parent)
            .map_err(|e| {
                internal(format!(
                    "cannot create a directory in {}: {e}",
                    parent.display()
                ))
            })?;
        let root = tmp.path().join("root");
        let staged = self
            .observed(self.resolver.resolve_and_unpack(id, &root), |u| {
                &u.headers().resolution
            })
            .await
            .map_err(|e| Failure::from_error(&e))?;
        let tree = staged.finish().await.map_err(|e| {
            let mut f = Failure::from_error(&e);
            f.message = format!("unpacking failed: {}", error_chain(&e));
            f
        })?;
        let info = TreeInfo {
            root: dest.to_path_buf(),
            build_dir: tree
                .build_dir
                .strip_prefix(&tree.root)
                .unwrap_or(Path::new(""))
                .to_path_buf(),
            release: tree.release.clone(),
        };
        let record = serde_json::to_vec_pretty(&info).expect("tree record serializes");
        std::fs::write(root.join(TREE_RECORD), record)
            .map_err(|e| internal(format!("cannot write the tree record: {e}")))?;
        match std::fs::rename(&root, dest) {
            Ok(()) => {}
            // Another process unpacked it first: serve theirs.
            Err(_) if read_record(dest).is_some() => {}
            Err(e) => {
                return Err(internal(format!(
                    "cannot move the tree to {}: {e}",
                    dest.display()
                )))
            }
        }
        Ok(info)
    }
}

/// `GET /v1/tree`.
pub async fn tree(State(svc): State<Arc<Service>>, RawQuery(q): RawQuery) -> Response {
    let id = match parse_query(q.as_deref()) {
        Ok(id) => id,
        Err(f) => return f.into_response(),
    };
    // Held until the stream ends, so `cache gc` leaves the tree alone meanwhile.
    let (cache, key) = (
        svc.resolver.fetcher().cache_dir().to_path_buf(),
        id.cache_key(),
    );
    let hold = match tokio::task::spawn_blocking(move || gc::hold_tree(&cache, &key)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            return internal(format!("cannot hold the tree: {}", error_chain(&e))).into_response()
        }
        Err(e) => return internal(format!("tree hold task failed: {e}")).into_response(),
    };
    let info = match &*svc.tree_of(&id).await {
        Ok(i) => i.clone(),
        Err(f) => return f.clone().into_response(),
    };
    gc::touch_tree(&info.root);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_AHEAD);
    let root = info.root.clone();
    tokio::task::spawn_blocking(move || {
        let _hold = hold;
        let sink = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK_BYTES),
        };
        if let Err(e) = write_tar(&root, sink) {
            tracing::warn!(root = %root.display(), error = %e, "tree stream ended early");
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (
        [
            (header::CONTENT_TYPE, "application/x-tar".to_string()),
            (
                header::HeaderName::from_static("x-kheaders-build-dir"),
                info.build_dir.display().to_string(),
            ),
            (
                header::HeaderName::from_static("x-kheaders-release"),
                info.release.clone().unwrap_or_default(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Sends what the tar builder writes as chunks of [`CHUNK_BYTES`].
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
        self.tx
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// Whether a symlink at `link` (relative to the root) pointing to `target` stays inside the
/// root, resolved lexically.
pub fn link_stays_inside(link: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth: i64 = link
        .parent()
        .map(|p| p.components().count() as i64)
        .unwrap_or(0);
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Writes the tree under `root` as a tar archive (sorted, so the same tree gives the same
/// stream), without the tree record and without anything that points outside the root.
pub fn write_tar(root: &Path, sink: impl Write) -> std::io::Result<()> {
    let mut b = tar::Builder::new(sink);
    b.mode(tar::HeaderMode::Complete);
    b.follow_symlinks(false);
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        // Depth first, in name order: push subdirectories in reverse.
        let mut subdirs = Vec::new();
        for e in entries {
            let name = e.file_name();
            let rel_path = rel.join(&name);
            if rel.as_os_str().is_empty() && name == TREE_RECORD {
                continue;
            }
            let meta = std::fs::symlink_metadata(e.path())?;
            let ft = meta.file_type();
            if ft.is_dir() {
                b.append_dir(&rel_path, e.path())?;
                subdirs.push(rel_path);
            } else if ft.is_file() {
                let mut f = std::fs::File::open(e.path())?;
                b.append_file(&rel_path, &mut f)?;
            } else if ft.is_symlink() {
                let target = std::fs::read_link(e.path())?;
                if !link_stays_inside(&rel_path, &target) {
                    tracing::warn!(link = %rel_path.display(), target = %target.display(), "symlink leaves the tree; not streamed");
                    continue;
                }
                let mut h = tar::Header::new_gnu();
                h.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, &rel_path, &target)?;
            }
            // Sockets, FIFOs, devices: never part of a headers tree; skipped.
        }
        stack.extend(subdirs.into_iter().rev());
    }
    b.into_inner()?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_that_leave_the_root_are_detected() {
        let p = Path::new;
        assert!(link_stays_inside(
            p("lib/modules/6.1/build"),
            p("../../../usr/src/linux")
        ));
        assert!(!link_stays_inside(
            p("lib/modules/6.1/build"),
            p("../../../../etc")
        ));
        assert!(!link_stays_inside(p("a"), p("/etc/passwd")));
        assert!(link_stays_inside(
            p("usr/src/x/Makefile"),
            p("./Makefile.real")
        ));
    }

    #[test]
    fn tar_stream_holds_the_tree_and_nothing_outside_it() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir_all(root.join("usr/src/k/include")).unwrap();
        std::fs::write(root.join("usr/src/k/Makefile"), "all:\n").unwrap();
        std::fs::write(root.join(TREE_RECORD), "{}").unwrap();
        std::os::unix::fs::symlink("../usr/src/k", root.join("usr/build")).unwrap();
        std::os::unix::fs::symlink("../../../../etc/passwd", root.join("usr/src/k/evil")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("abs")).unwrap();
        let mut out = Vec::new();
        write_tar(&root, &mut out).unwrap();
        let mut names = Vec::new();
        for e in tar::Archive::new(&out[..]).entries().unwrap() {
            let e = e.unwrap();
            names.push(e.path().unwrap().display().to_string());
        }
        assert!(
            names.contains(&"usr/src/k/Makefile".to_string()),
            "{names:?}"
        );
        assert!(names.contains(&"usr/build".to_string()), "{names:?}");
        assert!(
            !names
                .iter()
                .any(|n| n.contains("evil") || n == "abs" || n.contains(TREE_RECORD)),
            "{names:?}"
        );
    }
}
