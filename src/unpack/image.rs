//! Flatcar's developer container: a bzip2-compressed raw disk image whose ext4 root holds the
//! kernel build tree.
//!
//! ```text
//! flatcar_developer_container.bin.bz2  --bunzip2-->  GPT disk (6 GiB, `container` layout)
//!   partition 9 `ROOT`, ext4:
//!     /usr/lib/modules/5.15.58-flatcar/build/    .config, Module.symvers, include/generated, scripts, Makefile
//!     /usr/lib/modules/5.15.58-flatcar/source/   Makefile, arch/<arch>/, include/, scripts/ (stripped sources)
//! ```
//!
//! (Releases up to 3115.0.0 kept the modules under `/usr/lib64/modules`.) The build
//! directory's `Makefile` is the one kbuild writes for an out-of-tree build,
//! `include <absolute source path on the build machine>/Makefile`, and its `source` link
//! points at the same build-machine path: both are pointed at the image's own `source`
//! directory (or at the path inside the image they name, which is then extracted too).
//!
//! Only those trees are extracted, through the same [`Writer`] as RPM and deb payloads
//! (nothing outside the root, bounded entries and bytes, no device nodes), into
//! `usr/lib/modules/<release>/`, where [`super::tree`] finds the build directory. The image is
//! decompressed to a sparse temporary file beside the package (runs of zero blocks are not
//! written: the 6 GiB image takes the disk space of its data), bounded by
//! [`MAX_IMAGE_BYTES`], and removed when the unpack ends, however it ends. The file system is
//! read with the `ext4-view` crate (read-only, pure Rust); the partition table by
//! [`super::gpt`].

use std::fs::File;
use std::io::{Cursor, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

use ext4_view::{Ext4, Ext4Read, FileType};

use super::gpt;
use super::relocate::relative_from;
use super::writer::Writer;
use super::UnpackError;

/// Largest decompressed image. Flatcar's `container` layout is 12,582,912 sectors (6 GiB)
/// plus the partition table; 16 GiB leaves room for a larger layout and stops a bzip2 bomb
/// long before it fills a disk (the file is sparse, so only written data takes space).
pub const MAX_IMAGE_BYTES: u64 = 16 << 30;
/// Zero runs of this granularity are skipped rather than written (the file system block).
const SPARSE_BLOCK: usize = 4096;
/// Decompression buffer.
const CHUNK: usize = 1 << 20;
/// Deepest directory nesting followed (kernel trees are about 12 levels deep).
const MAX_DEPTH: usize = 48;
/// Most further trees a build directory may pull in (its source directory, usually one).
const MAX_EXTRA_ROOTS: usize = 4;
/// A build directory's Makefile is a two-line stub; a larger one is a real kernel Makefile
/// (the build directory *is* the source tree) and is not rewritten.
const MAX_STUB_MAKEFILE: u64 = 64 * 1024;
/// Where kernel trees live in a Flatcar image, newest layout first.
const MODULE_DIRS: [&str; 3] = ["/usr/lib/modules", "/usr/lib64/modules", "/lib/modules"];

/// Reads one partition of the decompressed image, refusing reads past its end.
struct PartitionReader {
    file: File,
    offset: u64,
    len: u64,
}

impl Ext4Read for PartitionReader {
    fn read(
        &mut self,
        start: u64,
        dst: &mut [u8],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        let end = start.checked_add(dst.len() as u64);
        if end.is_none_or(|e| e > self.len) {
            return Err(format!(
                "read of {} bytes at {start} is past the {}-byte partition",
                dst.len(),
                self.len
            )
            .into());
        }
        self.file.read_exact_at(dst, self.offset + start)?;
        Ok(())
    }
}

/// Unpacks the kernel build trees of a developer container image into `w`'s root.
pub(crate) fn unpack(path: &Path, w: &mut Writer) -> Result<(), UnpackError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| UnpackError::Io { path: p, source }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // Beside the package (the cache), removed on drop whatever happens below.
    let raw = tempfile::Builder::new()
        .prefix(".flatcar-image-")
        .suffix(".raw")
        .tempfile_in(dir)
        .map_err(io(dir))?;
    let len = decompress(path, raw.as_file(), MAX_IMAGE_BYTES, w)?;
    let file = raw.as_file().try_clone().map_err(io(raw.path()))?;
    let (offset, fs_len) = locate_fs(&file, len, w)?;
    let fs = Ext4::load(Box::new(PartitionReader {
        file,
        offset,
        len: fs_len,
    }))
    .map_err(|e| w.malformed(format!("the image's root file system cannot be read: {e}")))?;
    extract(&fs, w)
}

/// bunzip2 into `out`, writing only non-zero blocks. Returns the image length.
fn decompress(path: &Path, out: &File, cap: u64, w: &Writer) -> Result<u64, UnpackError> {
    let f = File::open(path).map_err(|source| UnpackError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut dec = bzip2::read::MultiBzDecoder::new(std::io::BufReader::new(f));
    let mut buf = vec![0u8; CHUNK];
    let mut pos: u64 = 0;
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match dec.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(w.malformed(format!("bzip2 stream: {e}"))),
            }
        }
        if filled == 0 {
            break;
        }
        if pos + filled as u64 > cap {
            return Err(w.refused(
                b"(image)",
                format!("decompresses to more than {cap} bytes (limit)"),
            ));
        }
        // Runs of non-zero blocks are written with one call each; zero blocks are holes.
        // (Slice equality is a `memcmp`, fast in every build profile.)
        let zero = [0u8; SPARSE_BLOCK];
        let mut run: Option<usize> = None;
        let mut at = 0;
        for block in buf[..filled].chunks(SPARSE_BLOCK) {
            let is_zero = block == &zero[..block.len()];
            match (is_zero, run) {
                (false, None) => run = Some(at),
                (true, Some(start)) => {
                    write_run(out, &buf[start..at], pos + start as u64, path)?;
                    run = None;
                }
                _ => {}
            }
            at += block.len();
        }
        if let Some(start) = run {
            write_run(out, &buf[start..filled], pos + start as u64, path)?;
        }
        pos += filled as u64;
    }
    out.set_len(pos).map_err(|source| UnpackError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(pos)
}

fn write_run(out: &File, data: &[u8], at: u64, path: &Path) -> Result<(), UnpackError> {
    out.write_all_at(data, at)
        .map_err(|source| UnpackError::Io {
            path: path.to_path_buf(),
            source,
        })
}

fn read_at(file: &File, at: u64, n: usize, w: &Writer) -> Result<Vec<u8>, UnpackError> {
    let mut b = vec![0u8; n];
    file.read_exact_at(&mut b, at)
        .map_err(|e| w.malformed(format!("image truncated: {n} bytes at {at}: {e}")))?;
    Ok(b)
}

fn has_ext_magic(file: &File, offset: u64, len: u64) -> bool {
    let mut m = [0u8; 2];
    len > 1082
        && file.read_exact_at(&mut m, offset + 1080).is_ok()
        && u16::from_le_bytes(m) == gpt::EXT_MAGIC
}

/// The byte range of the root file system: GPT partition `ROOT`, or the whole image when
/// it is a bare file system.
fn locate_fs(file: &File, len: u64, w: &Writer) -> Result<(u64, u64), UnpackError> {
    if len < 2 * gpt::SECTOR {
        return Err(w.malformed(format!("a {len}-byte image holds no disk")));
    }
    let header = read_at(file, gpt::SECTOR, gpt::SECTOR as usize, w)?;
    if !gpt::is_gpt(&header) {
        return if has_ext_magic(file, 0, len) {
            Ok((0, len))
        } else {
            Err(w.malformed(
                "neither a GPT disk (no `EFI PART` at LBA 1) nor an ext2/3/4 file system",
            ))
        };
    }
    let bad = |e: gpt::GptError| w.malformed(e.to_string());
    let (off, count, size, crc) = gpt::parse_header(&header, len).map_err(bad)?;
    let table = read_at(file, off, count as usize * size as usize, w)?;
    let parts = gpt::parse_entries(&table, count, size, crc, len).map_err(bad)?;
    let root = gpt::root_partition(&parts).ok_or_else(|| {
        w.malformed(format!(
            "no Linux file system partition named ROOT among {} partitions",
            parts.len()
        ))
    })?;
    if !has_ext_magic(file, root.offset, root.len) {
        return Err(w.malformed(format!(
            "partition {} `{}` holds no ext2/3/4 file system",
            root.number, root.name
        )));
    }
    Ok((root.offset, root.len))
}

/// `/usr/lib64/modules/x` → `usr/lib/modules/x`: where the tree lands in the root.
fn tree_path(image_path: &str) -> String {
    let p = image_path.trim_start_matches('/');
    for old in ["usr/lib64/modules/", "lib/modules/"] {
        if let Some(rest) = p.strip_prefix(old) {
            return format!("usr/lib/modules/{rest}");
        }
    }
    p.to_string()
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// What the walk of one image needs to remember.
struct Walk<'a> {
    fs: &'a Ext4,
    /// Image paths (canonical) extracted or queued.
    roots: Vec<String>,
    queue: Vec<String>,
}

impl Walk<'_> {
    fn ext4_err(&self, w: &Writer, what: &str, e: ext4_view::Ext4Error) -> UnpackError {
        w.malformed(format!("{what}: {e}"))
    }

    fn canonical(&self, p: &str) -> Option<String> {
        let c = self.fs.canonicalize(p).ok()?;
        c.to_str().ok().map(str::to_string)
    }

    fn covered(&self, p: &str) -> bool {
        self.roots
            .iter()
            .any(|r| p == r || p.starts_with(&format!("{r}/")))
    }

    /// Queues an image path (a build directory's source) for extraction.
    fn want(&mut self, image_path: &str, w: &Writer) -> Result<(), UnpackError> {
        if self.covered(image_path) {
            return Ok(());
        }
        if self.queue.len() >= MAX_EXTRA_ROOTS {
            return Err(w.refused(
                image_path.as_bytes(),
                format!("the build tree pulls in more than {MAX_EXTRA_ROOTS} other trees"),
            ));
        }
        self.roots.push(image_path.to_string());
        self.queue.push(image_path.to_string());
        Ok(())
    }

    /// Extracts `src` (an image path) to `dst` (a root-relative path), recursively.
    fn entry(
        &mut self,
        src: &str,
        dst: &str,
        depth: usize,
        w: &mut Writer,
    ) -> Result<(), UnpackError> {
        let meta = self
            .fs
            .symlink_metadata(src)
            .map_err(|e| self.ext4_err(w, src, e))?;
        self.entry_with(src, dst, meta, depth, w)
    }

    /// [`Walk::entry`] with the entry's own (not followed) metadata already read from its
    /// directory entry, which saves resolving the path from the root once more per file.
    fn entry_with(
        &mut self,
        src: &str,
        dst: &str,
        meta: ext4_view::Metadata,
        depth: usize,
        w: &mut Writer,
    ) -> Result<(), UnpackError> {
        if depth > MAX_DEPTH {
            return Err(w.refused(dst.as_bytes(), format!("nested deeper than {MAX_DEPTH}")));
        }
        let mode = u32::from(meta.mode());
        match meta.file_type() {
            FileType::Directory => {
                w.dir(dst.as_bytes(), mode)?;
                let mut children: Vec<(String, ext4_view::Metadata)> = Vec::new();
                for e in self
                    .fs
                    .read_dir(src)
                    .map_err(|e| self.ext4_err(w, src, e))?
                {
                    let e = e.map_err(|e| self.ext4_err(w, src, e))?;
                    let name = e.file_name();
                    let name = name.as_str().map_err(|_| {
                        w.refused(dst.as_bytes(), "an entry name that is not UTF-8")
                    })?;
                    if children.len() as u64 >= super::MAX_ENTRIES {
                        // Listed before anything is written: bound the listing itself.
                        return Err(w.refused(
                            dst.as_bytes(),
                            format!("a directory of more than {} entries", super::MAX_ENTRIES),
                        ));
                    }
                    if name != "." && name != ".." {
                        let m = e.metadata().map_err(|e| self.ext4_err(w, src, e))?;
                        children.push((name.to_string(), m));
                    }
                }
                children.sort_by(|a, b| a.0.cmp(&b.0));
                for (n, m) in children {
                    self.entry_with(&join(src, &n), &join(dst, &n), m, depth + 1, w)?;
                }
                Ok(())
            }
            FileType::Regular => {
                let size = meta.len();
                let mtime = u64::try_from(meta.modified().seconds()).unwrap_or(0);
                if dst.ends_with("/build/Makefile") && size <= MAX_STUB_MAKEFILE {
                    let text = self.fs.read(src).map_err(|e| self.ext4_err(w, src, e))?;
                    let text = self.makefile(src, dst, &text, w)?;
                    let n = text.len() as u64;
                    return w.file(dst.as_bytes(), mode, mtime, n, &mut Cursor::new(text), None);
                }
                let mut f = self.fs.open(src).map_err(|e| self.ext4_err(w, src, e))?;
                w.file(dst.as_bytes(), mode, mtime, size, &mut f, None)
            }
            FileType::Symlink => {
                let target = self
                    .fs
                    .read_link(src)
                    .map_err(|e| self.ext4_err(w, src, e))?;
                let target = target
                    .to_str()
                    .map_err(|_| w.refused(dst.as_bytes(), "a link target that is not UTF-8"))?
                    .to_string();
                match self.canonical(src) {
                    Some(real) => {
                        // The kernel's own `build` / `source` links (and `build/source`) pull
                        // in what they point at; links deeper in the trees do not.
                        if depth <= 1 && (dst.ends_with("/build") || dst.ends_with("/source")) {
                            self.want(&real, w)?;
                        }
                        let t = if target.starts_with('/') {
                            format!("/{}", tree_path(&target))
                        } else {
                            target
                        };
                        w.symlink(dst.as_bytes(), t.as_bytes())
                    }
                    // Dangling in the image: a path on the build machine. A build directory's
                    // `source` link is pointed at the image's own source directory.
                    None if dst.ends_with("/build/source") => {
                        let sibling = src.trim_end_matches("/build/source").to_string() + "/source";
                        if self.fs.exists(sibling.as_str()).unwrap_or(false) {
                            w.symlink(dst.as_bytes(), b"../source")
                        } else {
                            Ok(())
                        }
                    }
                    None => {
                        tracing::debug!(link = src, target, "dangling link in the image left out");
                        Ok(())
                    }
                }
            }
            other => Err(w.refused(
                dst.as_bytes(),
                format!("a {other:?} node: a headers tree holds only files, directories and links"),
            )),
        }
    }

    /// Points a build directory's `include <abs>/Makefile` at a tree the image holds.
    fn makefile(
        &mut self,
        src: &str,
        dst: &str,
        text: &[u8],
        w: &Writer,
    ) -> Result<Vec<u8>, UnpackError> {
        let Ok(text) = std::str::from_utf8(text) else {
            return Ok(text.to_vec());
        };
        let dst_dir = Path::new(dst).parent().unwrap_or(Path::new(""));
        let kernel_dir = src.trim_end_matches("/build/Makefile");
        let mut out = String::with_capacity(text.len() + 64);
        for line in text.split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']);
            let inc = body
                .strip_prefix("include ")
                .map(str::trim)
                .filter(|p| p.starts_with('/') && p.ends_with("/Makefile"));
            let Some(abs) = inc else {
                out.push_str(line);
                continue;
            };
            let abs_dir = abs.trim_end_matches("/Makefile");
            let (image_dir, how) = match self.canonical(abs) {
                Some(real) => (real.trim_end_matches("/Makefile").to_string(), "named"),
                None => (format!("{kernel_dir}/source"), "sibling"),
            };
            if !self
                .fs
                .exists(format!("{image_dir}/Makefile").as_str())
                .unwrap_or(false)
            {
                return Err(w.malformed(format!(
                    "{src} includes {abs}, and the image holds neither that nor {image_dir}/Makefile"
                )));
            }
            self.want(&image_dir, w)?;
            let to = format!("/{}/Makefile", tree_path(&image_dir));
            tracing::debug!(
                makefile = src,
                from = abs_dir,
                to,
                how,
                "build Makefile include relocated"
            );
            out.push_str(&format!(
                "include $(dir $(lastword $(MAKEFILE_LIST))){}",
                relative_from(dst_dir, Path::new(&to)).display()
            ));
            out.push_str(&line[body.len()..]);
        }
        Ok(out.into_bytes())
    }
}

/// Extracts every kernel's `build` (and `source`) tree, and what they point at.
fn extract(fs: &Ext4, w: &mut Writer) -> Result<(), UnpackError> {
    let mut walk = Walk {
        fs,
        roots: Vec::new(),
        queue: Vec::new(),
    };
    let mut kernels: Vec<(String, String)> = Vec::new();
    let mut seen_dirs: Vec<String> = Vec::new();
    for d in MODULE_DIRS {
        let Some(real) = walk.canonical(d) else {
            continue;
        };
        if seen_dirs.contains(&real) {
            continue;
        }
        seen_dirs.push(real.clone());
        let Ok(rd) = fs.read_dir(real.as_str()) else {
            continue;
        };
        let mut names: Vec<String> = rd
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().as_str().ok().map(str::to_string))
            .filter(|n| n != "." && n != "..")
            .collect();
        names.sort();
        for n in names {
            let build = format!("{real}/{n}/build");
            if fs.exists(build.as_str()).unwrap_or(false) {
                kernels.push((n, real.clone()));
            }
        }
    }
    if kernels.is_empty() {
        return Err(w.malformed(
            "no kernel build tree in the image: expected /usr/lib/modules/<release>/build \
             (or /usr/lib64/modules/<release>/build before 3115.0.0)",
        ));
    }
    for (release, dir) in &kernels {
        let kdir = format!("{dir}/{release}");
        walk.roots.push(format!("{kdir}/build"));
        if fs
            .symlink_metadata(format!("{kdir}/source").as_str())
            .is_ok()
        {
            walk.roots.push(format!("{kdir}/source"));
        }
    }
    for (release, dir) in kernels {
        let kdir = format!("{dir}/{release}");
        let dst = format!("usr/lib/modules/{release}");
        walk.entry(&format!("{kdir}/build"), &format!("{dst}/build"), 0, w)?;
        if fs
            .symlink_metadata(format!("{kdir}/source").as_str())
            .is_ok()
        {
            walk.entry(&format!("{kdir}/source"), &format!("{dst}/source"), 0, w)?;
        }
    }
    while let Some(root) = walk.queue.pop() {
        let dst = tree_path(&root);
        walk.entry(&root, &dst, 0, w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::UnpackLimits;
    use std::io::Write;

    fn bz2(data: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(data).unwrap();
        f.write_all(&e.finish().unwrap()).unwrap();
        f
    }

    #[test]
    fn a_bzip2_bomb_stops_at_the_image_cap() {
        let root = tempfile::tempdir().unwrap();
        let w = Writer::new(root.path(), UnpackLimits::default());
        let src = bz2(&vec![0u8; 3 << 20]);
        let out = tempfile::tempfile().unwrap();
        let e = decompress(src.path(), &out, 1 << 20, &w).unwrap_err();
        assert!(e.to_string().contains("more than 1048576 bytes"), "{e}");
    }

    #[test]
    fn zero_blocks_become_holes_and_data_lands_at_its_offset() {
        let root = tempfile::tempdir().unwrap();
        let w = Writer::new(root.path(), UnpackLimits::default());
        let mut img = vec![0u8; 3 * CHUNK + 100];
        img[CHUNK + 5] = 7;
        img[3 * CHUNK + 99] = 9;
        let src = bz2(&img);
        let out = tempfile::tempfile().unwrap();
        assert_eq!(
            decompress(src.path(), &out, 1 << 30, &w).unwrap(),
            img.len() as u64
        );
        let mut back = Vec::new();
        (&out).read_to_end(&mut back).unwrap();
        assert_eq!(back, img);
        use std::os::unix::fs::MetadataExt;
        // Two 4 KiB blocks of data; the rest are holes.
        assert!(out.metadata().unwrap().blocks() * 512 <= 4 * SPARSE_BLOCK as u64);
    }

    #[test]
    fn a_truncated_bzip2_stream_is_malformed() {
        let root = tempfile::tempdir().unwrap();
        let w = Writer::new(root.path(), UnpackLimits::default());
        let full = bz2(&(0..200_000u32)
            .flat_map(|i| i.to_le_bytes())
            .collect::<Vec<_>>());
        let bytes = std::fs::read(full.path()).unwrap();
        let mut cut = tempfile::NamedTempFile::new().unwrap();
        cut.write_all(&bytes[..bytes.len() / 2]).unwrap();
        let out = tempfile::tempfile().unwrap();
        let e = decompress(cut.path(), &out, 1 << 30, &w).unwrap_err();
        assert!(matches!(e, UnpackError::Malformed { .. }), "{e}");
    }

    #[test]
    fn image_paths_land_under_usr_lib_modules() {
        assert_eq!(
            tree_path("/usr/lib64/modules/5.10.77-flatcar/build"),
            "usr/lib/modules/5.10.77-flatcar/build"
        );
        assert_eq!(
            tree_path("/usr/src/linux-5.10.77-coreos"),
            "usr/src/linux-5.10.77-coreos"
        );
        assert_eq!(tree_path("/lib/modules/x"), "usr/lib/modules/x");
    }
}
