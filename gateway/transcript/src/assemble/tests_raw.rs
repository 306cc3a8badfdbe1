//! The Anthropic JSON document read from raw slices yields exactly what reading it through
//! `serde_json::Value` yields: the same blocks (bytes and hashes), in the same order, and the
//! same stop reason; documents it does not read are left to the value path.

use super::{BlockHash, BlockSet, anthropic};

/// What a reading yields: the hashes in order, then every block's bytes, and the stop reason.
type Yield = (Vec<String>, Option<String>);

fn summary(set: &BlockSet, hashes: Vec<BlockHash>, stop_reason: Option<String>) -> Yield {
    let hashes = hashes.iter().map(ToString::to_string);
    let blocks = set.blocks.iter().map(|b| b.json().to_owned());
    (hashes.chain(blocks).collect(), stop_reason)
}

/// Through `Value`, as before the raw reading existed.
fn by_value(body: &str) -> Yield {
    let mut set = BlockSet::default();
    let doc = anthropic::document(serde_json::from_str(body).unwrap()).unwrap();
    let hashes = doc.content.into_iter().map(|b| set.add(b)).collect();
    summary(&set, hashes, doc.stop_reason)
}

fn by_raw(body: &str) -> Option<Yield> {
    let mut set = BlockSet::default();
    let (content, stop_reason) = anthropic::raw_document(body.as_bytes())?;
    let hashes = content.into_iter().map(|raw| set.add_json(raw)).collect();
    Some(summary(&set, hashes, stop_reason))
}

#[test]
fn raw_reading_matches_the_value_reading() {
    let documents = [
        r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Done \u00e9 \/ \\u","cache_control":{"type":"ephemeral"}}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":2}}"#,
        r#"{"content":[{"type":"thinking","thinking":"hm","signature":"c2ln"},{"type":"tool_use","id":"t","name":"Read","input":{"b":1,"a":[1.0,2e3,-0]}},{"type":"text","text":"x"},{"type":"text","text":"x"}],"stop_reason":"tool_use"}"#,
        r#"{"type":"message","content":[],"stop_reason":null}"#,
        r#"{"type":"message"}"#,
        r#"{"content":[{"type":"text","text":"dup","text":"last wins"}],"stop_reason":"max_tokens"}"#,
    ];
    for body in documents {
        assert_eq!(by_raw(body).unwrap(), by_value(body), "{body}");
    }
}

#[test]
fn documents_the_raw_reading_does_not_take_are_left_to_the_value_reading() {
    for body in [
        r#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#,
        r#"{"content":{"type":"text","text":"not a list"}}"#,
        r#"{"content":[],"content":[{"type":"text","text":"second"}]}"#,
        r#"{"content":[],"stop_reason":7}"#,
        r#"[1,2]"#,
        r#"not json"#,
    ] {
        assert!(by_raw(body).is_none(), "{body}");
    }
}
