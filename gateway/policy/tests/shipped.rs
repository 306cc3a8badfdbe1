//! The example files shipped in `policies/` load, and say what their comments say.

use std::path::{Path, PathBuf};

use gateway_policy::{OnStoreError, PolicySet, Scope, Who, report, summary};

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

#[expect(
    clippy::panic,
    reason = "test helper: the report is the failure message"
)]
fn load() -> PolicySet {
    match PolicySet::load_dir(&shipped()) {
        Ok(set) => set,
        Err(e) => panic!("{}", report(&e)),
    }
}

fn who<'a>(subject: &'a str, org: Option<&'a str>, plan: Option<&'a str>) -> Who<'a> {
    Who { subject, org, plan }
}

#[test]
fn the_shipped_policies_directory_loads() {
    let set = load();
    let names: Vec<&str> = set.policies().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["acme", "free", "pro", "batch", "default"]);
    assert!(summary(&set).starts_with("5 policies are valid"));
}

#[test]
fn the_shipped_examples_behave_as_their_comments_say() {
    let set = load();
    let pick = |w: Who<'_>| set.select(&w).map(|p| p.name.clone());
    assert_eq!(pick(who("a", None, Some("free"))).as_deref(), Some("free"));
    assert_eq!(
        pick(who("a", Some("acme"), Some("pro"))).as_deref(),
        Some("acme")
    );
    assert_eq!(
        pick(who("a", Some("other"), Some("pro"))).as_deref(),
        Some("pro")
    );
    assert_eq!(
        pick(who("svc-batch-7", None, None)).as_deref(),
        Some("batch")
    );
    assert_eq!(pick(who("a", None, None)).as_deref(), Some("default"));

    let free = set.get("free").expect("free");
    assert!(free.allows_model("claude-sonnet-4-5-20250929"));
    assert!(!free.allows_model("claude-opus-4-5"));
    assert_eq!(free.on_store_error, OnStoreError::Deny);

    let pro = set.get("pro").expect("pro");
    let w = who("a", Some("other"), Some("pro"));
    let scopes: Vec<Scope<'_>> = pro.buckets(&w).map(|(s, _)| s).collect();
    assert_eq!(scopes, [Scope::Subject("a"), Scope::Org("other")]);

    let acme = set.get("acme").expect("acme");
    assert_eq!(acme.on_store_error, OnStoreError::Deny);
    assert_eq!(
        set.get("batch").map(|p| p.on_store_error),
        Some(OnStoreError::AllowLocal)
    );
}

#[test]
fn a_directory_is_read_in_file_name_order_and_skips_other_files() {
    let dir = std::env::temp_dir().join(format!("gateway-policy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
    write(
        "b.toml",
        "[[policy]]\nname = \"b\"\nmatch = { plan = \"p*\" }\n",
    );
    write(
        "a.toml",
        "[[policy]]\nname = \"a\"\nmatch = { plan = \"*o\" }\n",
    );
    write(".#a.toml", "not toml at all [");
    write("notes.txt", "not toml at all [");
    let set = PolicySet::load_dir(&dir);
    write("c.toml", "[[policy]]\nname = \"a\"\n");
    let dup = PolicySet::load_dir(&dir);
    std::fs::remove_dir_all(&dir).expect("cleanup");

    let set = set.expect("valid");
    let w = who("u", None, Some("pro"));
    assert_eq!(set.select(&w).map(|p| p.name.as_str()), Some("a"));
    let problems = dup.expect_err("duplicate name").0;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].file.ends_with("c.toml"));
    assert_eq!(problems[0].line, Some(1));
    assert_eq!(problems[0].key, "policy[0].name");
}

#[test]
fn a_missing_directory_is_one_problem() {
    let e = PolicySet::load_dir(Path::new("/nonexistent/policies")).expect_err("missing");
    assert_eq!(e.0.len(), 1);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/policies: cannot read"),
        "{e}"
    );
}
