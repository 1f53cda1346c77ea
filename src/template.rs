//! URL templates: a URL with `{placeholder}`s that the `url-template` source expands per
//! root header package, e.g.
//! `https://kojipkgs.fedoraproject.org/packages/kernel/{version}/{rel}/{arch}/{filename}`.
//!
//! | placeholder | example |
//! |---|---|
//! | `{release}` | `6.8.9-300.fc40.x86_64` (`uname -r`) |
//! | `{name}` | `kernel-devel`, `linux-headers-6.1.0-18-amd64` |
//! | `{version}` | `6.8.9` (RPM V; deb: the full package version when pinned) |
//! | `{rel}` | `300.fc40` (RPM R) |
//! | `{arch}` | `x86_64` |
//! | `{debarch}` | `amd64` |
//! | `{distro}` | `fedora` |
//! | `{distro_version}` | `40` |
//! | `{distro_major}` | `8` (of `8.9`) |
//! | `{elver}` | `9.3` from `el9_3`; the vault directory for CentOS (`8.5.2111`, `7.9.2009`) |
//! | `{filename}` | `kernel-devel-6.8.9-300.fc40.x86_64.rpm` |
//!
//! Parsing lives here, below config, so that a configuration is validated where it is
//! loaded (an unknown placeholder is a config error naming it) without reaching into a source.

/// Every placeholder a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "release",
    "name",
    "version",
    "rel",
    "arch",
    "debarch",
    "distro",
    "distro_version",
    "distro_major",
    "elver",
    "filename",
];

/// What is wrong with a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    #[error("template `{template}`: unclosed `{{`")]
    Unclosed { template: String },
    #[error(
        "template `{template}`: unknown placeholder `{{{name}}}` (known: {})",
        known()
    )]
    UnknownPlaceholder { template: String, name: String },
    #[error("template `{template}` is not an absolute URL")]
    NotAbsolute { template: String },
}

fn known() -> String {
    PLACEHOLDERS
        .iter()
        .map(|p| format!("{{{p}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks a template's placeholders; the error names the first unknown one.
pub fn check(t: &str) -> Result<(), TemplateError> {
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| TemplateError::Unclosed {
            template: t.to_string(),
        })?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(TemplateError::UnknownPlaceholder {
                template: t.to_string(),
                name: name.to_string(),
            });
        }
        rest = &after[close + 1..];
    }
    if url::Url::parse(&t.replace(['{', '}'], "")).is_err() {
        return Err(TemplateError::NotAbsolute {
            template: t.to_string(),
        });
    }
    Ok(())
}

/// Expands a template; `None` when a placeholder it uses has no value (a `{rel}` for a
/// Debian kernel, an `{elver}` for an `el7` kernel outside CentOS).
pub fn expand(t: &str, vars: &[(&str, Option<String>)]) -> Option<String> {
    let mut out = t.to_string();
    for (k, v) in vars {
        let key = format!("{{{k}}}");
        if out.contains(&key) {
            out = out.replace(&key, v.as_deref()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_placeholder_is_named() {
        let e = check("https://x/{relase}/{filename}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("{relase}"), "{e}");
        assert!(check("https://x/{release}/{filename}").is_ok());
        assert!(check("https://x/{release").is_err());
    }

    #[test]
    fn a_missing_value_leaves_the_template_unexpanded() {
        let vars = [
            ("rel", None),
            ("release", Some("6.1.0-18-amd64".to_string())),
        ];
        assert_eq!(
            expand("https://x/{release}", &vars).as_deref(),
            Some("https://x/6.1.0-18-amd64")
        );
        assert_eq!(expand("https://x/{rel}", &vars), None);
    }
}
