//! Who may do what. A token is a random secret given to one person or gateway with one role;
//! only its SHA-256 is stored. Clients send it as `Authorization: Bearer <token>` or as the
//! password of HTTP Basic (what SensorThings clients such as FROST's send; the user name is
//! ignored).

use crate::error::ApiError;
use axum::http::{header, HeaderMap, StatusCode};
use base64::Engine;
use binjiang_scene::Agency;
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including the audit trail.
    Admin,
    /// Act on incidents (of every agency, or of one) and read the district.
    Operator,
    /// Read only: wall displays, dashboards.
    Display,
    /// Ingest only: sensor gateways, hotline and camera systems, GPS trackers.
    Gateway,
}

impl Role {
    /// The word used on the command line and in the database.
    pub fn key(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Display => "display",
            Role::Gateway => "gateway",
        }
    }

    /// Parses [`Role::key`].
    pub fn parse(text: &str) -> Option<Self> {
        [Role::Admin, Role::Operator, Role::Display, Role::Gateway]
            .into_iter()
            .find(|r| r.key() == text)
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Caller {
    /// The token's name (a person or a gateway).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// For an operator of one agency, that agency.
    pub agency: Option<Agency>,
}

/// What an endpoint needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Reading the district (units, incidents, KPIs, SensorThings entities).
    Read,
    /// Sending observations, reports and fixes.
    Ingest,
    /// Acting on incidents.
    Act,
    /// Reading the audit trail.
    Audit,
}

impl Caller {
    /// 403 unless the role allows `need`.
    pub fn require(&self, need: Need) -> Result<(), ApiError> {
        let ok = matches!(
            (self.role, need),
            (Role::Admin, _)
                | (Role::Operator, Need::Read | Need::Act | Need::Ingest)
                | (Role::Display, Need::Read)
                | (Role::Gateway, Need::Ingest | Need::Read)
        );
        if ok {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "role \"{}\" may not {}",
                    self.role.key(),
                    match need {
                        Need::Read => "read the district",
                        Need::Ingest => "send observations, reports or positions",
                        Need::Act => "act on incidents",
                        Need::Audit => "read the audit trail",
                    }
                ),
            ))
        }
    }
}

/// SHA-256 of a token, hex.
pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates a token with `role` (and `agency`, for an operator of one agency) named `name`,
/// stores its hash, and returns the token: the only time it is ever seen.
pub fn add_token(
    conn: &Connection,
    role: Role,
    agency: Option<Agency>,
    name: &str,
) -> rusqlite::Result<String> {
    let mut secret = [0u8; 24];
    rand::rng().fill_bytes(&mut secret);
    let token = format!(
        "bj_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    conn.execute(
        "INSERT INTO tokens (hash, role, agency, name, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            hash(&token),
            role.key(),
            agency.map(|a| a.key()),
            name,
            chrono::Utc::now().timestamp_millis()
        ],
    )?;
    Ok(token)
}

/// The meta key bumped whenever a token is revoked: a running service polls it and forgets
/// the tokens it has cached, so a revoked token is refused within [`TOKENS_POLL`].
pub const TOKENS_VERSION: &str = "tokens_version";

/// How often a running service checks whether tokens were revoked.
pub const TOKENS_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// One token as `binjiang token list` shows it (never the secret: only its hash is kept).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    /// Who it was given to.
    pub name: String,
    /// Its role.
    pub role: String,
    /// For an operator of one agency, that agency.
    pub agency: Option<String>,
    /// When it was created, ISO 8601.
    pub created: String,
    /// When it was revoked, ISO 8601.
    pub revoked: Option<String>,
    /// The first 8 hex digits of its hash, to tell two tokens of one name apart.
    pub hash_prefix: String,
}

fn iso(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Every token, oldest first.
pub fn list_tokens(conn: &Connection) -> rusqlite::Result<Vec<TokenInfo>> {
    let mut stmt = conn.prepare(
        "SELECT name, role, agency, created_ms, revoked_ms, hash FROM tokens ORDER BY created_ms, name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(TokenInfo {
            name: r.get(0)?,
            role: r.get(1)?,
            agency: r.get(2)?,
            created: iso(r.get(3)?),
            revoked: r.get::<_, Option<i64>>(4)?.map(iso),
            hash_prefix: r.get::<_, String>(5)?.chars().take(8).collect(),
        })
    })?;
    rows.collect()
}

/// Revokes every live token named `name`; returns how many. A running service refuses them
/// within [`TOKENS_POLL`].
pub fn revoke_tokens(conn: &mut Connection, name: &str) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let n = tx.execute(
        "UPDATE tokens SET revoked_ms = ?2 WHERE name = ?1 AND revoked_ms IS NULL",
        params![name, chrono::Utc::now().timestamp_millis()],
    )?;
    if n > 0 {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, '1')
             ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            [TOKENS_VERSION],
        )?;
    }
    tx.commit()?;
    Ok(n)
}

/// Looks a live (not revoked) token up by its hash.
pub fn find_token(conn: &Connection, token: &str) -> rusqlite::Result<Option<Caller>> {
    conn.query_row(
        "SELECT name, role, agency FROM tokens WHERE hash = ?1 AND revoked_ms IS NULL",
        [hash(token)],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        },
    )
    .optional()
    .map(|found| {
        found.and_then(|(name, role, agency)| {
            Some(Caller {
                name,
                role: Role::parse(&role)?,
                agency: agency.as_deref().and_then(Agency::parse),
            })
        })
    })
}

/// The token a request carries (Bearer, or Basic's password), or a 401 saying what is wrong.
pub fn token_of(headers: &HeaderMap) -> Result<String, ApiError> {
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, m).at("Authorization");
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("no Authorization header: send \"Bearer <token>\" or HTTP Basic with the token as password"))?
        .to_str()
        .map_err(|_| unauthorized("the Authorization header is not text"))?;
    if let Some(t) = value.strip_prefix("Bearer ") {
        return Ok(t.trim().to_owned());
    }
    if let Some(b) = value.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .map_err(|_| unauthorized("HTTP Basic credentials are not base64"))?;
        let text = String::from_utf8(decoded)
            .map_err(|_| unauthorized("HTTP Basic credentials are not UTF-8"))?;
        let (_, password) = text
            .split_once(':')
            .ok_or_else(|| unauthorized("HTTP Basic credentials have no password"))?;
        return Ok(password.to_owned());
    }
    Err(unauthorized(
        "the Authorization scheme must be Bearer or Basic",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_and_found() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("t.db")).unwrap();
        let t = add_token(&conn, Role::Operator, Some(Agency::Cleaning), "li").unwrap();
        let stored: String = conn
            .query_row("SELECT hash FROM tokens", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, t);
        assert_eq!(
            find_token(&conn, &t).unwrap(),
            Some(Caller {
                name: "li".into(),
                role: Role::Operator,
                agency: Some(Agency::Cleaning)
            })
        );
        assert_eq!(find_token(&conn, "bj_wrong").unwrap(), None);
    }

    #[test]
    fn a_revoked_token_is_listed_as_revoked_and_no_longer_found() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("t.db")).unwrap();
        let t = add_token(&conn, Role::Gateway, None, "gw-1").unwrap();
        add_token(&conn, Role::Display, None, "wall").unwrap();
        assert_eq!(revoke_tokens(&mut conn, "gw-1").unwrap(), 1);
        assert_eq!(
            revoke_tokens(&mut conn, "gw-1").unwrap(),
            0,
            "already revoked"
        );
        assert_eq!(find_token(&conn, &t).unwrap(), None);
        let listed = list_tokens(&conn).unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed
            .iter()
            .any(|i| i.name == "gw-1" && i.revoked.is_some()));
        assert!(listed
            .iter()
            .all(|i| !i.hash_prefix.is_empty() && !t.contains(&i.hash_prefix)));
        assert_eq!(
            crate::store::meta(&conn, TOKENS_VERSION)
                .unwrap()
                .as_deref(),
            Some("1")
        );
    }

    #[test]
    fn basic_and_bearer() {
        let mut h = HeaderMap::new();
        assert_eq!(token_of(&h).unwrap_err().status, StatusCode::UNAUTHORIZED);
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(token_of(&h).unwrap(), "abc");
        let basic = base64::engine::general_purpose::STANDARD.encode("gw:s3cret");
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {basic}").parse().unwrap(),
        );
        assert_eq!(token_of(&h).unwrap(), "s3cret");
    }
}
