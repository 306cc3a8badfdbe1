//! Cost of one transcript record on the writer thread: assembling it from the redacted request
//! body and the captured response (decomposition into canonical blocks, hashing) and writing
//! its lines into the batch buffer, for the load test's 10 KB request and for a turn late in
//! a long agent session (a 100-message history the partition has already seen).
//!
//! Run: `cargo bench -p gateway-transcript --bench record`

#![expect(clippy::unwrap_used, reason = "benchmark setup fails loudly")]

use std::{collections::BTreeMap, hint::black_box};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gateway_core::{Api, Usage};
use gateway_transcript::assemble::{BlockMemo, assemble, assemble_with};
use gateway_transcript::{BlockLedger, Meta, Mode, Pending, ResponseCapture};
use serde_json::json;

fn meta() -> Meta {
    Meta {
        id: "req_0123456789abcdef".into(),
        session: Some("0b8f7a0e-5d1c-4f5e-9f43-3c9a1c2b7d10".into()),
        agent: None,
        parent_agent: None,
        product: None,
        subject: "user-1".into(),
        org: Some("acme".into()),
        api: Api::AnthropicMessages,
        model: "claude-sonnet-4-6".into(),
        upstream: "anthropic".into(),
        key_id: None,
        attempts: None,
        possibly_billed: Vec::new(),
        started_at: "2026-12-06T04:00:00.123Z".into(),
        latency_ms: 12,
        ttft_ms: Some(3),
        status: 200,
        complete: true,
        usage: Usage::default(),
        usage_estimated: false,
        cost_micro_usd: 1234,
        redactions: BTreeMap::new(),
    }
}

fn response() -> ResponseCapture {
    let body = json!({"id": "msg_1", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-6", "content": [{"type": "text", "text": "Done: the file is fixed."}],
        "stop_reason": "end_turn", "usage": {"input_tokens": 2500, "output_tokens": 12}});
    let mut capture = ResponseCapture::new(false);
    capture.push(&Bytes::from(body.to_string()));
    capture
}

/// The load test's request: one user message padded to `bytes`.
fn padded_request(bytes: usize) -> Bytes {
    let text = "x".repeat(bytes.saturating_sub(120));
    Bytes::from(
        json!({"model": "claude-sonnet-4-6", "max_tokens": 1024, "stream": false,
            "messages": [{"role": "user", "content": text}]})
        .to_string(),
    )
}

/// A Claude Code-shaped turn: system prompt, tools, and `turns` of tool use and results.
fn session_request(turns: usize) -> Bytes {
    let mut messages = vec![
        json!({"role": "user", "content": [{"type": "text", "text": "Fix the failing test in parser.rs"}]}),
    ];
    for n in 0..turns {
        messages.push(json!({"role": "assistant", "content": [
            {"type": "text", "text": format!("Reading file {n}.")},
            {"type": "tool_use", "id": format!("toolu_{n:04}"), "name": "Read", "input": {"file_path": format!("/src/f{n}.rs")}}]}));
        messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": format!("toolu_{n:04}"),
            "content": format!("{n}\tfn f{n}() {{}}\n").repeat(20)}]}));
    }
    let tools: Vec<_> = (0..15)
        .map(|n| json!({"name": format!("Tool{n}"), "description": "d".repeat(400), "input_schema": {"type": "object", "properties": {"p": {"type": "string"}}}}))
        .collect();
    Bytes::from(
        json!({"model": "claude-sonnet-4-6", "max_tokens": 32000, "stream": true,
            "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
            "tools": tools, "messages": messages})
        .to_string(),
    )
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("transcript_record");
    for (name, body) in [
        ("padded_10kb", padded_request(10 * 1024)),
        ("session_50_turns", session_request(50)),
    ] {
        let pending = Pending {
            meta: meta(),
            mode: Mode::Full,
            request_body: body.clone(),
            response: response(),
        };
        // The partition has seen this history before (every turn resends it).
        let mut ledger = BlockLedger::default();
        let mut out = Vec::with_capacity(1 << 20);
        assemble(&pending)
            .write_lines(&mut ledger, &mut out)
            .unwrap();
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("{name}/{}B", body.len()), |b| {
            b.iter(|| {
                out.clear();
                let assembled = assemble(black_box(&pending));
                assembled.write_lines(&mut ledger, &mut out).unwrap();
                black_box(out.len())
            })
        });
        // The writer's way: its memo has seen these blocks (the previous turn sent them).
        let mut memo = BlockMemo::default();
        assemble_with(&pending, &mut memo);
        group.bench_function(format!("{name}/{}B/memo", body.len()), |b| {
            b.iter(|| {
                out.clear();
                let assembled = assemble_with(black_box(&pending), &mut memo);
                assembled.write_lines(&mut ledger, &mut out).unwrap();
                black_box(out.len())
            })
        });
    }
    group.finish();
}

/// The block hash against SHA-256 (what format 1 used) at block sizes seen in agent traffic.
fn hashes(c: &mut Criterion) {
    use sha2::Digest;
    let mut group = c.benchmark_group("block_hash");
    for size in [64, 300, 1024, 10 * 1024] {
        let data = vec![b'a'; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("blake3_derive_key/{size}B"), |b| {
            b.iter(|| gateway_transcript::BlockHash::of_canonical(black_box(&data)))
        });
        group.bench_function(format!("sha256/{size}B"), |b| {
            b.iter(|| sha2::Sha256::digest(black_box(&data)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench, hashes);
criterion_main!(benches);
