use std::path::PathBuf;

use crate::{Config, MapEnvironment, TargetKind, VertexAuth};

fn env() -> MapEnvironment {
    MapEnvironment::from_pairs([
        ("ANTHROPIC_API_KEY", "sk-a"),
        ("VERTEX_TOKEN", "ya29.test-token"),
    ])
}

/// A service-account key file in a scratch directory; `contents` as given.
fn key_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gateway-config-vertex-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

const PEM: &str = "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n";

fn config(fallbacks: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:8080\"\n[admin]\nlisten = \"127.0.0.1:9090\"\n[upstreams.anthropic]\nbase_url = \"https://api.anthropic.com\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n{fallbacks}"
    )
}

#[test]
fn a_vertex_fallback_takes_a_service_account_file_or_a_token_and_a_model_map() {
    let sa = key_file(
        "sa.json",
        &format!(
            r#"{{"type":"service_account","client_email":"gw@p.iam.gserviceaccount.com","private_key":"{PEM}","token_uri":"https://oauth2.googleapis.com/token"}}"#
        ),
    );
    let text = config(&format!(
        r#"
[[upstreams.anthropic.fallbacks]]
name = "vertex-us"
kind = "vertex"
project = "my-project"
region = "us-east5"
credentials_file = "{}"
models = {{ "claude-sonnet-4-6" = "claude-sonnet-4-6@20250929" }}
[[upstreams.anthropic.fallbacks]]
name = "vertex-global"
kind = "vertex"
project = "my-project"
region = "global"
access_token_env = "VERTEX_TOKEN"
"#,
        sa.display()
    ));
    let c = Config::parse(&text, &env()).unwrap();
    let u = c.upstreams.anthropic.unwrap();
    let TargetKind::Vertex(v) = &u.fallbacks[0].kind else {
        panic!("not vertex")
    };
    assert_eq!(
        u.fallbacks[0].base_url.as_str(),
        "https://us-east5-aiplatform.googleapis.com/"
    );
    assert_eq!(
        (v.project.as_str(), v.region.as_str()),
        ("my-project", "us-east5")
    );
    assert_eq!(v.models["claude-sonnet-4-6"], "claude-sonnet-4-6@20250929");
    let VertexAuth::ServiceAccount(account) = &v.auth else {
        panic!("not a service account")
    };
    assert_eq!(account.client_email, "gw@p.iam.gserviceaccount.com");
    assert_eq!(
        account.token_uri.as_str(),
        "https://oauth2.googleapis.com/token"
    );
    let shown = format!("{account:?}");
    assert!(
        !shown.contains("MIIE"),
        "the key is never printable: {shown}"
    );
    assert_eq!(u.fallbacks[0].keys[0].id, "credentials_file");

    assert_eq!(
        u.fallbacks[1].base_url.as_str(),
        "https://aiplatform.googleapis.com/"
    );
    let TargetKind::Vertex(v) = &u.fallbacks[1].kind else {
        panic!("not vertex")
    };
    assert!(matches!(v.auth, VertexAuth::AccessToken));
    assert_eq!(u.fallbacks[1].keys[0].id, "VERTEX_TOKEN");
    assert_eq!(u.fallbacks[1].keys[0].secret.expose(), "ya29.test-token");
}

#[test]
fn vertex_problems_name_their_key_path_and_never_quote_the_key() {
    let no_key = key_file(
        "no-key.json",
        r#"{"client_email":"gw@p.iam.gserviceaccount.com","private_key":"not a pem SECRETBYTES","token_uri":"https://oauth2.googleapis.com/token"}"#,
    );
    let partial = key_file("partial.json", r#"{"private_key":"x"}"#);
    let text = config(&format!(
        r#"
[[upstreams.anthropic.fallbacks]]
name = "a"
kind = "vertex"
region = "US East"
credentials_file = "{}"
models = {{ "claude-sonnet-4-6" = "bad/id" }}
[[upstreams.anthropic.fallbacks]]
name = "b"
kind = "vertex"
project = "p"
region = "us-east5"
credentials_file = "{}"
[[upstreams.anthropic.fallbacks]]
name = "c"
kind = "vertex"
project = "p"
region = "us-east5"
access_token_env = "UNSET_TOKEN"
api_key_env = "ANTHROPIC_API_KEY"
[[upstreams.anthropic.fallbacks]]
name = "d"
kind = "vertex"
project = "p"
region = "us-east5"
[[upstreams.anthropic.fallbacks]]
name = "e"
kind = "vertex"
project = "p"
region = "us-east5"
access_token_env = "VERTEX_TOKEN"
typo = 1
"#,
        no_key.display(),
        partial.display()
    ));
    let errors = Config::parse(&text, &env()).unwrap_err();
    crate::tests::assert_reported(
        &errors,
        &[
            "upstreams.anthropic.fallbacks[0].project",
            "upstreams.anthropic.fallbacks[0].region",
            "upstreams.anthropic.fallbacks[0].credentials_file",
            "upstreams.anthropic.fallbacks[0].models.claude-sonnet-4-6",
            "upstreams.anthropic.fallbacks[1].credentials_file",
            "upstreams.anthropic.fallbacks[2].api_key_env",
            "upstreams.anthropic.fallbacks[2].access_token_env",
            "upstreams.anthropic.fallbacks[3]",
            "upstreams.anthropic.fallbacks[4]",
        ],
    );
    let shown = errors.to_string();
    assert!(!shown.contains("SECRETBYTES"), "{shown}");
    assert!(shown.contains("has no `client_email`"), "{shown}");
    assert!(shown.contains("typo"), "{shown}");
}

#[test]
fn vertex_settings_on_other_kinds_are_problems() {
    let text = config(
        r#"
[[upstreams.anthropic.fallbacks]]
name = "second"
kind = "anthropic"
base_url = "https://x.example"
api_key_env = "ANTHROPIC_API_KEY"
project = "p"
"#,
    );
    let errors = Config::parse(&text, &env()).unwrap_err();
    crate::tests::assert_reported(&errors, &["upstreams.anthropic.fallbacks[0].project"]);
}
