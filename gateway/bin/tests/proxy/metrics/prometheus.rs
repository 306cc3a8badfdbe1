//! A real Prometheus scraping the gateway runs every dashboard and alert expression.

use gateway_testkit::{http, prometheus::Prometheus};

use super::{WAIT, metered_pair, mixed_traffic, repo, scrape_after};

/// Every PromQL expression of the dashboard, with Grafana's variables given values.
fn dashboard_exprs() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo("deploy/grafana/llm-gateway.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        dash["schemaVersion"].as_u64().is_some(),
        "schemaVersion set"
    );
    let templating = dash["templating"]["list"].as_array().unwrap();
    assert!(
        templating
            .iter()
            .any(|v| v["type"] == "datasource" && v["name"] == "DS_PROMETHEUS"),
        "datasource is a variable"
    );
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().unwrap() {
        assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}");
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "1m");
            out.push((panel["title"].as_str().unwrap().to_owned(), expr));
        }
    }
    assert!(out.len() >= 14);
    out
}

/// Every alert expression of `alerts.yml` (the `expr:` keys, block scalars included).
fn alert_exprs() -> Vec<String> {
    let text = std::fs::read_to_string(repo("deploy/prometheus/alerts.yml")).unwrap();
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        let rest = rest.trim();
        if rest == "|" || rest == ">" {
            let mut expr = String::new();
            while let Some(next) = lines.peek() {
                if next.len() - next.trim_start().len() <= indent || next.trim().is_empty() {
                    break;
                }
                expr.push_str(next.trim());
                expr.push('\n');
                lines.next();
            }
            out.push(expr);
        } else {
            out.push(rest.to_owned());
        }
    }
    assert!(out.len() >= 6, "{out:?}");
    out
}

/// Families with no series until their feature is wired (none left: transcripts are
/// pre-registered at 0, redaction is in the pipeline).
const NOT_WIRED: &[&str] = &[];

#[tokio::test]
async fn prometheus_answers_every_dashboard_and_alert_expression() {
    let (mock, gw) = metered_pair().await;
    let alerts = repo("deploy/prometheus/alerts.yml");
    let Some(prom) = Prometheus::start(gw.admin, &[alerts.as_path()]).await else {
        return;
    };
    let scrapes = r#"up{job="llm-gateway"} == 1"#;
    assert!(prom.wait_for(scrapes, WAIT).await, "{}", prom.log());
    // Two rounds, each seen by a scrape, so every rate() window holds an increase.
    let mut sent = 0;
    for round in 1..=2 {
        sent += mixed_traffic(&mock, &gw).await;
        scrape_after(&gw, sent as f64).await;
        let seen = format!("sum(llm_gateway_requests_total) == {sent}");
        assert!(
            prom.wait_for(&seen, WAIT).await,
            "round {round} never scraped: {}",
            prom.log()
        );
    }

    let mut empty = Vec::new();
    for (panel, expr) in dashboard_exprs() {
        let result = prom.vector(&expr).await;
        let has_data = result
            .iter()
            .any(|s| s["value"][1].as_str().is_some_and(|v| v != "NaN"));
        if !has_data && !NOT_WIRED.iter().any(|f| expr.contains(f)) {
            empty.push(format!("{panel}: {expr} → {result:?}"));
        }
    }
    assert!(
        empty.is_empty(),
        "panels without data:\n{}",
        empty.join("\n")
    );

    for expr in alert_exprs() {
        let answer = prom.query(&expr).await;
        assert_eq!(answer["status"], "success", "{expr}: {answer}");
    }
    // The rules file loaded into Prometheus, and every rule evaluates without error.
    let rules = http::send(http::bodyless(
        ::http::Method::GET,
        &prom.url("/api/v1/rules"),
        &[],
    ))
    .await
    .json();
    let loaded: Vec<&serde_json::Value> = rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect();
    assert!(loaded.len() >= 6, "{rules}");
    for rule in loaded {
        assert_ne!(rule["health"], "err", "{rule}");
    }
}
