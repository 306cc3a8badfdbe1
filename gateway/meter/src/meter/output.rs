//! [`Output`]: what the client receives for one chunk, built lazily: the chunk itself until an
//! edit (a removed frame, held or released bytes) forces a copy.

use bytes::Bytes;

/// What the client receives for one chunk: the chunk itself until an edit forces a copy.
pub(super) struct Output<'a> {
    chunk: &'a [u8],
    copy: Option<Vec<u8>>,
    /// Bytes of `chunk` before this offset are already in `copy` (or dropped).
    done: usize,
}

impl<'a> Output<'a> {
    pub(super) fn new(chunk: &'a [u8]) -> Self {
        Self {
            chunk,
            copy: None,
            done: 0,
        }
    }

    fn copy_to(&mut self, at: usize) -> &mut Vec<u8> {
        let chunk = self.chunk;
        let copy = self
            .copy
            .get_or_insert_with(|| Vec::with_capacity(chunk.len() + 256));
        copy.extend_from_slice(chunk.get(self.done..at).unwrap_or_default());
        self.done = self.done.max(at);
        copy
    }

    /// Drops `chunk[from..to]`.
    pub(super) fn skip(&mut self, from: usize, to: usize) {
        self.copy_to(from);
        self.done = self.done.max(to);
    }

    /// Adds `bytes` before `chunk[at]`.
    pub(super) fn insert(&mut self, at: usize, bytes: &[u8]) {
        self.copy_to(at).extend_from_slice(bytes);
    }

    pub(super) fn finish(mut self) -> Option<Bytes> {
        self.copy.is_some().then(|| {
            let end = self.chunk.len();
            Bytes::from(std::mem::take(self.copy_to(end)))
        })
    }
}
