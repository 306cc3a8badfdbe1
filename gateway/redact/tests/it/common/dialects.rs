//! Generated shapes for the recall tables: every `.env` dialect an agent reads (the
//! assignment lines of [`super::env_line`], compose `environment:` lists and maps, `export`,
//! quoted values with shell metacharacters, short values) and the structured credential
//! files (kubeconfig, `.pypirc`, `.npmrc`, `.netrc`, `.git-credentials`, Maven, Docker,
//! `~/.aws/credentials`). Each is a [`Fake`]: a family, the text and the value that must go.

use super::{B64, BASE62, Fake, HEX, Rng, SENSITIVE_NAMES, UPPER_B32, b64std, env_line, env_value};

/// Family names of the dialects of [`super::env_line`], by dialect number.
const LINE_DIALECTS: [&str; 14] = [
    "dotenv",
    "export-double-quoted",
    "single-quoted",
    "yaml-map",
    "json-key",
    "ini",
    "k8s-env",
    "quoted-assignment",
    "commented",
    "yaml-quoted",
    "xml-element",
    "code-const",
    "go-walrus",
    "powershell",
];

/// Names a short value is most often kept under.
const PASSWORD_NAMES: &[&str] = &[
    "DB_PASSWORD",
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "MYSQL_PWD",
    "ADMIN_PASS",
    "SECRET",
    "JWT_SECRET",
    "API_TOKEN",
];

/// Characters that mean something to a shell or to printf, inside quoted values.
const METACHARS: &[&str] = &[
    "*", "?", "!", "&", ";", "|", "^", "~", "#", "@", "%=", "%", "=", "+", "*!", "&&",
];

/// A value with shell metacharacters at the start, in the middle or at the end.
fn metachar_value(rng: &mut Rng) -> String {
    let n = 6 + rng.below(10);
    let core = rng.mixed(BASE62, n);
    let m = *rng.pick(METACHARS);
    let cut = 1 + rng.below(core.len() - 1);
    match rng.below(3) {
        0 => format!("{m}{core}"),
        1 => format!("{}{m}{}", &core[..cut], &core[cut..]),
        _ => format!("{core}{m}"),
    }
}

/// A short password: 6 or 7 characters of letters and digits (sometimes a symbol).
fn short_value(rng: &mut Rng) -> String {
    let n = 6 + rng.below(2);
    let mut v = rng.mixed(b"abcdefghijklmnopqrstuvwxyz0123456789", n);
    if rng.below(3) == 0 {
        let sym = *rng.pick(&["!", "#", "@", "$"]);
        v.replace_range(n - 1.., sym);
    }
    v
}

/// Number of assignment families [`env_shape`] cycles through.
pub(crate) const ENV_FAMILIES: usize = LINE_DIALECTS.len() + 8;

/// The `k`-th `.env`-family shape (families cycle with `k`).
pub(crate) fn env_shape(rng: &mut Rng, k: usize) -> Fake {
    let d = k % ENV_FAMILIES;
    if let Some(&family) = LINE_DIALECTS.get(d) {
        let (text, secret) = env_line(rng, d);
        return Fake {
            family,
            text,
            secret,
        };
    }
    let name = *rng.pick(SENSITIVE_NAMES);
    let upper = name.to_uppercase();
    let value = env_value(rng);
    let (family, text, secret) = match d - LINE_DIALECTS.len() {
        0 => ("export-unquoted", format!("export {name}={value}"), value),
        1 => (
            "compose-list",
            format!(
                "services:\n  api:\n    image: app:1.4\n    environment:\n      - NODE_ENV=production\n      - {upper}={value}\n      - PORT=3000"
            ),
            value,
        ),
        2 => (
            "compose-list-quoted",
            format!("    environment:\n      - \"{upper}={value}\"\n      - 'LOG_LEVEL=info'"),
            value,
        ),
        3 => (
            "compose-map",
            format!(
                "    environment:\n      NODE_ENV: production\n      {upper}: {value}\n      PORT: \"3000\""
            ),
            value,
        ),
        4 => (
            "compose-map-quoted",
            format!("    environment:\n      {upper}: \"{value}\"\n      REGION: eu-west-1"),
            value,
        ),
        5 => {
            let v = metachar_value(rng);
            let text = if rng.below(2) == 0 {
                format!("{upper}='{v}'")
            } else {
                format!("export {upper}=\"{v}\"")
            };
            ("quoted-metachar", text, v)
        }
        6 => {
            let v = short_value(rng);
            let n = *rng.pick(PASSWORD_NAMES);
            ("short-value", format!("{n}={v}"), v)
        }
        _ => {
            let n = 16 + rng.below(16);
            let v = rng.mixed(BASE62, n);
            (
                "dotenv-spaces",
                format!("{upper} = {v}   # rotated monthly"),
                v,
            )
        }
    };
    Fake {
        family,
        text,
        secret,
    }
}

/// A base64-encoded PEM private key, as kubeconfig's `client-key-data` holds it.
fn b64_pem(rng: &mut Rng, label: &str) -> String {
    let mut pem = format!("-----BEGIN {label}-----\n");
    for _ in 0..(4 + rng.below(6)) {
        pem += &rng.string(B64, 64);
        pem.push('\n');
    }
    pem += &format!("-----END {label}-----\n");
    b64std(pem.as_bytes())
}

fn password(rng: &mut Rng) -> String {
    let n = 10 + rng.below(14);
    let tail = *rng.pick(&["", "!", "#x", "-9", "%2"]);
    rng.mixed(BASE62, n) + tail
}

/// Every structured credential file shape, three values each.
pub(crate) fn credential_files(rng: &mut Rng) -> Vec<Fake> {
    let mut v = Vec::new();
    let mut add = |family, text, secret| {
        v.push(Fake {
            family,
            text,
            secret,
        })
    };
    for i in 0..3 {
        let label = ["RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"][i];
        let key = b64_pem(rng, label);
        let cert = b64std(
            format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                rng.string(B64, 64)
            )
            .as_bytes(),
        );
        add(
            "kubeconfig-client-key-data",
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://10.0.0.{i}:6443\n  name: prod\nusers:\n- name: admin\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n"
            ),
            key,
        );
        let token = match i {
            0 => format!(
                "{}.{}",
                rng.string(b"abcdefghijklmnopqrstuvwxyz0123456789", 6),
                rng.string(b"abcdefghijklmnopqrstuvwxyz0123456789", 16)
            ),
            1 => rng.mixed(BASE62, 40),
            _ => format!("sha256~{}", rng.mixed(super::B64URL, 43)),
        };
        add(
            "kubeconfig-token",
            format!(
                "users:\n- name: ci\n  user:\n    token: {token}\ncontexts:\n- context:\n    cluster: prod\n    user: ci\n  name: prod"
            ),
            token,
        );
        let pw = password(rng);
        add(
            "pypirc-password",
            format!(
                "[distutils]\nindex-servers =\n    pypi\n    internal\n\n[internal]\nrepository = https://pypi.internal.example/simple\nusername = deploy\npassword = {pw}\n"
            ),
            pw,
        );
        let tok = if i == 0 {
            format!("npm_{}", super::crc_body(rng))
        } else {
            rng.mixed(BASE62, 36)
        };
        add(
            "npmrc-authtoken",
            format!(
                "registry=https://registry.npmjs.org/\n@acme:registry=https://npm.pkg.github.com/\n//npm.pkg.github.com/:_authToken={tok}\nalways-auth=true\n"
            ),
            tok,
        );
        let auth = b64std(format!("deploy:{}", password(rng)).as_bytes());
        add(
            "npmrc-auth",
            format!(
                "registry=https://nexus.internal/repository/npm/\n_auth={auth}\nemail=ci@example.com\n"
            ),
            auth,
        );
        let pw = password(rng);
        let netrc = if i == 1 {
            format!("machine api.heroku.com\n  login me@example.com\n  password {pw}\n")
        } else {
            format!("machine github.com login octo password {pw}\n")
        };
        add("netrc-password", netrc, pw);
        let pw = if i == 2 {
            format!("ghp_{}", super::crc_body(rng))
        } else {
            password(rng)
        };
        add(
            "git-credentials",
            format!(
                "https://octo:{pw}@github.com\nhttps://ci:{}@gitlab.example.com\n",
                rng.mixed(BASE62, 20)
            ),
            pw,
        );
        let pw = password(rng);
        add(
            "maven-settings-password",
            format!(
                "<settings>\n  <servers>\n    <server>\n      <id>internal</id>\n      <username>deploy</username>\n      <password>{pw}</password>\n    </server>\n  </servers>\n</settings>"
            ),
            pw,
        );
        let auth = b64std(format!("robot:{}", password(rng)).as_bytes());
        add(
            "docker-config-auth",
            format!(
                "{{\n  \"auths\": {{\n    \"https://index.docker.io/v1/\": {{\n      \"auth\": \"{auth}\"\n    }}\n  }},\n  \"credsStore\": \"desktop\"\n}}"
            ),
            auth,
        );
        let secret = rng.string(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
            40,
        );
        let key_id = rng.string(UPPER_B32, 16);
        add(
            "aws-credentials",
            format!(
                "[default]\nregion = eu-west-1\n\n[prod]\naws_access_key_id = AKIA{key_id}\naws_secret_access_key = {secret}\n"
            ),
            secret,
        );
        let session = format!("IQoJb3JpZ2luX2Vj{}", rng.string(B64, 200 + 50 * i));
        let (key_id, other) = (rng.string(UPPER_B32, 16), rng.string(HEX, 40));
        add(
            "aws-session-token",
            format!(
                "[sso]\naws_access_key_id = ASIA{key_id}\naws_secret_access_key = {other}\naws_session_token = {session}\n"
            ),
            session,
        );
    }
    v
}
