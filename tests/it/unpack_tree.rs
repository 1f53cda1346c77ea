//! Unpacking real-tool-made packages (fixtures/unpack/gen.sh: dpkg-deb, rpmbuild) into a
//! relocatable tree, and checking a package's own header against what was expected.

use std::path::{Path, PathBuf};

use kheaders::package::verify_header as verify_package_header;
use kheaders::unpack::{unpack_all, unpack_files, UnpackError, UnpackLimits};
use kheaders::vocab::{Expected, PackageFormat, PackageRef};
use kheaders::ErrorKind;

use crate::support::fixture;

const REL: &str = "9.9.9-1-amd64";

fn debs() -> Vec<(PathBuf, PackageFormat)> {
    [
        "linux-headers-9.9.9-1-amd64_9.9.9-1_amd64.deb",
        "linux-headers-9.9.9-1-common_9.9.9-1_all.deb",
        "linux-kbuild-9.9_9.9.9-1_amd64.deb",
    ]
    .iter()
    .map(|f| (fixture(&format!("unpack/debian/{f}")), PackageFormat::Deb))
    .collect()
}

fn pkg_ref(name: &str, version: &str, arch: &str, format: PackageFormat) -> PackageRef {
    PackageRef {
        name: name.into(),
        version: version.into(),
        arch: arch.into(),
        format,
        urls: vec![],
        expected: Expected {
            size: None,
            checksums: vec![],
            check_package_header: true,
        },
    }
}

fn link(p: &Path) -> PathBuf {
    std::fs::read_link(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn debian_closure_unpacks_into_one_relocated_tree() {
    let d = tempfile::tempdir().unwrap();
    let dest = d.path().join("tree");
    let t = unpack_files(&debs(), &dest, UnpackLimits::default()).unwrap();
    assert_eq!(t.root, dest);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o755,
        "the root is readable by the build user"
    );
    assert_eq!(
        t.build_dir,
        dest.join(format!("usr/src/linux-headers-{REL}"))
    );
    assert_eq!(
        t.compiler.as_deref(),
        Some("gcc-12 (Debian 12.2.0-14) 12.2.0")
    );
    assert_eq!(t.release.as_deref(), Some(REL));

    // The absolute include now follows the Makefile wherever it lies.
    let mk = std::fs::read_to_string(t.build_dir.join("Makefile")).unwrap();
    assert_eq!(
        mk,
        "include $(dir $(lastword $(MAKEFILE_LIST)))../linux-headers-9.9.9-1-common/Makefile\n"
    );
    // lib/modules/<release>/{build,source} were absolute: now relative, inside the root.
    let m = dest.join(format!("lib/modules/{REL}"));
    assert_eq!(
        link(&m.join("build")),
        PathBuf::from(format!("../../../usr/src/linux-headers-{REL}"))
    );
    assert_eq!(
        link(&m.join("source")),
        PathBuf::from("../../../usr/src/linux-headers-9.9.9-1-common")
    );
    assert!(m.join("build/.config").is_file());
    // scripts -> the kbuild package, resolved inside the root.
    assert!(t.build_dir.join("scripts/basic/fixdep").is_file());
    // No absolute symlink anywhere.
    for e in walk(&dest) {
        if let Ok(l) = std::fs::read_link(&e) {
            assert!(l.is_relative(), "{} -> {}", e.display(), l.display());
        }
    }
}

#[test]
fn relocated_debian_tree_still_works_after_moving_it() {
    let d = tempfile::tempdir().unwrap();
    let t = unpack_files(&debs(), &d.path().join("a"), UnpackLimits::default()).unwrap();
    let moved = d.path().join("elsewhere/b");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&t.root, &moved).unwrap();
    let build = moved.join(format!("usr/src/linux-headers-{REL}"));
    // `make -C build` reads the rewritten include relative to the Makefile itself.
    let out = std::process::Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(&build)
        .output();
    let Ok(out) = out else {
        eprintln!("make not installed; skipping the make check");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "common makefile"
    );
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            out.push(e.path());
            if ft.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out
}

#[test]
fn rpm_payloads_of_every_compressor_unpack() {
    for (n, comp) in [(1, "zstd"), (2, "gzip"), (3, "xz"), (4, "bzip2")] {
        let d = tempfile::tempdir().unwrap();
        let release = format!("9.9.9-{n}.fc40.x86_64");
        let pkg = fixture(&format!("unpack/rpm/kernel-devel-{release}.rpm"));
        let t = unpack_files(
            &[(pkg, PackageFormat::Rpm)],
            &d.path().join("t"),
            UnpackLimits::default(),
        )
        .unwrap_or_else(|e| panic!("{comp}: {e}"));
        assert_eq!(
            t.build_dir,
            d.path().join(format!("t/usr/src/kernels/{release}")),
            "{comp}"
        );
        assert_eq!(t.release.as_deref(), Some(release.as_str()));
        assert_eq!(
            t.compiler.as_deref(),
            Some("gcc (GCC) 14.0.1 20240411 (Red Hat 14.0.1-0)")
        );
        // cpio hard links: one inode, the data on both names.
        use std::os::unix::fs::MetadataExt;
        let inc = t.build_dir.join("include/linux");
        let (a, b) = (
            std::fs::metadata(inc.join("hard1.h")).unwrap(),
            std::fs::metadata(inc.join("hard2.h")).unwrap(),
        );
        assert_eq!(a.ino(), b.ino(), "{comp}");
        assert_eq!(std::fs::read(inc.join("hard2.h")).unwrap(), b"same\n");
        assert_eq!(
            std::fs::read_to_string(t.build_dir.join("include/generated/module-link.h")).unwrap(),
            "/* kernel header */\n"
        );
        assert_eq!(
            std::fs::metadata(t.build_dir.join("scripts/basic/fixdep"))
                .unwrap()
                .mode()
                & 0o777,
            0o755
        );
    }
}

#[tokio::test]
async fn unpack_all_takes_local_packages() {
    let d = tempfile::tempdir().unwrap();
    let path = fixture("unpack/rpm/kernel-devel-9.9.9-1.fc40.x86_64.rpm");
    let pkgs = vec![kheaders::vocab::LocalPackage {
        package: pkg_ref("kernel-devel", "9.9.9-1.fc40", "x86_64", PackageFormat::Rpm),
        size: std::fs::metadata(&path).unwrap().len(),
        path,
        sha256: String::new(),
        url: String::new(),
    }];
    let t = unpack_all(&pkgs, &d.path().join("t"), Some("9.9.9-1.fc40.x86_64"))
        .await
        .unwrap();
    assert!(t.build_dir.ends_with("usr/src/kernels/9.9.9-1.fc40.x86_64"));
    // The same tree for another kernel is an integrity failure, and nothing is left.
    let e = unpack_all(&pkgs, &d.path().join("u"), Some("9.9.9-2.fc40.x86_64"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), kheaders::ErrorKind::Integrity, "{e}");
    assert!(e.to_string().contains("not `9.9.9-2.fc40.x86_64`"), "{e}");
    assert!(
        !e.to_string().contains(".kheaders-"),
        "names the removed temp dir: {e}"
    );
    assert_eq!(
        std::fs::read_dir(d.path()).unwrap().count(),
        1,
        "only `t` is there"
    );
}

#[test]
fn a_tree_without_a_build_directory_is_reported() {
    let d = tempfile::tempdir().unwrap();
    let parent = d.path().join("out");
    let err = unpack_files(
        &[(
            fixture("unpack/debian/linux-kbuild-9.9_9.9.9-1_amd64.deb"),
            PackageFormat::Deb,
        )],
        &parent.join("t"),
        UnpackLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, UnpackError::Tree { .. }), "{err:?}");
    assert!(
        err.to_string().contains("no kernel build directory"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 0);
}

#[test]
fn debian_arch_package_without_common_is_reported_as_incomplete() {
    let d = tempfile::tempdir().unwrap();
    let mut only = debs();
    only.remove(1);
    let err = unpack_files(&only, &d.path().join("t"), UnpackLimits::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("linux-headers-9.9.9-1-common/Makefile (included by Makefile)"),
        "{msg}"
    );
}

#[test]
fn rpm_header_matching_the_package_verifies() {
    let p = fixture("unpack/rpm/kernel-devel-9.9.9-2.fc40.x86_64.rpm");
    verify_package_header(
        &p,
        &pkg_ref("kernel-devel", "9.9.9-2.fc40", "x86_64", PackageFormat::Rpm),
    )
    .unwrap();
    verify_package_header(
        &p,
        &pkg_ref(
            "kernel-devel",
            "0:9.9.9-2.fc40",
            "x86_64",
            PackageFormat::Rpm,
        ),
    )
    .unwrap();
}

#[test]
fn rpm_header_mismatch_is_an_integrity_error() {
    let p = fixture("unpack/rpm/kernel-devel-9.9.9-2.fc40.x86_64.rpm");
    for (name, ver, arch, says) in [
        (
            "kernel-devel",
            "9.9.9-1.fc40",
            "x86_64",
            "version `0:9.9.9-2.fc40`",
        ),
        (
            "kernel-devel",
            "1:9.9.9-2.fc40",
            "x86_64",
            "expected `1:9.9.9-2.fc40`",
        ),
        (
            "kernel-rt-devel",
            "9.9.9-2.fc40",
            "x86_64",
            "name `kernel-devel`",
        ),
        ("kernel-devel", "9.9.9-2.fc40", "aarch64", "arch `x86_64`"),
    ] {
        let err =
            verify_package_header(&p, &pkg_ref(name, ver, arch, PackageFormat::Rpm)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Integrity, "{err}");
        assert!(
            err.to_string().contains(says),
            "`{err}` does not say `{says}`"
        );
    }
}

#[test]
fn rpm_with_tampered_header_fails_its_digest() {
    let src = fixture("unpack/rpm/kernel-devel-9.9.9-2.fc40.x86_64.rpm");
    let mut bytes = std::fs::read(&src).unwrap();
    // Change the summary text inside the main header ("kheaders unpack fixture").
    let at = bytes
        .windows(8)
        .position(|w| w == b"kheaders")
        .expect("summary in header");
    bytes[at] = b'K';
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k.rpm");
    std::fs::write(&p, &bytes).unwrap();
    let err = verify_package_header(
        &p,
        &pkg_ref("kernel-devel", "9.9.9-2.fc40", "x86_64", PackageFormat::Rpm),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Integrity, "{err}");
    assert!(err.to_string().contains("digest"), "{err}");
}

#[test]
fn deb_control_must_match_the_package() {
    let p = fixture("unpack/debian/linux-headers-9.9.9-1-amd64_9.9.9-1_amd64.deb");
    verify_package_header(
        &p,
        &pkg_ref(
            "linux-headers-9.9.9-1-amd64",
            "9.9.9-1",
            "amd64",
            PackageFormat::Deb,
        ),
    )
    .unwrap();
    let err = verify_package_header(
        &p,
        &pkg_ref(
            "linux-headers-9.9.9-1-amd64",
            "9.9.9-2",
            "arm64",
            PackageFormat::Deb,
        ),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Integrity);
    let msg = err.to_string();
    assert!(
        msg.contains("Version `9.9.9-1`, expected `9.9.9-2`"),
        "{msg}"
    );
    assert!(
        msg.contains("Architecture `amd64`, expected `arm64`"),
        "{msg}"
    );
}

#[test]
fn truncated_deb_fails_header_verification_as_malformed() {
    let good = std::fs::read(fixture(
        "unpack/debian/linux-headers-9.9.9-1-amd64_9.9.9-1_amd64.deb",
    ))
    .unwrap();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("t.deb");
    std::fs::write(&p, &good[..100]).unwrap();
    let err = verify_package_header(
        &p,
        &pkg_ref(
            "linux-headers-9.9.9-1-amd64",
            "9.9.9-1",
            "amd64",
            PackageFormat::Deb,
        ),
    )
    .unwrap_err();
    assert!(
        matches!(err, kheaders::package::PackageError::Malformed { .. }),
        "{err:?}"
    );
}

#[test]
fn ubuntu_shaped_flavour_tree_with_symlinked_makefile() {
    use crate::unpack_support::{deb_of, file, link};
    let d = tempfile::tempdir().unwrap();
    let common = d
        .path()
        .join("linux-headers-5.15.0-91_5.15.0-91.101_all.deb");
    std::fs::write(
        &common,
        deb_of(&[
            file(
                b"./usr/src/linux-headers-5.15.0-91/Makefile",
                b"all:\n\t@echo ubuntu common\n",
            ),
            file(
                b"./usr/src/linux-headers-5.15.0-91/include/linux/module.h",
                b"/* */\n",
            ),
        ]),
    )
    .unwrap();
    let flavour = d
        .path()
        .join("linux-headers-5.15.0-91-generic_5.15.0-91.101_amd64.deb");
    let g = "./usr/src/linux-headers-5.15.0-91-generic";
    let leak = |s: String| -> &'static [u8] { Box::leak(s.into_bytes().into_boxed_slice()) };
    std::fs::write(
        &flavour,
        deb_of(&[
            file(
                leak(format!("{g}/.config")),
                b"CONFIG_CC_VERSION_TEXT=\"x86_64-linux-gnu-gcc-11 (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0\"\n",
            ),
            file(leak(format!("{g}/Module.symvers")), b""),
            file(leak(format!("{g}/include/config/auto.conf")), b""),
            file(
                leak(format!("{g}/include/generated/utsrelease.h")),
                b"#define UTS_RELEASE \"5.15.0-91-generic\"\n",
            ),
            file(leak(format!("{g}/scripts/basic/fixdep")), b""),
            link(
                leak(format!("{g}/Makefile")),
                tar::EntryType::Symlink,
                b"../linux-headers-5.15.0-91/Makefile",
            ),
            link(
                b"./lib/modules/5.15.0-91-generic/build",
                tar::EntryType::Symlink,
                b"/usr/src/linux-headers-5.15.0-91-generic",
            ),
        ]),
    )
    .unwrap();
    let t = unpack_files(
        &[(common, PackageFormat::Deb), (flavour, PackageFormat::Deb)],
        &d.path().join("t"),
        UnpackLimits::default(),
    )
    .unwrap();
    assert_eq!(
        t.build_dir,
        d.path().join("t/usr/src/linux-headers-5.15.0-91-generic")
    );
    assert_eq!(t.release.as_deref(), Some("5.15.0-91-generic"));
    assert_eq!(
        t.compiler.as_deref(),
        Some("x86_64-linux-gnu-gcc-11 (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0")
    );
    if let Ok(out) = std::process::Command::new("make")
        .args(["-s", "-C"])
        .arg(&t.build_dir)
        .output()
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ubuntu common");
    }
}
