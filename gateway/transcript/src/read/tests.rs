use std::io::Write as _;
use std::path::Path;

use super::*;
use crate::assemble::fixtures::{ClaudeCodeSession, capture, meta, pending};
use crate::assemble::{Assembled, assemble};
use crate::{Api, BlockLedger, render};

/// Three turns of `sess-1` (ids r1..r3, one second apart) and one turn of `sess-2`.
fn turns() -> (Vec<Assembled>, Assembled) {
    let mut session = ClaudeCodeSession::new("Fix the bug in parser.rs", 15);
    let sess_1 = (1..=3)
        .map(|n| {
            let turn = session.next_turn(2000);
            let mut m = meta(Api::AnthropicMessages, &format!("r{n}"));
            m.started_at = format!("2026-11-2{}T12:00:0{n}.000Z", if n == 3 { 7 } else { 6 });
            let frames = capture(true, turn.response_sse.as_bytes(), 5 + n);
            assemble(&pending(m, &turn.request, frames))
        })
        .collect();
    let mut other = ClaudeCodeSession::new("Something else entirely", 2);
    let turn = other.next_turn(100);
    let mut m = meta(Api::AnthropicMessages, "x1");
    m.session = Some("sess-2".to_owned());
    let frames = capture(true, turn.response_sse.as_bytes(), 3);
    (sess_1, assemble(&pending(m, &turn.request, frames)))
}

/// Block lines (each once per ledger) then the record line, as the sinks write them.
fn jsonl(records: &[&Assembled], ledger: &mut BlockLedger) -> String {
    let mut out = String::new();
    for a in records {
        for block in &a.blocks {
            if ledger.first_time(block.h) {
                out += &serde_json::to_string(&Line::Block(block.clone())).unwrap();
                out.push('\n');
            }
        }
        out += &serde_json::to_string(&Line::Record(Box::new(a.record.clone()))).unwrap();
        out.push('\n');
    }
    out
}

/// Day 26: r1, x1, r2, a garbage line and a truncated line; day 27 (zstd): r3.
fn write_dir(dir: &Path) {
    let (sess_1, other) = turns();
    let day_26 = dir.join("2026-11-26");
    let day_27 = dir.join("2026-11-27");
    std::fs::create_dir_all(&day_26).unwrap();
    std::fs::create_dir_all(&day_27).unwrap();
    let mut text = jsonl(
        &[&sess_1[0], &other, &sess_1[1]],
        &mut BlockLedger::default(),
    );
    text += "not json at all\n";
    let last = serde_json::to_string(&Line::Record(Box::new(sess_1[0].record.clone()))).unwrap();
    text += last.get(..last.len() / 2).unwrap();
    std::fs::write(day_26.join("host-1.jsonl"), text).unwrap();
    let text = jsonl(&[&sess_1[2]], &mut BlockLedger::default());
    let compressed = zstd::encode_all(text.as_bytes(), 3).unwrap();
    std::fs::write(day_27.join("host-1.jsonl.zst"), compressed).unwrap();
    std::fs::write(day_27.join("notes.txt"), "ignored").unwrap();
}

#[test]
fn round_trip_through_files_gives_the_session_back() {
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path());
    let library = Library::load_dir(dir.path()).unwrap();
    assert_eq!(library.skipped_lines(), 2);
    assert_eq!(library.session_ids(), ["sess-1", "sess-2"]);
    let turns = library.session("sess-1");
    let ids: Vec<_> = turns.iter().map(|t| t.record.meta.id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2", "r3"]);
    let (expected, _) = turns_resolved_directly();
    assert_eq!(turns, expected);

    let text = render::text("sess-1", &turns);
    for needle in [
        "── turn 1 · 2026-11-26T12:00:01.000Z · claude-sonnet-4-5 · 200 · tool_use · in 1200 (cache read 900) / out 85 tokens · $0.004213 · 1.23 s",
        "── turn 3 · 2026-11-27T12:00:03.000Z",
        "system (3 blocks, ",
        "tools (15): Tool0, Tool1",
        "→ tool Bash {\"command\":\"ls -la src/module_1\",\"timeout\":120000}",
        "← result (toolu_0001): line 1 of output",
        "Step 2: I’ll run the command — ✓ déjà vu 🙂",
        "══ 3 turns · in 3600 (cache read 2700, cache write 0) / out 255 tokens · $0.012639 total · 0 errors",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    // Only what is new: the prompt and each answer appear once.
    assert_eq!(
        text.matches("Fix the bug in parser.rs").count(),
        1,
        "{text}"
    );
    assert_eq!(text.matches("Step 0:").count(), 1, "{text}");
    assert_eq!(text.matches("system (").count(), 1, "{text}");

    let json = render::json("sess-1", &turns);
    assert_eq!(json["session"], "sess-1");
    assert_eq!(json["turns"].as_array().unwrap().len(), 3);
    let first = &json["turns"][0];
    assert_eq!(first["id"], "r1");
    assert_eq!(first["stop_reason"], "tool_use");
    assert_eq!(first["request"]["system"].as_array().unwrap().len(), 3);
    assert_eq!(first["request"]["tools"].as_array().unwrap().len(), 15);
    assert_eq!(first["request"]["messages"][0]["role"], "user");
    assert_eq!(
        first["request"]["messages"][0]["content"][0]["type"],
        "text"
    );
    assert_eq!(first["response"][1]["name"], "Bash");
    assert_eq!(
        json["turns"][2]["request"]["messages"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(json["totals"]["cost_micro_usd"], 12639);
    assert_eq!(json["totals"]["turns"], 3);
}

/// The expected turns, resolved from the assembled blocks without any file.
fn turns_resolved_directly() -> (Vec<Turn>, Library) {
    let (sess_1, _) = turns();
    let mut library = Library::new();
    let mut ledger = BlockLedger::default();
    let refs: Vec<&Assembled> = sess_1.iter().collect();
    library
        .add_reader(jsonl(&refs, &mut ledger).as_bytes())
        .unwrap();
    (library.session("sess-1"), library)
}

#[test]
fn loading_one_session_keeps_only_its_blocks() {
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path());
    let all = Library::load_dir(dir.path()).unwrap();
    let one = Library::load_dir_for_session(dir.path(), "sess-1").unwrap();
    assert_eq!(one.session("sess-1"), all.session("sess-1"));
    assert_eq!(one.records().len(), 3);
    assert!(one.block_count() < all.block_count());
    assert_eq!(one.skipped_lines(), 2);
    let (_, direct) = turns_resolved_directly();
    assert_eq!(one.block_count(), direct.block_count());
}

#[test]
fn blocks_not_held_resolve_to_placeholders() {
    let (sess_1, _) = turns();
    let mut library = Library::for_session("sess-1");
    let line = serde_json::to_string(&Line::Record(Box::new(sess_1[0].record.clone()))).unwrap();
    library.add_reader(line.as_bytes()).unwrap();
    let turns = library.session("sess-1");
    let missing = &turns[0].system[0];
    assert_eq!(missing["type"], "missing_block");
    assert_eq!(
        missing["h"],
        sess_1[0].record.request.as_ref().unwrap().system[0].to_hex()
    );
    assert!(render::text("sess-1", &turns).contains("[missing block "));
}

#[test]
fn a_cut_zstd_file_keeps_the_lines_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let (sess_1, _) = turns();
    let text = jsonl(&[&sess_1[0], &sess_1[1]], &mut BlockLedger::default());
    let mut encoder = zstd::Encoder::new(Vec::new(), 3).unwrap();
    encoder.write_all(text.as_bytes()).unwrap();
    let compressed = encoder.finish().unwrap();
    let cut = compressed.get(..compressed.len() * 3 / 4).unwrap();
    std::fs::write(dir.path().join("a.jsonl.zst"), cut).unwrap();
    let library = Library::load_dir(dir.path()).unwrap();
    assert!(library.skipped_lines() >= 1);
    assert!(library.records().len() <= 2);
}

#[test]
fn a_missing_directory_is_an_error() {
    assert!(Library::load_dir(Path::new("/nonexistent/transcripts")).is_err());
}
