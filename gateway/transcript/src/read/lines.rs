//! Reading lines with a length bound, so a corrupt file without newlines cannot make the
//! reader buffer all of it.

use std::io::{self, BufRead};

/// What [`read_bounded`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Read {
    /// A line (without its `\n`) is in the buffer.
    Line,
    /// A line longer than the bound was consumed and dropped.
    TooLong,
    /// The reader is exhausted.
    End,
}

/// Reads the next line into `buf` (cleared first), up to `max` bytes.
pub(super) fn read_bounded(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Read> {
    buf.clear();
    let mut read_any = false;
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(match (read_any, too_long) {
                (false, _) => Read::End,
                (true, true) => Read::TooLong,
                (true, false) => Read::Line,
            });
        }
        read_any = true;
        let newline = available.iter().position(|&b| b == b'\n');
        let piece = newline.map_or(available, |at| available.get(..at).unwrap_or_default());
        if !too_long {
            if buf.len() + piece.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(piece);
            }
        }
        let used = newline.map_or(available.len(), |at| at + 1);
        reader.consume(used);
        if newline.is_some() {
            return Ok(if too_long { Read::TooLong } else { Read::Line });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_dropped_and_reading_goes_on() {
        let mut reader = io::BufReader::with_capacity(4, &b"abc\n0123456789\nxy"[..]);
        let mut buf = Vec::new();
        let mut next = || {
            let read = read_bounded(&mut reader, &mut buf, 5).ok();
            (read, String::from_utf8_lossy(&buf).into_owned())
        };
        assert_eq!(next(), (Some(Read::Line), "abc".to_owned()));
        assert_eq!(next(), (Some(Read::TooLong), String::new()));
        assert_eq!(next(), (Some(Read::Line), "xy".to_owned()));
        assert_eq!(next().0, Some(Read::End));
    }
}
