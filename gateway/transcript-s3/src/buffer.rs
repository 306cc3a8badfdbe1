//! [`PartitionBuffer`]: the JSON Lines of one day/org partition not yet cut into an object,
//! and the partition's [`BlockLedger`].

use std::time::SystemTime;

use gateway_transcript::{BlockLedger, assemble::Assembled};

/// One partition's open buffer and ledger.
#[derive(Debug)]
pub(crate) struct PartitionBuffer {
    lines: Vec<u8>,
    records: usize,
    /// When the first record of the open buffer arrived.
    opened_at: Option<SystemTime>,
    /// When the last record arrived (idle partitions are forgotten).
    last_write: SystemTime,
    /// Blocks already in this partition: in an uploaded object or in `lines`.
    ledger: BlockLedger,
}

impl PartitionBuffer {
    pub(crate) fn new(now: SystemTime) -> Self {
        Self {
            lines: Vec::new(),
            records: 0,
            opened_at: None,
            last_write: now,
            ledger: BlockLedger::default(),
        }
    }

    /// Appends the blocks this partition has not seen, then the record.
    pub(crate) fn append(
        &mut self,
        assembled: &Assembled,
        now: SystemTime,
    ) -> Result<(), serde_json::Error> {
        // On failure the lines are rolled back and the ledger cleared (blocks are written
        // again, never lost).
        assembled.write_lines(&mut self.ledger, &mut self.lines)?;
        self.records += 1;
        self.opened_at.get_or_insert(now);
        self.last_write = now;
        Ok(())
    }

    /// Uncompressed bytes buffered.
    pub(crate) fn bytes(&self) -> usize {
        self.lines.len()
    }

    /// Records buffered.
    pub(crate) fn records(&self) -> usize {
        self.records
    }

    /// When the first buffered record arrived; `None` when empty.
    pub(crate) fn opened_at(&self) -> Option<SystemTime> {
        self.opened_at
    }

    /// When the last record arrived.
    pub(crate) fn last_write(&self) -> SystemTime {
        self.last_write
    }

    /// Takes the buffered lines and their record count, leaving the buffer empty (the ledger
    /// stays: the next object relies on this one).
    pub(crate) fn take(&mut self) -> (Vec<u8>, usize) {
        let records = std::mem::take(&mut self.records);
        self.opened_at = None;
        (std::mem::take(&mut self.lines), records)
    }

    /// Forgets which blocks the partition has: the last object may never be uploaded, so the
    /// next one must carry every block it references.
    pub(crate) fn forget_blocks(&mut self) {
        self.ledger.clear();
    }
}

#[cfg(test)]
mod tests {
    use gateway_core::{Api, Usage};
    use gateway_transcript::{
        Block, Line, Meta, Mode, Record,
        record::{MessageRefs, RequestRefs},
    };

    use super::*;

    fn assembled() -> Assembled {
        let block = Block::new(serde_json::json!({"type": "text", "text": "hi"}));
        let meta = Meta {
            id: "r1".to_owned(),
            session: None,
            agent: None,
            parent_agent: None,
            product: None,
            subject: "alice".to_owned(),
            org: Some("acme".to_owned()),
            api: Api::AnthropicMessages,
            model: "m".to_owned(),
            upstream: "anthropic".to_owned(),
            key_id: None,
            attempts: None,
            possibly_billed: Vec::new(),
            started_at: "2026-11-26T12:00:00.000Z".to_owned(),
            latency_ms: 5,
            ttft_ms: None,
            status: 200,
            complete: true,
            usage: Usage::default(),
            usage_estimated: false,
            cost_micro_usd: 3,
            redactions: Default::default(),
        };
        let record = Record {
            v: 1,
            meta,
            mode: Mode::Full,
            stop_reason: None,
            request: Some(RequestRefs {
                messages: vec![MessageRefs {
                    role: "user".to_owned(),
                    content: vec![block.h],
                }],
                ..RequestRefs::default()
            }),
            response: None,
            response_truncated: false,
        };
        Assembled {
            record,
            blocks: vec![block],
        }
    }

    #[test]
    fn lines_are_the_transcript_format_and_blocks_are_written_once() {
        let a = assembled();
        let mut buf = PartitionBuffer::new(SystemTime::UNIX_EPOCH);
        buf.append(&a, SystemTime::UNIX_EPOCH).unwrap();
        buf.append(&a, SystemTime::UNIX_EPOCH).unwrap();
        let (lines, records) = buf.take();
        assert_eq!(records, 2);
        let expected = [
            serde_json::to_string(&Line::Block(a.blocks[0].clone())).unwrap(),
            serde_json::to_string(&Line::Record(Box::new(a.record.clone()))).unwrap(),
            serde_json::to_string(&Line::Record(Box::new(a.record.clone()))).unwrap(),
        ];
        assert_eq!(
            String::from_utf8(lines).unwrap(),
            expected.join("\n") + "\n"
        );
        assert_eq!(buf.opened_at(), None);
    }

    #[test]
    fn after_forgetting_the_next_object_carries_its_blocks_again() {
        let a = assembled();
        let mut buf = PartitionBuffer::new(SystemTime::UNIX_EPOCH);
        buf.append(&a, SystemTime::UNIX_EPOCH).unwrap();
        let _ = buf.take();
        buf.forget_blocks();
        buf.append(&a, SystemTime::UNIX_EPOCH).unwrap();
        let (lines, _) = buf.take();
        assert!(
            String::from_utf8(lines)
                .unwrap()
                .starts_with(r#"{"t":"block""#)
        );
    }
}
