//! One-time sign-in links for the first operator account (`admin`), which `init` makes
//! without a password.
//!
//! A fresh node has to let its operator in without a password and without a terminal to
//! type one into (`techhire run` under systemd, or the README's first command): `init` and
//! every `run` while `admin` has no password print a link holding a random secret. The
//! node keeps only the secret's SHA-256 (the secret has 256 bits of entropy, so a fast
//! hash is enough, as for API tokens) with its expiry. Redeeming a link
//! (`POST /api/v1/auth/first-sign-in`) spends every link at once, and works only while the
//! account still has no password: the visitor then holds a short session in which to set
//! one, and a link copied from a log afterwards is worthless.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{stage_token, Account, AuthError, Role, Token};
use crate::model::Record;
use crate::store::{Store, StoreError, Table, WriteTx};

/// The account `init` makes.
pub const FIRST_ACCOUNT: &str = "admin";
/// How long a printed link works: long enough to open a browser, short enough that one
/// found in an old log has lapsed.
pub const LINK_MINUTES: i64 = 60;
/// How long the session a link gives lasts: time to set the password, not a working day.
pub const SESSION_MINUTES: i64 = 60;
/// Links kept at once (each start adds one); the oldest are dropped beyond this.
const MAX_LINKS: usize = 8;
/// The meta key holding the live links' hashes.
const META_KEY: &str = "first_sign_in";
/// Marks a link's secret, so it is not mistaken for an API token (`th_`).
const PREFIX: &str = "first_";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Links {
    links: Vec<Link>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Link {
    /// Hex SHA-256 of the secret.
    hash: String,
    account_id: u64,
    expires_at: DateTime<Utc>,
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The first operator account, if it exists and still has no password.
fn passwordless_admin(tx: &WriteTx<'_>) -> Result<Option<u64>, StoreError> {
    let Some(id) = tx.lookup(Table::AccountByName, FIRST_ACCOUNT.as_bytes())? else {
        return Ok(None);
    };
    Ok(tx
        .get::<Record<Account>>(Table::Account, id)?
        .filter(|a| a.data.role == Role::Operator && a.data.password_hash.is_none())
        .map(|a| a.id))
}

/// Stages a new link for `admin` and returns its secret, or `None` when `admin` has a
/// password already (or is gone): then there is nothing to sign in to without one.
pub fn stage_link(tx: &mut WriteTx<'_>, now: DateTime<Utc>) -> Result<Option<String>, AuthError> {
    let Some(account_id) = passwordless_admin(tx)? else {
        return Ok(None);
    };
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{PREFIX}{}", hex::encode(bytes));
    let mut links = tx.get_meta::<Links>(META_KEY)?.unwrap_or_default();
    links.links.retain(|l| l.expires_at > now);
    links.links.push(Link {
        hash: hash(&secret),
        account_id,
        expires_at: now + Duration::minutes(LINK_MINUTES),
    });
    let excess = links.links.len().saturating_sub(MAX_LINKS);
    links.links.drain(..excess);
    tx.put_meta(META_KEY, &links)?;
    Ok(Some(secret))
}

/// Makes a link (see [`stage_link`]) and waits until it is on disk.
pub async fn create_link(store: &Store) -> Result<Option<String>, AuthError> {
    let now = Utc::now();
    store.commit(|tx| stage_link(tx, now)).await
}

/// What redeeming a link gave: a session for the account.
#[derive(Debug)]
pub struct Redeemed {
    pub account_id: u64,
    pub username: String,
    pub token_id: u64,
    /// The session token (shown once, stored as a hash like every token).
    pub token: String,
}

/// Spends `secret`: if it matches a live link and its account still has no password,
/// every link is removed and a session of [`SESSION_MINUTES`] is staged for the account.
/// `None` (and nothing written) for an unknown, expired or spent link.
pub fn stage_redeem(
    tx: &mut WriteTx<'_>,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<Redeemed>, AuthError> {
    let Some(links) = tx.get_meta::<Links>(META_KEY)? else {
        return Ok(None);
    };
    let sent = hash(secret.trim());
    // Every stored hash is compared, in constant time, whichever matches.
    let mut found = None;
    for link in &links.links {
        if bool::from(link.hash.as_bytes().ct_eq(sent.as_bytes())) && link.expires_at > now {
            found = Some(link.account_id);
        }
    }
    let Some(account_id) = found else {
        return Ok(None);
    };
    let Some(account) = tx.get::<Record<Account>>(Table::Account, account_id)? else {
        return Ok(None);
    };
    if account.data.password_hash.is_some() {
        return Ok(None);
    }
    // One use: the visitor now has a session in which to set the password.
    tx.put_meta(META_KEY, &Links::default())?;
    let token = Token {
        role: account.data.role,
        employer_id: account.data.employer_id,
        label: format!("first sign-in of {}", account.data.username),
        account_id: Some(account_id),
        expires_at: Some(now + Duration::minutes(SESSION_MINUTES)),
        revoked_at: None,
    };
    let (token_id, token) = stage_token(tx, token, now)?;
    Ok(Some(Redeemed {
        account_id,
        username: account.data.username,
        token_id,
        token,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::auth::stage_account;

    async fn store_with_admin() -> (tempfile::TempDir, Store, u64) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), &Default::default()).unwrap();
        let admin = Account {
            username: FIRST_ACCOUNT.into(),
            role: Role::Operator,
            employer_id: None,
            password_hash: None,
        };
        let id = store
            .commit(|tx| stage_account(tx, admin, Utc::now()))
            .await
            .unwrap();
        (dir, store, id)
    }

    #[tokio::test]
    async fn a_link_works_once_and_spends_every_other_link() {
        let (_dir, store, admin) = store_with_admin().await;
        let first = create_link(&store).await.unwrap().unwrap();
        let second = create_link(&store).await.unwrap().unwrap();
        assert!(first.starts_with(PREFIX) && first != second);
        let now = Utc::now();
        let redeemed = store
            .commit(|tx| stage_redeem(tx, &second, now))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(redeemed.account_id, admin);
        assert_eq!(redeemed.username, FIRST_ACCOUNT);
        let caller = crate::auth::authenticate(&store, &redeemed.token)
            .unwrap()
            .unwrap();
        assert_eq!(caller.role, Role::Operator);
        assert_eq!(caller.account_id, Some(admin));
        for spent in [&second, &first] {
            let again = store.commit(|tx| stage_redeem(tx, spent, now)).await;
            assert!(again.unwrap().is_none(), "a spent link still worked");
        }
    }

    #[tokio::test]
    async fn expired_wrong_and_after_password_links_do_not_work() {
        let (_dir, store, admin) = store_with_admin().await;
        let secret = create_link(&store).await.unwrap().unwrap();
        let later = Utc::now() + Duration::minutes(LINK_MINUTES + 1);
        let expired = store.commit(|tx| stage_redeem(tx, &secret, later)).await;
        assert!(expired.unwrap().is_none(), "an expired link worked");
        let wrong = format!("{PREFIX}{}", "0".repeat(64));
        let now = Utc::now();
        let wrong = store.commit(|tx| stage_redeem(tx, &wrong, now)).await;
        assert!(wrong.unwrap().is_none(), "an unknown link worked");

        let mut account = store
            .get::<Record<Account>>(Table::Account, admin)
            .unwrap()
            .unwrap();
        account.data.password_hash = Some("set".into());
        store
            .commit(|tx| tx.put(Table::Account, admin, &account))
            .await
            .unwrap();
        let after = store.commit(|tx| stage_redeem(tx, &secret, now)).await;
        assert!(after.unwrap().is_none(), "a link worked after a password");
        assert!(
            create_link(&store).await.unwrap().is_none(),
            "no link is made for an account with a password"
        );
    }

    #[tokio::test]
    async fn links_beyond_the_cap_drop_the_oldest() {
        let (_dir, store, _) = store_with_admin().await;
        let oldest = create_link(&store).await.unwrap().unwrap();
        for _ in 0..MAX_LINKS {
            create_link(&store).await.unwrap().unwrap();
        }
        let now = Utc::now();
        let r = store.commit(|tx| stage_redeem(tx, &oldest, now)).await;
        assert!(r.unwrap().is_none(), "the oldest link outlived the cap");
    }
}
