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
//! The index is rebuilt from the store at start ([`CandidateIndex::rebuild`]) and kept
//! current by the API, which calls [`CandidateIndex::refresh`] after every committed write
//! that changes a candidate, their assessments, vetting or placement.
//!
//! *Invariant:* the index holds no personal data: [`Supply`] has no field for it.
//!
//! *Invariant:* refreshes are serialised and each reads the store after taking its turn, so
//! after the last refresh the index agrees with the store whatever order writes raced in.

mod query;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use roaring::RoaringBitmap;

use crate::matching::{Claim, SkillKey, Supply};
use crate::model::{
    Assessment, Candidate, Evidence, Level, Recommendation, Record, RemotePreference, Stage,
    Vetting,
};
use crate::skills::Taxonomy;
use crate::store::{Store, StoreError, Table};

pub use query::{Hit, Results, Search, SkillFilter, MAX_SEARCH_SKILLS};

/// Whether a candidate in `stage` is offered to employers: not once placed, withdrawn or
/// not hired.
pub fn searchable(stage: Stage) -> bool {
    !matches!(stage, Stage::Placed | Stage::Withdrawn | Stage::NotHired)
}

/// The search index. Cheap to share behind an `Arc`; queries take a read lock for the
/// length of one query, refreshes a write lock for the length of one update.
pub struct CandidateIndex {
    inner: RwLock<Inner>,
    /// Serialises refreshes (see the module's invariant).
    writer: Mutex<()>,
}

impl std::fmt::Debug for CandidateIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandidateIndex")
            .field("candidates", &self.len())
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
    pub candidates: u64,
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
    /// Candidate id → [`class_of`]: what a candidate can score outside their skills.
    classes: Vec<u8>,
    /// The candidates offered to employers.
    searchable: RoaringBitmap,
    /// Candidate id → what scoring needs; `None` for ids that are not (or no longer) held.
    entries: Vec<Option<Entry>>,
    /// Candidates held.
    count: u64,
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
    pub fn empty() -> CandidateIndex {
        CandidateIndex {
            inner: RwLock::new(Inner::default()),
            writer: Mutex::new(()),
        }
    }

    /// Reads every candidate, assessment and vetting interview in the store and indexes
    /// them, skills normalised through `taxonomy` (so free text stored before a community
    /// extension was added matches its new skills from the next start).
    pub fn rebuild(
        store: &Store,
        taxonomy: &Taxonomy,
    ) -> Result<(CandidateIndex, RebuildStats), StoreError> {
        let started = Instant::now();
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
        let index = CandidateIndex::empty();
        {
            let mut inner = index.write();
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
            inner.shrink();
        }
        let stats = RebuildStats {
            candidates: index.len(),
            skills: index.read().keys.len(),
            took: started.elapsed(),
            memory_bytes: index.memory_bytes(),
        };
        Ok((index, stats))
    }

    /// Re-reads candidate `id` (with their assessments and vetting) from the store and
    /// replaces what the index holds of them; drops them if they are gone.
    pub fn refresh(&self, store: &Store, taxonomy: &Taxonomy, id: u64) -> Result<(), StoreError> {
        let _turn = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let indexed = load(store, taxonomy, id)?;
        self.write().set(id, indexed);
        Ok(())
    }

    /// Sets what the index holds of candidate `id` directly (tests and benchmarks).
    pub fn put(&self, id: u64, indexed: Option<Indexed>) {
        self.write().set(id, indexed);
    }

    /// The number of candidates held.
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
        let Ok(small) = u32::try_from(id) else {
            // Ids are allocated from 1 upwards; four billion candidates is not a community.
            tracing::warn!(
                id,
                "candidate id too large for the search index; not indexed"
            );
            return;
        };
        let at = small as usize;
        let entry = indexed.as_ref().map(|ix| self.pack(&ix.supply));
        if self.entries.len() <= at {
            if entry.is_none() {
                return;
            }
            self.entries.resize(at + 1, None);
            self.classes.resize(at + 1, 0);
        }
        if let Some(old) = self.entries[at].take() {
            for c in old.claims.iter() {
                self.postings[c.slot as usize].remove(small);
                for b in self.graded[c.slot as usize].all() {
                    b.remove(small);
                }
            }
            self.count -= 1;
        }
        self.searchable.remove(small);
        if let (Some(entry), Some(ix)) = (entry, indexed) {
            for c in entry.claims.iter() {
                let slot = c.slot as usize;
                if !self.postings[slot].insert(small) {
                    self.graded[slot].several.insert(small);
                }
                let graded = &mut self.graded[slot];
                for b in &mut graded.level[..c.level as usize] {
                    b.insert(small);
                }
                for b in &mut graded.evidence[..c.evidence as usize] {
                    b.insert(small);
                }
            }
            if ix.searchable {
                self.searchable.insert(small);
            }
            self.classes[at] = class_of(&entry);
            self.entries[at] = Some(entry);
            self.count += 1;
        }
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
        self.entries.shrink_to_fit();
        self.classes.shrink_to_fit();
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
        let entries = self.entries.capacity() * size_of::<Option<Entry>>()
            + self
                .entries
                .iter()
                .flatten()
                .map(|e| e.claims.len() * size_of::<Packed>())
                .sum::<usize>();
        let postings: usize = self
            .postings
            .iter()
            .chain(
                self.graded
                    .iter()
                    .flat_map(|g| g.level.iter().chain(&g.evidence).chain([&g.several])),
            )
            .map(|p| p.serialized_size() + size_of::<RoaringBitmap>())
            .sum::<usize>()
            + self.classes.capacity();
        let keys: usize = self
            .keys
            .iter()
            .map(|k| 2 * (k.as_str().len() + size_of::<SkillKey>()))
            .sum();
        entries + postings + keys + self.searchable.serialized_size()
    }
}
