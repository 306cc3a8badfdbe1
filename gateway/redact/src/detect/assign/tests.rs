//! Unit tests of the assignment lexer: every dialect and line prefix finds exactly the value;
//! code, references and harmless settings find nothing.

use super::*;

/// The redacted value for the first sensitive name in `text`, if any.
fn found(text: &str) -> Option<&str> {
    let t = text.as_bytes();
    let mut i = 0;
    while i < t.len() {
        let (span, end) = assignment(t, i);
        if let Some((s, e)) = span {
            return Some(&text[s..e]);
        }
        i = end.max(i + 1);
    }
    None
}

#[test]
fn dotenv_and_config_dialects() {
    let cases = [
        ("DB_PASSWORD=hunter22!", "hunter22!"),
        ("export API_KEY='a1b2c3d4e5'", "a1b2c3d4e5"),
        ("  secret: Zq9xWv3rT #comment", "Zq9xWv3rT"),
        (
            "aws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYzzzKEY12",
            "wJalrXUtnFEMIK7MDENGbPxRfiCYzzzKEY12",
        ),
        (r#"{"password": "s3cr3t-Value"}"#, "s3cr3t-Value"),
        (
            "//registry.npmjs.org/:_authToken=0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
            "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        ),
        (
            "machine api.x.com login bob password Tr0ub4dor&3",
            "Tr0ub4dor&3",
        ),
        ("Server=db;User Id=sa;Password=Str0ngP4ss;", "Str0ngP4ss"),
        (
            "curl -H \"X-API-Key: 9a8b7c6d5e4f3a2b\" https://x",
            "9a8b7c6d5e4f3a2b",
        ),
        (
            "env:\n  - name: DB_PASSWORD\n    value: \"k8sPass-42x\"",
            "k8sPass-42x",
        ),
        ("<password>xmlPass99!</password>", "xmlPass99!"),
        ("run --token=abc123XYZ789 now", "abc123XYZ789"),
        ("const apiKey = \"q1w2e3r4t5y6\";", "q1w2e3r4t5y6"),
        ("A=1\\nSECRET=nested-9x8y7z\\nB=2", "nested-9x8y7z"),
        ("$password = 'phpPass123';", "phpPass123"),
        ("'password' => 'arrPass123',", "arrPass123"),
        (r#"{\"DB_PASSWORD\": \"escPass-123\"}"#, "escPass-123"),
        (r#"A=1\nexport TOKEN=\"escTok-98765\"\nB=2"#, "escTok-98765"),
        ("     12→DB_PASSWORD=arrowPass-1", "arrowPass-1"),
        ("DB_PASSWORD=s3cr3t", "s3cr3t"),
        ("DB_PASSWORD='*Xk9mQ2z'", "*Xk9mQ2z"),
        ("API_KEY=\"ab%=cd12\"", "ab%=cd12"),
        (
            "DB_PASS=/IC9Cq4DYSPj4N4QCCe3c8DFV8sMnR13=",
            "/IC9Cq4DYSPj4N4QCCe3c8DFV8sMnR13=",
        ),
        ("    12\tDB_PASSWORD=tabPass-22", "tabPass-22"),
        (r"A=1\n    12\tDB_PASSWORD=escTab-333\nB=2", "escTab-333"),
        (r"A=1\\n    12\\tDB_PASSWORD=deepTab-44\\nB=2", "deepTab-44"),
        ("12:export API_KEY=colonKey-55", "colonKey-55"),
        ("+SECRET_KEY=diffKey-666", "diffKey-666"),
        ("> > token: quoted7Tok", "quoted7Tok"),
        (
            "    environment:\n      - DB_PASSWORD=composePw-8",
            "composePw-8",
        ),
        (
            "  3→- name: DB_PASSWORD\n  4→  value: numberedK8s-9",
            "numberedK8s-9",
        ),
        (
            "machine h\n  2→  login bob\n  3→  password netrcPw-10",
            "netrcPw-10",
        ),
        (
            r#"{\\\"DB_PASSWORD\\\": \\\"deepJson-11\\\"}"#,
            "deepJson-11",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(found(text), Some(want), "{text}");
    }
}

#[test]
fn code_references_and_harmless_values_are_kept() {
    for text in [
        "PORT=3000",
        "NODE_ENV=production",
        "let token = config.token;",
        "I think password: hunter22 is what he typed", // mid-line prose
        "API_KEY=${OPENAI_API_KEY}",
        "api_key = OPENAI_API_KEY",
        "max_tokens = 4096",
        "\"key\": \"ctrl+shift+down\"",
        "if password == \"hunter22x\" {",
        "token => token.value",
        "SECRET_KEY=your-secret-key-here",
        "fn token(&self) -> Token {",
        "credentials?.awsSecretAccessKey",
        "STRIPE_PUBLISHABLE_KEY=pk_live_abcdef0123456789",
        "password: \"\"",
        "the password is long",
        "<task-notification><task-id>abc</task-id><status>completed</status></task-notification>",
        "    12\tport = 3000",
        "     7→let token = config.token;",
        "  7\\tlet token = config.token;",
        "12:    password: String,",
        "+    self.secret = secret;",
        "> I think password: hunter22 is what he typed",
        "DB_PASSWORD='${DB_PASS}'",
        "COOKIE_SECRET=\"*.acme.io\"",
        "API_KEY=\"%API_KEY%\"",
        "SECRET_DIR=/var/lib/app/secrets",
    ] {
        assert_eq!(found(text), None, "{text}");
    }
}

#[test]
fn base64_user_pass_is_judged_decoded() {
    // base64("user:password") and base64("deploy:${NPM_PASS}"): documentation placeholders.
    assert_eq!(found("_auth=dXNlcjpwYXNzd29yZA=="), None);
    assert_eq!(found("      \"auth\": \"ZGVwbG95OiR7TlBNX1BBU1N9\","), None);
    // base64("robot:Xk9v2mPq7Lw"): a real credential.
    let real = "cm9ib3Q6WGs5djJtUHE3THc=";
    assert_eq!(found(&format!("_auth={real}")), Some(real));
    assert_eq!(found(&format!("      \"auth\": \"{real}\",")), Some(real));
}
