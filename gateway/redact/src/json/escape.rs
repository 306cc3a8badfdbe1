//! JSON string escaping, byte-compatible with `serde_json`'s compact output, so a restored
//! value lands inside tool-call argument JSON exactly as the client first sent it.

/// Appends `value` escaped for use inside a JSON string literal.
pub(crate) fn escape_into(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, b) in value.bytes().enumerate() {
        let esc: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0..0x20 => None,
            _ => continue,
        };
        out.push_str(&value[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        start = i + 1;
    }
    out.push_str(&value[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_serde_json() {
        let s = "a\"b\\c\nd\re\tf\u{8}\u{c}\u{1}\u{1f}é/\u{7f}";
        let mut out = String::from("\"");
        escape_into(&mut out, s);
        out.push('"');
        assert_eq!(out, serde_json::to_string(s).unwrap());
    }
}
