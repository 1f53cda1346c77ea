//! Koji hub XML-RPC: the calls the `koji` source makes and the shapes it reads back.
//!
//! A call (`POST <hub>/kojihub`, `Content-Type: text/xml`):
//!
//! ```xml
//! <?xml version="1.0"?>
//! <methodCall><methodName>getBuild</methodName>
//!   <params><param><value><string>kernel-6.8.9-300.fc40</string></value></param></params>
//! </methodCall>
//! ```
//!
//! `getBuild` answers a struct (or `<nil/>` when there is no such build):
//! `{build_id: 2453312, id: 2453312, name: "kernel", package_name: "kernel", version: "6.8.9",
//! release: "300.fc40", epoch: <nil/>, nvr: "kernel-6.8.9-300.fc40", state: 1,
//! volume_name: "DEFAULT", task_id: 117530291, owner_name: "jforbes", …}`; `state` is
//! 0 BUILDING, 1 COMPLETE, 2 DELETED, 3 FAILED, 4 CANCELED.
//!
//! `listRPMs(buildID)` answers an array and `getRPM("kernel-devel-6.8.9-300.fc40.x86_64")` one
//! struct (or `<nil/>`) of RPM info:
//! `{id: 38510412, build_id: 2453312, name: "kernel-devel", version: "6.8.9",
//! release: "300.fc40", epoch: <nil/>, arch: "x86_64", nvr: "kernel-devel-6.8.9-300.fc40",
//! payloadhash: "c5bfe5267dc6e0ca127092a82b4f260b", size: 19114552, buildtime: 1714657012,
//! external_repo_id: 0, external_repo_name: "INTERNAL", metadata_only: false, extra: <nil/>}`.
//! `payloadhash` is an MD5 of the header and payload as signed, not a digest of the file, so
//! it is not used as a checksum.
//!
//! Integers larger than 32 bits arrive as `<i8>` and absent values as `<nil/>` (dxr's `i8`
//! and `nil` features). Errors arrive as a `<fault>` with `faultCode` / `faultString`.

use dxr::{FaultResponse, MethodCall, MethodResponse, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Koji build states (`koji.BUILD_STATES`).
pub const BUILD_STATES: &[(i64, &str)] = &[
    (0, "BUILDING"),
    (1, "COMPLETE"),
    (2, "DELETED"),
    (3, "FAILED"),
    (4, "CANCELED"),
];
/// The state of a build whose files are published.
pub const BUILD_COMPLETE: i64 = 1;

/// A Koji response that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KojiError {
    #[error("not an XML-RPC response: {detail}")]
    Malformed { detail: String },
    #[error("XML-RPC fault {code}: {message}")]
    Fault { code: i32, message: String },
    #[error("{what}: field `{field}` {detail}")]
    Shape {
        what: &'static str,
        field: String,
        detail: String,
    },
}

/// Builds the XML body of a call.
pub fn method_call(method: &str, params: Vec<Value>) -> Result<String, KojiError> {
    let call = MethodCall {
        name: Cow::Borrowed(method),
        params,
    };
    let xml = call.to_xml().map_err(|e| KojiError::Malformed {
        detail: e.to_string(),
    })?;
    Ok(format!("<?xml version=\"1.0\"?>\n{xml}"))
}

/// A call with one string argument (`getBuild("kernel-6.8.9-300.fc40")`).
pub fn call_with_string(method: &str, arg: &str) -> Result<String, KojiError> {
    method_call(method, vec![Value::String(arg.to_string())])
}

/// A call with one integer argument (`listRPMs(2453312)`).
pub fn call_with_int(method: &str, arg: i64) -> Result<String, KojiError> {
    let v = match i32::try_from(arg) {
        Ok(i) => Value::Integer(i),
        Err(_) => Value::Long(arg),
    };
    method_call(method, vec![v])
}

/// Parses a response body: the returned value, or the fault.
pub fn parse_response(body: &[u8]) -> Result<Value, KojiError> {
    let text = std::str::from_utf8(body).map_err(|e| KojiError::Malformed {
        detail: format!("body is not UTF-8: {e}"),
    })?;
    // dxr wants the document without the XML declaration.
    let text = strip_decl(text);
    match MethodResponse::from_xml(text) {
        Ok(r) => Ok(r.value),
        Err(e) => match FaultResponse::from_xml(text) {
            Ok(f) => Err(KojiError::Fault {
                code: f.fault.code(),
                message: f.fault.string().to_string(),
            }),
            Err(_) => Err(KojiError::Malformed {
                detail: truncate(&e.to_string(), 200),
            }),
        },
    }
}

fn strip_decl(s: &str) -> &str {
    let t = s.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with("<?xml") {
        if let Some(end) = t.find("?>") {
            return t[end + 2..].trim_start();
        }
    }
    t
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        s.to_string()
    } else {
        let mut end = n;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    }
}

type Struct = BTreeMap<String, Value>;

fn shape(what: &'static str, field: &str, detail: &str) -> KojiError {
    KojiError::Shape {
        what,
        field: field.to_string(),
        detail: detail.to_string(),
    }
}

fn as_struct<'a>(what: &'static str, v: &'a Value) -> Result<&'a Struct, KojiError> {
    match v {
        Value::Struct(s) => Ok(s),
        _ => Err(shape(what, "(value)", "is not a struct")),
    }
}

fn get_str(what: &'static str, s: &Struct, f: &str) -> Result<String, KojiError> {
    match s.get(f) {
        Some(Value::String(v)) => Ok(v.clone()),
        Some(_) => Err(shape(what, f, "is not a string")),
        None => Err(shape(what, f, "is missing")),
    }
}

fn opt_str(s: &Struct, f: &str) -> Option<String> {
    match s.get(f) {
        Some(Value::String(v)) => Some(v.clone()),
        _ => None,
    }
}

fn opt_int(s: &Struct, f: &str) -> Option<i64> {
    match s.get(f) {
        Some(Value::Integer(i)) => Some(i64::from(*i)),
        Some(Value::Long(i)) => Some(*i),
        _ => None,
    }
}

fn get_int(what: &'static str, s: &Struct, f: &str) -> Result<i64, KojiError> {
    opt_int(s, f).ok_or_else(|| match s.get(f) {
        Some(_) => shape(what, f, "is not an integer"),
        None => shape(what, f, "is missing"),
    })
}

/// `getBuild` output, the fields used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KojiBuild {
    pub id: i64,
    /// The source package name (`kernel`), which names the `packages/N/` directory.
    pub package_name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<i64>,
    pub nvr: String,
    pub state: i64,
    /// `DEFAULT`, or an archive volume (`fedora_koji_archive05`) whose files live under
    /// `<top_url>/vol/<volume>/packages/…`.
    pub volume_name: Option<String>,
}

impl KojiBuild {
    /// Reads a `getBuild` answer; `None` for `<nil/>` (no such build).
    pub fn from_value(v: &Value) -> Result<Option<KojiBuild>, KojiError> {
        if matches!(v, Value::Nil) {
            return Ok(None);
        }
        const W: &str = "getBuild";
        let s = as_struct(W, v)?;
        let name = opt_str(s, "package_name")
            .or_else(|| opt_str(s, "name"))
            .ok_or_else(|| shape(W, "package_name", "is missing"))?;
        Ok(Some(KojiBuild {
            id: opt_int(s, "build_id")
                .or_else(|| opt_int(s, "id"))
                .ok_or_else(|| shape(W, "id", "is missing"))?,
            package_name: name,
            version: get_str(W, s, "version")?,
            release: get_str(W, s, "release")?,
            epoch: opt_int(s, "epoch"),
            nvr: get_str(W, s, "nvr")?,
            state: get_int(W, s, "state")?,
            volume_name: opt_str(s, "volume_name"),
        }))
    }

    /// `COMPLETE`, `DELETED`, … (or the number when unknown).
    pub fn state_name(&self) -> String {
        BUILD_STATES
            .iter()
            .find(|(n, _)| *n == self.state)
            .map(|(_, s)| s.to_string())
            .unwrap_or_else(|| format!("state {}", self.state))
    }

    /// The directory of this build's files under the top URL: `packages/kernel/6.8.9/300.fc40/`
    /// or `vol/<volume>/packages/…` for archived builds.
    pub fn relpath(&self) -> String {
        let base = format!(
            "packages/{}/{}/{}/",
            self.package_name, self.version, self.release
        );
        match self.volume_name.as_deref() {
            Some(v) if !v.is_empty() && v != "DEFAULT" => format!("vol/{v}/{base}"),
            _ => base,
        }
    }
}

/// RPM info from `listRPMs` / `getRPM`, the fields used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KojiRpm {
    pub id: i64,
    pub build_id: Option<i64>,
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<i64>,
    pub arch: String,
    pub size: Option<u64>,
    /// MD5 of header+payload (not a file digest).
    pub payloadhash: Option<String>,
    /// Non-zero for RPMs from an external repository (not stored in this Koji).
    pub external_repo_id: i64,
    pub metadata_only: bool,
}

impl KojiRpm {
    fn from_struct(s: &Struct) -> Result<KojiRpm, KojiError> {
        const W: &str = "rpm info";
        Ok(KojiRpm {
            id: get_int(W, s, "id")?,
            build_id: opt_int(s, "build_id"),
            name: get_str(W, s, "name")?,
            version: get_str(W, s, "version")?,
            release: get_str(W, s, "release")?,
            epoch: opt_int(s, "epoch"),
            arch: get_str(W, s, "arch")?,
            size: opt_int(s, "size").and_then(|n| u64::try_from(n).ok()),
            payloadhash: opt_str(s, "payloadhash"),
            external_repo_id: opt_int(s, "external_repo_id").unwrap_or(0),
            metadata_only: matches!(s.get("metadata_only"), Some(Value::Boolean(true))),
        })
    }

    /// Reads a `getRPM` answer; `None` for `<nil/>`.
    pub fn from_value(v: &Value) -> Result<Option<KojiRpm>, KojiError> {
        if matches!(v, Value::Nil) {
            return Ok(None);
        }
        Ok(Some(Self::from_struct(as_struct("getRPM", v)?)?))
    }

    /// Reads a `listRPMs` answer.
    pub fn list_from_value(v: &Value) -> Result<Vec<KojiRpm>, KojiError> {
        match v {
            Value::Array(items) => items
                .iter()
                .map(|i| Self::from_struct(as_struct("listRPMs", i)?))
                .collect(),
            _ => Err(shape("listRPMs", "(value)", "is not an array")),
        }
    }

    /// `kernel-devel-6.8.9-300.fc40.x86_64`
    pub fn nvra(&self) -> String {
        format!(
            "{}-{}-{}.{}",
            self.name, self.version, self.release, self.arch
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shape of a real `getBuild` answer from koji.fedoraproject.org (fields trimmed).
    pub const GET_BUILD: &str = r#"<?xml version='1.0'?>
<methodResponse>
<params>
<param>
<value><struct>
<member><name>build_id</name><value><int>2453312</int></value></member>
<member><name>completion_ts</name><value><double>1714660371.5</double></value></member>
<member><name>epoch</name><value><nil/></value></member>
<member><name>extra</name><value><struct><member><name>source</name><value><struct><member><name>original_url</name><value><string>git+https://src.fedoraproject.org/rpms/kernel.git#abc</string></value></member></struct></value></member></struct></value></member>
<member><name>id</name><value><int>2453312</int></value></member>
<member><name>name</name><value><string>kernel</string></value></member>
<member><name>nvr</name><value><string>kernel-6.8.9-300.fc40</string></value></member>
<member><name>owner_name</name><value><string>jforbes</string></value></member>
<member><name>package_name</name><value><string>kernel</string></value></member>
<member><name>release</name><value><string>300.fc40</string></value></member>
<member><name>state</name><value><int>1</int></value></member>
<member><name>task_id</name><value><int>117530291</int></value></member>
<member><name>version</name><value><string>6.8.9</string></value></member>
<member><name>volume_name</name><value><string>DEFAULT</string></value></member>
</struct></value>
</param>
</params>
</methodResponse>"#;

    #[test]
    fn reads_get_build() {
        let v = parse_response(GET_BUILD.as_bytes()).unwrap();
        let b = KojiBuild::from_value(&v).unwrap().unwrap();
        assert_eq!(b.id, 2453312);
        assert_eq!(b.state, BUILD_COMPLETE);
        assert_eq!(b.epoch, None);
        assert_eq!(b.relpath(), "packages/kernel/6.8.9/300.fc40/");
        let archived = KojiBuild {
            volume_name: Some("fedora_koji_archive05".into()),
            ..b
        };
        assert_eq!(
            archived.relpath(),
            "vol/fedora_koji_archive05/packages/kernel/6.8.9/300.fc40/"
        );
    }

    #[test]
    fn nil_is_none_and_fault_is_an_error() {
        let nil = "<?xml version='1.0'?>\n<methodResponse><params><param><value><nil/></value></param></params></methodResponse>";
        let v = parse_response(nil.as_bytes()).unwrap();
        assert_eq!(KojiBuild::from_value(&v).unwrap(), None);
        let fault = r#"<?xml version='1.0'?>
<methodResponse><fault><value><struct>
<member><name>faultCode</name><value><int>1000</int></value></member>
<member><name>faultString</name><value><string>No such build: 'kernel-0-0'</string></value></member>
</struct></value></fault></methodResponse>"#;
        assert_eq!(
            parse_response(fault.as_bytes()).unwrap_err(),
            KojiError::Fault {
                code: 1000,
                message: "No such build: 'kernel-0-0'".into()
            }
        );
        assert!(matches!(
            parse_response(b"<html>502 Bad Gateway</html>"),
            Err(KojiError::Malformed { .. })
        ));
    }

    #[test]
    fn reads_list_rpms_with_i8_sizes() {
        let body = r#"<?xml version='1.0'?>
<methodResponse><params><param><value><array><data>
<value><struct>
<member><name>arch</name><value><string>x86_64</string></value></member>
<member><name>build_id</name><value><int>2453312</int></value></member>
<member><name>epoch</name><value><nil/></value></member>
<member><name>external_repo_id</name><value><int>0</int></value></member>
<member><name>id</name><value><int>38510412</int></value></member>
<member><name>metadata_only</name><value><boolean>0</boolean></value></member>
<member><name>name</name><value><string>kernel-devel</string></value></member>
<member><name>payloadhash</name><value><string>c5bfe5267dc6e0ca127092a82b4f260b</string></value></member>
<member><name>release</name><value><string>300.fc40</string></value></member>
<member><name>size</name><value><i8>5368709120</i8></value></member>
<member><name>version</name><value><string>6.8.9</string></value></member>
</struct></value>
</data></array></value></param></params></methodResponse>"#;
        let v = parse_response(body.as_bytes()).unwrap();
        let rpms = KojiRpm::list_from_value(&v).unwrap();
        assert_eq!(rpms.len(), 1);
        assert_eq!(rpms[0].size, Some(5368709120));
        assert_eq!(rpms[0].nvra(), "kernel-devel-6.8.9-300.fc40.x86_64");
        assert!(!rpms[0].metadata_only);
    }

    #[test]
    fn call_bodies_are_xml_rpc() {
        let b = call_with_string("getBuild", "kernel-6.8.9-300.fc40").unwrap();
        assert!(b.contains("<methodName>getBuild</methodName>"), "{b}");
        assert!(b.contains("kernel-6.8.9-300.fc40"));
        let c = call_with_int("listRPMs", 7).unwrap();
        assert!(
            c.contains("<i4>7</i4>") || c.contains("<int>7</int>"),
            "{c}"
        );
    }
}
