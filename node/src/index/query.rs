//! Running queries against the index: employer search (every listed skill required, as
//! filters) and an opening's matches (ranked by score, missing skills allowed).
//!
//! Both score with a *compiled* demand: requirements turned into slots, and the place points
//! for each remote preference worked out once, using `matching`'s own credit and share
//! functions, so that a score here always equals `matching::score_only` for the same
//! candidate (a test holds the two together). Explanations are built by `matching::score`
//! for the results kept, never for the rest.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use roaring::RoaringBitmap;

use super::{class_parts, CandidateIndex, Entry, Inner, Subject, CLASSES};
use crate::matching::{
    self, claim_credit, share, vetting_points, Demand, Match, Requirement, SkillKey, Supply,
    MAX_SCORE, NICE_TO_HAVE_WEIGHT, REQUIRED_WEIGHT,
};
use crate::model::{Evidence, Level, RemotePolicy, RemotePreference};

/// The most skills one search may list.
pub const MAX_SEARCH_SKILLS: usize = 20;

/// One skill a search requires, at or above a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillFilter {
    pub skill: SkillKey,
    pub min_level: Level,
}

/// An employer's search: candidates holding every listed skill at its level, backed by at
/// least `min_evidence` if given, and open to remote work if `remote`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub skills: Vec<SkillFilter>,
    pub min_evidence: Option<Evidence>,
    pub remote: bool,
}

impl Search {
    /// The demand a search ranks by: its skills as required ones; a remote job if `remote`,
    /// else a hybrid one with no known location (docs/matching.md, "Search").
    pub fn demand(&self) -> Demand {
        Demand {
            required: self
                .skills
                .iter()
                .map(|f| Requirement {
                    skill: f.skill.clone(),
                    min_level: f.min_level,
                })
                .collect(),
            nice_to_have: Vec::new(),
            remote: if self.remote {
                RemotePolicy::Remote
            } else {
                RemotePolicy::Hybrid
            },
            location: None,
        }
    }
}

/// One candidate in a result, with the score's explanation.
#[derive(Debug, Clone)]
pub struct Hit {
    pub subject: Subject,
    /// For a remote profile, the sequence of the feed record it was indexed from: where to
    /// read the profile to show it.
    pub seq: Option<u64>,
    pub found: Match,
}

impl Hit {
    /// The local candidate id, for a local candidate.
    pub fn local_id(&self) -> Option<u64> {
        match self.subject {
            Subject::Local(id) => Some(id),
            Subject::Remote(_) => None,
        }
    }
}

/// The best candidates of a query, best first, and how many candidates qualified in all.
#[derive(Debug, Clone)]
pub struct Results {
    pub total: u64,
    pub hits: Vec<Hit>,
}

/// A demand with its skills as slots. `None` is a skill no candidate has ever claimed.
struct Compiled<'d> {
    demand: &'d Demand,
    required: Vec<(Option<u32>, Level)>,
    nice: Vec<(Option<u32>, Level)>,
    /// Place points by [`pref_index`] and willingness to relocate.
    place: [[u32; 2]; 4],
}

fn pref_index(p: RemotePreference) -> usize {
    match p {
        RemotePreference::OnSite => 0,
        RemotePreference::Hybrid => 1,
        RemotePreference::Remote => 2,
        RemotePreference::Any => 3,
    }
}

impl<'d> Compiled<'d> {
    fn new(inner: &Inner, demand: &'d Demand) -> Compiled<'d> {
        let slots = |list: &[Requirement]| {
            list.iter()
                .map(|r| (inner.slots.get(&r.skill).copied(), r.min_level))
                .collect()
        };
        let mut place = [[0; 2]; 4];
        for pref in [
            RemotePreference::OnSite,
            RemotePreference::Hybrid,
            RemotePreference::Remote,
            RemotePreference::Any,
        ] {
            for relocate in [false, true] {
                // The index keeps no location (it is personal data), so place depends on
                // the preference and willingness to relocate alone.
                let probe = Supply {
                    skills: Vec::new(),
                    vetting: None,
                    remote: pref,
                    willing_to_relocate: relocate,
                    location: None,
                };
                place[pref_index(pref)][usize::from(relocate)] =
                    matching::place_points(demand, &probe);
            }
        }
        Compiled {
            demand,
            required: slots(&demand.required),
            nice: slots(&demand.nice_to_have),
            place,
        }
    }

    fn score(&self, e: &Entry) -> u32 {
        share(
            REQUIRED_WEIGHT,
            credits(&self.required, e),
            self.required.len(),
        ) + share(NICE_TO_HAVE_WEIGHT, credits(&self.nice, e), self.nice.len())
            + vetting_points(e.vetting)
            + self.place[pref_index(e.remote)][usize::from(e.relocate)]
    }

    /// What a candidate of score class `class` earns beyond their skills.
    fn beyond_skills(&self, class: usize) -> u32 {
        let (vetting, remote, relocate) = class_parts(class);
        vetting_points(vetting) + self.place[pref_index(remote)][usize::from(relocate)]
    }

    /// The most a candidate of score class `class` holding `held` of the required skills
    /// can score: full credit on those skills and on every nice-to-have one.
    fn upper_bound(&self, held: usize, class: usize) -> u32 {
        share(
            REQUIRED_WEIGHT,
            std::iter::repeat_n(MAX_SCORE, held),
            self.required.len(),
        ) + NICE_TO_HAVE_WEIGHT
            + self.beyond_skills(class)
    }
}

fn credits<'a>(list: &'a [(Option<u32>, Level)], e: &'a Entry) -> impl Iterator<Item = u32> + 'a {
    list.iter()
        .map(move |&(slot, min)| best_credit(e, slot, min))
}

fn best_credit(e: &Entry, slot: Option<u32>, min_level: Level) -> u32 {
    let Some(slot) = slot else { return 0 };
    e.claims
        .iter()
        .filter(|c| c.slot == slot)
        .map(|c| claim_credit(c.level, c.evidence, min_level))
        .max()
        .unwrap_or(0)
}

/// The best `k` (score, id) pairs offered, by score and then by lower id.
struct TopK {
    k: usize,
    /// A min-heap by goodness: its top is the worst kept.
    heap: BinaryHeap<Reverse<(u32, Reverse<u32>)>>,
}

impl TopK {
    fn new(k: usize) -> TopK {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(4096) + 1),
        }
    }

    fn offer(&mut self, score: u32, id: u32) {
        if self.k == 0 {
            return;
        }
        let key = (score, Reverse(id));
        if self.heap.len() < self.k {
            self.heap.push(Reverse(key));
        } else if self.heap.peek().is_some_and(|Reverse(worst)| key > *worst) {
            self.heap.pop();
            self.heap.push(Reverse(key));
        }
    }

    /// The worst kept score once `k` are kept: nothing at or below it can enter.
    fn bar(&self) -> Option<u32> {
        (self.heap.len() == self.k)
            .then(|| self.heap.peek().map(|Reverse((s, _))| *s))
            .flatten()
    }

    /// Best first.
    fn into_sorted(self) -> Vec<(u32, u32)> {
        // Ascending by `Reverse(key)` is descending by key: best first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse((score, Reverse(id)))| (score, id))
            .collect()
    }
}

/// Working memory of one query, kept per thread between queries so that a query allocates
/// next to nothing (allocating and growing a hundred thousand ids per query cost more than
/// scoring them).
#[derive(Default)]
struct Scratch {
    /// Per candidate, how many required skills they hold; left all zero after each query.
    counts: Vec<u8>,
    /// Candidate ids by bucket; emptied (capacity kept) before each query.
    buckets: Vec<Vec<u32>>,
}

/// The first `n` buckets, emptied.
fn empty_buckets(buckets: &mut Vec<Vec<u32>>, n: usize) -> &mut [Vec<u32>] {
    if buckets.len() < n {
        buckets.resize_with(n, Vec::new);
    }
    for b in &mut buckets[..n] {
        b.clear();
        // Keep what a typical query needs; give back what one huge query grew.
        b.shrink_to(1 << 14);
    }
    &mut buckets[..n]
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl CandidateIndex {
    /// The best `top` searchable candidates holding every skill of `search`, best first.
    pub fn search(&self, search: &Search, top: usize) -> Results {
        let demand = search.demand();
        self.expire(crate::federation::now_ms());
        let inner = self.read();
        let compiled = Compiled::new(&inner, &demand);
        let mut best = TopK::new(top);
        let Some(pool) = qualified(&inner, search) else {
            return explain(&inner, &compiled, best, 0);
        };
        let held = compiled.required.len();
        let total = SCRATCH.with(|cell| {
            let scratch = &mut *cell.borrow_mut();
            let buckets = empty_buckets(&mut scratch.buckets, CLASSES);
            for id in &pool {
                buckets[inner.class(id)].push(id);
            }
            // Remote-only searches leave out those who want on-site work only.
            if search.remote {
                for (class, ids) in buckets.iter_mut().enumerate() {
                    if class_parts(class).1 == RemotePreference::OnSite {
                        ids.clear();
                    }
                }
            }
            let bounds = |class: usize| compiled.upper_bound(held, class);
            rank_buckets(&inner, &compiled, buckets, bounds, &mut best);
            buckets.iter().map(|b| b.len() as u64).sum()
        });
        explain(&inner, &compiled, best, total)
    }

    /// The best `top` searchable candidates for `demand`, best first. Only candidates
    /// holding at least one required skill are considered (or one nice-to-have skill if
    /// none is required; everyone searchable if no skill is named at all).
    pub fn matches(&self, demand: &Demand, top: usize) -> Results {
        self.expire(crate::federation::now_ms());
        let inner = self.read();
        let compiled = Compiled::new(&inner, demand);
        let mut best = TopK::new(top);
        let known = |list: &[(Option<u32>, Level)]| -> Vec<u32> {
            let mut s: Vec<u32> = list.iter().filter_map(|(slot, _)| *slot).collect();
            s.sort_unstable();
            s.dedup();
            s
        };
        let required = known(&compiled.required);
        let pool = if !compiled.required.is_empty() {
            union(&inner, &required) & &inner.searchable
        } else if !compiled.nice.is_empty() {
            union(&inner, &known(&compiled.nice)) & &inner.searchable
        } else {
            inner.searchable.clone()
        };
        // Bucket the pool by how many required skills each candidate holds and by score
        // class, and score the buckets with the highest bounds first.
        SCRATCH.with(|cell| {
            let Scratch { counts, buckets } = &mut *cell.borrow_mut();
            if counts.len() < inner.dense_len() {
                counts.resize(inner.dense_len(), 0);
            }
            for &slot in &required {
                for id in &inner.postings[slot as usize] {
                    let c = &mut counts[inner.dense(id)];
                    *c = c.saturating_add(1);
                }
            }
            let buckets = empty_buckets(buckets, (required.len() + 1) * CLASSES);
            for id in &pool {
                let held = usize::from(counts[inner.dense(id)]).min(required.len());
                let class = inner.class(id);
                buckets[held * CLASSES + class].push(id);
            }
            for &slot in &required {
                for id in &inner.postings[slot as usize] {
                    counts[inner.dense(id)] = 0;
                }
            }
            let bounds = |i: usize| compiled.upper_bound(i / CLASSES, i % CLASSES);
            rank_buckets(&inner, &compiled, buckets, bounds, &mut best);
        });
        explain(&inner, &compiled, best, pool.len())
    }
}

/// Scores the candidates of each bucket, buckets by their bound (the most any of their
/// candidates can score, from `bound`) highest first, until the bar of the kept results is
/// above the next bound: neither that bucket nor any later one can enter (equal scores
/// could, by a lower id, so the bar must be strictly above).
fn rank_buckets(
    inner: &Inner,
    compiled: &Compiled<'_>,
    buckets: &[Vec<u32>],
    bound: impl Fn(usize) -> u32,
    best: &mut TopK,
) {
    let mut order: Vec<(u32, usize)> = (0..buckets.len())
        .filter(|&i| !buckets[i].is_empty())
        .map(|i| (bound(i), i))
        .collect();
    order.sort_unstable_by_key(|&(b, i)| (std::cmp::Reverse(b), i));
    for (bound, i) in order {
        if best.bar().is_some_and(|bar| bar > bound) {
            break;
        }
        for &id in &buckets[i] {
            if let Some(e) = inner.entry(id) {
                best.offer(compiled.score(e), id);
            }
        }
    }
}

/// The searchable candidates who hold every skill of `search` at or above its level with the
/// evidence asked for: the intersection, smallest first, of each skill's posting or its
/// "at least this level" and "at least this evidence" bitmaps; then, for a skill filtered on
/// both, the few candidates with several claims of it are checked claim by claim. `None` if
/// a skill is one no candidate has ever claimed.
fn qualified(inner: &Inner, search: &Search) -> Option<RoaringBitmap> {
    let min_evidence = search.min_evidence.unwrap_or(Evidence::SelfReported);
    let mut sets: Vec<&RoaringBitmap> = Vec::new();
    let mut both: Vec<(u32, Level)> = Vec::new();
    for f in &search.skills {
        let slot = *inner.slots.get(&f.skill)?;
        let graded = &inner.graded[slot as usize];
        let (level, evidence) = (f.min_level as usize, min_evidence as usize);
        if level > 0 {
            sets.push(&graded.level[level - 1]);
        }
        if evidence > 0 {
            sets.push(&graded.evidence[evidence - 1]);
        }
        if level == 0 && evidence == 0 {
            sets.push(&inner.postings[slot as usize]);
        }
        if level > 0 && evidence > 0 {
            both.push((slot, f.min_level));
        }
    }
    sets.sort_by_key(|b| b.len());
    let mut pool = match sets.first() {
        Some(first) => *first & &inner.searchable,
        None => inner.searchable.clone(),
    };
    for b in sets.iter().skip(1) {
        if pool.is_empty() {
            break;
        }
        pool &= *b;
    }
    for (slot, min_level) in both {
        let suspects = &pool & &inner.graded[slot as usize].several;
        for id in &suspects {
            let holds = inner.entry(id).is_some_and(|e| {
                e.claims
                    .iter()
                    .any(|c| c.slot == slot && c.level >= min_level && c.evidence >= min_evidence)
            });
            if !holds {
                pool.remove(id);
            }
        }
    }
    Some(pool)
}

fn union(inner: &Inner, slots: &[u32]) -> RoaringBitmap {
    let mut out = RoaringBitmap::new();
    for &s in slots {
        out |= &inner.postings[s as usize];
    }
    out
}

fn explain(inner: &Inner, compiled: &Compiled<'_>, best: TopK, total: u64) -> Results {
    let hits = best
        .into_sorted()
        .into_iter()
        .filter_map(|(quick, id)| {
            let e = inner.entry(id)?;
            let subject = inner.subject(id)?;
            let found = matching::score(compiled.demand, &inner.supply(e));
            debug_assert_eq!(found.score, quick, "index and matching scores disagree");
            let seq = match subject {
                Subject::Local(_) => None,
                Subject::Remote(key) => inner.remote_seq(&key),
            };
            Some(Hit {
                subject,
                seq,
                found,
            })
        })
        .collect();
    Results { total, hits }
}
