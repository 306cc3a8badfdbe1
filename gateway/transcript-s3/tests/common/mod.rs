//! Fixtures: records built by hand, a sink config for a moto server, and reading a bucket
//! back into lines per day/org prefix.

use std::collections::BTreeMap;

use gateway_core::{Api, Secret, Usage};
use gateway_testkit::moto::{self, MotoServer};
use gateway_transcript::{
    Block, BlockHash, Line, Meta, Mode, Record,
    assemble::Assembled,
    record::{MessageRefs, RequestRefs, ResponseRefs},
};
use gateway_transcript_s3::{ObjectInfo, OrgFilter, S3Reader, S3SinkConfig, key};

pub(crate) const BUCKET: &str = "transcripts-test";

/// A moto server with the test bucket, and a sink config pointing at it (with everything
/// at its default except what the test changes). `None`: moto is not installed (skipped).
pub(crate) fn start() -> Option<(MotoServer, S3SinkConfig)> {
    let server = MotoServer::start()?;
    server.create_bucket(BUCKET);
    let mut config = S3SinkConfig::new(BUCKET, moto::REGION);
    config.endpoint = Some(server.endpoint());
    config.allow_http = true;
    config.access_key_id = Some(Secret::new(moto::ACCESS_KEY_ID.to_owned()));
    config.secret_access_key = Some(Secret::new(moto::SECRET_ACCESS_KEY.to_owned()));
    config.request_timeout = std::time::Duration::from_secs(5);
    Some((server, config))
}

/// A record `id` of `day` (`YYYY-MM-DD`) for `org`, whose request is one user message per
/// text in `texts` and whose response is one text block `"reply to {id}"`.
pub(crate) fn record(id: &str, day: &str, org: Option<&str>, texts: &[&str]) -> Assembled {
    let text = |t: &str| Block::new(serde_json::json!({"type": "text", "text": t}));
    let request: Vec<Block> = texts.iter().map(|t| text(t)).collect();
    let reply = text(&format!("reply to {id}"));
    let meta = Meta {
        id: id.to_owned(),
        session: Some("session-1".to_owned()),
        agent: None,
        parent_agent: None,
        product: None,
        subject: "alice".to_owned(),
        org: org.map(str::to_owned),
        api: Api::AnthropicMessages,
        model: "claude-test".to_owned(),
        upstream: "anthropic".to_owned(),
        key_id: None,
        attempts: None,
        possibly_billed: Vec::new(),
        started_at: format!("{day}T12:00:00.000Z"),
        latency_ms: 10,
        ttft_ms: Some(3),
        status: 200,
        complete: true,
        usage: Usage::default(),
        usage_estimated: false,
        cost_micro_usd: 1,
        redactions: BTreeMap::new(),
    };
    let record = Record {
        v: 1,
        meta,
        mode: Mode::Full,
        stop_reason: Some("end_turn".to_owned()),
        request: Some(RequestRefs {
            messages: request
                .iter()
                .map(|b| MessageRefs {
                    role: "user".to_owned(),
                    content: vec![b.h],
                })
                .collect(),
            ..RequestRefs::default()
        }),
        response: Some(ResponseRefs {
            content: vec![reply.h],
        }),
        response_truncated: false,
    };
    let mut blocks = Vec::new();
    for b in request.into_iter().chain([reply]) {
        if !blocks.iter().any(|seen: &Block| seen.h == b.h) {
            blocks.push(b);
        }
    }
    Assembled { record, blocks }
}

/// Every block hash `record` references.
pub(crate) fn referenced(record: &Record) -> Vec<BlockHash> {
    let mut out = Vec::new();
    if let Some(request) = &record.request {
        out.extend(request.system.iter().chain(&request.tools));
        out.extend(request.messages.iter().flat_map(|m| &m.content));
    }
    if let Some(response) = &record.response {
        out.extend(&response.content);
    }
    out
}

/// `n` characters of deterministic, poorly compressible hex from `seed`.
pub(crate) fn noise(seed: u64, n: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"0123456789abcdef"[(x & 15) as usize])
        })
        .collect()
}

/// Every object of the bucket (all days, all orgs) with its decoded lines, in key order.
pub(crate) fn objects(config: &S3SinkConfig) -> Vec<(ObjectInfo, Vec<Line>)> {
    let reader = S3Reader::new(config).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut out = Vec::new();
        for info in reader
            .list("0000", key::UNKNOWN_DAY, OrgFilter::All)
            .await
            .unwrap()
        {
            let lines = reader.fetch(&info).await.unwrap();
            let lines = String::from_utf8(lines).unwrap();
            let lines = lines
                .lines()
                .map(|l| serde_json::from_str::<Line>(l).unwrap())
                .collect();
            out.push((info, lines));
        }
        out
    })
}

/// The record ids in `objects`, in order.
pub(crate) fn record_ids(objects: &[(ObjectInfo, Vec<Line>)]) -> Vec<String> {
    objects
        .iter()
        .flat_map(|(_, lines)| lines)
        .filter_map(|l| match l {
            Line::Record(r) => Some(r.meta.id.clone()),
            Line::Block(_) => None,
        })
        .collect()
}

/// Asserts that within each day/org prefix every referenced block is in the same object
/// before the record or in an earlier object, and (when `once`) that each block is stored
/// once per prefix.
pub(crate) fn assert_self_contained(objects: &[(ObjectInfo, Vec<Line>)], once: bool) {
    let mut seen: BTreeMap<(String, String), Vec<BlockHash>> = BTreeMap::new();
    for (info, lines) in objects {
        let blocks = seen
            .entry((info.day.clone(), info.org.clone()))
            .or_default();
        for line in lines {
            match line {
                Line::Block(b) => {
                    assert!(
                        !once || !blocks.contains(&b.h),
                        "block {} stored twice under {}/{}",
                        b.h,
                        info.day,
                        info.org
                    );
                    blocks.push(b.h);
                }
                Line::Record(r) => {
                    for h in referenced(r) {
                        assert!(
                            blocks.contains(&h),
                            "record {} in {} references block {h} not stored before it",
                            r.meta.id,
                            info.key
                        );
                    }
                }
            }
        }
    }
}
