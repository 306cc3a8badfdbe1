//! Reading sessions back: a [`Library`] of blocks and records loaded from JSON Lines files
//! (`DIR/YYYY-MM-DD/*.jsonl[.zst]`, as the file sink writes them) or any reader (S3
//! objects), and a session's records resolved into [`Turn`]s for [`crate::render`].
//!
//! Tolerant: a truncated last line, an unparseable line or a line over [`MAX_LINE_BYTES`] is
//! skipped and counted ([`Library::skipped_lines`]); a file that fails mid-way (a cut zstd
//! frame) keeps the lines read before the failure and counts one more.
//!
//! Memory: [`Library::load_dir`] keeps every block and record it reads. To show one session,
//! [`Library::load_dir_for_session`] reads the files twice: first that session's records
//! only, then only the blocks they reference, so memory is about one copy of the session.

mod lines;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::{BlockHash, Line, Record};

/// Longest line read; longer lines are skipped (a block is at most a request body).
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Deepest directory level searched under the root given to [`Library::load_dir`].
const MAX_DIR_DEPTH: usize = 8;

/// Blocks and records read from transcript lines.
#[derive(Debug, Default)]
pub struct Library {
    blocks: HashMap<BlockHash, Value>,
    records: Vec<Record>,
    skipped_lines: u64,
    filter: Filter,
}

/// What to keep while reading.
#[derive(Debug, Default)]
struct Filter {
    /// Only this session's records.
    session: Option<String>,
    /// Keep no records (the block pass of a two-pass load).
    no_records: bool,
    /// Only these blocks (`None`: all).
    blocks: Option<HashSet<BlockHash>>,
}

/// The fields needed to decide whether a line is wanted, read without building its value.
#[derive(Deserialize)]
struct Peek {
    t: String,
    #[serde(default)]
    h: Option<BlockHash>,
    #[serde(default)]
    session: Option<String>,
}

/// One record with its content resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    /// The record (its refs give the hashes of the values below, index for index).
    pub record: Record,
    /// System prompt blocks.
    pub system: Vec<Value>,
    /// Tool definitions.
    pub tools: Vec<Value>,
    /// The request's messages: role and content blocks.
    pub messages: Vec<(String, Vec<Value>)>,
    /// The response blocks.
    pub response: Vec<Value>,
}

impl Library {
    /// An empty library keeping everything added.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty library keeping only `session`'s records (and every block) from what is
    /// added with [`Library::add_reader`].
    pub fn for_session(session: &str) -> Self {
        Self {
            filter: Filter {
                session: Some(session.to_owned()),
                ..Filter::default()
            },
            ..Self::default()
        }
    }

    /// Everything in the `*.jsonl` and `*.jsonl.zst` files under `dir` (recursively).
    pub fn load_dir(dir: &Path) -> io::Result<Self> {
        let mut library = Self::new();
        for file in transcript_files(dir)? {
            library.add_file(&file);
        }
        Ok(library)
    }

    /// `session`'s records under `dir` and only the blocks they reference (two passes).
    pub fn load_dir_for_session(dir: &Path, session: &str) -> io::Result<Self> {
        let files = transcript_files(dir)?;
        let mut library = Self::for_session(session);
        library.filter.blocks = Some(HashSet::new());
        for file in &files {
            library.add_file(file);
        }
        let wanted = library.records.iter().flat_map(referenced).collect();
        let skipped = library.skipped_lines;
        library.filter.no_records = true;
        library.filter.blocks = Some(wanted);
        for file in &files {
            library.add_file(file);
        }
        library.skipped_lines = skipped;
        library.filter = Filter::default();
        Ok(library)
    }

    /// Adds one file (zstd-decoded when its name ends in `.zst`). A file that cannot be
    /// opened or fails mid-way counts as one skipped line.
    pub fn add_file(&mut self, path: &Path) {
        let result = std::fs::File::open(path).and_then(|file| {
            if path.extension().is_some_and(|e| e == "zst") {
                self.add_zstd_reader(file)
            } else {
                self.add_reader(io::BufReader::new(file))
            }
        });
        if let Err(error) = result {
            tracing::warn!(path = %path.display(), %error, "transcript file read failed");
            self.skipped_lines += 1;
        }
    }

    /// Adds the lines of a zstd-compressed `reader` (a `.jsonl.zst` object), as
    /// [`Library::add_reader`] does.
    pub fn add_zstd_reader(&mut self, reader: impl io::Read) -> io::Result<()> {
        self.add_reader(io::BufReader::new(zstd::Decoder::new(reader)?))
    }

    /// Adds the lines of `reader`. Unreadable lines are skipped and counted; an I/O error
    /// ends the reader (lines before it are kept) and is returned.
    pub fn add_reader(&mut self, mut reader: impl BufRead) -> io::Result<()> {
        let mut buf = Vec::new();
        loop {
            match lines::read_bounded(&mut reader, &mut buf, MAX_LINE_BYTES)? {
                lines::Read::End => return Ok(()),
                lines::Read::TooLong => self.skipped_lines += 1,
                lines::Read::Line => self.add_line(&buf),
            }
        }
    }

    fn add_line(&mut self, line: &[u8]) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let Ok(peek) = serde_json::from_slice::<Peek>(line) else {
            self.skipped_lines += 1;
            return;
        };
        let wanted = match (peek.t.as_str(), peek.h) {
            ("block", Some(h)) => {
                !self.blocks.contains_key(&h)
                    && self.filter.blocks.as_ref().is_none_or(|w| w.contains(&h))
            }
            ("record", _) => {
                !self.filter.no_records
                    && (self.filter.session.is_none() || self.filter.session == peek.session)
            }
            _ => false,
        };
        if !wanted {
            return;
        }
        match serde_json::from_slice::<Line>(line) {
            Ok(Line::Block(block)) => {
                self.blocks.insert(block.h, block.value());
            }
            Ok(Line::Record(record)) => self.records.push(*record),
            Err(_) => self.skipped_lines += 1,
        }
    }

    /// Lines that could not be read (unparseable, truncated, too long, failed files).
    pub fn skipped_lines(&self) -> u64 {
        self.skipped_lines
    }

    /// Every record read, in reading order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// A block by hash.
    pub fn block(&self, h: &BlockHash) -> Option<&Value> {
        self.blocks.get(h)
    }

    /// How many distinct blocks are held.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// The sessions with records, sorted.
    pub fn session_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .records
            .iter()
            .filter_map(|r| r.meta.session.as_deref())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// `session`'s records in time order (`started_at`, then id; a record read twice counts
    /// once), each with its content resolved. Blocks not held resolve to
    /// `{"type":"missing_block","h":…}`.
    pub fn session(&self, session: &str) -> Vec<Turn> {
        let mut records: Vec<&Record> = self
            .records
            .iter()
            .filter(|r| r.meta.session.as_deref() == Some(session))
            .collect();
        records.sort_by(|a, b| {
            (&a.meta.started_at, &a.meta.id).cmp(&(&b.meta.started_at, &b.meta.id))
        });
        records.dedup_by(|a, b| a.meta.id == b.meta.id);
        records.into_iter().map(|r| self.resolve(r)).collect()
    }

    /// One record with its blocks.
    pub fn resolve(&self, record: &Record) -> Turn {
        let all = |hashes: &[BlockHash]| hashes.iter().map(|h| self.resolve_block(h)).collect();
        let request = record.request.as_ref();
        Turn {
            record: record.clone(),
            system: request.map(|r| all(&r.system)).unwrap_or_default(),
            tools: request.map(|r| all(&r.tools)).unwrap_or_default(),
            messages: request
                .map(|r| {
                    let each = |m: &crate::record::MessageRefs| (m.role.clone(), all(&m.content));
                    r.messages.iter().map(each).collect()
                })
                .unwrap_or_default(),
            response: record
                .response
                .as_ref()
                .map(|r| all(&r.content))
                .unwrap_or_default(),
        }
    }

    fn resolve_block(&self, h: &BlockHash) -> Value {
        self.blocks
            .get(h)
            .cloned()
            .unwrap_or_else(|| json!({"type": "missing_block", "h": h}))
    }
}

/// Every hash a record references.
fn referenced(record: &Record) -> impl Iterator<Item = BlockHash> + '_ {
    let request = record.request.iter().flat_map(|r| {
        let messages = r.messages.iter().flat_map(|m| m.content.iter());
        r.system.iter().chain(r.tools.iter()).chain(messages)
    });
    let response = record.response.iter().flat_map(|r| r.content.iter());
    request.chain(response).copied()
}

/// The transcript files under `dir`, sorted by path (day directories sort by date).
fn transcript_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    collect_files(dir, 0, &mut files)?;
    files.sort();
    Ok(files)
}

fn collect_files(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if depth < MAX_DIR_DEPTH {
                collect_files(&path, depth + 1, files)?;
            }
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".jsonl") || n.ends_with(".jsonl.zst"))
        {
            files.push(path);
        }
    }
    Ok(())
}
