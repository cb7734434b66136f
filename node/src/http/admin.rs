//! Node-level routes: health, the community record, tokens, accounts and sign-in.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::extract::{split_paging, ApiJson, ApiPath, RawQuery};
use super::{page_json, AppState};
use crate::auth::{self, Account, Caller, Role, Token};
use crate::model::{CheckError, Community, Record};
use crate::store::Table;

/// How long a session token from `/auth/login` lasts.
pub(super) const SESSION_HOURS: i64 = 12;

pub(super) async fn healthz(State(state): State<AppState>) -> ApiResult<Response> {
    // A read through the store proves it still answers.
    let community = state.store.get_meta::<Community>("community")?;
    // Alive either way (liveness: do not restart a node that only needs disk space); the
    // status says whether it can still save writes.
    let failure = state.store.write_failure();
    Ok(Json(serde_json::json!({
        "status": if failure.is_some() { "degraded" } else { "ok" },
        "reason": failure.map(|f| format!("writes cannot be saved: {f}")),
        "version": state.info.version,
        "node_key": state.info.node_key,
        "community": community.map(|c| c.name),
    }))
    .into_response())
}

/// Operational figures in the Prometheus text format (`crate::telemetry`).
pub(super) async fn telemetry(State(state): State<AppState>) -> Response {
    let text = tokio::task::spawn_blocking(move || {
        state
            .telemetry
            .render(&state.store, state.federation.as_ref())
    })
    .await
    .unwrap_or_default();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Readiness: 200 while the node can serve reads and save writes, 503 (with why) once it
/// cannot, so that a load balancer or monitor stops sending it work.
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    let problem = match state.store.get_meta::<Community>("community") {
        Err(e) => Some(format!("the store cannot be read: {e}")),
        Ok(_) => state
            .store
            .write_failure()
            .map(|f| format!("writes cannot be saved: {f}")),
    };
    match problem {
        None => Json(serde_json::json!({"status": "ready"})).into_response(),
        Some(reason) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "not_ready", "reason": reason})),
        )
            .into_response(),
    }
}

pub(super) async fn whoami(Extension(caller): Extension<Caller>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "role": caller.role,
        "employer_id": caller.employer_id,
        "token_id": caller.token_id,
        "account_id": caller.account_id,
    }))
}

pub(super) async fn get_community(State(state): State<AppState>) -> ApiResult<Json<Community>> {
    state
        .store
        .get_meta::<Community>("community")?
        .map(Json)
        .ok_or_else(|| ApiError::internal("community", "the community record is missing"))
}

pub(super) async fn put_community(
    State(state): State<AppState>,
    ApiJson(community): ApiJson<Community>,
) -> ApiResult<Json<Community>> {
    community.validate()?;
    state
        .store
        .commit(|tx| tx.put_meta("community", &community))
        .await?;
    Ok(Json(community))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenInput {
    role: Role,
    #[serde(default)]
    employer_id: Option<u64>,
    label: String,
    /// Days until the token stops working; no expiry if absent.
    #[serde(default)]
    expires_in_days: Option<u16>,
}

#[derive(Debug, Serialize)]
struct TokenCreated {
    id: u64,
    /// Shown once; the node keeps only its hash.
    token: String,
}

/// Refuses any query parameter besides `limit` and `after`, naming the first one.
fn only_paging(rest: &str, what: &str) -> ApiResult<()> {
    match form_urlencoded::parse(rest.as_bytes()).next() {
        Some((k, _)) => Err(ApiError::bad_query(
            Some(k.into_owned()),
            format!("{what} take only limit and after"),
        )),
        None => Ok(()),
    }
}

pub(super) async fn list_tokens(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let (paging, rest) = split_paging(&q)?;
    only_paging(&rest, "tokens")?;
    let page =
        state
            .store
            .list::<Record<Token>>(Table::Token, paging.after, paging.limit, |_| true)?;
    Ok(page_json(page.items, page.next_after))
}

pub(super) async fn create_token(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<TokenInput>,
) -> ApiResult<Response> {
    let expires_at = match input.expires_in_days {
        Some(0) => return Err(ApiError::invalid("expires_in_days", "must be at least 1")),
        Some(d) => Some(Utc::now() + Duration::days(i64::from(d))),
        None => None,
    };
    let token = Token {
        role: input.role,
        employer_id: input.employer_id,
        label: input.label,
        account_id: None,
        expires_at,
        revoked_at: None,
    };
    let (id, token) = auth::create_token(&state.store, token).await?;
    Ok((StatusCode::CREATED, Json(TokenCreated { id, token })).into_response())
}

pub(super) async fn revoke_token(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<StatusCode> {
    if auth::revoke_token(&state.store, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("token", id))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AccountInput {
    username: String,
    role: Role,
    #[serde(default)]
    employer_id: Option<u64>,
    password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordInput {
    password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginInput {
    username: String,
    password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct FirstSignInInput {
    /// The secret of the link `techhire init` or `run` printed (its `token` parameter).
    token: String,
}

/// An account as the API shows it: never the password hash.
#[derive(Debug, Serialize)]
struct AccountView {
    id: u64,
    username: String,
    role: Role,
    employer_id: Option<u64>,
    has_password: bool,
}

fn account_view(r: Record<Account>) -> AccountView {
    AccountView {
        id: r.id,
        username: r.data.username,
        role: r.data.role,
        employer_id: r.data.employer_id,
        has_password: r.data.password_hash.is_some(),
    }
}

/// Each argon2 run takes ~19 MiB and most of a core: at most this many run at once, so a
/// burst of sign-ins (from anyone: login is public) cannot exhaust the node's memory.
static ARGON2_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs an argon2 job off the async threads, waiting for a free slot (at most 10 s).
async fn argon2_job<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    let busy = || {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            None,
            "too many sign-ins at once; try again in a moment",
        )
    };
    let _slot = tokio::time::timeout(std::time::Duration::from_secs(10), ARGON2_SLOTS.acquire())
        .await
        .map_err(|_| busy())?
        .map_err(|_| busy())?;
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| ApiError::internal("password hashing task", e))
}

async fn hash(password: String) -> ApiResult<String> {
    auth::check_password_strength("password", &password)?;
    argon2_job(move || auth::hash_password(&password))
        .await?
        .map_err(ApiError::from)
}

pub(super) async fn list_accounts(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let (paging, rest) = split_paging(&q)?;
    only_paging(&rest, "accounts")?;
    let page =
        state
            .store
            .list::<Record<Account>>(Table::Account, paging.after, paging.limit, |_| true)?;
    let items: Vec<AccountView> = page.items.into_iter().map(account_view).collect();
    Ok(page_json(items, page.next_after))
}

pub(super) async fn create_account(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<AccountInput>,
) -> ApiResult<Response> {
    auth::check_username("username", &input.username)?;
    let password_hash = hash(input.password).await?;
    let account = Account {
        username: input.username,
        role: input.role,
        employer_id: input.employer_id,
        password_hash: Some(password_hash),
    };
    let now = Utc::now();
    let id = state
        .store
        .commit(|tx| auth::stage_account(tx, account, now))
        .await?;
    let created = state
        .store
        .get::<Record<Account>>(Table::Account, id)?
        .ok_or_else(|| ApiError::internal("account", "vanished after creation"))?;
    Ok((StatusCode::CREATED, Json(account_view(created))).into_response())
}

pub(super) async fn set_password(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    ApiJson(input): ApiJson<PasswordInput>,
) -> ApiResult<StatusCode> {
    let password_hash = hash(input.password).await?;
    let now = Utc::now();
    state
        .store
        .commit(|tx| {
            let Some(mut a) = tx.get::<Record<Account>>(Table::Account, id)? else {
                return Err(ApiError::not_found("account", id));
            };
            a.data.password_hash = Some(password_hash);
            a.updated_at = now;
            tx.put(Table::Account, id, &a)?;
            // A new password ends every session signed in with the old one.
            revoke_sessions(tx, id, now)?;
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every token issued to an account.
fn revoke_sessions(
    tx: &mut crate::store::WriteTx<'_>,
    account_id: u64,
    now: chrono::DateTime<Utc>,
) -> Result<(), CheckError> {
    for (table, token_id) in tx.referrers(Table::Account, account_id)? {
        if table != Table::Token {
            continue;
        }
        if let Some(mut t) = tx.get::<Record<Token>>(table, token_id)? {
            t.data.revoked_at.get_or_insert(now);
            t.updated_at = now;
            tx.put(table, token_id, &t)?;
        }
        tx.set_refs(table, token_id, &[])?;
    }
    Ok(())
}

pub(super) async fn delete_account(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<StatusCode> {
    let now = Utc::now();
    state
        .store
        .commit(|tx| {
            let Some(a) = tx.get::<Record<Account>>(Table::Account, id)? else {
                return Err(ApiError::not_found("account", id));
            };
            // Sessions of a deleted account must stop working at once.
            revoke_sessions(tx, id, now)?;
            tx.index_delete(Table::AccountByName, a.data.username.as_bytes());
            tx.remove(Table::Account, id)?;
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn login(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<Response> {
    state
        .limits
        .sign_in(&input.username, super::limits::client_address(&extensions))?;
    let refused = || ApiError::unauthorized("unknown username or wrong password");
    let account = match state
        .store
        .lookup(Table::AccountByName, input.username.as_bytes())?
    {
        Some(id) => state.store.get::<Record<Account>>(Table::Account, id)?,
        None => None,
    };
    // Unknown users and accounts without a password cost the same argon2 run as a real
    // check, so response times do not tell which usernames exist.
    let phc = account.as_ref().and_then(|a| a.data.password_hash.clone());
    let password = input.password;
    let ok = argon2_job(move || {
        let phc = phc.as_deref().unwrap_or(auth::DUMMY_HASH.as_str());
        auth::verify_password(&password, phc)
    })
    .await?;
    let account = match account {
        Some(a) if ok && a.data.password_hash.is_some() => a,
        _ => return Err(refused()),
    };
    let now = Utc::now();
    let token = Token {
        role: account.data.role,
        employer_id: account.data.employer_id,
        label: format!("session of {}", account.data.username),
        account_id: Some(account.id),
        expires_at: Some(now + Duration::hours(SESSION_HOURS)),
        revoked_at: None,
    };
    let (id, secret) = state
        .store
        .commit(|tx| auth::stage_token(tx, token, now))
        .await?;
    Ok(Json(
        serde_json::json!({ "token_id": id, "token": secret, "expires_in_hours": SESSION_HOURS }),
    )
    .into_response())
}

/// `POST /api/v1/auth/first-sign-in`: spends a one-time link printed by `init` or `run`
/// for a short session of the first operator, while that account has no password.
pub(super) async fn first_sign_in(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    ApiJson(input): ApiJson<FirstSignInInput>,
) -> ApiResult<Response> {
    state
        .limits
        .first_sign_in(super::limits::client_address(&extensions))?;
    let now = Utc::now();
    let redeemed = state
        .store
        .commit(|tx| auth::first_sign_in::stage_redeem(tx, &input.token, now))
        .await?;
    let Some(r) = redeemed else {
        return Err(ApiError::unauthorized(
            "this sign-in link is unknown, used or expired, or the account has a password \
             now; restart the node for a new link, or sign in with the password",
        ));
    };
    Ok(Json(serde_json::json!({
        "token_id": r.token_id,
        "token": r.token,
        "account_id": r.account_id,
        "username": r.username,
        "expires_in_minutes": auth::first_sign_in::SESSION_MINUTES,
    }))
    .into_response())
}
