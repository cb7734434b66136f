//! The federation page (operators and national staff, as `GET /api/v1/federation/status`
//! allows): the members and their certificates, the peers connected now, each feed's sync
//! state, and the counters of records and direct messages refused, by reason. Operators
//! can publish the community's metric reports from here at once (the node also does so on
//! its schedule).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::form::FormData;
use super::session::{redirect, Session};
use super::{render, Chrome, UiError, UiState};
use crate::auth::Role;

const READERS: &[Role] = &[Role::Operator, Role::National];
/// Publishing the community's reports is the community's own staff's (the API's rule).
const PUBLISHERS: &[Role] = &[Role::Operator];

#[derive(Debug, Deserialize)]
pub(crate) struct FederationQuery {
    /// After "Publish now": reports published and periods unchanged.
    published: Option<usize>,
    unchanged: Option<usize>,
}

/// What a publish run answers: only the counts the page shows.
#[derive(Deserialize)]
struct Published {
    published: Vec<serde_json::Value>,
    unchanged: Vec<String>,
}

/// The status as the API answers it: only the fields the page shows.
#[derive(Deserialize)]
struct Status {
    node_key: String,
    #[serde(default)]
    listening: Vec<String>,
    #[serde(default)]
    members: Vec<Member>,
    #[serde(default)]
    peers: Vec<Peer>,
    #[serde(default)]
    feeds: Vec<Feed>,
    #[serde(default)]
    accepted: u64,
    #[serde(default)]
    rejected: BTreeMap<String, u64>,
    #[serde(default)]
    direct: Option<Direct>,
}

#[derive(Deserialize)]
struct Member {
    key: String,
    community: String,
    region: String,
    not_before_ms: u64,
    not_after_ms: u64,
    revoked: bool,
}

#[derive(Deserialize)]
pub(crate) struct Peer {
    pub(crate) peer_id: String,
    #[serde(default)]
    pub(crate) key: Option<String>,
    #[serde(default)]
    pub(crate) address: String,
    #[serde(default)]
    pub(crate) member: bool,
}

#[derive(Deserialize)]
struct Feed {
    origin: String,
    head: u64,
    lag: u64,
}

#[derive(Deserialize)]
struct Direct {
    #[serde(default)]
    accepted: u64,
    #[serde(default)]
    rejected: BTreeMap<String, u64>,
    #[serde(default)]
    outbox: u64,
}

pub(crate) struct MemberRow {
    pub(crate) community: String,
    pub(crate) region: String,
    pub(crate) key: String,
    pub(crate) valid: String,
    /// `current`, `expired`, `not yet valid` or `revoked`, with the badge's tone.
    pub(crate) state: &'static str,
    pub(crate) tone: &'static str,
    pub(crate) this_node: bool,
}

pub(crate) struct FeedRow {
    pub(crate) community: String,
    pub(crate) key: String,
    pub(crate) head: u64,
    pub(crate) lag: u64,
}

pub(crate) struct PeerRow {
    pub(crate) community: String,
    pub(crate) peer: Peer,
}

/// Counters by reason, as rows, with their sum.
pub(crate) struct Counters {
    pub(crate) rows: Vec<(String, u64)>,
    pub(crate) total: u64,
}

impl Counters {
    fn new(map: BTreeMap<String, u64>) -> Counters {
        let total = map.values().sum();
        let mut rows: Vec<(String, u64)> = map
            .into_iter()
            .map(|(k, v)| (k.replace('_', " "), v))
            .collect();
        // The reasons that happened first; the rest stay listed, so a zero is visible.
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Counters { rows, total }
    }
}

#[derive(Template)]
#[template(path = "federation.html")]
struct FederationPage {
    chrome: Chrome,
    /// Why there is nothing to show (the node has not joined a federation).
    not_joined: Option<String>,
    node_key: String,
    listening: Vec<String>,
    members: Vec<MemberRow>,
    peers: Vec<PeerRow>,
    feeds: Vec<FeedRow>,
    accepted: u64,
    rejected: Counters,
    direct_accepted: u64,
    direct_rejected: Counters,
    outbox: u64,
    /// Whether the "publish now" form is shown (operators).
    can_publish: bool,
    /// What the last "publish now" did, or why it failed.
    notice: Option<String>,
}

/// A key shortened for a table (the whole key is in the cell's title).
fn short(key: &str) -> String {
    match key.get(..12) {
        Some(head) if key.len() > 16 => format!("{head}…"),
        _ => key.to_owned(),
    }
}

fn day(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map_or_else(|| "?".to_owned(), |d| d.format("%-d %b %Y").to_string())
}

fn member_state(m: &Member, now_ms: u64) -> (&'static str, &'static str) {
    if m.revoked {
        ("revoked", "missing")
    } else if now_ms < m.not_before_ms {
        ("not yet valid", "partial")
    } else if now_ms > m.not_after_ms {
        ("expired", "missing")
    } else {
        ("current", "good")
    }
}

/// `POST /federation/publish`: the API's publish run, then back to the page with its counts.
pub(crate) async fn publish(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/federation", PUBLISHERS)?;
    session.check_csrf(&FormData::new(pairs))?;
    let answer = state
        .api
        .send::<Published>(
            Method::POST,
            Some(session.token()),
            "/api/v1/federation/metrics/publish",
            &serde_json::json!({}),
        )
        .await?;
    match answer {
        Ok(p) => Ok(redirect(&format!(
            "/federation?published={}&unchanged={}",
            p.published.len(),
            p.unchanged.len()
        ))),
        Err(refusal) => federation_view(&state, &session, Some(refusal.reason)).await,
    }
}

pub(crate) async fn federation(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<FederationQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/federation", READERS)?;
    let notice = match (q.published, q.unchanged) {
        (Some(0), Some(u)) => Some(format!(
            "Nothing new to publish: the figures of all {u} periods are as last published."
        )),
        (Some(p), Some(u)) => Some(format!(
            "Published {p} report{}; {u} period{} unchanged. Other communities receive them \
             within minutes.",
            if p == 1 { "" } else { "s" },
            if u == 1 { "" } else { "s" }
        )),
        _ => None,
    };
    federation_view(&state, &session, notice).await
}

async fn federation_view(
    state: &UiState,
    session: &Session,
    notice: Option<String>,
) -> Result<Response, UiError> {
    let chrome = Chrome::signed_in(state, session, "Federation", "/federation");
    let can_publish = session.caller.role == Role::Operator;
    let status: Status = match state
        .api
        .get(session.token(), "/api/v1/federation/status")
        .await?
    {
        Ok(s) => s,
        // A node that has not joined answers 409 with what to do about it.
        Err(refusal) => {
            return Ok(render(&FederationPage {
                chrome,
                not_joined: Some(refusal.reason),
                node_key: state.app.info.node_key.clone(),
                listening: Vec::new(),
                members: Vec::new(),
                peers: Vec::new(),
                feeds: Vec::new(),
                accepted: 0,
                rejected: Counters::new(BTreeMap::new()),
                direct_accepted: 0,
                direct_rejected: Counters::new(BTreeMap::new()),
                outbox: 0,
                can_publish: false,
                notice,
            }))
        }
    };
    let now = crate::federation::now_ms();
    // The latest certificate's community names a key in the other tables.
    let names: BTreeMap<&str, &str> = status
        .members
        .iter()
        .map(|m| (m.key.as_str(), m.community.as_str()))
        .collect();
    let name_of = |key: &str| names.get(key).map_or("Not a member", |c| *c).to_owned();
    let mut members: Vec<MemberRow> = status
        .members
        .iter()
        .map(|m| {
            let (state, tone) = member_state(m, now);
            MemberRow {
                community: m.community.clone(),
                region: m.region.clone(),
                key: m.key.clone(),
                valid: format!("{} to {}", day(m.not_before_ms), day(m.not_after_ms)),
                state,
                tone,
                this_node: m.key == status.node_key,
            }
        })
        .collect();
    members.sort_by(|a, b| a.community.cmp(&b.community));
    let feeds = status
        .feeds
        .iter()
        .map(|f| FeedRow {
            community: name_of(&f.origin),
            key: f.origin.clone(),
            head: f.head,
            lag: f.lag,
        })
        .collect();
    let peers = status
        .peers
        .into_iter()
        .map(|p| PeerRow {
            community: p
                .key
                .as_deref()
                .map_or_else(|| "Unknown".to_owned(), name_of),
            peer: p,
        })
        .collect();
    let direct = status.direct.unwrap_or(Direct {
        accepted: 0,
        rejected: BTreeMap::new(),
        outbox: 0,
    });
    Ok(render(&FederationPage {
        chrome,
        not_joined: None,
        node_key: status.node_key,
        listening: status.listening,
        members,
        peers,
        feeds,
        accepted: status.accepted,
        rejected: Counters::new(status.rejected),
        direct_accepted: direct.accepted,
        direct_rejected: Counters::new(direct.rejected),
        outbox: direct.outbox,
        can_publish,
        notice,
    }))
}

/// For templates: a key as a table shows it.
pub(crate) fn short_key(key: &str) -> String {
    short(key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_members_state_reads_its_certificate() {
        let m = |revoked| Member {
            key: "k".into(),
            community: "c".into(),
            region: "r".into(),
            not_before_ms: 100,
            not_after_ms: 200,
            revoked,
        };
        assert_eq!(member_state(&m(false), 150).0, "current");
        assert_eq!(member_state(&m(false), 50).0, "not yet valid");
        assert_eq!(member_state(&m(false), 250).0, "expired");
        assert_eq!(member_state(&m(true), 150).0, "revoked");
    }

    #[test]
    fn counters_list_the_reasons_that_happened_first() {
        let c = Counters::new(BTreeMap::from([
            ("bad_signature".to_owned(), 0),
            ("not_a_member".to_owned(), 3),
        ]));
        assert_eq!(c.total, 3);
        assert_eq!(c.rows[0], ("not a member".to_owned(), 3));
        assert_eq!(short("0123456789abcdef0123"), "0123456789ab…");
        assert_eq!(short("abc"), "abc");
    }
}
