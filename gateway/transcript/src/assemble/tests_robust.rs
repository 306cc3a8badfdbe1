//! Whatever the bytes, assembling never panics and always keeps the metadata.

use bytes::Bytes;
use proptest::prelude::*;

use super::fixtures::meta;
use super::*;
use crate::ResponseCapture;

fn api() -> impl Strategy<Value = Api> {
    prop_oneof![
        Just(Api::AnthropicMessages),
        Just(Api::OpenAiChat),
        Just(Api::OpenAiResponses),
    ]
}

/// Bytes that are often almost SSE or JSON, sometimes not UTF-8.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"data: ".to_vec()),
        Just(b"event: content_block_delta\n".to_vec()),
        Just(b"\n\n".to_vec()),
        Just(
            b"{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\"}}"
                .to_vec()
        ),
        Just(b"{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0}]}}]}".to_vec()),
        Just(b"{\"type\":\"response.completed\",\"response\":{\"output\":[1]}}".to_vec()),
        Just(
            b"{\"messages\":[{\"role\":1,\"content\":{}}],\"system\":[null],\"input\":[\"x\"]}"
                .to_vec()
        ),
        proptest::collection::vec(any::<u8>(), 0..16),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn any_bytes_keep_the_metadata(
        api in api(),
        sse in any::<bool>(),
        status in prop_oneof![Just(200_u16), Just(429_u16), 100_u16..600],
        request in body(),
        response in body(),
        split in 1_usize..9,
    ) {
        let mut m = meta(api, "r");
        m.status = status;
        let mut capture = ResponseCapture::new(sse);
        for chunk in response.chunks(split) {
            capture.push(&Bytes::copy_from_slice(chunk));
        }
        let p = Pending { meta: m, mode: Mode::Full, request_body: Bytes::from(request), response: capture };
        let a = assemble(&p);
        prop_assert_eq!(&a.record.meta, &p.meta);
        for block in &a.blocks {
            prop_assert_eq!(block.h, BlockHash::of(&block.value()));
        }
    }
}
