//! A fallback with its own price table: an exchange the Bedrock target serves settles once,
//! at that table's price for the model id Bedrock was sent (the reservation was made at the
//! primary's); the quota bucket, the admin API's recent request and the transcript record
//! agree on the cost and name the serving target and key id, and an earlier attempt cut after
//! its request was sent is recorded as possibly billed.

use gateway_testkit::{TestGateway, TestGatewayBuilder, http, tools::ANTHROPIC_PROVIDER_KEY};
use gateway_transcript::read::Library;
use mock_provider::{BEDROCK_SECRET_ACCESS_KEY, Script};
use serde_json::Value;

use super::{
    ADMIN_TOKEN, OVERLOADED, Pair, WAIT, bedrock::Auth, gateway, scrape, scratch, send, served,
    status,
};

/// The Bedrock target's own table: claude-sonnet-4-6 at twice the first-party rates, listed
/// only under the id the target is sent (the client's `claude-sonnet-4-6` is not in it).
const BEDROCK_PRICES: &str = r#"
[unknown_models]
answer = "refuse"
[models.bedrock-sonnet-4-6]
input = 6
cache_write_5m = 7.50
cache_write_1h = 12
cache_read = 0.60
output = 30
max_output_tokens = 64000
aliases = ["us.anthropic.claude-sonnet-4-6-v1:0"]
"#;
/// The served answer's usage (input 12, 5-minute writes 20, reads 100, output 7) at those
/// rates: 72 + 150 + 60 + 210 micro-USD, twice the first-party 246.
const BEDROCK_CALL: u64 = 492;
/// The key id of a SigV4 Bedrock target: the access key variable's name, never its value.
const BEDROCK_KEY_ID: &str = "BEDROCK_AWS_ID";

/// A gateway whose Bedrock fallback (SigV4) names its own prices file.
fn priced_gateway(pair: &Pair, name: &str) -> TestGatewayBuilder {
    let prices = scratch(&format!("{name}-prices")).join("prices-bedrock.toml");
    std::fs::write(&prices, BEDROCK_PRICES).unwrap();
    let section = format!(
        "{}prices_file = \"{}\"\n",
        super::bedrock::section(pair, Auth::SigV4),
        prices.display()
    );
    gateway(&section, name)
        .env("BEDROCK_AWS_ID", mock_provider::BEDROCK_ACCESS_KEY_ID)
        .env("BEDROCK_AWS_SECRET", BEDROCK_SECRET_ACCESS_KEY)
}

/// The newest entry of the admin API's recent requests.
async fn recent(gw: &TestGateway) -> Value {
    let reply = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/admin/requests"),
        &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["total"], 1, "one exchange, one entry: {body}");
    body["requests"][0].clone()
}

/// The developer's day bucket after exactly one settlement.
async fn spent_once(gw: &TestGateway) -> u64 {
    let spent = super::spent(gw, 1).await;
    let m = scrape(gw).await;
    assert!(
        m.lines()
            .any(|l| l == "llm_gateway_quota_settlements_total 1"),
        "settled exactly once:\n{m}"
    );
    spent
}

#[tokio::test]
async fn an_exchange_bedrock_serves_is_charged_once_at_its_own_prices() {
    let pair = Pair::start().await;
    let gw = priced_gateway(&pair, "prices-bedrock").start().await;
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    pair.primary.push_script(status(529, OVERLOADED, &[]));
    pair.second.push_script(served(false));
    let reply = send(&gw, false, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("bedrock"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("3"));

    assert_eq!(
        spent_once(&gw).await,
        BEDROCK_CALL,
        "the bucket holds Bedrock's price, not the primary's 246"
    );
    let entry = recent(&gw).await;
    assert_eq!(entry["cost_micro_usd"], BEDROCK_CALL, "{entry}");
    assert_eq!(entry["upstream"], "bedrock", "{entry}");
    assert_eq!(entry["key_id"], BEDROCK_KEY_ID, "{entry}");
    assert_eq!(entry["attempts"], 3, "{entry}");
    assert_eq!(entry["status"], 200, "{entry}");
}

#[tokio::test]
async fn the_record_names_the_serving_target_and_key_and_the_cut_attempt_as_possibly_billed() {
    let pair = Pair::start().await;
    let gw = priced_gateway(&pair, "prices-record")
        .env("GATEWAY__FORWARDING__RETRIES_PER_TARGET", "0")
        .start()
        .await;
    // The primary's stream is cut after `message_start`: its request was sent, maybe billed.
    pair.primary.push_script(Script::ResetBeforeContent);
    let reply = send(&gw, true, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-gateway-upstream"), Some("bedrock"));
    assert_eq!(reply.header("x-gateway-attempts"), Some("2"));

    let spent = spent_once(&gw).await;
    let entry = recent(&gw).await;
    assert_eq!(entry["cost_micro_usd"], spent, "{entry}");
    assert_eq!(
        (&entry["upstream"], &entry["key_id"], &entry["attempts"]),
        (&"bedrock".into(), &BEDROCK_KEY_ID.into(), &2.into()),
        "{entry}"
    );

    let dir = gw.transcripts_dir().to_owned();
    let library = gateway_testkit::poll::poll_until("one transcript record", WAIT, || async {
        Library::load_dir(&dir)
            .ok()
            .filter(|l| !l.records().is_empty())
    })
    .await;
    let [record] = library.records() else {
        panic!("one request, one record: {:?}", library.records())
    };
    let meta = &record.meta;
    assert_eq!(meta.upstream, "bedrock");
    assert_eq!(meta.key_id.as_deref(), Some(BEDROCK_KEY_ID));
    assert_eq!(meta.attempts, Some(2));
    assert_eq!(
        meta.possibly_billed,
        ["anthropic"],
        "the cut primary attempt"
    );
    assert_eq!(
        meta.cost_micro_usd, spent,
        "the record's cost is the bucket's"
    );
    assert!(meta.complete && meta.status == 200);

    let bytes = super::super::transcripts::all_bytes(&dir);
    for secret in [BEDROCK_SECRET_ACCESS_KEY, ANTHROPIC_PROVIDER_KEY] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a credential reached a transcript file"
        );
    }
}
