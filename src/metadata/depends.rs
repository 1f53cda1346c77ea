//! `Depends`-style relation fields, as in `Packages` and `.deb` control files.
//!
//! ```text
//! Depends: linux-headers-6.1.0-47-common (= 6.1.170-3), linux-kbuild-6.1 (>= 6.1.170-3), linux-compiler-gcc-12-x86
//! Depends: libc6 (>= 2.34), gcc-12 | gcc-12-x86-64-linux-gnu, libelf1 (>= 0.142)
//! ```
//!
//! A field is a comma-separated list of groups; a group is `|`-separated alternatives; an
//! alternative is `name[:archqual] [(op version)] [[arch list]] [<profiles>]`, with `op` one
//! of `<<`, `<=`, `=`, `>=`, `>>` (Policy §7.1).

use debversion::Version;
use std::fmt;

/// A version relation operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<<`
    Lt,
    /// `<=` (and the obsolete `<`)
    Le,
    /// `=`
    Eq,
    /// `>=` (and the obsolete `>`)
    Ge,
    /// `>>`
    Gt,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "<<" => Op::Lt,
            "<=" | "<" => Op::Le,
            "=" => Op::Eq,
            ">=" | ">" => Op::Ge,
            ">>" => Op::Gt,
            _ => return None,
        })
    }
    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">>",
        }
    }
}

/// One alternative: a package name with an optional version constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub name: String,
    /// `(op, version)` when constrained.
    pub constraint: Option<(Op, String)>,
}

impl Relation {
    /// Whether `version` satisfies the constraint (always, when there is none). A version
    /// that does not parse satisfies nothing constrained.
    pub fn satisfied_by(&self, version: &str) -> bool {
        let Some((op, want)) = &self.constraint else {
            return true;
        };
        let (Ok(have), Ok(want)) = (version.parse::<Version>(), want.parse::<Version>()) else {
            return false;
        };
        let o = have.cmp(&want);
        match op {
            Op::Lt => o.is_lt(),
            Op::Le => o.is_le(),
            Op::Eq => o.is_eq(),
            Op::Ge => o.is_ge(),
            Op::Gt => o.is_gt(),
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.constraint {
            Some((op, v)) => write!(f, "{} ({} {v})", self.name, op.as_str()),
            None => f.write_str(&self.name),
        }
    }
}

/// A `|` group: any one alternative satisfies it.
pub type Group = Vec<Relation>;

/// Parses a relation field. Errors name the offending text.
pub fn parse_depends(field: &str) -> Result<Vec<Group>, String> {
    let mut out = Vec::new();
    for group in field.split(',') {
        let group = group.trim();
        if group.is_empty() {
            continue;
        }
        let mut alts = Vec::new();
        for alt in group.split('|') {
            alts.push(parse_relation(alt.trim())?);
        }
        out.push(alts);
    }
    Ok(out)
}

fn parse_relation(s: &str) -> Result<Relation, String> {
    // Drop build profiles `<...>` and arch restrictions `[...]` (not used in binary Depends).
    let cut = s.find(['[', '<']).filter(|&i| {
        // `<` inside `(<< v)` is an operator, not a profile.
        s[..i].matches('(').count() == s[..i].matches(')').count()
    });
    let s = cut.map_or(s, |i| s[..i].trim());
    let (name_part, rest) = match s.find('(') {
        Some(i) => (s[..i].trim(), Some(&s[i..])),
        None => (s.trim(), None),
    };
    let name = name_part.split(':').next().unwrap_or("").trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return Err(format!(
            "`{s}` is not a relation (expected e.g. `linux-kbuild-6.1 (>= 6.1.170-3)`)"
        ));
    }
    let constraint = match rest {
        None => None,
        Some(r) => {
            let inner = r
                .strip_prefix('(')
                .and_then(|r| r.trim_end().strip_suffix(')'))
                .ok_or_else(|| format!("`{s}`: unbalanced parentheses"))?
                .trim();
            let op_len = inner.bytes().take_while(|b| b"<>=".contains(b)).count();
            let op = Op::parse(&inner[..op_len])
                .ok_or_else(|| format!("`{s}`: unknown operator `{}`", &inner[..op_len]))?;
            let v = inner[op_len..].trim();
            if v.is_empty() {
                return Err(format!("`{s}`: constraint without a version"));
            }
            Some((op, v.to_string()))
        }
    };
    Ok(Relation {
        name: name.to_string(),
        constraint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_debian_headers_depends() {
        let g = parse_depends("linux-headers-6.1.0-47-common (= 6.1.170-3), linux-kbuild-6.1 (>= 6.1.170-3), linux-compiler-gcc-12-x86").unwrap();
        assert_eq!(g.len(), 3);
        assert_eq!(g[0][0].name, "linux-headers-6.1.0-47-common");
        assert_eq!(g[0][0].constraint, Some((Op::Eq, "6.1.170-3".into())));
        assert!(g[1][0].satisfied_by("6.1.170-3"));
        assert!(g[1][0].satisfied_by("6.1.176-1"));
        assert!(!g[1][0].satisfied_by("6.1.170-2"));
        assert!(!g[0][0].satisfied_by("6.1.170-3+b1"));
        assert_eq!(g[2][0].constraint, None);
    }

    #[test]
    fn parses_alternatives_archquals_and_profiles() {
        let g = parse_depends(
            "gcc-12 | gcc-12-x86-64-linux-gnu:amd64 (<< 13~), libc6 (>= 2.34) [amd64] <!nocheck>",
        )
        .unwrap();
        assert_eq!(g[0].len(), 2);
        assert_eq!(g[0][1].name, "gcc-12-x86-64-linux-gnu");
        assert!(g[0][1].satisfied_by("12.2.0-14"));
        assert!(!g[0][1].satisfied_by("13.1"));
        assert_eq!(g[1][0].to_string(), "libc6 (>= 2.34)");
    }

    #[test]
    fn tilde_orders_before_release() {
        let r = &parse_depends("libssl3 (>= 3.0.0~~alpha1)").unwrap()[0][0];
        assert!(r.satisfied_by("3.0.0"));
        assert!(r.satisfied_by("3.0.0~alpha1"));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_depends("foo (>= )").is_err());
        assert!(parse_depends("foo (~ 1)").is_err());
        assert!(parse_depends("f$o").is_err());
    }
}
