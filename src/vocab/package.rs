//! What a source locates and the fetcher downloads: packages, their expected digests, the
//! toolchain requirements a closure names, and a package once it is verified on disk.

use serde::Serialize;
use std::path::PathBuf;

/// Package file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageFormat {
    Rpm,
    Deb,
    /// Flatcar's developer container: a bzip2-compressed GPT disk image whose ext4 root
    /// carries the kernel build tree (`flatcar_developer_container.bin.bz2`).
    #[serde(rename = "flatcar-image")]
    FlatcarImage,
}

/// Largest Flatcar developer container download. Real ones are bzip2 images of a 6 GiB
/// disk, about 0.5–1 GB compressed (Flatcar's docs: "~480MB" compressed, ~6 GB unpacked);
/// their signed DIGESTS give no size, so the format bounds the download: 4 GiB is several
/// times the largest real one and still stops a mirror streaming without end.
pub const FLATCAR_IMAGE_MAX_DOWNLOAD: u64 = 4 << 30;

impl PackageFormat {
    /// The download cap of a package of this format whose metadata promises no size, when
    /// the format has its own (`None`: the fetcher's default for packages applies). A
    /// developer container is far larger than any header package.
    pub fn max_download_size(self) -> Option<u64> {
        match self {
            PackageFormat::Rpm | PackageFormat::Deb => None,
            PackageFormat::FlatcarImage => Some(FLATCAR_IMAGE_MAX_DOWNLOAD),
        }
    }

    /// The file extension the cache stores the format under.
    pub fn extension(self) -> &'static str {
        match self {
            PackageFormat::Rpm => "rpm",
            PackageFormat::Deb => "deb",
            PackageFormat::FlatcarImage => "bin.bz2",
        }
    }
}

/// A digest algorithm used by some metadata format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestAlgo {
    Sha1,
    Sha256,
    Sha512,
}

impl DigestAlgo {
    /// Parses the names used by repomd (`sha256`, `sha`, `sha1`, `sha512`).
    pub fn parse(s: &str) -> Option<DigestAlgo> {
        match s.to_ascii_lowercase().as_str() {
            "sha" | "sha1" => Some(DigestAlgo::Sha1),
            "sha256" => Some(DigestAlgo::Sha256),
            "sha512" => Some(DigestAlgo::Sha512),
            _ => None,
        }
    }
}

/// An expected digest, as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct Checksum {
    pub algo: DigestAlgo,
    pub hex: String,
}

impl Checksum {
    pub fn sha256(hex: impl Into<String>) -> Self {
        Checksum {
            algo: DigestAlgo::Sha256,
            hex: hex.into().to_ascii_lowercase(),
        }
    }
    pub fn sha1(hex: impl Into<String>) -> Self {
        Checksum {
            algo: DigestAlgo::Sha1,
            hex: hex.into().to_ascii_lowercase(),
        }
    }
}

/// How a package's bytes are proven right once downloaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Expected {
    /// Exact size in bytes, when the metadata says.
    pub size: Option<u64>,
    /// Digests from signed or checksummed metadata; all must match.
    pub checksums: Vec<Checksum>,
    /// Also open the downloaded package and require its own header (RPM: name/EVR/arch and
    /// header digests; deb: Package/Version/Architecture) to equal the package's. Used by
    /// sources whose metadata carries no digest (Koji, URL templates).
    pub check_package_header: bool,
}

/// One package to fetch: what it is and where its bytes are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PackageRef {
    /// `kernel-devel`, `linux-headers-6.1.0-18-common`.
    pub name: String,
    /// Full version: RPM `[E:]V-R`, deb version.
    pub version: String,
    /// Package arch (`x86_64`, `noarch`, `amd64`, `all`).
    pub arch: String,
    pub format: PackageFormat,
    /// Upstream URLs, best first. The fetcher applies mirror rewrites to them.
    pub urls: Vec<String>,
    pub expected: Expected,
}

impl PackageRef {
    /// The file name of the package (last path segment of its first URL).
    pub fn filename(&self) -> String {
        self.urls
            .first()
            .and_then(|u| u.rsplit('/').next())
            .map(str::to_string)
            .unwrap_or_else(|| match self.format {
                PackageFormat::Rpm => format!("{}-{}.{}.rpm", self.name, self.version, self.arch),
                PackageFormat::Deb => format!("{}_{}_{}.deb", self.name, self.version, self.arch),
                PackageFormat::FlatcarImage => format!("{}.bin.bz2", self.name),
            })
    }
    /// The expected sha256, when known.
    pub fn sha256(&self) -> Option<&str> {
        self.expected
            .checksums
            .iter()
            .find(|c| c.algo == DigestAlgo::Sha256)
            .map(|c| c.hex.as_str())
    }
}

/// A toolchain requirement the packages name but that is not fetched (`gcc-12`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Requirement {
    /// `gcc-12`
    pub name: String,
    /// Which package asked for it, and how: `linux-compiler-gcc-12-x86 (via linux-headers-...)`.
    pub via: String,
}

/// What a source found: the root header package plus the rest of its closure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PackageSet {
    pub packages: Vec<PackageRef>,
    /// Toolchain packages the closure needs but that are not kernel headers.
    pub requirements: Vec<Requirement>,
    /// Choices the source made that a caller should see (e.g. "no uname -v: chose the highest
    /// published version 6.1.76-1 of 3").
    pub notes: Vec<String>,
}

/// A package downloaded and verified into the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LocalPackage {
    pub package: PackageRef,
    /// The verified file in the cache.
    pub path: PathBuf,
    /// Its sha256 (computed while streaming).
    pub sha256: String,
    pub size: u64,
    /// The URL the bytes came from, after rewriting.
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_flatcar_image_has_its_own_download_cap() {
        assert_eq!(PackageFormat::Rpm.max_download_size(), None);
        assert_eq!(PackageFormat::Deb.max_download_size(), None);
        assert_eq!(
            PackageFormat::FlatcarImage.max_download_size(),
            Some(FLATCAR_IMAGE_MAX_DOWNLOAD)
        );
        assert_eq!(PackageFormat::FlatcarImage.extension(), "bin.bz2");
    }
}
