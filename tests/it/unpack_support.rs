//! Builds `.deb`s in tests from raw tar members (names written byte for byte, so hostile
//! ones survive), with the `tar` and `ar` crates.
#![allow(dead_code)]

/// One tar member, written with raw bytes so nothing sanitizes it on the way in.
pub struct Member {
    pub name: &'static [u8],
    pub kind: tar::EntryType,
    pub data: Vec<u8>,
    pub link: &'static [u8],
}

pub fn file(name: &'static [u8], data: &[u8]) -> Member {
    Member {
        name,
        kind: tar::EntryType::Regular,
        data: data.to_vec(),
        link: b"",
    }
}

pub fn dir(name: &'static [u8]) -> Member {
    Member {
        name,
        kind: tar::EntryType::Directory,
        data: Vec::new(),
        link: b"",
    }
}

pub fn link(name: &'static [u8], kind: tar::EntryType, target: &'static [u8]) -> Member {
    Member {
        name,
        kind,
        data: Vec::new(),
        link: target,
    }
}

pub fn tar_of(members: &[Member]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for m in members {
        let mut h = tar::Header::new_gnu();
        let old = h.as_old_mut();
        old.name[..m.name.len()].copy_from_slice(m.name);
        old.linkname[..m.link.len()].copy_from_slice(m.link);
        h.set_entry_type(m.kind);
        h.set_mode(if m.kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_size(m.data.len() as u64);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append(&h, &m.data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

/// A `.deb` (`debian-binary`, `control.tar.gz`, `data.tar.gz`) holding `members`.
pub fn deb_of(members: &[Member]) -> Vec<u8> {
    let gz = |raw: &[u8]| {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(raw).unwrap();
        e.finish().unwrap()
    };
    let control = gz(&tar_of(&[file(
        b"./control",
        b"Package: hostile\nVersion: 1\nArchitecture: all\n",
    )]));
    let data = gz(&tar_of(members));
    let mut a = ar::Builder::new(Vec::new());
    for (name, body) in [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.gz", control),
        ("data.tar.gz", data),
    ] {
        a.append(
            &ar::Header::new(name.as_bytes().to_vec(), body.len() as u64),
            &body[..],
        )
        .unwrap();
    }
    a.into_inner().unwrap()
}
