//! The candidate search index: an in-memory inverted index from skills to candidates, for
//! employer search and for an opening's matches.
//!
//! For each skill (a [`SkillKey`], interned to a small number, its *slot*) the index holds a
//! roaring bitmap of the candidates claiming it; for each candidate, a packed copy of what
//! matching needs (claims as slot, level and evidence; the vetting recommendation; the
//! remote preference). A query intersects or counts bitmaps to find the few candidates
//! worth scoring, scores them with the same credit functions as [`crate::matching`], keeps
//! the best in a heap, and asks `matching::score` for the explanation of those alone.
//!
//! The index is rebuilt from the store at start ([`CandidateIndex::load`]) and kept
//! current by the API, which calls [`CandidateIndex::refresh`] after every committed write
//! that changes a candidate, their assessments, vetting or placement.
//!
//! Beside the local candidates it holds the shared profiles of other member nodes
//! (`remote.rs`): each result is a [`Subject`], local or remote. Internally every subject is
//! a number in the bitmaps: a local candidate's is their id (below `REMOTE`, 2^31), a remote
//! profile's is `REMOTE` plus a dense number of its own, so the two never collide, the
//! local ids keep their meaning, and equal scores rank local candidates first (by id), then
//! remote profiles.
//!
//! *Invariant:* the index holds no personal data: [`Supply`] has no field for it.
//!
//! *Invariant:* refreshes are serialised and each reads the store after taking its turn, so
//! after the last refresh the index agrees with the store whatever order writes raced in.

mod query;
mod remote;

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use roaring::RoaringBitmap;
use techhire_protocol::{ProfileId, PublicKey, SignedRecord};

use crate::matching::{Claim, SkillKey, Supply};
use crate::model::{
    Assessment, Candidate, Evidence, Level, Recommendation, Record, RemotePreference, Stage,
    Vetting,
};
use crate::skills::Taxonomy;
use crate::store::{Store, StoreError, Table};

pub use query::{Hit, Results, Search, SkillFilter, MAX_SEARCH_SKILLS};
pub use remote::{
    evidence_of, level_of, remote_of, supply_of_shared, RemoteKey, RemoteProfile, Subject,
};

/// Internal numbers from here up are remote profiles; below it, local candidate ids.
const REMOTE: u32 = 1 << 31;

/// Whether a candidate in `stage` is offered to employers: not once placed, withdrawn or
/// not hired.
pub fn searchable(stage: Stage) -> bool {
    !matches!(stage, Stage::Placed | Stage::Withdrawn | Stage::NotHired)
}

/// The search index. Cheap to share behind an `Arc`; queries take a read lock for the
/// length of one query, refreshes a write lock for the length of one update.
pub struct CandidateIndex {
    inner: RwLock<Inner>,
    /// Serialises changes (see the module's invariant), and queues the feed records heard
    /// while the index is loading.
    writer: Mutex<Follow>,
    /// This node's key: its own shared profiles are its local candidates, not remote ones.
    own: Option<PublicKey>,
    /// The taxonomy [`CandidateIndex::load`] was given (`None`: the built-in one): a remote
    /// profile's skill ids it does not know are not indexed ([`supply_of_shared`]).
    taxonomy: RwLock<Option<Arc<Taxonomy>>>,
}

/// The follower's state (`remote.rs`).
#[derive(Default)]
struct Follow {
    /// Until [`CandidateIndex::load`] has read the feeds, records heard are queued.
    loading: bool,
    pending: Vec<SignedRecord>,
}

impl std::fmt::Debug for CandidateIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandidateIndex")
            .field("candidates", &self.len())
            .field("remote", &self.remote_len())
            .finish()
    }
}

/// What one candidate contributes to the index.
#[derive(Debug, Clone)]
pub struct Indexed {
    pub supply: Supply,
    /// Whether the candidate is offered to employers ([`searchable`]).
    pub searchable: bool,
}

/// Figures from a rebuild, for the start-up log and the benchmark.
#[derive(Debug, Clone, Copy)]
pub struct RebuildStats {
    /// Local candidates indexed.
    pub candidates: u64,
    /// Remote profiles indexed.
    pub remote: u64,
    pub skills: usize,
    pub took: Duration,
    pub memory_bytes: usize,
}

#[derive(Default)]
struct Inner {
    /// Slot → key.
    keys: Vec<SkillKey>,
    /// Key → slot.
    slots: HashMap<SkillKey, u32>,
    /// Slot → the candidates claiming that skill (searchable or not).
    postings: Vec<RoaringBitmap>,
    /// Slot → the candidates' claims of that skill by level and evidence, so that a
    /// search's filters are intersections of bitmaps.
    graded: Vec<Graded>,
    /// The candidates offered to employers (remote profiles always are).
    searchable: RoaringBitmap,
    /// Local candidates by id.
    local: Entries,
    /// Remote profiles by their number (internal number minus [`REMOTE`]).
    remote: Entries,
    /// Who each remote number is, and when it expires.
    remotes: Remotes,
    /// Candidates and profiles held.
    count: u64,
}

/// What scoring needs of each subject, by number.
#[derive(Default)]
struct Entries {
    /// What scoring needs; `None` for numbers that are not (or no longer) held.
    entries: Vec<Option<Entry>>,
    /// [`class_of`]: what a subject can score outside their skills.
    classes: Vec<u8>,
}

/// The remote profiles' names and expiries.
#[derive(Default)]
struct Remotes {
    /// Origins seen, so that a profile names its origin in four bytes.
    origins: Vec<PublicKey>,
    origin_slots: HashMap<PublicKey, u32>,
    /// (origin, profile id) → number.
    numbers: HashMap<(u32, ProfileId), u32>,
    /// Number → who and until when; meaningful while the number's entry is held.
    held: Vec<Held>,
    /// Numbers given back, to be reused before the table grows.
    free: Vec<u32>,
    /// (expiry, number) of every profile held, soonest first.
    expiring: BTreeSet<(u64, u32)>,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    origin: u32,
    profile: ProfileId,
    seq: u64,
    expires_at_ms: u64,
}

impl Remotes {
    fn len(&self) -> usize {
        self.numbers.len()
    }

    fn number(&self, key: &RemoteKey) -> Option<u32> {
        let origin = *self.origin_slots.get(&key.origin)?;
        self.numbers.get(&(origin, key.profile)).copied()
    }

    fn key(&self, number: u32) -> Option<RemoteKey> {
        let h = self.held.get(number as usize)?;
        Some(RemoteKey {
            origin: *self.origins.get(h.origin as usize)?,
            profile: h.profile,
        })
    }

    /// Whether some profile's consent has ended by `now_ms`.
    fn due(&self, now_ms: u64) -> bool {
        self.expiring.first().is_some_and(|&(at, _)| at <= now_ms)
    }

    /// The profiles whose consent has ended by `now_ms`.
    fn expired(&self, now_ms: u64) -> Vec<RemoteKey> {
        self.expiring
            .iter()
            .take_while(|&&(at, _)| at <= now_ms)
            .filter_map(|&(_, n)| self.key(n))
            .collect()
    }

    fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        // hashbrown: one control byte per bucket beside the pair; a B-tree node of 11 keys
        // weighs about 16 keys' worth.
        self.numbers.capacity() * (size_of::<((u32, ProfileId), u32)>() + 1)
            + self.held.capacity() * size_of::<Held>()
            + self.free.capacity() * 4
            + self.expiring.len() * size_of::<(u64, u32)>() * 16 / 11
            + self.origins.capacity() * (size_of::<PublicKey>() * 2 + 5)
    }
}

/// A candidate as the index scores them.
#[derive(Debug, Clone)]
struct Entry {
    claims: Box<[Packed]>,
    vetting: Option<Recommendation>,
    remote: RemotePreference,
    relocate: bool,
}

/// The candidates claiming one skill, by how well: cumulative, so that "at least advanced"
/// or "at least a certificate" is one bitmap.
#[derive(Default)]
struct Graded {
    /// `[i]`: a claim at level `i + 1` (intermediate) or higher.
    level: [RoaringBitmap; 3],
    /// `[i]`: a claim backed by evidence `i + 1` (project) or stronger.
    evidence: [RoaringBitmap; 4],
    /// Two or more claims of the skill: for them alone, "a claim at least advanced" and "a
    /// claim with at least a certificate" may be two different claims, so a search asking
    /// for both checks them one by one.
    several: RoaringBitmap,
}

impl Graded {
    fn all(&mut self) -> impl Iterator<Item = &mut RoaringBitmap> {
        self.level
            .iter_mut()
            .chain(self.evidence.iter_mut())
            .chain(std::iter::once(&mut self.several))
    }
}

/// Score classes: the vetting recommendation (4 point values), the remote preference (4) and
/// the willingness to relocate (2) decide everything a candidate scores beyond their skills,
/// so a query can work out the most each class can score and skip hopeless classes.
const CLASSES: usize = 4 * 4 * 2;

fn class_of(e: &Entry) -> u8 {
    let vetting = match e.vetting {
        None | Some(Recommendation::NotYet) => 0,
        Some(Recommendation::Maybe) => 1,
        Some(Recommendation::Recommend) => 2,
        Some(Recommendation::StronglyRecommend) => 3,
    };
    let remote = match e.remote {
        RemotePreference::OnSite => 0,
        RemotePreference::Hybrid => 1,
        RemotePreference::Remote => 2,
        RemotePreference::Any => 3,
    };
    vetting * 8 + remote * 2 + u8::from(e.relocate)
}

/// What [`class_of`] packed: a vetting recommendation with the same points, the remote
/// preference and the willingness to relocate.
fn class_parts(class: usize) -> (Option<Recommendation>, RemotePreference, bool) {
    let vetting = match class / 8 {
        0 => None,
        1 => Some(Recommendation::Maybe),
        2 => Some(Recommendation::Recommend),
        _ => Some(Recommendation::StronglyRecommend),
    };
    let remote = match (class / 2) % 4 {
        0 => RemotePreference::OnSite,
        1 => RemotePreference::Hybrid,
        2 => RemotePreference::Remote,
        _ => RemotePreference::Any,
    };
    (vetting, remote, class % 2 == 1)
}

/// One claim in eight bytes.
#[derive(Debug, Clone, Copy)]
struct Packed {
    slot: u32,
    level: Level,
    evidence: Evidence,
}

impl Default for CandidateIndex {
    fn default() -> Self {
        CandidateIndex::empty()
    }
}

impl CandidateIndex {
    /// An empty index that indexes what it is given ([`CandidateIndex::put`],
    /// [`CandidateIndex::follow`]) at once, remote profiles of any origin included.
    pub fn empty() -> CandidateIndex {
        CandidateIndex {
            inner: RwLock::new(Inner::default()),
            writer: Mutex::new(Follow::default()),
            own: None,
            taxonomy: RwLock::new(None),
        }
    }

    /// An empty index for the node whose key is `own`, waiting to be
    /// [`load`](CandidateIndex::load)ed: its [`follower`](CandidateIndex::follower) queues
    /// what it hears until then.
    pub fn following(own: PublicKey) -> CandidateIndex {
        CandidateIndex {
            inner: RwLock::new(Inner::default()),
            writer: Mutex::new(Follow {
                loading: true,
                pending: Vec::new(),
            }),
            own: Some(own),
            taxonomy: RwLock::new(None),
        }
    }

    /// An index of the node whose key is `own`, filled from the store
    /// ([`CandidateIndex::load`]). It does not follow the feeds: for a node whose federation
    /// runs, make it with [`CandidateIndex::following`] and register its follower first.
    pub fn rebuild(
        store: &Store,
        taxonomy: &Taxonomy,
        own: PublicKey,
    ) -> Result<(CandidateIndex, RebuildStats), StoreError> {
        let index = CandidateIndex::following(own);
        let stats = index.load(store, taxonomy)?;
        Ok((index, stats))
    }
}

/// Reads every candidate, assessment and vetting interview in the store and indexes them
/// into `inner`, skills normalised through `taxonomy` (so free text stored before a
/// community extension was added matches its new skills from the next start).
fn load_local(inner: &mut Inner, store: &Store, taxonomy: &Taxonomy) -> Result<(), StoreError> {
    let mut assessments: HashMap<u64, Vec<Assessment>> = HashMap::new();
    for item in store.scan::<Record<Assessment>>(Table::Assessment) {
        let (_, a) = item?;
        assessments
            .entry(a.data.candidate_id)
            .or_default()
            .push(a.data);
    }
    let mut vettings: HashMap<u64, Recommendation> = HashMap::new();
    for item in store.scan::<Record<Vetting>>(Table::Vetting) {
        let (_, v) = item?;
        let best = vettings
            .entry(v.data.candidate_id)
            .or_insert(v.data.recommendation);
        *best = (*best).max(v.data.recommendation);
    }
    for item in store.scan::<Record<Candidate>>(Table::Candidate) {
        let (id, record) = item?;
        let mut supply = Supply::from_profile_in(
            taxonomy,
            &record.data.profile,
            assessments.get(&id).into_iter().flatten(),
            [],
        );
        supply.vetting = vettings.get(&id).copied();
        inner.set(
            id,
            Some(Indexed {
                supply,
                searchable: searchable(record.data.stage),
            }),
        );
    }
    Ok(())
}

impl CandidateIndex {
    /// Re-reads candidate `id` (with their assessments and vetting) from the store and
    /// replaces what the index holds of them; drops them if they are gone.
    pub fn refresh(&self, store: &Store, taxonomy: &Taxonomy, id: u64) -> Result<(), StoreError> {
        let _turn = self.turn();
        let indexed = load(store, taxonomy, id)?;
        self.write().set(id, indexed);
        Ok(())
    }

    /// Sets what the index holds of candidate `id` directly (tests and benchmarks).
    pub fn put(&self, id: u64, indexed: Option<Indexed>) {
        self.write().set(id, indexed);
    }

    /// The number of candidates and remote profiles held.
    pub fn len(&self) -> u64 {
        self.read().count
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An estimate of the heap memory the index holds, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.read().memory_bytes()
    }

    /// Free-text skills (ones the taxonomy does not know) claimed by candidates, with the
    /// number of candidates claiming each, most claimed first.
    pub fn unmatched(&self) -> Vec<(String, u64)> {
        let inner = self.read();
        let mut out: Vec<(String, u64)> = inner
            .keys
            .iter()
            .zip(&inner.postings)
            .filter_map(|(k, p)| match k {
                SkillKey::Text(t) if !p.is_empty() => Some((t.clone(), p.len())),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// The writer's turn: changes take it for their whole length.
    fn turn(&self) -> MutexGuard<'_, Follow> {
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-made entry visible: `set`
        // builds the entry before touching the maps. Go on with what is there.
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What the store holds of candidate `id`, as the index needs it; `None` if there is no
/// such candidate.
pub fn load(store: &Store, taxonomy: &Taxonomy, id: u64) -> Result<Option<Indexed>, StoreError> {
    let Some(record) = store.get::<Record<Candidate>>(Table::Candidate, id)? else {
        return Ok(None);
    };
    let mut assessments = Vec::new();
    let mut vettings = Vec::new();
    for (table, rid) in store.referrers(Table::Candidate, id)? {
        match table {
            Table::Assessment => assessments.extend(store.get::<Record<Assessment>>(table, rid)?),
            Table::Vetting => vettings.extend(store.get::<Record<Vetting>>(table, rid)?),
            _ => {}
        }
    }
    let supply = Supply::from_profile_in(
        taxonomy,
        &record.data.profile,
        assessments.iter().map(|a| &a.data),
        vettings.iter().map(|v| &v.data),
    );
    Ok(Some(Indexed {
        supply,
        searchable: searchable(record.data.stage),
    }))
}

impl Inner {
    fn slot_of(&mut self, key: &SkillKey) -> u32 {
        if let Some(&slot) = self.slots.get(key) {
            return slot;
        }
        // Slots only grow: a skill no one claims any more keeps an empty bitmap, so a slot
        // never changes meaning while a query holds it.
        let slot = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        self.keys.push(key.clone());
        self.slots.insert(key.clone(), slot);
        self.postings.push(RoaringBitmap::new());
        self.graded.push(Graded::default());
        slot
    }

    fn set(&mut self, id: u64, indexed: Option<Indexed>) {
        let small = match u32::try_from(id) {
            Ok(small) if small < REMOTE => small,
            _ => {
                // Ids are allocated from 1 upwards; two billion candidates is not a
                // community. Numbers above are the remote profiles'.
                tracing::warn!(
                    id,
                    "candidate id too large for the search index; not indexed"
                );
                return;
            }
        };
        let searchable = indexed.as_ref().is_some_and(|ix| ix.searchable);
        let entry = indexed.map(|ix| self.pack(&ix.supply));
        self.place(small, entry, searchable);
    }

    /// Sets what the index holds of a remote profile; `None` drops it.
    fn set_remote(&mut self, key: RemoteKey, profile: Option<RemoteProfile>) {
        let existing = self.remotes.number(&key);
        let Some(profile) = profile else {
            if let Some(n) = existing {
                self.place(REMOTE | n, None, false);
                let held = self.remotes.held[n as usize];
                self.remotes.expiring.remove(&(held.expires_at_ms, n));
                self.remotes.numbers.remove(&(held.origin, held.profile));
                self.remotes.free.push(n);
            }
            return;
        };
        let n = match existing {
            Some(n) => {
                let old = self.remotes.held[n as usize].expires_at_ms;
                self.remotes.expiring.remove(&(old, n));
                n
            }
            None => {
                let n = match self.remotes.free.pop() {
                    Some(n) => n,
                    None => match u32::try_from(self.remotes.held.len()) {
                        Ok(n) if n < REMOTE => n,
                        _ => {
                            tracing::warn!("too many remote profiles for the search index");
                            return;
                        }
                    },
                };
                let origin = match self.remotes.origin_slots.get(&key.origin) {
                    Some(&o) => o,
                    None => {
                        let o = u32::try_from(self.remotes.origins.len()).unwrap_or(u32::MAX);
                        self.remotes.origins.push(key.origin);
                        self.remotes.origin_slots.insert(key.origin, o);
                        o
                    }
                };
                let held = Held {
                    origin,
                    profile: key.profile,
                    seq: 0,
                    expires_at_ms: 0,
                };
                match self.remotes.held.get_mut(n as usize) {
                    Some(h) => *h = held,
                    None => self.remotes.held.push(held),
                }
                self.remotes.numbers.insert((origin, key.profile), n);
                n
            }
        };
        let held = &mut self.remotes.held[n as usize];
        held.seq = profile.seq;
        held.expires_at_ms = profile.expires_at_ms;
        self.remotes.expiring.insert((profile.expires_at_ms, n));
        let entry = self.pack(&profile.supply);
        self.place(REMOTE | n, Some(entry), true);
    }

    /// The feed sequence of the version of `key` held, if any.
    fn remote_seq(&self, key: &RemoteKey) -> Option<u64> {
        let n = self.remotes.number(key)?;
        Some(self.remotes.held.get(n as usize)?.seq)
    }

    /// The table and position of internal number `n`.
    fn table(&self, n: u32) -> (&Entries, usize) {
        if n >= REMOTE {
            (&self.remote, (n - REMOTE) as usize)
        } else {
            (&self.local, n as usize)
        }
    }

    fn entry(&self, n: u32) -> Option<&Entry> {
        let (table, at) = self.table(n);
        table.entries.get(at)?.as_ref()
    }

    /// `n`'s score class (0 for numbers not held).
    fn class(&self, n: u32) -> usize {
        let (table, at) = self.table(n);
        usize::from(table.classes.get(at).copied().unwrap_or(0))
    }

    /// Internal numbers mapped onto `0..dense_len()`, for per-query scratch arrays.
    fn dense(&self, n: u32) -> usize {
        if n >= REMOTE {
            self.local.entries.len() + (n - REMOTE) as usize
        } else {
            n as usize
        }
    }

    fn dense_len(&self) -> usize {
        self.local.entries.len() + self.remote.entries.len()
    }

    /// Who internal number `n` is.
    fn subject(&self, n: u32) -> Option<Subject> {
        if n >= REMOTE {
            self.remotes.key(n - REMOTE).map(Subject::Remote)
        } else {
            Some(Subject::Local(u64::from(n)))
        }
    }

    /// Puts `entry` at internal number `n` (replacing what was there); `None` empties it.
    fn place(&mut self, n: u32, entry: Option<Entry>, searchable: bool) {
        let table = if n >= REMOTE {
            &mut self.remote
        } else {
            &mut self.local
        };
        let at = (n & !REMOTE) as usize;
        if table.entries.len() <= at {
            if entry.is_none() {
                return;
            }
            table.entries.resize(at + 1, None);
            table.classes.resize(at + 1, 0);
        }
        let old = table.entries[at].take();
        if let Some(entry) = &entry {
            table.classes[at] = class_of(entry);
        }
        table.entries[at] = entry;
        if let Some(old) = old {
            for c in old.claims.iter() {
                self.postings[c.slot as usize].remove(n);
                for b in self.graded[c.slot as usize].all() {
                    b.remove(n);
                }
            }
            self.count -= 1;
        }
        self.searchable.remove(n);
        let table = if n >= REMOTE {
            &self.remote
        } else {
            &self.local
        };
        let Some(entry) = table.entries[at].as_ref() else {
            return;
        };
        for c in entry.claims.iter() {
            let slot = c.slot as usize;
            if !self.postings[slot].insert(n) {
                self.graded[slot].several.insert(n);
            }
            let graded = &mut self.graded[slot];
            for b in &mut graded.level[..c.level as usize] {
                b.insert(n);
            }
            for b in &mut graded.evidence[..c.evidence as usize] {
                b.insert(n);
            }
        }
        if searchable {
            self.searchable.insert(n);
        }
        self.count += 1;
    }

    fn pack(&mut self, supply: &Supply) -> Entry {
        let claims: Box<[Packed]> = supply
            .skills
            .iter()
            .map(
                |Claim {
                     skill,
                     level,
                     evidence,
                 }| Packed {
                    slot: self.slot_of(skill),
                    level: *level,
                    evidence: *evidence,
                },
            )
            .collect();
        Entry {
            claims,
            vetting: supply.vetting,
            remote: supply.remote,
            relocate: supply.willing_to_relocate,
        }
    }

    fn shrink(&mut self) {
        for table in [&mut self.local, &mut self.remote] {
            table.entries.shrink_to_fit();
            table.classes.shrink_to_fit();
        }
        self.remotes.held.shrink_to_fit();
        self.remotes.numbers.shrink_to_fit();
    }

    /// The candidate's supply, rebuilt from the packed entry, for an explanation.
    fn supply(&self, entry: &Entry) -> Supply {
        Supply {
            skills: entry
                .claims
                .iter()
                .map(|c| Claim {
                    skill: self.keys[c.slot as usize].clone(),
                    level: c.level,
                    evidence: c.evidence,
                })
                .collect(),
            vetting: entry.vetting,
            remote: entry.remote,
            willing_to_relocate: entry.relocate,
            location: None,
        }
    }

    fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        let entries: usize = [&self.local, &self.remote]
            .iter()
            .map(|t| {
                t.entries.capacity() * size_of::<Option<Entry>>()
                    + t.classes.capacity()
                    + t.entries
                        .iter()
                        .flatten()
                        .map(|e| e.claims.len() * size_of::<Packed>())
                        .sum::<usize>()
            })
            .sum();
        let postings: usize = self
            .postings
            .iter()
            .chain(
                self.graded
                    .iter()
                    .flat_map(|g| g.level.iter().chain(&g.evidence).chain([&g.several])),
            )
            .map(|p| p.serialized_size() + size_of::<RoaringBitmap>())
            .sum::<usize>();
        let keys: usize = self
            .keys
            .iter()
            .map(|k| 2 * (k.as_str().len() + size_of::<SkillKey>()))
            .sum();
        entries + postings + keys + self.searchable.serialized_size() + self.remotes.memory_bytes()
    }
}
