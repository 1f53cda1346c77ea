//! Hostile and broken archives: every escape is refused, limits hold, and a failure leaves
//! nothing at the destination (nor a temporary directory beside it).
//!
//! The hostile `.deb`s are made here with the `tar` and `ar` crates, writing raw member
//! names (`dpkg-deb` refuses to build them); hostile RPMs with valid digests come from
//! `fixtures/unpack/gen.sh` (rpmbuild).

use std::path::PathBuf;

use kheaders::unpack::{unpack_files, UnpackError, UnpackLimits};
use kheaders::vocab::PackageFormat;
use kheaders::ErrorKind;

use crate::support::fixture;
use crate::unpack_support::{deb_of, dir, file, link, Member};

struct Case {
    _dir: tempfile::TempDir,
    parent: PathBuf,
    dest: PathBuf,
    pkg: PathBuf,
}

fn case(bytes: &[u8]) -> Case {
    let d = tempfile::tempdir().unwrap();
    let parent = d.path().join("out");
    std::fs::create_dir(&parent).unwrap();
    let pkg = d.path().join("hostile_1_all.deb");
    std::fs::write(&pkg, bytes).unwrap();
    Case {
        dest: parent.join("tree"),
        parent,
        pkg,
        _dir: d,
    }
}

/// The unpack failed and left nothing behind: no destination, no temporary directory.
fn assert_nothing_left(c: &Case) {
    let left: Vec<_> = std::fs::read_dir(&c.parent)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!c.dest.exists());
}

fn unpack_deb(c: &Case, limits: UnpackLimits) -> Result<kheaders::HeadersTree, UnpackError> {
    unpack_files(&[(c.pkg.clone(), PackageFormat::Deb)], &c.dest, limits)
}

fn refused(members: &[Member], reason: &str) {
    let c = case(&deb_of(members));
    let err = unpack_deb(&c, UnpackLimits::default()).unwrap_err();
    assert!(
        matches!(err, UnpackError::Refused { .. }),
        "expected a refusal, got {err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Integrity);
    let msg = err.to_string();
    assert!(msg.contains(reason), "`{msg}` does not say `{reason}`");
    assert!(
        msg.contains("hostile_1_all.deb"),
        "`{msg}` names no package"
    );
    assert_nothing_left(&c);
}

#[test]
fn dot_dot_entry_is_refused() {
    refused(
        &[dir(b"./usr/"), file(b"./usr/../../escaped", b"x")],
        "`..` component",
    );
}

#[test]
fn absolute_entry_is_refused() {
    refused(
        &[file(b"/tmp/kheaders-absolute-escape", b"x")],
        "absolute path",
    );
}

#[test]
fn symlink_escaping_the_root_is_refused() {
    refused(
        &[
            dir(b"./usr/"),
            link(b"./usr/evil", tar::EntryType::Symlink, b"../../etc/passwd"),
        ],
        "resolves outside the destination",
    );
}

#[test]
fn symlink_chain_escaping_physically_is_refused() {
    // Lexically both stay inside; on disk `b` = `./..` = outside.
    refused(
        &[
            link(b"./a", tar::EntryType::Symlink, b"."),
            link(b"./b", tar::EntryType::Symlink, b"a/.."),
        ],
        "resolves outside the destination",
    );
}

#[test]
fn file_below_a_symlink_is_never_written_through_it() {
    // `usr/d -> /` is rewritten to a link inside the root, and the file under it is written
    // into a real directory before any link exists; the link then cannot replace it.
    refused(
        &[
            link(b"./usr/d", tar::EntryType::Symlink, b"/"),
            file(b"./usr/d/x", b"x"),
        ],
        "symlink over an existing directory",
    );
}

#[test]
fn hardlink_outside_the_root_is_refused() {
    refused(
        &[link(
            b"./passwd",
            tar::EntryType::Link,
            b"../../../etc/passwd",
        )],
        "outside the destination",
    );
    refused(
        &[link(b"./passwd", tar::EntryType::Link, b"/etc/passwd")],
        "outside the destination",
    );
}

#[test]
fn device_nodes_and_fifos_are_refused() {
    refused(
        &[link(b"./dev-null", tar::EntryType::Char, b"")],
        "character device node",
    );
    refused(
        &[link(b"./disk", tar::EntryType::Block, b"")],
        "block device node",
    );
    refused(&[link(b"./pipe", tar::EntryType::Fifo, b"")], "fifo");
}

#[test]
fn entry_count_limit_holds() {
    let c = case(&deb_of(&[
        file(b"./a", b"1"),
        file(b"./b", b"2"),
        file(b"./c", b"3"),
    ]));
    let err = unpack_deb(
        &c,
        UnpackLimits {
            max_entries: 2,
            ..UnpackLimits::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("more than 2 entries"), "{err}");
    assert_nothing_left(&c);
}

#[test]
fn total_size_limit_holds_before_writing() {
    let c = case(&deb_of(&[file(b"./big", &[0u8; 10_000])]));
    let err = unpack_deb(
        &c,
        UnpackLimits {
            max_total_bytes: 4096,
            ..UnpackLimits::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("4096-byte limit"), "{err}");
    assert_nothing_left(&c);
}

#[test]
fn truncated_deb_is_malformed_and_leaves_nothing() {
    let good = std::fs::read(fixture(
        "unpack/debian/linux-headers-9.9.9-1-common_9.9.9-1_all.deb",
    ))
    .unwrap();
    for cut in [good.len() / 2, good.len() - 10, 70] {
        let c = case(&good[..cut]);
        let err = unpack_deb(&c, UnpackLimits::default()).unwrap_err();
        assert!(
            matches!(err, UnpackError::Malformed { .. }),
            "cut at {cut}: {err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::Integrity);
        assert_nothing_left(&c);
    }
}

#[test]
fn a_failing_package_in_a_set_leaves_nothing_of_the_others() {
    let d = tempfile::tempdir().unwrap();
    let good = fixture("unpack/debian/linux-kbuild-9.9_9.9.9-1_amd64.deb");
    let bad = d.path().join("bad.deb");
    std::fs::write(&bad, deb_of(&[file(b"/abs", b"x")])).unwrap();
    let parent = d.path().join("out");
    std::fs::create_dir(&parent).unwrap();
    let dest = parent.join("tree");
    let err = unpack_files(
        &[(good, PackageFormat::Deb), (bad, PackageFormat::Deb)],
        &dest,
        UnpackLimits::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("bad.deb"), "{err}");
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 0);
}

fn rpm_refused(name: &str, reason: &str) {
    let d = tempfile::tempdir().unwrap();
    let parent = d.path().join("out");
    std::fs::create_dir(&parent).unwrap();
    let dest = parent.join("tree");
    let err = unpack_files(
        &[(fixture(&format!("unpack/rpm/{name}")), PackageFormat::Rpm)],
        &dest,
        UnpackLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, UnpackError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains(reason), "{err}");
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 0);
}

#[test]
fn rpm_with_escaping_symlink_is_refused() {
    rpm_refused(
        "hostile-symlink-9.9.9-1.x86_64.rpm",
        "resolves outside the destination",
    );
}

#[test]
fn rpm_with_device_node_is_refused() {
    rpm_refused("hostile-device-9.9.9-1.x86_64.rpm", "character device node");
}

#[test]
fn rpm_with_fifo_is_refused() {
    rpm_refused("hostile-fifo-9.9.9-1.x86_64.rpm", "fifo");
}

#[test]
fn corrupted_rpm_payload_is_an_integrity_error() {
    let src = fixture("unpack/rpm/kernel-devel-9.9.9-1.fc40.x86_64.rpm");
    let mut bytes = std::fs::read(&src).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 0xff; // inside the zstd payload
    let d = tempfile::tempdir().unwrap();
    let pkg = d.path().join("kernel-devel-9.9.9-1.fc40.x86_64.rpm");
    std::fs::write(&pkg, &bytes).unwrap();
    let parent = d.path().join("out");
    std::fs::create_dir(&parent).unwrap();
    let err = unpack_files(
        &[(pkg, PackageFormat::Rpm)],
        &parent.join("tree"),
        UnpackLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, UnpackError::Integrity { .. }), "{err:?}");
    assert!(err.to_string().contains("payload sha256 mismatch"), "{err}");
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 0);
}

#[test]
fn non_empty_destination_is_refused_untouched() {
    let d = tempfile::tempdir().unwrap();
    let dest = d.path().join("tree");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("keep"), b"mine").unwrap();
    let err = unpack_files(
        &[(
            fixture("unpack/debian/linux-kbuild-9.9_9.9.9-1_amd64.deb"),
            PackageFormat::Deb,
        )],
        &dest,
        UnpackLimits::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(std::fs::read(dest.join("keep")).unwrap(), b"mine");
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
}

#[test]
fn absolute_symlink_is_rewritten_to_point_inside_the_root() {
    // `/etc/passwd` means the target system's file: inside our root that is `<root>/etc/passwd`
    // (absent here), never the host's.
    let mut members = vec![link(
        b"./usr/src/x/passwd",
        tar::EntryType::Symlink,
        b"/etc/passwd",
    )];
    // Make the tree otherwise usable so the unpack completes.
    members.extend([
        file(b"./usr/src/kernels/1/Makefile", b"all:\n"),
        file(b"./usr/src/kernels/1/.config", b""),
        file(b"./usr/src/kernels/1/Module.symvers", b""),
        file(b"./usr/src/kernels/1/include/config/auto.conf", b""),
        dir(b"./usr/src/kernels/1/scripts/"),
    ]);
    let c = case(&deb_of(&members));
    let t = unpack_deb(&c, UnpackLimits::default()).unwrap();
    let l = t.root.join("usr/src/x/passwd");
    assert_eq!(
        std::fs::read_link(&l).unwrap(),
        PathBuf::from("../../../etc/passwd")
    );
    assert!(!l.exists(), "must not reach the host's /etc/passwd");
}

#[test]
fn symlink_loop_is_refused() {
    refused(
        &[
            link(b"./a", tar::EntryType::Symlink, b"b"),
            link(b"./b", tar::EntryType::Symlink, b"a"),
        ],
        "more than 40 symlinks",
    );
}

/// Found by the `unpack_deb` fuzz target: an `ar` member named `/8000000000` (a GNU
/// long-name reference) with no name table made the `ar` crate index past an empty table and
/// panic, and a `//` table header makes it allocate whatever size it claims. `.deb`s never
/// use long names; the archive is malformed, and nothing is left behind.
#[test]
fn ar_long_name_references_are_malformed_not_followed() {
    let bytes = std::fs::read(fixture("unpack/hostile/ar-gnu-name-into-no-table.deb")).unwrap();
    let c = case(&bytes);
    let e = unpack_deb(&c, UnpackLimits::default()).unwrap_err();
    assert!(matches!(e, UnpackError::Malformed { .. }), "{e}");
    assert_eq!(e.kind(), ErrorKind::Integrity);
    assert!(e.to_string().contains("ar archive: member header"), "{e}");
    assert_nothing_left(&c);
    // The reference with a well-formed header, and a name table claiming 10 GB is refused from its header, before any allocation.
    for member in [
        "/8000000000     1700000000  0     0     100644  4         `\nabcd",
        "//                                              9999999999`\n",
    ] {
        let mut deb =
            b"!<arch>\ndebian-binary   1700000000  0     0     100644  4         `\n2.0\n".to_vec();
        deb.extend(member.as_bytes());
        let c = case(&deb);
        let e = unpack_deb(&c, UnpackLimits::default()).unwrap_err();
        assert!(e.to_string().contains("long-name table"), "{e}");
        assert_nothing_left(&c);
    }
}
