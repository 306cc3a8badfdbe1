//! JSON plumbing: a validating, zero-copy walker that reports the string values a surface
//! wants scanned, an unescaper that keeps an offset map back to the raw bytes, and the
//! JSON string escaper used by restore; [`hints`] ties tool results to the files their calls
//! read.

mod escape;
pub(crate) mod hints;
mod unescape;
mod walk;

pub(crate) use escape::escape_into;
pub(crate) use unescape::{Decoded, Mode, has_nested_escapes};
pub(crate) use walk::{StrSpan, walk};
