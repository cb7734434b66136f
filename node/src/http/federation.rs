//! The federation routes: the node's place in the federation, and bulletins (a
//! community's signed notices to every member). A node that has not joined a federation
//! answers them with 409.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use techhire_protocol::{
    Bulletin, PublicKey, RecordKind, SignedRecord, MAX_BULLETIN_BODY_BYTES,
    MAX_BULLETIN_TITLE_BYTES,
};

use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use super::{blocking, AppState, Route, COMMUNITY_ROLES, OPERATOR, OPERATOR_NATIONAL};
use crate::federation::{self, Federation};
use crate::model::FieldError;
use crate::store::{Store, StoreError, Table, MAX_SCAN};

/// When the federation routes answer 409.
pub(super) const NOT_JOINED: &str =
    "the node has not joined a federation (`techhire federation join`)";

/// Most bulletins `GET /api/v1/federation/bulletins` returns.
const MAX_LISTED_BULLETINS: usize = 200;

/// Records read per step when walking a feed backwards from its head.
const FEED_WINDOW: u64 = 256;

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::GET,
            "/api/v1/federation/status",
            OPERATOR_NATIONAL,
            "federation",
            "This node in the federation: stewards, members, peers, feeds, counters",
            get(status),
        )
        .conflict(NOT_JOINED),
        Route::new(
            Method::GET,
            "/api/v1/federation/bulletins",
            COMMUNITY_ROLES,
            "federation",
            "Bulletins held from every member, newest first (at most 200)",
            get(list_bulletins),
        )
        .conflict(NOT_JOINED),
        Route::new(
            Method::POST,
            "/api/v1/federation/bulletins",
            OPERATOR,
            "federation",
            "Publish a bulletin to the federation, signed by this node",
            post(publish_bulletin),
        )
        .body::<BulletinInput>()
        .conflict(NOT_JOINED),
    ]
}

/// The running federation, or the 409 that says how to join one.
pub(super) fn joined(state: &AppState) -> ApiResult<&Federation> {
    state.federation.as_ref().ok_or_else(|| {
        ApiError::conflict(
            None,
            "this node has not joined a federation: stop it, run `techhire federation join` \
             with a steward's certificate for its key, and start it again (operator guide, \
             \"Joining a federation\")",
        )
    })
}

async fn status(State(state): State<AppState>) -> ApiResult<Response> {
    let federation = joined(&state)?.clone();
    let status = blocking(move || Ok(federation.status()?)).await?;
    Ok(Json(status).into_response())
}

/// A bulletin to publish.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BulletinInput {
    /// One line, 1 to 200 characters (and at most 200 bytes of UTF-8).
    title: String,
    /// Plain text, line breaks allowed, at most 16 KiB of UTF-8.
    #[serde(default)]
    body: String,
}

impl BulletinInput {
    fn validate(&self) -> Result<(), FieldError> {
        let title = &self.title;
        if title.trim().is_empty() {
            return Err(FieldError::new("title", "must not be empty"));
        }
        let chars = title.chars().count();
        if chars > MAX_BULLETIN_TITLE_BYTES {
            return Err(FieldError::new(
                "title",
                format!(
                    "is {chars} characters long; at most {MAX_BULLETIN_TITLE_BYTES} are allowed"
                ),
            ));
        }
        if title.len() > MAX_BULLETIN_TITLE_BYTES {
            return Err(FieldError::new(
                "title",
                format!(
                    "is {} bytes long in UTF-8; the federation takes at most \
                     {MAX_BULLETIN_TITLE_BYTES}",
                    title.len()
                ),
            ));
        }
        if title.chars().any(char::is_control) {
            return Err(FieldError::new(
                "title",
                "must be a single line without control characters",
            ));
        }
        if self.body.len() > MAX_BULLETIN_BODY_BYTES {
            return Err(FieldError::new(
                "body",
                format!(
                    "is {} bytes long in UTF-8; at most {MAX_BULLETIN_BODY_BYTES} (16 KiB) are \
                     allowed",
                    self.body.len()
                ),
            ));
        }
        if self
            .body
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(FieldError::new(
                "body",
                "must not contain control characters other than line breaks and tabs",
            ));
        }
        Ok(())
    }
}

/// A bulletin as the API shows it: where it comes from, its place in that origin's feed,
/// and its text.
#[derive(Debug, Serialize)]
struct BulletinView {
    /// The publishing node's key (hex).
    origin: String,
    /// Its sequence number in the origin's feed.
    seq: u64,
    /// The origin's own id for it.
    id: u64,
    title: String,
    body: String,
    /// When the origin signed it (its clock).
    published_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    timestamp_ms: u64,
}

impl BulletinView {
    fn new(record: &SignedRecord, bulletin: Bulletin) -> BulletinView {
        let ms = record.timestamp_ms();
        BulletinView {
            origin: record.signer().to_string(),
            seq: record.seq(),
            id: bulletin.id,
            title: bulletin.title,
            body: bulletin.body,
            published_at: i64::try_from(ms)
                .ok()
                .and_then(DateTime::from_timestamp_millis),
            timestamp_ms: ms,
        }
    }
}

async fn publish_bulletin(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<BulletinInput>,
) -> ApiResult<Response> {
    let federation = joined(&state)?;
    input.validate()?;
    // The bulletin ids of this node: a counter of their own, never reused.
    let id = state.store.commit(|tx| tx.next_id(Table::Feed)).await?;
    let bulletin = Bulletin {
        id,
        title: input.title,
        body: input.body,
    };
    let record = federation
        .publish(RecordKind::BULLETIN, bulletin.encode())
        .await
        .map_err(|e| ApiError::internal("publishing a bulletin", e))?;
    Ok((
        StatusCode::CREATED,
        Json(BulletinView::new(&record, bulletin)),
    )
        .into_response())
}

#[derive(Serialize)]
struct BulletinList {
    items: Vec<BulletinView>,
}

async fn list_bulletins(State(state): State<AppState>) -> ApiResult<Response> {
    joined(&state)?;
    let store = state.store.clone();
    let items = blocking(move || Ok(held_bulletins(&store)?)).await?;
    Ok(Json(BulletinList { items }).into_response())
}

/// The newest bulletins held from every origin (this node's own included), newest first,
/// at most [`MAX_LISTED_BULLETINS`]. Each feed is read backwards from its head, and at
/// most [`MAX_SCAN`] records are read in all.
fn held_bulletins(store: &Store) -> Result<Vec<BulletinView>, StoreError> {
    let mut out = Vec::new();
    let mut budget = MAX_SCAN as u64;
    for (origin, head) in federation::heads(store)? {
        let mut found = 0;
        // Records with a sequence up to `upper` are still to be read.
        let mut upper = head;
        while upper > 0 && found < MAX_LISTED_BULLETINS && budget > 0 {
            let take = FEED_WINDOW.min(upper).min(budget);
            let after = upper - take;
            let records = federation::fetch(store, &origin, after, take as usize)?;
            budget = budget.saturating_sub(records.len().max(1) as u64);
            // An origin may have compacted part of its feed: past a gap, fetch returns
            // records above `upper`, which an earlier step has read already.
            for record in records.iter().rev().filter(|r| r.seq() <= upper) {
                if let Some(view) = bulletin_of(&origin, record) {
                    out.push(view);
                    found += 1;
                }
            }
            upper = after;
        }
    }
    out.sort_by(|a, b| (b.timestamp_ms, &b.origin, b.seq).cmp(&(a.timestamp_ms, &a.origin, a.seq)));
    out.truncate(MAX_LISTED_BULLETINS);
    Ok(out)
}

fn bulletin_of(origin: &PublicKey, record: &SignedRecord) -> Option<BulletinView> {
    if record.kind() != RecordKind::BULLETIN {
        return None;
    }
    match Bulletin::decode(record.payload()) {
        Ok(bulletin) => Some(BulletinView::new(record, bulletin)),
        Err(e) => {
            // Checked when it was stored; a record that no longer decodes is left out.
            tracing::warn!(%origin, seq = record.seq(), error = %e, "a held bulletin does not decode");
            None
        }
    }
}
