//! `UsageMeter::feed` throughput on realistic streams: an Anthropic text stream and an OpenAI
//! chat stream with the usage chunk stripped, fed as 4 KiB reads and as one frame per read.
//! Run: `cargo bench -p gateway-meter -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gateway_core::Api;
use gateway_meter::UsageMeter;

const FRAMES: usize = 5_000;

fn anthropic_stream() -> Vec<String> {
    let mut frames = vec![
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-6\",\"content\":[],\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":2048,\"cache_read_input_tokens\":18000,\"output_tokens\":1}}}\n\n".to_owned(),
    ];
    for i in 0..FRAMES {
        frames.push(format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"token {i} of a fairly ordinary sentence \"}}}}\n\n"
        ));
    }
    frames.push("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":5000}}\n\n".to_owned());
    frames.push("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_owned());
    frames
}

fn chat_stream() -> Vec<String> {
    let mut frames = Vec::new();
    for i in 0..FRAMES {
        frames.push(format!(
            "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-5\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"token {i} \"}}}}],\"usage\":null}}\n\n"
        ));
    }
    frames.push("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-5\",\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":5000,\"total_tokens\":5100}}\n\n".to_owned());
    frames.push("data: [DONE]\n\n".to_owned());
    frames
}

fn bench(c: &mut Criterion) {
    let cases = [
        (
            "anthropic",
            Api::AnthropicMessages,
            false,
            anthropic_stream(),
        ),
        ("chat_strip", Api::OpenAiChat, true, chat_stream()),
    ];
    let mut group = c.benchmark_group("feed");
    for (name, api, strip, frames) in cases {
        let whole = frames.concat();
        group.throughput(Throughput::Bytes(whole.len() as u64));
        group.bench_function(format!("{name}/4KiB_reads"), |b| {
            b.iter(|| {
                let mut meter = UsageMeter::new(api, true, strip);
                for piece in whole.as_bytes().chunks(4096) {
                    black_box(meter.feed(piece));
                }
                black_box(meter.usage())
            });
        });
        group.bench_function(format!("{name}/frame_reads"), |b| {
            b.iter(|| {
                let mut meter = UsageMeter::new(api, true, strip);
                for frame in &frames {
                    black_box(meter.feed(frame.as_bytes()));
                }
                black_box(meter.usage())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
