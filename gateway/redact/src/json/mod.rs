//! JSON plumbing: a validating, zero-copy walker that reports the string values a surface
//! wants scanned, an unescaper that keeps an offset map back to the raw bytes, and the
//! JSON string escaper used by restore.

mod escape;
mod unescape;
mod walk;

pub(crate) use escape::escape_into;
pub(crate) use unescape::{Decoded, Mode, has_nested_escapes};
pub(crate) use walk::{StrSpan, walk};
