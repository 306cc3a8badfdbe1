//! The crate tiers of ARCHITECTURE.md, enforced: reads the workspace's dependency graph from
//! `cargo metadata` and fails on any edge the tiers forbid.
//!
//! - vocabulary (`core`, `config`, `metrics`): depend on nothing of ours but `core`;
//! - engines (`meter`, `policy`, `quota`, `redact`, `transcript`, `upstream`, `resilience`,
//!   `auth`, `server`, `runtime-state`) and engine extensions (`transcript-s3` extends `transcript`): vocabulary only
//!   (an extension also its engine);
//! - stages (`metering`, `redaction`, `capture`, `intake`, `admin`): vocabulary and engines,
//!   never another stage;
//! - `app`, the composition root: anything but the binary; the binary: the app, vocabulary
//!   and engines (its CLIs), never a stage directly;
//! - `testkit` is for tests only: never a normal dependency.

#![expect(
    clippy::expect_used,
    reason = "a test: a broken `cargo metadata` fails it loudly"
)]

use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tier {
    Vocabulary,
    Engine,
    Stage,
    App,
    Bin,
    TestSupport,
}

fn tier(name: &str) -> Option<Tier> {
    Some(match name {
        "gateway-core" | "gateway-config" | "gateway-metrics" => Tier::Vocabulary,
        "gateway-meter"
        | "gateway-policy"
        | "gateway-quota"
        | "gateway-redact"
        | "gateway-transcript"
        | "gateway-transcript-s3"
        | "gateway-upstream"
        | "gateway-resilience"
        | "gateway-auth"
        | "gateway-server"
        | "gateway-runtime-state" => Tier::Engine,
        "gateway-metering" | "gateway-redaction" | "gateway-capture" | "gateway-intake"
        | "gateway-admin" => Tier::Stage,
        "gateway-app" => Tier::App,
        "llm-gateway" => Tier::Bin,
        "gateway-testkit" => Tier::TestSupport,
        _ => return None,
    })
}

/// Engine extensions: the one engine each may build on.
const EXTENSIONS: &[(&str, &str)] = &[("gateway-transcript-s3", "gateway-transcript")];

/// Why `from → to` is forbidden, or `None` when the tiers allow it.
fn forbidden(from: &str, to: &str) -> Option<&'static str> {
    let (Some(f), Some(t)) = (tier(from), tier(to)) else {
        return None;
    };
    if t == Tier::TestSupport {
        return Some("testkit is a dev-dependency only");
    }
    match (f, t) {
        (Tier::Vocabulary, _) if to != "gateway-core" => {
            Some("vocabulary crates depend on core only")
        }
        (Tier::Engine, Tier::Vocabulary) => None,
        (Tier::Engine, Tier::Engine) if EXTENSIONS.contains(&(from, to)) => None,
        (Tier::Engine, _) => Some("engines depend only on vocabulary (core, config, metrics)"),
        (Tier::Stage, Tier::Vocabulary | Tier::Engine) => None,
        (Tier::Stage, _) => Some("a stage uses engines and vocabulary, never another stage"),
        (Tier::App, Tier::Bin) => Some("the app never depends on the binary"),
        (Tier::Bin, Tier::Stage) => Some("the binary reaches stages only through the app"),
        _ => None,
    }
}

/// Normal (non-dev) dependencies of every workspace package: name → names.
fn graph() -> BTreeMap<String, Vec<String>> {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let mut graph = BTreeMap::new();
    for p in meta["packages"].as_array().expect("packages") {
        let deps = p["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect();
        graph.insert(p["name"].as_str().expect("name").to_owned(), deps);
    }
    graph
}

#[test]
fn every_workspace_crate_has_a_tier() {
    let graph = graph();
    let untiered: Vec<_> = graph
        .keys()
        .filter(|n| n.starts_with("gateway-") && tier(n).is_none())
        .collect();
    assert!(
        untiered.is_empty(),
        "add these crates to a tier here and in ARCHITECTURE.md: {untiered:?}"
    );
    assert!(graph.contains_key("llm-gateway") && graph.contains_key("gateway-redaction"));
}

#[test]
fn no_dependency_crosses_the_tiers() {
    let mut violations = Vec::new();
    for (from, deps) in graph() {
        for to in deps {
            if let Some(why) = forbidden(&from, &to) {
                violations.push(format!("{from} → {to}: {why}"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "forbidden edges:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_rules_refuse_what_they_should() {
    assert!(forbidden("gateway-metering", "gateway-redaction").is_some());
    assert!(forbidden("gateway-meter", "gateway-quota").is_some());
    assert!(forbidden("gateway-meter", "gateway-metering").is_some());
    assert!(forbidden("gateway-core", "gateway-config").is_some());
    assert!(forbidden("llm-gateway", "gateway-capture").is_some());
    assert!(forbidden("gateway-app", "gateway-testkit").is_some());
    assert!(forbidden("gateway-transcript-s3", "gateway-transcript").is_none());
    assert!(forbidden("gateway-redaction", "gateway-redact").is_none());
    assert!(forbidden("gateway-app", "gateway-redaction").is_none());
}
