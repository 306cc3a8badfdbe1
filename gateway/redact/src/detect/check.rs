//! Structural validators that turn a format match into a confirmed secret: GitHub/npm CRC32
//! tails, JWT header decoding, documented example keys.

/// Decodes base64 in either the standard or the URL-safe alphabet, padding optional.
/// Returns `None` on any other byte or an impossible length.
pub(crate) fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        }))
    }
    let trimmed = match input.iter().position(|&c| c == b'=') {
        Some(i) if input[i..].iter().all(|&c| c == b'=') && input.len() - i <= 2 => &input[..i],
        Some(_) => return None,
        None => input,
    };
    if trimmed.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    for chunk in trimmed.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

const BASE62_DIGITS_FIRST: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE62_LOWER_FIRST: &[u8; 62] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn base62_6(mut v: u32, alphabet: &[u8; 62]) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = alphabet[(v % 62) as usize];
        v /= 62;
    }
    out
}

/// The 6-char checksum tail GitHub and npm put on their tokens: base62(CRC32(random)),
/// zero-padded.
#[cfg(test)]
pub(crate) fn crc_tail(random: &[u8]) -> [u8; 6] {
    base62_6(crc32fast::hash(random), BASE62_DIGITS_FIRST)
}

/// `token` ends with 30 random chars + their CRC32 tail (either common base62 ordering).
pub(crate) fn crc_tail_ok(token: &[u8]) -> bool {
    let Some(body) = token.len().checked_sub(36).map(|s| &token[s..]) else {
        return false;
    };
    let (random, tail) = body.split_at(30);
    let crc = crc32fast::hash(random);
    tail == base62_6(crc, BASE62_DIGITS_FIRST) || tail == base62_6(crc, BASE62_LOWER_FIRST)
}

fn compact_contains(json: &[u8], needle: &[u8]) -> bool {
    let compact: Vec<u8> = json
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    memchr::memmem::find(&compact, needle).is_some()
}

/// The signature of the jwt.io sample token, which appears in countless docs and tests.
const JWT_IO_SAMPLE_SIG: &[u8] = b"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

/// A three-part JWT whose header decodes to a JSON object naming an `alg`, excluding the
/// jwt.io sample and public-by-design Supabase anon keys.
pub(crate) fn jwt_ok(token: &[u8]) -> bool {
    let mut parts = token.split(|&c| c == b'.');
    let (Some(header), Some(payload), Some(sig)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if sig == JWT_IO_SAMPLE_SIG {
        return false;
    }
    let Some(h) = base64_decode(header) else {
        return false;
    };
    if h.first() != Some(&b'{') || !compact_contains(&h, b"\"alg\"") {
        return false;
    }
    match base64_decode(payload) {
        Some(p) => !compact_contains(&p, b"\"role\":\"anon\""),
        None => true,
    }
}

/// AWS documentation keys end in `EXAMPLE` (`AKIAIOSFODNN7EXAMPLE`).
pub(crate) fn not_doc_example(token: &[u8]) -> bool {
    !token.ends_with(b"EXAMPLE")
}

/// OpenAI keys carry base64("OpenAI") in the middle.
pub(crate) fn openai_ok(token: &[u8]) -> bool {
    memchr::memmem::find(token, b"T3BlbkFJ").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_both_alphabets() {
        assert_eq!(base64_decode(b"aGk/").as_deref(), Some(&b"hi?"[..]));
        assert_eq!(base64_decode(b"aGk_").as_deref(), Some(&b"hi?"[..]));
        assert_eq!(base64_decode(b"aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64_decode(b"aGk").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64_decode(b"a"), None);
        assert_eq!(base64_decode(b"a=b="), None);
    }

    #[test]
    fn crc_tail_round_trips() {
        let random = b"abcdefghijklmnopqrstuvwxyz0123";
        let mut token = b"ghp_".to_vec();
        token.extend_from_slice(random);
        token.extend_from_slice(&crc_tail(random));
        assert!(crc_tail_ok(&token));
        *token.last_mut().unwrap() ^= 1;
        assert!(!crc_tail_ok(&token));
    }

    #[test]
    fn jwt_io_sample_and_anon_keys_are_not_secrets() {
        let sample = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        assert!(!jwt_ok(sample));
        // {"alg":"HS256"} . {"role":"anon"} . sig
        let anon = b"eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJlc2lnbmF0dXJl";
        assert!(!jwt_ok(anon));
        // {"alg":"HS256"} . {"role":"service_role"} . sig
        let service =
            b"eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
        assert!(jwt_ok(service));
        // Mapbox-style: first part decodes to JSON without alg.
        assert!(!jwt_ok(
            b"eyJ1IjoibWFwYm94In0.eyJhIjoiYiJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
        ));
    }
}
