//! A candidate's shared profile on their home node: the link between a local candidate and
//! the pseudonymous profile the node publishes to the federation, and the one place that
//! decides what to publish.
//!
//! With consent in force, a searchable candidate (`index::searchable`) and an unexpired
//! consent, the node publishes a [`SharedProfile`] built from the candidate ([`build`]),
//! under a random [`ProfileId`]; it publishes a new version when the profile changes, and a
//! [`Tombstone`] when consent is withdrawn, the candidate leaves the pipeline, is deleted,
//! or the consent expires (`profiles.expiry_days` after it was given or renewed). A scope
//! change tombstones the old id and publishes under a new one: a new version would not
//! reach the nodes outside the new scope, which would keep the old one. A tombstoned id is
//! never used again.
//!
//! [`Sharing::reconcile`] is idempotent: it compares the candidate with the stored
//! [`SharingState`] and does whatever is missing. The HTTP layer runs it after each write
//! that touches a candidate; [`schedule`] runs it for every candidate at start and then
//! periodically, which also withdraws expired profiles.
//!
//! *Invariant:* a profile id that may have reached a peer is always in the candidate's
//! [`SharingState`] until its tombstone is out, so it can always be withdrawn. Publishing
//! is a write-ahead: the state (new id or version, `pending`) is committed before the
//! record is signed, and confirmed after. A crash in between leaves `pending` set; the next
//! reconcile publishes again with a higher version (or the tombstone again), so versions of
//! one id only ever increase and no id is orphaned.
//!
//! *Invariant:* the profile is built field by field from the skills profile, assessments and
//! training ([`build`]); nothing from `Personal` or the free-text notes is read, so a new
//! personal field cannot leak by accident.
//!
//! Without a federation ([`crate::http::AppState::federation`] is `None`) nothing is
//! published; consent is only recorded, and the first sweep after the node has joined
//! publishes what is due.

mod build;
mod export;

pub use build::{build, content_sha256, Home};
pub use export::{export, json_resume, profile_json, Export};

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use techhire_protocol::{ProfileId, RecordKind, Scope, SharedProfile, Tombstone, TombstoneReason};

use crate::config::ProfilesSettings;
use crate::federation::{Federation, FederationError};
use crate::model::{Candidate, Community, ConsentScope, Record};
use crate::store::{Store, StoreError, Table};

/// Why a shared profile ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Consent withdrawn, the candidate left the pipeline, or the consent's scope changed.
    Withdrawn,
    /// The candidate was deleted.
    Deleted,
    /// The consent was not renewed in time.
    Expired,
}

impl EndReason {
    fn tombstone(self) -> TombstoneReason {
        match self {
            EndReason::Withdrawn => TombstoneReason::Withdrawn,
            EndReason::Deleted => TombstoneReason::Deleted,
            EndReason::Expired => TombstoneReason::Expired,
        }
    }
}

/// The tombstone of a profile: why and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    pub reason: EndReason,
    pub at: DateTime<Utc>,
}

/// What the node has published for one candidate (`Table::Sharing`, keyed by candidate id).
/// Holds no personal data, only what the federation already has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharingState {
    /// The current (or last) profile id, as 32 hex digits.
    #[serde(with = "hex_id")]
    pub profile_id: ProfileId,
    /// The highest version signed, or about to be signed while `pending`.
    pub version: u32,
    /// The scope the profile was published with (regions sorted, without repeats).
    pub scope: ConsentScope,
    pub expires_at: DateTime<Utc>,
    /// SHA-256 of the last confirmed payload with its version set to 0 ([`content_sha256`]):
    /// a new version is published only when this changes.
    #[serde(default)]
    pub content_sha256: Option<String>,
    /// Sequence of the last confirmed record (profile or tombstone) in the node's own feed.
    #[serde(default)]
    pub published_seq: Option<u64>,
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
    /// Set once the profile is withdrawn (while `pending`, the tombstone may not be out).
    #[serde(default)]
    pub tombstone: Option<Ended>,
    /// A publication was started and not confirmed (see the module's invariant).
    #[serde(default)]
    pub pending: bool,
}

impl SharingState {
    /// Whether the profile may be held by peers and is not being withdrawn.
    pub fn live(&self) -> bool {
        self.tombstone.is_none()
    }
}

mod hex_id {
    use serde::{Deserialize, Deserializer, Serializer};
    use techhire_protocol::ProfileId;

    pub(super) fn serialize<S: Serializer>(id: &ProfileId, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ProfileId, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The sharing state of `candidate`, if the node ever published a profile for them (and
/// they were not deleted since).
pub fn state_of(store: &Store, candidate: u64) -> Result<Option<SharingState>, StoreError> {
    store.get(Table::Sharing, candidate)
}

/// The local candidate behind one of this node's profile ids; `None` if the id is unknown
/// or its profile is no longer live (withdrawn, expired, deleted, or being withdrawn), also
/// in the moments before the sweep or a pending write has published its tombstone.
///
/// Live is decided by the candidate as stored as well as by the sharing state: a candidate
/// whose consent is withdrawn, who has none, or who is no longer searchable
/// (`index::searchable`) is not live whatever the state says. The candidate's write
/// commits before its tombstone goes out; if publishing the tombstone failed (the route
/// still answers with the candidate's write, and the sweep tries again), an introduction
/// asked for them meanwhile is refused all the same.
pub fn candidate_of(store: &Store, profile: &ProfileId) -> Result<Option<u64>, StoreError> {
    let Some(candidate) = store.lookup(Table::SharingByProfile, profile.as_bytes())? else {
        return Ok(None);
    };
    let live = state_of(store, candidate)?
        .is_some_and(|s| s.profile_id == *profile && s.live() && s.expires_at > Utc::now());
    if !live {
        return Ok(None);
    }
    let wanted = store
        .get::<Record<Candidate>>(Table::Candidate, candidate)?
        .is_some_and(|c| {
            c.data.consent.is_some_and(|c| c.withdrawn_at.is_none())
                && crate::index::searchable(c.data.stage)
        });
    Ok(wanted.then_some(candidate))
}

/// Why a candidate's shared profile could not be brought up to date. The candidate's own
/// write is durable either way; the next sweep tries again.
#[derive(Debug, thiserror::Error)]
pub enum SharingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("publishing to the federation: {0}")]
    Federation(#[from] FederationError),
    #[error(
        "the node has no region to publish profiles under: it has no membership certificate \
         and the community has no region (PUT /api/v1/community)"
    )]
    NoHome,
    #[error("candidate {candidate}: the shared profile would break a protocol limit: {reason}")]
    Invalid { candidate: u64, reason: String },
}

/// What one reconcile did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// A profile was published (`version` 1 under a fresh id on first share).
    Published { profile: ProfileId, version: u32 },
    /// A tombstone was published.
    Tombstoned {
        profile: ProfileId,
        reason: EndReason,
    },
    /// A deleted candidate's state (already tombstoned) was dropped.
    Forgotten,
}

/// What should be shared for a candidate right now.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Desired {
    Live {
        scope: Scope,
        expires_at: DateTime<Utc>,
    },
    Dead(EndReason),
}

/// The next step from `state` towards `desired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Nothing,
    /// Publish under a fresh id.
    Share,
    /// Publish a new version of the live id if the content changed (or was unconfirmed).
    Refresh,
    Tombstone(EndReason),
    Forget,
}

fn plan(state: Option<&SharingState>, desired: &Desired) -> Step {
    match state {
        // A tombstone that may not be out yet is finished first, whatever is wanted now:
        // the id may be live at peers.
        Some(s) if s.pending && s.tombstone.is_some() => {
            Step::Tombstone(s.tombstone.map_or(EndReason::Withdrawn, |e| e.reason))
        }
        Some(s) if s.live() => match desired {
            Desired::Dead(reason) => Step::Tombstone(*reason),
            Desired::Live { scope, .. } if consent_scope(scope) != s.scope => {
                Step::Tombstone(EndReason::Withdrawn)
            }
            Desired::Live { .. } => Step::Refresh,
        },
        other => match desired {
            Desired::Live { .. } => Step::Share,
            Desired::Dead(EndReason::Deleted) if other.is_some() => Step::Forget,
            Desired::Dead(_) => Step::Nothing,
        },
    }
}

/// The protocol's scope for a consent: regions sorted, without repeats; `None` if it cannot
/// be carried whole (validation refuses such consents; older records may hold one), since a
/// scope is never widened.
fn scope_of(scope: &ConsentScope) -> Option<Scope> {
    use techhire_protocol::profile::{MAX_PROFILE_REGION_BYTES, MAX_SCOPE_REGIONS};
    match scope {
        ConsentScope::Federation => Some(Scope::Federation),
        ConsentScope::Regions { regions } => {
            let set: BTreeSet<&str> = regions.iter().map(String::as_str).collect();
            let fits = |r: &&str| !r.is_empty() && r.len() <= MAX_PROFILE_REGION_BYTES;
            if set.is_empty() || set.len() > MAX_SCOPE_REGIONS || !set.iter().all(fits) {
                return None;
            }
            Some(Scope::Regions(set.into_iter().map(str::to_owned).collect()))
        }
    }
}

fn consent_scope(scope: &Scope) -> ConsentScope {
    match scope {
        Scope::Federation => ConsentScope::Federation,
        Scope::Regions(regions) => ConsentScope::Regions {
            regions: regions.clone(),
        },
    }
}

/// Decides, publishes and records candidates' shared profiles. One per node, in `AppState`.
#[derive(Debug)]
pub struct Sharing {
    expiry: Duration,
    /// One reconcile at a time, so that two writes to one candidate cannot both start a
    /// fresh id (held across the publish; never held by synchronous code).
    turn: tokio::sync::Mutex<()>,
}

impl Default for Sharing {
    fn default() -> Self {
        Sharing::new(&ProfilesSettings::default())
    }
}

impl Sharing {
    pub fn new(settings: &ProfilesSettings) -> Sharing {
        Sharing {
            expiry: Duration::days(i64::from(settings.expiry_days)),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    /// How long a consent lasts.
    pub fn expiry(&self) -> Duration {
        self.expiry
    }

    /// When `candidate`'s consent lapses, if one is in force.
    pub fn expires_at(&self, candidate: &Candidate) -> Option<DateTime<Utc>> {
        let consent = candidate.consent.as_ref()?;
        if consent.withdrawn_at.is_some() {
            return None;
        }
        consent.given_at.checked_add_signed(self.expiry)
    }

    fn desire(&self, candidate: Option<&Record<Candidate>>, now: DateTime<Utc>) -> Desired {
        let Some(c) = candidate else {
            return Desired::Dead(EndReason::Deleted);
        };
        let (Some(consent), Some(expires_at)) = (&c.data.consent, self.expires_at(&c.data)) else {
            return Desired::Dead(EndReason::Withdrawn);
        };
        if !crate::index::searchable(c.data.stage) {
            return Desired::Dead(EndReason::Withdrawn);
        }
        if now >= expires_at {
            return Desired::Dead(EndReason::Expired);
        }
        match scope_of(&consent.scope) {
            Some(scope) => Desired::Live { scope, expires_at },
            None => Desired::Dead(EndReason::Withdrawn),
        }
    }

    /// Brings `candidate`'s shared profile in line with the candidate as stored (see the
    /// module documentation); `now` decides expiry. Does nothing without a federation.
    pub async fn reconcile(
        &self,
        store: &Store,
        federation: Option<&Federation>,
        candidate: u64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Done>, SharingError> {
        let Some(federation) = federation else {
            return Ok(Vec::new());
        };
        let mut home = None;
        self.reconcile_with(store, federation, &mut home, candidate, now)
            .await
    }

    async fn reconcile_with(
        &self,
        store: &Store,
        federation: &Federation,
        home: &mut Option<Home>,
        candidate: u64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Done>, SharingError> {
        let _turn = self.turn.lock().await;
        let mut done = Vec::new();
        // Each step moves the state one way (a tombstone, then a fresh id); three cover a
        // scope change after an interrupted tombstone.
        for _ in 0..3 {
            let state = state_of(store, candidate)?;
            let record: Option<Record<Candidate>> = store.get(Table::Candidate, candidate)?;
            let desired = self.desire(record.as_ref(), now);
            match plan(state.as_ref(), &desired) {
                Step::Nothing => break,
                Step::Forget => {
                    forget(store, candidate, state.as_ref()).await?;
                    done.push(Done::Forgotten);
                    break;
                }
                Step::Tombstone(reason) => {
                    let Some(state) = state else { break };
                    done.push(tombstone(store, federation, candidate, state, reason, now).await?);
                }
                step @ (Step::Share | Step::Refresh) => {
                    let (Desired::Live { scope, expires_at }, Some(record)) = (desired, record)
                    else {
                        break;
                    };
                    if home.is_none() {
                        *home = Some(home_of(store, federation)?);
                    }
                    let Some(home) = home.as_ref() else { break };
                    let previous = state.filter(|_| step == Step::Refresh);
                    let (id, version) = match &previous {
                        Some(s) => (s.profile_id, s.version.saturating_add(1)),
                        None => (ProfileId::random(), 1),
                    };
                    let profile = build(
                        store,
                        &record,
                        id,
                        version,
                        home,
                        scope,
                        expires_at,
                        now.date_naive(),
                    )?;
                    let hash = content_sha256(&profile);
                    if previous.as_ref().is_some_and(|s| {
                        !s.pending && s.content_sha256.as_deref() == Some(hash.as_str())
                    }) {
                        break;
                    }
                    // Checked here, so that a profile peers would refuse never gets a state.
                    // (Strict decoding is exactly the limits peers check.)
                    SharedProfile::decode(&profile.encode()).map_err(|e| {
                        SharingError::Invalid {
                            candidate,
                            reason: e.to_string(),
                        }
                    })?;
                    let published = Published {
                        profile,
                        hash,
                        expires_at,
                        previous: previous.as_ref(),
                    };
                    done.push(publish(store, federation, candidate, published, now).await?);
                    break;
                }
            }
        }
        Ok(done)
    }

    /// Reconciles every candidate with consent recorded and every candidate the node has
    /// a sharing state for. Failures are logged and counted; a stopped federation ends the
    /// sweep.
    pub async fn sweep(
        &self,
        store: &Store,
        federation: Option<&Federation>,
        now: DateTime<Utc>,
    ) -> Result<SweepReport, SharingError> {
        let Some(federation) = federation else {
            return Ok(SweepReport::default());
        };
        let scan = store.clone();
        let ids = tokio::task::spawn_blocking(move || to_check(&scan))
            .await
            .map_err(|e| StoreError::Flush(format!("the sweep's scan stopped: {e}")))??;
        let mut report = SweepReport {
            checked: ids.len(),
            ..SweepReport::default()
        };
        let mut home = None;
        for id in ids {
            match self
                .reconcile_with(store, federation, &mut home, id, now)
                .await
            {
                Ok(done) => {
                    for d in done {
                        match d {
                            Done::Published { .. } => report.published += 1,
                            Done::Tombstoned { .. } => report.tombstoned += 1,
                            Done::Forgotten => {}
                        }
                    }
                }
                Err(SharingError::Federation(FederationError::Stopped)) => {
                    return Err(SharingError::Federation(FederationError::Stopped))
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(candidate = id, error = %e, "shared profile not brought up to date");
                }
            }
        }
        Ok(report)
    }
}

/// What a sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub checked: usize,
    pub published: usize,
    pub tombstoned: usize,
    pub failed: usize,
}

/// Candidates a sweep must look at: consent in force, or a sharing state.
fn to_check(store: &Store) -> Result<BTreeSet<u64>, StoreError> {
    /// Just the consent of a stored candidate: the rest of the record is skipped, not
    /// built, which keeps an hourly pass over a million candidates cheap.
    #[derive(Deserialize)]
    struct ConsentOnly {
        #[serde(default)]
        consent: Option<crate::model::Consent>,
    }
    let mut ids = BTreeSet::new();
    for item in store.scan::<Record<ConsentOnly>>(Table::Candidate) {
        let (id, c) = item?;
        if c.data.consent.is_some_and(|c| c.withdrawn_at.is_none()) {
            ids.insert(id);
        }
    }
    for item in store.scan::<serde::de::IgnoredAny>(Table::Sharing) {
        ids.insert(item?.0);
    }
    Ok(ids)
}

/// The community and region profiles are published under: the node's membership
/// certificate (what peers check scopes against), else the community's own settings.
fn home_of(store: &Store, federation: &Federation) -> Result<Home, SharingError> {
    let own = federation.key().to_string();
    let status = federation.status()?;
    let certified = status
        .members
        .iter()
        .filter(|m| m.key == own && !m.revoked)
        .max_by_key(|m| m.not_after_ms);
    if let Some(m) = certified {
        return Home::new(&m.community, &m.region).ok_or(SharingError::NoHome);
    }
    let community: Option<Community> = store.get_meta("community")?;
    community
        .and_then(|c| Home::new(&c.name, c.region.as_deref()?))
        .ok_or(SharingError::NoHome)
}

/// A profile about to be published.
struct Published<'a> {
    profile: SharedProfile,
    hash: String,
    expires_at: DateTime<Utc>,
    /// The live state it replaces (same id); `None` for a fresh id.
    previous: Option<&'a SharingState>,
}

/// Publishes a profile with the write-ahead of the module's invariant.
async fn publish(
    store: &Store,
    federation: &Federation,
    candidate: u64,
    p: Published<'_>,
    now: DateTime<Utc>,
) -> Result<Done, SharingError> {
    let id = p.profile.id;
    let version = p.profile.version;
    let intent = SharingState {
        profile_id: id,
        version,
        scope: consent_scope(&p.profile.scope),
        expires_at: p.expires_at,
        content_sha256: None,
        published_seq: p.previous.and_then(|s| s.published_seq),
        published_at: p.previous.and_then(|s| s.published_at),
        tombstone: None,
        pending: true,
    };
    let staged = intent.clone();
    store
        .commit(move |tx| {
            tx.index_put(Table::SharingByProfile, id.as_bytes(), candidate);
            tx.put(Table::Sharing, candidate, &staged)
        })
        .await?;
    let record = federation
        .publish(RecordKind::PROFILE, p.profile.encode())
        .await?;
    let confirmed = SharingState {
        content_sha256: Some(p.hash),
        published_seq: Some(record.seq()),
        published_at: Some(now),
        pending: false,
        ..intent
    };
    store
        .commit(move |tx| tx.put(Table::Sharing, candidate, &confirmed))
        .await?;
    // The candidate, never with the profile id: a log line linking the two would outlive
    // the candidate's erasure (and logs travel further than the store).
    tracing::info!(candidate, version, "shared profile published");
    Ok(Done::Published {
        profile: id,
        version,
    })
}

/// Withdraws the profile of `state` everywhere, with the same write-ahead. A deleted
/// candidate's state goes once the tombstone is out.
async fn tombstone(
    store: &Store,
    federation: &Federation,
    candidate: u64,
    state: SharingState,
    reason: EndReason,
    now: DateTime<Utc>,
) -> Result<Done, SharingError> {
    let id = state.profile_id;
    let intent = SharingState {
        tombstone: Some(state.tombstone.unwrap_or(Ended { reason, at: now })),
        pending: true,
        ..state
    };
    let reason = intent.tombstone.map_or(reason, |e| e.reason);
    let staged = intent.clone();
    store
        .commit(move |tx| tx.put(Table::Sharing, candidate, &staged))
        .await?;
    let record = federation
        .publish(
            RecordKind::TOMBSTONE,
            Tombstone {
                id,
                reason: reason.tombstone(),
            }
            .encode(),
        )
        .await?;
    let confirmed = SharingState {
        published_seq: Some(record.seq()),
        published_at: Some(now),
        pending: false,
        ..intent
    };
    store
        .commit(move |tx| {
            tx.index_delete(Table::SharingByProfile, id.as_bytes());
            if tx.exists(Table::Candidate, candidate)? {
                tx.put(Table::Sharing, candidate, &confirmed)
            } else {
                // Erasure: nothing on this node links the profile id to anyone any more.
                tx.delete(Table::Sharing, candidate);
                Ok(())
            }
        })
        .await?;
    // The candidate only, as on publishing.
    tracing::info!(candidate, ?reason, "shared profile withdrawn");
    Ok(Done::Tombstoned {
        profile: id,
        reason,
    })
}

/// Drops a deleted candidate's sharing state whose tombstone is already out.
async fn forget(
    store: &Store,
    candidate: u64,
    state: Option<&SharingState>,
) -> Result<(), SharingError> {
    let id = state.map(|s| s.profile_id);
    store
        .commit(move |tx| {
            if let Some(id) = id {
                tx.index_delete(Table::SharingByProfile, id.as_bytes());
            }
            tx.delete(Table::Sharing, candidate);
            Ok::<_, StoreError>(())
        })
        .await?;
    Ok(())
}

/// Sweeps at once, then every `every`, until the federation stops: expiry, and repair of
/// anything a crash or a failed publish left undone.
pub async fn schedule(
    sharing: Arc<Sharing>,
    store: Store,
    federation: Federation,
    every: std::time::Duration,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match sharing.sweep(&store, Some(&federation), Utc::now()).await {
            Ok(r) => tracing::info!(
                checked = r.checked,
                published = r.published,
                tombstoned = r.tombstoned,
                failed = r.failed,
                "shared profiles swept"
            ),
            Err(SharingError::Federation(FederationError::Stopped)) => return,
            Err(e) => tracing::warn!(error = %e, "sweeping shared profiles failed"),
        }
    }
}

#[cfg(test)]
mod tests;
