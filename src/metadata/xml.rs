//! Small quick-xml helpers shared by the RPM metadata parsers (repomd, primary, metalink).
//!
//! quick-xml 0.42 hands entity references in text (`&amp;`, `&#38;`) over as separate
//! `GeneralRef` events and leaves attribute values to be normalized by the caller.

use quick_xml::events::{BytesRef, BytesStart};

/// The normalized value of attribute `name` (`<location href="Packages/k/...rpm"/>`).
pub(crate) fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok())
        .map(|v| v.into_owned())
}

/// Appends the text an entity reference stands for: a character reference (`&#38;`) or one
/// of XML's predefined entities (`&amp;`); anything else is dropped.
pub(crate) fn push_entity(text: &mut String, r: &BytesRef<'_>) {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        text.push(c);
    } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r.xml10_content()) {
        text.push_str(s);
    }
}
