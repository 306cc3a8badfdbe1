//! `[admin]` → [`Admin`]: the listener, the admin tokens with their roles, the audit log.

use crate::{Admin, AdminRole, AdminToken, raw, validate::Collector};

/// The audit log's default path, relative to the working directory.
const DEFAULT_AUDIT_PATH: &str = "admin-audit.jsonl";
/// The id `token_sha256` gets in the audit log.
pub(crate) const LEGACY_TOKEN_ID: &str = "admin";

pub(crate) fn admin(c: &mut Collector<'_>, a: raw::Admin) -> Option<Admin> {
    let mut tokens: Vec<AdminToken> = Vec::new();
    if let Some(h) = a.token_sha256.as_deref() {
        match digest(h) {
            Some(sha256) => tokens.push(AdminToken {
                id: LEGACY_TOKEN_ID.to_owned(),
                sha256,
                role: AdminRole::Editor,
            }),
            None => c.push(
                "admin.token_sha256",
                "must be 64 hex characters: the SHA-256 of the admin token, never the token itself",
            ),
        }
    }
    for (i, value) in a.tokens.into_iter().enumerate() {
        let path = format!("admin.tokens[{i}]");
        let Some(t) = c.section::<raw::AdminToken>(&path, value) else {
            continue;
        };
        let id_ok = !t.id.is_empty()
            && t.id.len() <= 64
            && t.id
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.@".contains(ch));
        if !id_ok {
            c.push(
                &format!("{path}.id"),
                "must be 1-64 characters of letters, digits, `-`, `_`, `.` or `@`",
            );
            continue;
        }
        let Some(sha256) = digest(&t.sha256) else {
            c.push(
                &format!("{path}.sha256"),
                "must be 64 hex characters: the SHA-256 of the token (`printf %s TOKEN | sha256sum`), never the token itself",
            );
            continue;
        };
        let role = match t.role.as_str() {
            "viewer" => AdminRole::Viewer,
            "editor" => AdminRole::Editor,
            other => {
                c.push(
                    &format!("{path}.role"),
                    format!("`{other}` is not one of: viewer, editor"),
                );
                continue;
            }
        };
        if tokens.iter().any(|k| k.id == t.id) {
            c.push(
                &format!("{path}.id"),
                format!("`{}` is used by another admin token", t.id),
            );
            continue;
        }
        if tokens.iter().any(|k| k.sha256 == sha256) {
            c.push(&format!("{path}.sha256"), "the same token is listed twice");
            continue;
        }
        tokens.push(AdminToken {
            id: t.id,
            sha256,
            role,
        });
    }
    let listen = c.addr("admin.listen", &a.listen)?;
    Some(Admin {
        listen,
        tokens,
        audit_path: a.audit_path.unwrap_or_else(|| DEFAULT_AUDIT_PATH.into()),
    })
}

fn digest(hex_text: &str) -> Option<[u8; 32]> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_text.trim(), &mut digest)
        .ok()
        .map(|()| digest)
}
