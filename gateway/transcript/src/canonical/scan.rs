//! Reading the structure of a JSON text without copying it: the members of an object and the
//! elements of an array, as slices of the input. Values are skipped, not checked in depth
//! (strings are skipped with `memchr` to their closing quote); the canonical writer checks
//! whatever it is later asked to write.

use std::borrow::Cow;

use super::{Invalid, MAX_DEPTH, Parser};

/// The members of the object `raw`, in order, each value as its slice of `raw` (duplicates
/// kept: a caller that looks up takes the last, as a `Value` map would). `None` unless `raw`
/// is an object.
pub(crate) fn members(raw: &str) -> Option<Vec<(Cow<'_, str>, &str)>> {
    let mut p = Parser::new(raw);
    p.skip_ws();
    if p.peek() != Some(b'{') {
        return None;
    }
    p.i += 1;
    let mut out = Vec::new();
    p.skip_ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
        return p.end().ok().map(|()| out);
    }
    loop {
        let key = p.key().ok()?;
        p.expect(b':').ok()?;
        out.push((key, p.span(1).ok()?));
        p.skip_ws();
        match p.peek()? {
            b',' => p.i += 1,
            b'}' => {
                p.i += 1;
                return p.end().ok().map(|()| out);
            }
            _ => return None,
        }
    }
}

/// The elements of the array `raw`, each as its slice of `raw`. `None` unless `raw` is an
/// array.
pub(crate) fn elements(raw: &str) -> Option<Vec<&str>> {
    let mut p = Parser::new(raw);
    p.skip_ws();
    if p.peek() != Some(b'[') {
        return None;
    }
    p.i += 1;
    let mut out = Vec::new();
    p.skip_ws();
    if p.peek() == Some(b']') {
        p.i += 1;
        return p.end().ok().map(|()| out);
    }
    loop {
        out.push(p.span(1).ok()?);
        p.skip_ws();
        match p.peek()? {
            b',' => p.i += 1,
            b']' => {
                p.i += 1;
                return p.end().ok().map(|()| out);
            }
            _ => return None,
        }
    }
}

impl<'a> Parser<'a> {
    /// Skips the value at the cursor and returns its slice.
    fn span(&mut self, depth: usize) -> Result<&'a str, Invalid> {
        self.skip_ws();
        let start = self.i;
        self.skip_value(depth)?;
        self.s.get(start..self.i).ok_or(Invalid)
    }

    fn skip_value(&mut self, depth: usize) -> Result<(), Invalid> {
        if depth >= MAX_DEPTH {
            return Err(Invalid);
        }
        self.skip_ws();
        match self.peek().ok_or(Invalid)? {
            b'"' => self.string_token().map(drop),
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.i += 1;
                self.skip_ws();
                if self.peek() == Some(close) {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    if open == b'{' {
                        self.skip_ws();
                        if self.peek() != Some(b'"') {
                            return Err(Invalid);
                        }
                        self.string_token()?;
                        self.expect(b':')?;
                    }
                    self.skip_value(depth + 1)?;
                    self.skip_ws();
                    match self.peek().ok_or(Invalid)? {
                        b',' => self.i += 1,
                        b if b == close => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(Invalid),
                    }
                }
            }
            _ => {
                // A number or a literal: up to the next delimiter.
                let start = self.i;
                while let Some(b) = self.peek() {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.i += 1;
                }
                if self.i == start {
                    return Err(Invalid);
                }
                Ok(())
            }
        }
    }
}
