//! Finding the file system inside a raw disk image: a GUID partition table, or a bare file
//! system.
//!
//! Flatcar's developer container uses the `container` layout of its `disk_layout.json`:
//! partitions 1–8 blank, partition 9 `ROOT` (type `0FC63DAF-8483-4772-8E79-3D69D8477DE4`,
//! "Linux filesystem"), ext4, 6 GiB:
//!
//! ```text
//! LBA 0      protective MBR
//! LBA 1      GPT header: "EFI PART", revision, header size, CRC32, ..., entries LBA, count, size, CRC32
//! LBA 2..    partition entries (128 bytes each: type GUID, GUID, first/last LBA, flags, UTF-16 name)
//! ...        partition 9: ext4 superblock at +1024 (magic 0xEF53 at +1080)
//! ```
//!
//! Written here rather than taken from the `gpt` crate (4.1): that crate `assert!`s that the
//! header's entry size is 128, so a hostile image panics it, and it trusts the header's
//! entry count. This reader bounds both, checks the header and entry CRCs, and keeps every
//! partition inside the image.

/// Sector size of Flatcar's images (`disk_layout.json`: `"block_size": 512`).
pub const SECTOR: u64 = 512;
/// Most partition entries read (the UEFI minimum table is 128 entries; Flatcar uses 128).
pub const MAX_ENTRIES: u32 = 256;
/// The "Linux filesystem data" partition type of Flatcar's container layout.
pub const LINUX_FS: [u8; 16] = guid_bytes("0FC63DAF-8483-4772-8E79-3D69D8477DE4");
/// ext2/3/4 superblock magic, at byte 1080 of the file system.
pub const EXT_MAGIC: u16 = 0xEF53;

/// A GUID as stored on disk (first three fields little-endian).
const fn guid_bytes(s: &str) -> [u8; 16] {
    let b = s.as_bytes();
    let mut hex = [0u8; 16];
    let mut i = 0;
    let mut j = 0;
    while i < b.len() {
        if b[i] != b'-' {
            let v = match b[i] {
                b'0'..=b'9' => b[i] - b'0',
                b'a'..=b'f' => b[i] - b'a' + 10,
                _ => b[i] - b'A' + 10,
            };
            hex[j / 2] = (hex[j / 2] << 4) | v;
            j += 1;
        }
        i += 1;
    }
    [
        hex[3], hex[2], hex[1], hex[0], hex[5], hex[4], hex[7], hex[6], hex[8], hex[9], hex[10],
        hex[11], hex[12], hex[13], hex[14], hex[15],
    ]
}

/// One partition table entry in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// 1-based entry number (`9` for Flatcar's `ROOT`).
    pub number: u32,
    pub type_guid: [u8; 16],
    /// The entry's name (`ROOT`).
    pub name: String,
    /// Byte offset and length within the image.
    pub offset: u64,
    pub len: u64,
}

/// Why an image's partition table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("partition table: {0}")]
pub struct GptError(pub String);

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Whether `header` (LBA 1, one sector) starts a GPT header.
pub fn is_gpt(header: &[u8]) -> bool {
    header.len() >= 92 && &header[..8] == b"EFI PART"
}

/// The entry table's location from a GPT header: (byte offset, entry count, entry size,
/// table CRC32).
pub fn parse_header(header: &[u8], image_len: u64) -> Result<(u64, u32, u32, u32), GptError> {
    let bad = |d: String| Err(GptError(d));
    if !is_gpt(header) {
        return bad("no `EFI PART` signature at LBA 1".into());
    }
    let size = u32_at(header, 12) as usize;
    if !(92..=header.len()).contains(&size) {
        return bad(format!(
            "header size {size}, expected 92 to {}",
            header.len()
        ));
    }
    let mut h = header[..size].to_vec();
    let crc = u32_at(&h, 16);
    h[16..20].fill(0);
    if crc32fast_hash(&h) != crc {
        return bad("header CRC32 does not match".into());
    }
    let entries_lba = u64_at(header, 72);
    let count = u32_at(header, 80);
    let entry_size = u32_at(header, 84);
    let table_crc = u32_at(header, 88);
    if count == 0 || count > MAX_ENTRIES {
        return bad(format!(
            "{count} partition entries, expected 1 to {MAX_ENTRIES}"
        ));
    }
    if !(128..=4096).contains(&entry_size) || entry_size % 8 != 0 {
        return bad(format!(
            "entry size {entry_size}, expected a multiple of 8 from 128 to 4096"
        ));
    }
    let offset = entries_lba
        .checked_mul(SECTOR)
        .filter(|o| o.saturating_add(u64::from(count) * u64::from(entry_size)) <= image_len)
        .ok_or_else(|| {
            GptError(format!(
                "entry table at LBA {entries_lba} is outside the image"
            ))
        })?;
    Ok((offset, count, entry_size, table_crc))
}

/// The partitions in use from the entry table bytes.
pub fn parse_entries(
    table: &[u8],
    count: u32,
    entry_size: u32,
    table_crc: u32,
    image_len: u64,
) -> Result<Vec<Partition>, GptError> {
    let es = entry_size as usize;
    if table.len() != count as usize * es {
        return Err(GptError(format!(
            "entry table of {} bytes, expected {}",
            table.len(),
            count as usize * es
        )));
    }
    if crc32fast_hash(table) != table_crc {
        return Err(GptError("entry table CRC32 does not match".into()));
    }
    let mut out = Vec::new();
    for (i, e) in table.chunks_exact(es).enumerate() {
        let type_guid: [u8; 16] = e[..16].try_into().expect("16 bytes");
        if type_guid == [0; 16] {
            continue;
        }
        let (first, last) = (u64_at(e, 32), u64_at(e, 40));
        let offset = first.checked_mul(SECTOR);
        let end = last.checked_add(1).and_then(|l| l.checked_mul(SECTOR));
        let (Some(offset), Some(end)) = (offset, end) else {
            return Err(GptError(format!("entry {} overflows", i + 1)));
        };
        if last < first || end > image_len {
            return Err(GptError(format!(
                "partition {} (LBA {first}..={last}) is outside the {image_len}-byte image",
                i + 1
            )));
        }
        let units: Vec<u16> = e[56..128]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|u| *u != 0)
            .collect();
        out.push(Partition {
            number: i as u32 + 1,
            type_guid,
            name: String::from_utf16_lossy(&units),
            offset,
            len: end - offset,
        });
    }
    Ok(out)
}

/// CRC-32 (IEEE, as GPT uses), through the `crc` crate ext4-view already brings.
fn crc32fast_hash(data: &[u8]) -> u32 {
    const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    CRC.checksum(data)
}

/// The partition Flatcar's root lives on: the Linux-filesystem entry named `ROOT`, else the
/// only Linux-filesystem entry.
pub fn root_partition(parts: &[Partition]) -> Option<&Partition> {
    let linux: Vec<&Partition> = parts.iter().filter(|p| p.type_guid == LINUX_FS).collect();
    linux
        .iter()
        .find(|p| p.name == "ROOT")
        .or_else(|| (linux.len() == 1).then(|| &linux[0]))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GPT as `sgdisk` writes it: 128 entries of 128 bytes, entry 9 ROOT.
    fn image(entry_size: u32, tamper: bool) -> Vec<u8> {
        let len = 64 * 1024u64;
        let mut img = vec![0u8; len as usize];
        let count = 128u32;
        let mut table = vec![0u8; (count * entry_size) as usize];
        let e = 8 * entry_size as usize;
        table[e..e + 16].copy_from_slice(&LINUX_FS);
        table[e + 32..e + 40].copy_from_slice(&40u64.to_le_bytes());
        table[e + 40..e + 48].copy_from_slice(&99u64.to_le_bytes());
        for (i, u) in "ROOT".encode_utf16().enumerate() {
            table[e + 56 + 2 * i..e + 58 + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
        let mut h = vec![0u8; 92];
        h[..8].copy_from_slice(b"EFI PART");
        h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        h[12..16].copy_from_slice(&92u32.to_le_bytes());
        h[72..80].copy_from_slice(&2u64.to_le_bytes());
        h[80..84].copy_from_slice(&count.to_le_bytes());
        h[84..88].copy_from_slice(&entry_size.to_le_bytes());
        h[88..92].copy_from_slice(&crc32fast_hash(&table).to_le_bytes());
        let c = crc32fast_hash(&h);
        h[16..20].copy_from_slice(&c.to_le_bytes());
        if tamper {
            table[e + 40] = 0xff;
        }
        img[512..604].copy_from_slice(&h);
        img[1024..1024 + table.len()].copy_from_slice(&table);
        img
    }

    fn parts(img: &[u8]) -> Result<Vec<Partition>, GptError> {
        let (off, count, size, crc) = parse_header(&img[512..1024], img.len() as u64)?;
        let t = &img[off as usize..off as usize + (count * size) as usize];
        parse_entries(t, count, size, crc, img.len() as u64)
    }

    #[test]
    fn flatcar_root_partition_is_found_by_type_and_name() {
        let p = parts(&image(128, false)).unwrap();
        assert_eq!(p.len(), 1);
        let root = root_partition(&p).unwrap();
        assert_eq!((root.number, root.name.as_str()), (9, "ROOT"));
        assert_eq!((root.offset, root.len), (40 * 512, 60 * 512));
    }

    #[test]
    fn unusual_entry_sizes_are_read_not_panicked_on() {
        let p = parts(&image(256, false)).unwrap();
        assert_eq!(root_partition(&p).unwrap().number, 9);
    }

    #[test]
    fn tampered_tables_and_hostile_headers_are_refused() {
        let e = parts(&image(128, true)).unwrap_err();
        assert!(e.0.contains("CRC32"), "{e}");
        let mut img = image(128, false);
        img[512 + 80..512 + 84].copy_from_slice(&100_000u32.to_le_bytes());
        let e = parse_header(&img[512..1024], img.len() as u64).unwrap_err();
        assert!(e.0.contains("CRC32") || e.0.contains("entries"), "{e}");
        assert!(!is_gpt(&[0u8; 512]));
    }

    #[test]
    fn linux_fs_guid_has_the_on_disk_byte_order() {
        assert_eq!(
            LINUX_FS[..4],
            [0xAF, 0x3D, 0xC6, 0x0F],
            "first field little-endian"
        );
        assert_eq!(LINUX_FS[8..10], [0x8E, 0x79]);
    }
}
