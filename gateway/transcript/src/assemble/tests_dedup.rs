//! Storage of a long Claude Code-shaped session: naive (every request and response body as
//! sent) against deduplicated (each block once, plus one record line per turn).

use std::collections::HashSet;

use super::fixtures::{ClaudeCodeSession, capture, meta, pending};
use super::*;
use crate::Line;

const TURNS: usize = 50;
const TOOLS: usize = 15;
/// Size of each tool result.
const RESULT_BYTES: usize = 3000;
const MIN_RATIO: f64 = 10.0;

#[test]
fn fifty_turn_session_stores_at_least_ten_times_smaller() {
    let mut session = ClaudeCodeSession::new("Refactor the parser module ✓", TOOLS);
    let mut naive = 0_usize;
    let mut deduplicated = 0_usize;
    let mut written = HashSet::new();
    for n in 0..TURNS {
        let turn = session.next_turn(RESULT_BYTES);
        let request_bytes = turn.request.to_string().len();
        naive += request_bytes + turn.response_sse.len();
        let frames = capture(true, turn.response_sse.as_bytes(), 61);
        let p = pending(
            meta(Api::AnthropicMessages, &format!("r{n}")),
            &turn.request,
            frames,
        );
        let a = assemble(&p);
        for block in a.blocks {
            if written.insert(block.h) {
                deduplicated += serde_json::to_string(&Line::Block(block)).unwrap().len() + 1;
            }
        }
        let record = Line::Record(Box::new(a.record));
        deduplicated += serde_json::to_string(&record).unwrap().len() + 1;
    }
    let ratio = naive as f64 / deduplicated as f64;
    eprintln!(
        "dedup: {TURNS} turns, naive {naive} bytes, deduplicated {deduplicated} bytes \
         ({} unique blocks), ratio {ratio:.1}",
        written.len()
    );
    assert!(ratio >= MIN_RATIO, "ratio {ratio:.1}");
}
