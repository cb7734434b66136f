//! Remote profiles in the search index: the shared profiles (kind 4) other member nodes
//! publish, held in this node's copies of their feeds, searched beside the local candidates.
//!
//! A remote profile is a [`Subject::Remote`], named by its origin (the home node's key) and
//! its [`ProfileId`]. It becomes a [`Supply`] by the same rules as a local profile
//! ([`supply_of_shared`]); it has no vetting (a shared profile carries none) and no location
//! (the index keeps none for anyone). The node's own profiles are its local candidates and
//! are never indexed as remote.
//!
//! The index learns of profiles in two ways: [`CandidateIndex::load`] reads every profile the
//! feeds hold at start, and the federation's `on_stored` listener
//! ([`CandidateIndex::follower`]) hands it every record stored afterwards: a profile adds or
//! replaces, a tombstone removes. The listener is registered before the federation starts
//! and before `load` reads the feeds; what it hears while `load` runs is queued and applied
//! once `load` is done, each profile only if the feed still holds it, so a record stored
//! while the feeds were being read is neither missed nor allowed to undo a later one.
//!
//! *Invariant:* an expired profile is never returned: it is not indexed, and the queries
//! drop every profile whose expiry has come before they run ([`CandidateIndex::expire`]),
//! whether or not its tombstone has arrived.

use std::sync::Arc;

use techhire_protocol::{ProfileId, PublicKey, RecordKind, SharedProfile, SignedRecord, Tombstone};

use super::{CandidateIndex, Inner, RebuildStats};
use crate::federation::{self, OnStored};
use crate::matching::{self, Claim, SkillKey, Supply};
use crate::model::{Evidence, Level, RemotePreference};
use crate::skills::Taxonomy;
use crate::store::{Store, StoreError};

/// Records read from a feed at a time while loading (bounded memory however long a feed).
const LOAD_PAGE: usize = 1_000;

/// A remote profile: whose feed it is in, and its id there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RemoteKey {
    /// The home node's key (the signer of its feed).
    pub origin: PublicKey,
    pub profile: ProfileId,
}

/// Who a search result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A candidate of this community, by local id.
    Local(u64),
    /// A shared profile of another member node.
    Remote(RemoteKey),
}

/// A remote profile as the index indexes it.
#[derive(Debug, Clone)]
pub struct RemoteProfile {
    pub supply: Supply,
    /// The sequence of the feed record it came from: where to read it again, and which of
    /// two versions is the newer.
    pub seq: u64,
    /// When consent ends (ms since the Unix epoch): from then on it is not returned.
    pub expires_at_ms: u64,
}

impl RemoteProfile {
    /// What the index holds of `profile`, published at `seq` of its origin's feed.
    pub fn new(profile: &SharedProfile, seq: u64, taxonomy: &Taxonomy) -> RemoteProfile {
        RemoteProfile {
            supply: supply_of_shared(profile, taxonomy),
            seq,
            expires_at_ms: profile.expires_at_ms,
        }
    }
}

/// The level a shared profile's level code means (`1` beginner to `4` expert).
pub fn level_of(code: u8) -> Option<Level> {
    match code {
        1 => Some(Level::Beginner),
        2 => Some(Level::Intermediate),
        3 => Some(Level::Advanced),
        4 => Some(Level::Expert),
        _ => None,
    }
}

/// The evidence a shared profile's evidence code means (`0` self-reported to `4`
/// assessment).
pub fn evidence_of(code: u8) -> Option<Evidence> {
    match code {
        0 => Some(Evidence::SelfReported),
        1 => Some(Evidence::Project),
        2 => Some(Evidence::WorkExperience),
        3 => Some(Evidence::Certificate),
        4 => Some(Evidence::Assessment),
        _ => None,
    }
}

/// The remote preference a shared profile's code means (`0` on-site to `3` any).
pub fn remote_of(code: u8) -> RemotePreference {
    match code {
        0 => RemotePreference::OnSite,
        1 => RemotePreference::Hybrid,
        2 => RemotePreference::Remote,
        // 3, and anything a strict decoder would have refused: no constraint.
        _ => RemotePreference::Any,
    }
}

/// A shared profile as matching sees it, by the rules of a local profile
/// (`Supply::from_profile_in`): its skills as claimed, each project's skills at beginner
/// level backed by the project, each assessment at the level its percent shows
/// ([`matching::assessed_level`]) backed by the assessment; its remote preference and
/// willingness to relocate. No vetting (the profile carries none) and no location.
///
/// Skills are the home node's taxonomy ids and are kept as ids. An id this node's
/// `taxonomy` does not know is dropped: a search names skills through that taxonomy, so it
/// could never match, and every distinct id kept would take a slot in the index for good
/// (a peer could grow the index's memory without bound by sending made-up ids).
pub fn supply_of_shared(profile: &SharedProfile, taxonomy: &Taxonomy) -> Supply {
    let known = |id: &str| taxonomy.get(id).is_some();
    let claimed = profile
        .skills
        .iter()
        .filter(|s| known(&s.skill_id))
        .filter_map(|s| {
            Some(Claim {
                skill: SkillKey::Id(s.skill_id.clone()),
                level: level_of(s.level)?,
                evidence: evidence_of(s.evidence)?,
            })
        });
    let projects = profile.projects.iter().flat_map(|p| {
        p.skills.iter().filter(|s| known(s)).map(|s| Claim {
            skill: SkillKey::Id(s.clone()),
            level: Level::Beginner,
            evidence: Evidence::Project,
        })
    });
    let assessed = profile
        .assessments
        .iter()
        .filter(|a| known(&a.skill_id))
        .map(|a| Claim {
            skill: SkillKey::Id(a.skill_id.clone()),
            level: matching::assessed_level(u32::from(a.percent), 100),
            evidence: Evidence::Assessment,
        });
    let mut supply = Supply {
        skills: claimed.chain(projects).chain(assessed).collect(),
        vetting: None,
        remote: remote_of(profile.remote),
        willing_to_relocate: profile.relocate,
        location: None,
    };
    supply.tidy();
    supply
}

impl CandidateIndex {
    /// The taxonomy remote profiles are read with (see the `taxonomy` field).
    fn taxonomy(&self) -> Arc<Taxonomy> {
        self.taxonomy
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| {
                static BUILTIN: std::sync::LazyLock<Arc<Taxonomy>> =
                    std::sync::LazyLock::new(|| Arc::new(Taxonomy::builtin().clone()));
                Arc::clone(&BUILTIN)
            })
    }
}

/// What one feed record asks of the index.
enum Change {
    Put(RemoteKey, RemoteProfile),
    Drop(RemoteKey),
}

impl CandidateIndex {
    /// The listener to give the federation (`FederationConfig::on_stored`) so that the
    /// index follows the shared profiles the feeds store. Register it before the federation
    /// starts and call [`CandidateIndex::load`] after: records heard before `load` has read
    /// the feeds are queued until it has.
    pub fn follower(self: &Arc<Self>, store: Store) -> OnStored {
        let index = Arc::clone(self);
        OnStored(Arc::new(move |records: &[SignedRecord]| {
            index.follow(&store, records);
        }))
    }

    /// Applies records the feeds stored (the listener's body; public for tests).
    pub fn follow(&self, store: &Store, records: &[SignedRecord]) {
        let mut turn = self.turn();
        let wanted = records.iter().filter(|r| self.wants(r));
        if turn.loading {
            turn.pending.extend(wanted.cloned());
            return;
        }
        let wanted: Vec<&SignedRecord> = wanted.collect();
        if let Err(e) = self.apply(store, wanted, federation::now_ms()) {
            // The listener has no one to return an error to; the next start's load reads
            // the feeds again.
            tracing::error!(error = %e, "search index: cannot read a stored profile");
        }
    }

    /// Profiles and tombstones of other origins: everything else is not the index's.
    fn wants(&self, record: &SignedRecord) -> bool {
        matches!(record.kind(), RecordKind::PROFILE | RecordKind::TOMBSTONE)
            && self.own.as_ref() != Some(record.signer())
    }

    /// Applies `records` in order. The caller holds the writer's turn, so no other change
    /// runs between the store reads here and the index write.
    pub(super) fn apply<'r>(
        &self,
        store: &Store,
        records: impl IntoIterator<Item = &'r SignedRecord>,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let mut changes = Vec::new();
        let taxonomy = self.taxonomy();
        for record in records {
            if !self.wants(record) {
                continue;
            }
            let origin = *record.signer();
            if record.kind() == RecordKind::TOMBSTONE {
                match Tombstone::decode(record.payload()) {
                    Ok(t) => changes.push(Change::Drop(RemoteKey {
                        origin,
                        profile: t.id,
                    })),
                    Err(e) => tracing::warn!(%origin, seq = record.seq(), error = %e,
                        "search index: a stored tombstone does not decode"),
                }
                continue;
            }
            let profile = match SharedProfile::decode(record.payload()) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(%origin, seq = record.seq(), error = %e,
                        "search index: a stored profile does not decode");
                    continue;
                }
            };
            let key = RemoteKey {
                origin,
                profile: profile.id,
            };
            if profile.expires_at_ms <= now_ms {
                // Consent has ended: the version held before (if any) goes too.
                changes.push(Change::Drop(key));
                continue;
            }
            if self.read().remote_seq(&key) >= Some(record.seq()) {
                continue; // this version or a later one is held already
            }
            // Records can be heard late (queued while loading, or two stores' listeners
            // running out of order): index one only if the feed still holds it, i.e. no
            // later record of its key (a new version, its tombstone) has superseded it.
            if !still_held(store, record)? {
                continue;
            }
            changes.push(Change::Put(
                key,
                RemoteProfile::new(&profile, record.seq(), &taxonomy),
            ));
        }
        if changes.is_empty() {
            return Ok(());
        }
        let mut inner = self.write();
        for change in changes {
            match change {
                Change::Put(key, p) => inner.set_remote(key, Some(p)),
                Change::Drop(key) => inner.set_remote(key, None),
            }
        }
        Ok(())
    }

    /// Drops every remote profile whose consent has ended by `now_ms`. The queries call it
    /// first, so an expired profile is never returned even before its tombstone arrives.
    pub fn expire(&self, now_ms: u64) {
        if !self.read().remotes.due(now_ms) {
            return;
        }
        let _turn = self.turn();
        let mut inner = self.write();
        let expired = inner.remotes.expired(now_ms);
        for key in expired {
            inner.set_remote(key, None);
        }
    }

    /// Sets what the index holds of a remote profile directly (tests and benchmarks).
    pub fn put_remote(&self, key: RemoteKey, profile: Option<RemoteProfile>) {
        self.write().set_remote(key, profile);
    }

    /// The number of remote profiles held.
    pub fn remote_len(&self) -> u64 {
        self.read().remotes.len() as u64
    }
}

/// Whether `record` is still in its origin's feed (not superseded since it was stored).
fn still_held(store: &Store, record: &SignedRecord) -> Result<bool, StoreError> {
    let found = federation::fetch(store, record.signer(), record.seq() - 1, 1)?;
    Ok(found.first().is_some_and(|r| r.seq() == record.seq()))
}

/// Indexes every unexpired shared profile the feeds hold, except `own`'s. A feed holds one
/// record per profile id (a later version or the tombstone replaced the earlier ones), so
/// reading each feed once, in pages, finds exactly the live profiles.
pub(super) fn load_feeds(
    inner: &mut Inner,
    store: &Store,
    own: Option<&PublicKey>,
    taxonomy: &Taxonomy,
    now_ms: u64,
) -> Result<(), StoreError> {
    for (origin, _) in federation::heads(store)? {
        if Some(&origin) == own {
            continue;
        }
        let mut after = 0;
        loop {
            let page = federation::fetch(store, &origin, after, LOAD_PAGE)?;
            let Some(last) = page.last() else { break };
            after = last.seq();
            for record in &page {
                if record.kind() != RecordKind::PROFILE {
                    continue;
                }
                match SharedProfile::decode(record.payload()) {
                    Ok(p) if p.expires_at_ms > now_ms => inner.set_remote(
                        RemoteKey {
                            origin,
                            profile: p.id,
                        },
                        Some(RemoteProfile::new(&p, record.seq(), taxonomy)),
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(%origin, seq = record.seq(), error = %e,
                        "search index: a stored profile does not decode"),
                }
            }
            if page.len() < LOAD_PAGE {
                break;
            }
        }
    }
    Ok(())
}

impl CandidateIndex {
    /// Fills the index from the store: every local candidate (as [`CandidateIndex::rebuild`]
    /// does) and every shared profile of other origins in the feeds, then applies what the
    /// [`follower`](CandidateIndex::follower) heard meanwhile, and from then on lets it
    /// apply records as they come.
    pub fn load(&self, store: &Store, taxonomy: &Taxonomy) -> Result<RebuildStats, StoreError> {
        let started = std::time::Instant::now();
        let mut fresh = Inner::default();
        super::load_local(&mut fresh, store, taxonomy)?;
        *self.taxonomy.write().unwrap_or_else(|p| p.into_inner()) =
            Some(Arc::new(taxonomy.clone()));
        load_feeds(
            &mut fresh,
            store,
            self.own.as_ref(),
            taxonomy,
            federation::now_ms(),
        )?;
        fresh.shrink();
        let mut turn = self.turn();
        *self.write() = fresh;
        let pending = std::mem::take(&mut turn.pending);
        turn.loading = false;
        self.apply(store, &pending, federation::now_ms())?;
        drop(turn);
        let inner = self.read();
        Ok(RebuildStats {
            candidates: inner.count - inner.remotes.len() as u64,
            remote: inner.remotes.len() as u64,
            skills: inner.keys.len(),
            took: started.elapsed(),
            memory_bytes: inner.memory_bytes(),
        })
    }
}
