//! Our streaming cpio walk against `rpm2cpio | cpio -idm`, in the same run, on an RPM shaped
//! like a real kernel-devel (20,000 files in 200 directories, zstd payload).
//!
//! ```text
//! cargo bench --bench unpack                       # builds the RPM with rpmbuild first
//! KHEADERS_BENCH_RPM=/path/kernel-devel.rpm cargo bench --bench unpack   # a real one
//! ```
//!
//! Both sides write the same files to disk; ours also checks every name and link, verifies
//! the header and payload digests, and sanity-checks the tree.
//!
//! Measured on the 2-core build VM (`cargo bench --profile dev --bench unpack -- --warm-up-time 1
//! --measurement-time 5`, each iteration includes removing the tree): kheaders 15.8 s
//! [15.2, 16.5], `rpm2cpio | cpio -idm` 15.0 s [14.6, 15.4] for 20,000 files. Both are bound by
//! file creation in the kernel (user CPU ~0.3 s for either on the 16,520-entry e2e RPM);
//! the `rpm` crate's own `extract()` is quadratic and was not a contender (DEPENDENCIES.md).

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::{Path, PathBuf};
use std::process::Command;

use kheaders::unpack::{unpack_files, UnpackLimits};
use kheaders::vocab::PackageFormat;

/// Files in the generated RPM: a Fedora kernel-devel holds 20–40 thousand.
const FILES: usize = 20_000;
const PER_DIR: usize = 100;

fn generated_rpm(work: &Path) -> PathBuf {
    let top = work.join("rpmbuild");
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    let spec = format!(
        r#"Name: kernel-devel
Version: 9.9.9
Release: 1.fc40
Summary: kheaders bench
License: MIT
BuildArch: x86_64
AutoReqProv: no
%description
bench
%install
K=%{{buildroot}}/usr/src/kernels/9.9.9-1.fc40.x86_64
mkdir -p $K/include/generated $K/scripts
printf 'all:\n' >$K/Makefile
printf 'CONFIG_CC_VERSION_TEXT="gcc"\n' >$K/.config
: >$K/Module.symvers
: >$K/include/generated/autoconf.h
for d in $(seq {dirs}); do
  mkdir -p $K/include/d$d
  for f in $(seq {per}); do echo "/* header $d/$f */ #define X_$d_$f 1" >$K/include/d$d/f$f.h; done
done
%files
/usr/src/kernels/9.9.9-1.fc40.x86_64
"#,
        dirs = FILES / PER_DIR,
        per = PER_DIR
    );
    std::fs::write(top.join("SPECS/k.spec"), spec).unwrap();
    let st = Command::new("rpmbuild")
        .args(["-bb", "--quiet", "--define"])
        .arg(format!("_topdir {}", top.display()))
        .args([
            "--define",
            "_binary_payload w19.zstdio",
            "--define",
            "_build_id_links none",
            "--define",
            "__os_install_post %{nil}",
        ])
        .arg(top.join("SPECS/k.spec"))
        .status()
        .expect("rpmbuild (apt-get install rpm) or set KHEADERS_BENCH_RPM");
    assert!(st.success());
    top.join("RPMS/x86_64/kernel-devel-9.9.9-1.fc40.x86_64.rpm")
}

fn bench(c: &mut Criterion) {
    let work = tempfile::tempdir().unwrap();
    let rpm = std::env::var_os("KHEADERS_BENCH_RPM")
        .map(PathBuf::from)
        .unwrap_or_else(|| generated_rpm(work.path()));
    let mut g = c.benchmark_group("unpack_rpm");
    g.sample_size(10);
    let mut n = 0;
    g.bench_function("kheaders_cpio_walk", |b| {
        b.iter(|| {
            n += 1;
            let dest = work.path().join(format!("k{n}"));
            unpack_files(
                &[(rpm.clone(), PackageFormat::Rpm)],
                &dest,
                UnpackLimits::default(),
            )
            .unwrap();
            std::fs::remove_dir_all(&dest).unwrap();
        })
    });
    g.bench_function("rpm2cpio_pipe_cpio_idm", |b| {
        b.iter(|| {
            n += 1;
            let dest = work.path().join(format!("c{n}"));
            std::fs::create_dir(&dest).unwrap();
            let st = Command::new("sh")
                .arg("-c")
                .arg(format!("rpm2cpio '{}' | cpio -idm --quiet", rpm.display()))
                .current_dir(&dest)
                .status()
                .unwrap();
            assert!(st.success());
            std::fs::remove_dir_all(&dest).unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
