//! Who is calling: roles, API tokens and password accounts.
//!
//! Tokens are 32 random bytes shown once (`th_` + hex) and stored only as their SHA-256,
//! which is enough for a secret of that entropy and keeps the per-request check cheap.
//! Passwords are people-chosen, so they get argon2 (run off the async threads).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::model::{FieldError, Record};
use crate::store::{Store, StoreError, Table, WriteTx};

pub mod first_sign_in;

/// What a caller may do. `Public` callers have no token at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the community node: everything.
    Operator,
    /// Volunteer vetting: candidates' skills profiles and vetting, no contact data.
    Reviewer,
    /// One employer: its own openings.
    Employer,
    /// National staff: the federation's national view and status, read-only.
    National,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Operator,
        Role::Reviewer,
        Role::Employer,
        Role::National,
    ];
}

/// An authenticated caller, put in the request by the role check.
#[derive(Debug, Clone)]
pub struct Caller {
    pub role: Role,
    /// Set for (and only for) the employer role.
    pub employer_id: Option<u64>,
    pub token_id: u64,
    pub account_id: Option<u64>,
}

/// A stored API token (its secret is not stored, only its hash in the index).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Token {
    pub role: Role,
    #[serde(default)]
    pub employer_id: Option<u64>,
    pub label: String,
    #[serde(default)]
    pub account_id: Option<u64>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A person who signs in with a password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub username: String,
    pub role: Role,
    #[serde(default)]
    pub employer_id: Option<u64>,
    /// argon2 PHC string; `None` until a password is set.
    #[serde(default)]
    pub password_hash: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}: {}", .0.field, .0.reason)]
    Invalid(FieldError),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

impl From<FieldError> for AuthError {
    fn from(e: FieldError) -> AuthError {
        AuthError::Invalid(e)
    }
}

fn hash_token(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("th_{}", hex::encode(bytes))
}

/// Checks that the role and employer go together, and that the employer exists.
pub fn check_role_binding(
    tx: &WriteTx<'_>,
    role: Role,
    employer_id: Option<u64>,
) -> Result<(), AuthError> {
    match (role, employer_id) {
        (Role::Employer, None) => {
            Err(FieldError::new("employer_id", "is required for the employer role").into())
        }
        (Role::Employer, Some(id)) if !tx.exists(Table::Employer, id)? => {
            Err(FieldError::new("employer_id", format!("no employer with id {id}")).into())
        }
        (Role::Operator | Role::Reviewer | Role::National, Some(_)) => {
            Err(FieldError::new("employer_id", "is only allowed for the employer role").into())
        }
        _ => Ok(()),
    }
}

/// Stages a new token; returns its id and the secret, which is never stored.
pub fn stage_token(
    tx: &mut WriteTx<'_>,
    token: Token,
    now: DateTime<Utc>,
) -> Result<(u64, String), AuthError> {
    check_role_binding(tx, token.role, token.employer_id)?;
    crate::model::check_label("label", &token.label)?;
    let secret = new_secret();
    let id = tx.next_id(Table::Token)?;
    // Tokens point at their employer and account, so neither is deleted from under them.
    let refs: Vec<(Table, u64)> = token
        .employer_id
        .map(|e| (Table::Employer, e))
        .into_iter()
        .chain(token.account_id.map(|a| (Table::Account, a)))
        .collect();
    tx.set_refs(Table::Token, id, &refs)?;
    tx.put(
        Table::Token,
        id,
        &Record {
            id,
            created_at: now,
            updated_at: now,
            data: token,
        },
    )?;
    tx.index_put(Table::TokenByHash, &hash_token(&secret), id);
    Ok((id, secret))
}

/// Mints a token and waits until it is on disk.
pub async fn create_token(store: &Store, token: Token) -> Result<(u64, String), AuthError> {
    let now = Utc::now();
    store.commit(|tx| stage_token(tx, token, now)).await
}

/// Revokes a token; returns false if there is no such token.
pub async fn revoke_token(store: &Store, id: u64) -> Result<bool, AuthError> {
    let now = Utc::now();
    store
        .commit(|tx| {
            let Some(mut t) = tx.get::<Record<Token>>(Table::Token, id)? else {
                return Ok(false);
            };
            if t.data.revoked_at.is_none() {
                t.data.revoked_at = Some(now);
                t.updated_at = now;
                tx.put(Table::Token, id, &t)?;
            }
            // A revoked token no longer holds its employer or account in place.
            tx.set_refs(Table::Token, id, &[])?;
            Ok(true)
        })
        .await
}

/// Whether a token has expired (or is gone).
pub fn token_expired(tx: &WriteTx<'_>, id: u64, now: DateTime<Utc>) -> Result<bool, StoreError> {
    Ok(match tx.get::<Record<Token>>(Table::Token, id)? {
        Some(t) => t.data.expires_at.is_some_and(|e| e <= now),
        None => true,
    })
}

/// Resolves a bearer secret to a caller; `None` if unknown, revoked or expired.
pub fn authenticate(store: &Store, secret: &str) -> Result<Option<Caller>, StoreError> {
    let Some(id) = store.lookup(Table::TokenByHash, &hash_token(secret))? else {
        return Ok(None);
    };
    let Some(t) = store.get::<Record<Token>>(Table::Token, id)? else {
        return Ok(None);
    };
    let now = Utc::now();
    if t.data.revoked_at.is_some() || t.data.expires_at.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    Ok(Some(Caller {
        role: t.data.role,
        employer_id: t.data.employer_id,
        token_id: id,
        account_id: t.data.account_id,
    }))
}

/// Hashes a password with argon2id's defaults. Slow on purpose: call off the async threads.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// A hash of a random password, verified against when the username is unknown.
pub static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hash_password(&hex::encode(bytes)).unwrap_or_default()
});

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

pub fn check_password_strength(field: &str, password: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if n < 12 {
        return Err(FieldError::new(
            field,
            "must be at least 12 characters long",
        ));
    }
    if n > 256 {
        return Err(FieldError::new(
            field,
            "must be at most 256 characters long",
        ));
    }
    Ok(())
}

pub fn check_username(field: &str, username: &str) -> Result<(), FieldError> {
    let ok = (3..=64).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be 3 to 64 characters of letters, digits and . _ - @",
        ))
    }
}

/// Stages a new account (the password, if any, already hashed).
pub fn stage_account(
    tx: &mut WriteTx<'_>,
    account: Account,
    now: DateTime<Utc>,
) -> Result<u64, AuthError> {
    check_username("username", &account.username)?;
    check_role_binding(tx, account.role, account.employer_id)?;
    if tx
        .lookup(Table::AccountByName, account.username.as_bytes())?
        .is_some()
    {
        return Err(FieldError::new("username", "is already taken").into());
    }
    let id = tx.next_id(Table::Account)?;
    tx.index_put(Table::AccountByName, account.username.as_bytes(), id);
    // An employer account holds its employer in place, as its tokens do.
    let refs: Vec<(Table, u64)> = account
        .employer_id
        .map(|e| (Table::Employer, e))
        .into_iter()
        .collect();
    tx.set_refs(Table::Account, id, &refs)?;
    tx.put(
        Table::Account,
        id,
        &Record {
            id,
            created_at: now,
            updated_at: now,
            data: account,
        },
    )?;
    Ok(id)
}
