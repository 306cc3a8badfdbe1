//! Assembling with the writer's [`BlockMemo`] yields exactly the records and blocks that
//! assembling afresh does — first time (misses), again (hits), with a memo so small it keeps
//! turning over — and resent blocks are shared, not copied.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::fixtures::{ClaudeCodeSession, anthropic_tool_sse, capture, meta, pending};
use super::tests_reference::{APIS, arb_message, corpus, spelled};
use super::{Assembled, BlockMemo, assemble, assemble_with};
use crate::{Api, Pending};

/// A memo so small that most of the corpus turns its generations over.
const TINY_MEMO_BYTES: usize = 2 << 10;

/// An Anthropic JSON response (read from raw slices).
fn json_response() -> String {
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
        "content": [{"type": "text", "text": "hi ✓", "cache_control": {"type": "ephemeral"}},
            {"type": "thinking", "thinking": "hm", "signature": "c2ln"}],
        "stop_reason": "end_turn"})
    .to_string()
}

/// The pendings of `body` as every API, with a streamed and a JSON response each.
fn pendings(body: &Value, raw: &str) -> Vec<Pending> {
    let sse = anthropic_tool_sse("Done — ✓", "toolu_1", "Bash", &json!({"command": "ls"}));
    let mut out = Vec::new();
    for api in APIS {
        for (is_sse, response) in [(true, sse.clone()), (false, json_response())] {
            let mut p = pending(
                meta(api, "r"),
                body,
                capture(is_sse, response.as_bytes(), 7),
            );
            p.request_body = bytes::Bytes::from(raw.to_owned());
            out.push(p);
        }
    }
    out
}

/// Assembles `p` afresh and with each memo, and checks they agree.
fn agree(p: &Pending, memos: &mut [&mut BlockMemo]) -> Result<Assembled, TestCaseError> {
    let fresh = assemble(p);
    for memo in memos.iter_mut() {
        let with = assemble_with(p, memo);
        prop_assert_eq!(&with, &fresh, "record of {:?}", p.meta.api);
        prop_assert!(memo.bytes() <= BlockMemo::MAX_BYTES);
    }
    Ok(fresh)
}

#[test]
fn the_corpus_assembles_the_same_with_the_memo_warm_cold_and_tiny() {
    let mut warm = BlockMemo::default();
    let mut tiny = BlockMemo::with_max_bytes(TINY_MEMO_BYTES);
    for body in corpus() {
        for seed in 0..6 {
            let raw = match seed {
                0 => body.to_string(),
                _ => spelled(&body, seed),
            };
            for p in pendings(&body, &raw) {
                // Twice: the second time every block the memo kept is a hit.
                for _ in 0..2 {
                    agree(&p, &mut [&mut warm, &mut tiny]).unwrap();
                }
                assert!(tiny.bytes() <= TINY_MEMO_BYTES, "{} bytes", tiny.bytes());
            }
        }
    }
    assert!(!warm.is_empty());
}

#[test]
fn a_session_resent_every_turn_shares_its_history_instead_of_copying_it() {
    let mut memo = BlockMemo::default();
    let mut session = ClaudeCodeSession::new("Refactor the parser ✓", 6);
    let mut previous: Option<Assembled> = None;
    for n in 0..12 {
        let turn = session.next_turn(2000);
        let frames = capture(true, turn.response_sse.as_bytes(), 13);
        let p = pending(
            meta(Api::AnthropicMessages, &format!("r{n}")),
            &turn.request,
            frames,
        );
        let assembled = agree(&p, &mut [&mut memo]).unwrap();
        let with = assemble_with(&p, &mut memo);
        assert_eq!(with, assembled);
        if let Some(previous) = previous {
            // The system prompt and tools are the same blocks as last turn's, the very bytes.
            let mut shared = 0;
            for block in &with.blocks {
                if let Some(old) = previous.blocks.iter().find(|b| b.h == block.h) {
                    assert_eq!(old.json(), block.json());
                    if std::ptr::eq(old.json().as_ptr(), block.json().as_ptr()) {
                        shared += 1;
                    }
                }
            }
            // All but six: the last turn's response blocks (built from its stream, not from
            // request bytes) now resent, the block whose cache breakpoint moved, the new tool
            // result and this turn's two response blocks.
            let fresh = with.blocks.len() - shared;
            assert!(
                fresh <= 6,
                "turn {n}: {fresh} of {} not shared",
                with.blocks.len()
            );
        }
        previous = Some(with);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_bodies_assemble_the_same_with_the_memo(
        messages in prop::collection::vec(arb_message(), 0..5),
        system in arb_message(),
        tools in prop::collection::vec(crate::canonical::tests::arb_value(), 0..3),
        seed in 1u64..,
    ) {
        let body = json!({"system": system, "instructions": system, "messages": messages,
            "input": messages, "tools": tools});
        let mut warm = BlockMemo::default();
        let mut tiny = BlockMemo::with_max_bytes(TINY_MEMO_BYTES);
        for p in pendings(&body, &spelled(&body, seed)) {
            agree(&p, &mut [&mut warm, &mut tiny])?;
            agree(&p, &mut [&mut warm, &mut tiny])?;
        }
    }
}
