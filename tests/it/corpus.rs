//! Real-world kernel lists run through identity parsing and package naming, matched by
//! exact file name (see fixtures/corpus/README.md):
//!
//! - falcosecurity/kernel-crawler's aarch64 list (every entry: Amazon Linux, CentOS, Fedora,
//!   Photon OS, Debian, Ubuntu, and Flatcar's developer container images; Minikube has no
//!   header artefact and is the only miss);
//! - the Photon OS 3.0/4.0/5.0 list built from the vmware/photon spec history;
//! - the SLES / openSUSE Leap 15.x list built from SUSE's advisories (packages matched
//!   through the metadata rule: the release plus a rebuild counter).
//!
//! `KHEADERS_CORPUS=a.json:b.json cargo test --test it corpus::corpus_files_from_env --
//! --ignored --nocapture` runs the same matching on any other list of that shape (the
//! kernel-crawler x86_64 list, for instance) and prints the figures.

use kheaders::identity::PackageName;
use kheaders::KernelIdentity;
use serde_json::Value;
use std::collections::BTreeMap;

fn load(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc.as_object()
        .unwrap()
        .values()
        .flat_map(|v| v.as_array().unwrap().clone())
        .collect()
}

fn fixture_list(name: &str) -> Vec<Value> {
    load(&crate::support::fixture(&format!("corpus/{name}")))
}

fn file_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

fn headers(e: &Value) -> Vec<String> {
    e["headers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| h.as_str())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The number after `prefix` in a release's dot-separated parts: `el7` → 7.
fn tag_number(release: &str, prefix: &str) -> Option<String> {
    release
        .split('.')
        .find(|p| {
            p.starts_with(prefix) && p[prefix.len()..].starts_with(|c: char| c.is_ascii_digit())
        })
        .map(|p| {
            p[prefix.len()..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .to_string()
        })
}

/// Distro and version an RPM-family target names (the lists carry no os-release).
fn rpm_target(target: &str, release: &str, url: &str) -> Option<(&'static str, String)> {
    Some(match target {
        "amazonlinux2" => ("amzn", "2".into()),
        "amazonlinux2022" => ("amzn", "2022".into()),
        // AL1: the release directory of the repository (`/2017.09/updates/...`).
        "amazonlinux" => (
            "amzn",
            url.split('/')
                .find(|p| p.len() == 7 && p.starts_with("20") && p.contains('.'))?
                .to_string(),
        ),
        "centos" => ("centos", tag_number(release, "el")?),
        "fedora" => ("fedora", tag_number(release, "fc")?),
        "oracle6" => ("ol", "6".into()),
        "oracle7" => ("ol", "7".into()),
        "oracle8" => ("ol", "8".into()),
        "oracle9" => ("ol", "9".into()),
        _ => return None,
    })
}

/// The Ubuntu series a kernel's `~YY.MM` suffix names, else the release whose GA kernel
/// series matches.
fn ubuntu_series(release: &str, kernelversion: &str) -> String {
    if let Some(s) = kernelversion.split('~').nth(1) {
        return s[..5].to_string();
    }
    let mut it = release.split(['.', '-']);
    let (a, b): (u32, u32) = (
        it.next().unwrap().parse().unwrap(),
        it.next().unwrap().parse().unwrap(),
    );
    match (a, b) {
        (3, 13) => "14.04",
        (4, 4) => "16.04",
        (4, 15) => "18.04",
        (5, 4) => "20.04",
        (5, 8) => "20.10",
        (5, 11) => "21.04",
        (5, 13) => "21.10",
        (5, 15) => "22.04",
        (5, 19) => "22.10",
        _ => "14.04",
    }
    .to_string()
}

/// The Debian release a package version or ABI series belongs to (the lists carry no
/// os-release): `~bpo10+1` → 10, `~deb9u1` → 9, `+deb8u1` → 8, else the stable release of the
/// ABI's series, else unstable (sid carried 5.19 and 6.0 in 2022).
fn debian_version(abi: &str, version: &str) -> String {
    let marks: Vec<(usize, u32)> = ["~bpo", "~deb", "+deb"]
        .iter()
        .flat_map(|m| version.match_indices(m).map(move |(i, _)| (i, m.len())))
        .filter_map(|(i, len)| {
            let n: String = version[i + len..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            n.parse().ok().map(|n| (i, n))
        })
        .collect();
    // The last mark names the release the package was built for: 4.9.210-1+deb9u1~deb8u1 → 8.
    if let Some((_, n)) = marks.iter().max_by_key(|(i, _)| *i) {
        return n.to_string();
    }
    let series: Vec<&str> = abi.split(['.', '-']).take(2).collect();
    match (series[0], series[1]) {
        ("3", "16") => "8",
        ("4", "9") => "9",
        ("4", "19") => "10",
        ("5", "10") => "11",
        ("6", "1") => "12",
        ("6", "12") => "13",
        _ => "unstable",
    }
    .to_string()
}

/// Matches one list entry; `Err` says why it is a miss.
fn check(e: &Value) -> Result<(), String> {
    let target = e["target"].as_str().unwrap_or("").to_ascii_lowercase();
    let release = e["kernelrelease"].as_str().unwrap_or("");
    let hs = headers(e);
    let first = hs.first().cloned().unwrap_or_default();
    if target == "flatcar" {
        return flatcar(release, &first);
    }
    if target == "minikube" {
        return Err("Minikube publishes a kernel config only, no header package".into());
    }
    if let Some((distro, version)) = rpm_target(&target, release, &first) {
        let id = KernelIdentity::build(release, None, distro, &version, None)
            .map_err(|x| x.to_string())?;
        let derived = id.header_packages()[0].filename.clone().unwrap_or_default();
        return if derived == file_of(&first) {
            Ok(())
        } else {
            Err(format!("derived {derived}, list has {}", file_of(&first)))
        };
    }
    if target.starts_with("photon") {
        let arch = e["arch"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| release.rsplit('.').next().unwrap().to_string());
        // kernel-crawler appends `.<arch>` to Photon's `uname -r`; the Photon list does not.
        let uname_r = release.strip_suffix(&format!(".{arch}")).unwrap_or(release);
        let major = tag_number(uname_r, "ph").ok_or("no phN tag")?;
        let id = KernelIdentity::build(uname_r, Some(&arch), "photon", &format!("{major}.0"), None)
            .map_err(|x| x.to_string())?;
        let derived = id.header_packages()[0].filename.clone().unwrap_or_default();
        return if derived == file_of(&first) {
            Ok(())
        } else {
            Err(format!("derived {derived}, list has {}", file_of(&first)))
        };
    }
    if target.starts_with("ubuntu") {
        let kv = match &e["kernelversion"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        // kernel-crawler's release is its own (`5.4.0-125-hwe-5.4`): each flavoured root
        // file in the list, linux-headers-<uname -r>_<version>_<arch>.deb, is a kernel the
        // entry covers, and every one must be derived exactly.
        let roots: Vec<(String, String)> = hs
            .iter()
            .map(|h| file_of(h))
            .filter_map(|f| {
                let stem = f.strip_suffix(".deb")?;
                let mut parts = stem.split('_');
                let (name, _ver, arch) = (parts.next()?, parts.next()?, parts.next()?);
                let r = name.strip_prefix("linux-headers-")?;
                let mut dash = r.splitn(3, '-');
                let (up, abi, flav) = (dash.next()?, dash.next()?, dash.next()?);
                let flavoured = up.split('.').count() == 3
                    && abi.chars().all(|c| c.is_ascii_digit())
                    && flav.starts_with(|c: char| c.is_ascii_lowercase());
                (flavoured && arch != "all").then(|| (r.to_string(), f.to_string()))
            })
            .collect();
        if roots.is_empty() {
            return Err("no linux-headers-<release>_<version>_<arch>.deb file".into());
        }
        for (root, file) in roots {
            let series = ubuntu_series(&root, &kv);
            let uname_v = format!("#{kv}-Ubuntu SMP Mon Aug 1 00:00:00 UTC 2022");
            let arch = if file.ends_with("_arm64.deb") {
                "aarch64"
            } else {
                "x86_64"
            };
            let id = KernelIdentity::build(&root, Some(arch), "ubuntu", &series, Some(&uname_v))
                .map_err(|x| x.to_string())?;
            let derived = id.header_packages()[0].filename.clone().unwrap_or_default();
            if derived != file {
                return Err(format!("derived {derived}, list has {file}"));
            }
        }
        return Ok(());
    }
    if target == "debian" {
        // The root: linux-headers-<abi>-<arch>_<version>_<arch>.deb (not rt, cloud or common).
        let (root, debarch) = hs
            .iter()
            .map(|h| file_of(h))
            .find_map(|f| {
                let stem = f.strip_suffix(".deb")?;
                let mut parts = stem.split('_');
                let (name, ver, arch) = (parts.next()?, parts.next()?, parts.next()?);
                let abi = name
                    .strip_prefix("linux-headers-")?
                    .strip_suffix(&format!("-{arch}"))?;
                if abi.ends_with("-rt") || abi.ends_with("-cloud") || arch == "all" {
                    return None;
                }
                Some((
                    (abi.to_string(), ver.to_string(), f.to_string()),
                    arch.to_string(),
                ))
            })
            .ok_or("no linux-headers-<abi>-<arch> file")?;
        let (abi, ver, file) = root;
        let uname_r = format!("{abi}-{debarch}");
        let version = debian_version(&abi, &ver);
        let uname_v = format!("#1 SMP Debian {ver} (2022-08-01)");
        let id = KernelIdentity::build(&uname_r, None, "debian", &version, Some(&uname_v))
            .map_err(|x| x.to_string())?;
        let derived = id.header_packages()[0].filename.clone().unwrap_or_default();
        if derived != file {
            return Err(format!("derived {derived}, list has {file}"));
        }
        let common = id.debian().unwrap().common_package();
        return if hs
            .iter()
            .any(|h| file_of(h).starts_with(&format!("{common}_")))
        {
            Ok(())
        } else {
            Err(format!("closure names {common}, not among {hs:?}"))
        };
    }
    if target == "sles" || target == "opensuse-leap" {
        let arch = e["arch"].as_str().unwrap_or("x86_64");
        let dv = e["distro_version"].as_str().unwrap_or("");
        let id = KernelIdentity::build(release, Some(arch), &target, dv, None)
            .map_err(|x| x.to_string())?;
        let wanted = id.header_packages();
        if wanted.len() != hs.len() {
            return Err(format!(
                "derived {} packages, list has {}",
                wanted.len(),
                hs.len()
            ));
        }
        // The root's V-R comes from the list's file (as it would from metadata); the noarch
        // packages must carry exactly that V-R.
        let root_vr =
            vr_of(&wanted[0], file_of(&hs[0])).ok_or("root file has another name or arch")?;
        for (w, h) in wanted.iter().zip(&hs) {
            let vr = vr_of(w, file_of(h))
                .ok_or_else(|| format!("{} is not a {} {}", file_of(h), w.name, w.arch))?;
            if !w.accepts_vr(&vr, Some(&root_vr)) {
                return Err(format!(
                    "{} does not match {} {:?}",
                    file_of(h),
                    w.name,
                    w.version
                ));
            }
        }
        return Ok(());
    }
    Err(format!("target `{target}` is not a family kheaders knows"))
}

/// A kernel of the line a Flatcar OS release runs, by its build number. kernel-crawler names
/// the OS version only (`"kernelrelease": "3033.2.0"`) and the developer container's file and
/// path do not depend on the kernel, so each entry gets a `uname -r` of its line: the first
/// kernel of each line in flatcar.org's releases.json (1688.5.3 ran 4.14.32, 1939.0.0 4.19.0,
/// 2492.0.0 5.4.35, 2632.0.0 5.8.9, 2697.0.0 5.9.8, 2748.0.0 5.10.4, 3115.0.0 5.15.13). Not the
/// exact kernel of every release (stable branches keep an older line for a while): the exact
/// one is checked against the image's tree when it is unpacked.
fn flatcar_kernel(version: &str) -> &'static str {
    let build: u32 = version
        .split('.')
        .next()
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    match build {
        3115.. => "5.15.13",
        2748.. => "5.10.4",
        2697.. => "5.9.8",
        2632.. => "5.8.9",
        2492.. => "5.4.35",
        1939.. => "4.19.0",
        _ => "4.14.32",
    }
}

/// A Flatcar entry: the identity's developer container path, below one of the roots of the
/// embedded Flatcar chain, is the list's URL exactly.
fn flatcar(version: &str, url: &str) -> Result<(), String> {
    let arch = match url.split('/').nth(3) {
        Some("arm64-usr") => "aarch64",
        Some("amd64-usr") => "x86_64",
        other => return Err(format!("no board directory in {url} ({other:?})")),
    };
    let uname_r = format!("{}-flatcar", flatcar_kernel(version));
    let id = KernelIdentity::build(&uname_r, Some(arch), "flatcar", version, None)
        .map_err(|x| x.to_string())?;
    let p = &id.header_packages()[0];
    let path = p.path.clone().ok_or("the identity names no release path")?;
    if p.filename.as_deref() != Some(file_of(url)) || !url.ends_with(&format!("/{path}")) {
        return Err(format!("derived {path}, list has {url}"));
    }
    let target = kheaders::catalog::ChainTarget {
        distro: id.distro(),
        distro_version: id.distro_version().to_string(),
        arch: id.arch(),
    };
    let specs = kheaders::catalog::chain_specs(&target, &kheaders::Config::default(), true)
        .map_err(|e| e.to_string())?;
    let served = specs
        .iter()
        .flat_map(|s| s.urls())
        .any(|root| format!("{}/{version}/{}", root.trim_end_matches('/'), file_of(url)) == url);
    if served {
        Ok(())
    } else {
        Err(format!("{url} is below no root of the Flatcar chain"))
    }
}

/// The V-R in `<name>-<V>-<R>.<arch>.rpm` when the file is that package.
fn vr_of(w: &PackageName, file: &str) -> Option<String> {
    let stem = file.strip_suffix(&format!(".{}.rpm", w.arch))?;
    stem.strip_prefix(&format!("{}-", w.name))
        .map(str::to_string)
}

struct Tally {
    total: usize,
    matched: usize,
    misses: BTreeMap<String, Vec<String>>,
    by_target: BTreeMap<String, (usize, usize)>,
}

fn tally(entries: &[Value]) -> Tally {
    let mut t = Tally {
        total: 0,
        matched: 0,
        misses: BTreeMap::new(),
        by_target: BTreeMap::new(),
    };
    for e in entries {
        let target = e["target"].as_str().unwrap_or("?").to_ascii_lowercase();
        t.total += 1;
        let slot = t.by_target.entry(target.clone()).or_default();
        slot.0 += 1;
        match check(e) {
            Ok(()) => {
                t.matched += 1;
                slot.1 += 1;
            }
            Err(why) => t.misses.entry(why).or_default().push(format!(
                "{target} {}",
                e["kernelrelease"].as_str().unwrap_or("?")
            )),
        }
    }
    t
}

fn report(name: &str, t: &Tally) {
    eprintln!(
        "{name}: {}/{} matched by exact file name ({:.2}%)",
        t.matched,
        t.total,
        100.0 * t.matched as f64 / t.total.max(1) as f64
    );
    for (target, (n, m)) in &t.by_target {
        eprintln!("  {target}: {m}/{n}");
    }
    for (why, who) in &t.misses {
        eprintln!("  miss x{}: {why} (e.g. {})", who.len(), who[0]);
    }
}

/// Families with no header artefact at all.
const OUT_OF_SCOPE: [&str; 1] = ["minikube"];

#[test]
fn kernel_crawler_aarch64_corpus_matches_by_exact_file_name() {
    let entries = fixture_list("kernel-crawler-aarch64-2022-08-29.json");
    let t = tally(&entries);
    report("kernel-crawler aarch64 2022-08-29", &t);
    assert_eq!(t.total, 1823);
    // Every miss is a family with no header package.
    for who in t.misses.values().flatten() {
        assert!(
            OUT_OF_SCOPE.iter().any(|o| who.starts_with(o)),
            "unexpected miss: {who}: {:#?}",
            t.misses
        );
    }
    let served: usize = t
        .by_target
        .iter()
        .filter(|(k, _)| !OUT_OF_SCOPE.contains(&k.as_str()))
        .map(|(_, (n, _))| n)
        .sum();
    assert_eq!(served, 1821);
    assert_eq!(t.by_target["flatcar"], (73, 73));
    assert_eq!(
        t.matched, served,
        "entries with a header artefact: 100% expected"
    );
    // 1821 of 1823 = 99.89% of all entries; the 2 others are Minikube (a kernel config only).
    assert!(t.matched * 100 >= t.total * 99);
}

#[test]
fn photon_kernel_list_matches_by_exact_file_name() {
    let t = tally(&fixture_list("photon-kernels.json"));
    report("photon-kernels.json", &t);
    assert!(t.total > 3000, "{}", t.total);
    assert_eq!(t.matched, t.total, "{:#?}", t.misses);
}

#[test]
fn suse_kernel_list_matches_through_the_rebuild_counter_rule() {
    let t = tally(&fixture_list("suse-kernels.json"));
    report("suse-kernels.json", &t);
    assert_eq!(t.total, 89);
    assert_eq!(t.matched, t.total, "{:#?}", t.misses);
}

#[test]
fn suse_rule_rejects_a_file_of_another_update() {
    let id = KernelIdentity::build(
        "5.14.21-150500.55.80-default",
        Some("x86_64"),
        "sles",
        "15.5",
        None,
    )
    .unwrap();
    let w = id.header_packages();
    assert!(w[0].accepts_vr("5.14.21-150500.55.80.2", None));
    assert!(!w[0].accepts_vr("5.14.21-150500.55.8.2", None));
    assert!(!w[0].accepts_vr("5.14.21-150500.55.80", None));
    assert!(w[1].accepts_vr("5.14.21-150500.55.80.2", Some("5.14.21-150500.55.80.2")));
    assert!(!w[1].accepts_vr("5.14.21-150500.55.80.1", Some("5.14.21-150500.55.80.2")));
}

#[test]
#[ignore = "reads the lists named by KHEADERS_CORPUS"]
fn corpus_files_from_env() {
    let Ok(paths) = std::env::var("KHEADERS_CORPUS") else {
        eprintln!("KHEADERS_CORPUS is not set");
        return;
    };
    for p in paths.split(':').filter(|p| !p.is_empty()) {
        let t = tally(&load(std::path::Path::new(p)));
        report(p, &t);
    }
}

#[test]
fn flatcar_entry_of_another_release_or_host_is_a_miss() {
    let ok = "https://alpha.release.flatcar-linux.net/arm64-usr/2513.1.0/flatcar_developer_container.bin.bz2";
    assert_eq!(flatcar("2513.1.0", ok), Ok(()));
    let other_release = ok.replace("/2513.1.0/", "/2513.0.0/");
    assert!(flatcar("2513.1.0", &other_release).is_err());
    let other_host = ok.replace("alpha.release", "mirror.example");
    assert!(flatcar("2513.1.0", &other_host)
        .unwrap_err()
        .contains("below no root"));
    let other_file = ok.replace("developer_container", "production_image");
    assert!(flatcar("2513.1.0", &other_file).is_err());
}
