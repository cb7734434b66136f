//! One calendar year of a community's figures, from the store.
//!
//! [`compute_year`] returns the year's 17 reports (12 months, 4 quarters, the year), every
//! cell defined in `docs/metrics.md`. The figures of all 17 periods are suppressed together
//! in one [`Plan`], so that no withheld cell can be worked out from another period either:
//! besides each period's breakdowns (placements = Σ placements by occupation), every series
//! of counts of people that adds up over time is tied by "time groups" (a quarter = Σ its
//! three months, the year = Σ its quarters). Cells withheld in a report published before
//! (`previous`) stay withheld.
//!
//! Speed (`node/benches/metrics.rs`): each table is read once, decoding only the fields a
//! metric needs (light serde structs, no allocation per candidate where it can be helped;
//! timestamps are read as a month index from their `YYYY-MM` prefix). Two threads share the
//! candidates in chunks of ids; one of them first reads every other table. Events are
//! bucketed by month of the year; quarters and the year are sums (or, for stocks, the value
//! at their last month) of months.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use techhire_protocol::metrics::MAX_KEY_BYTES;
use techhire_protocol::suppression::{self, Group, Plan, PlanError, Raw};
use techhire_protocol::{Cell, DecodeError, MetricReport, Period, Value};

use crate::model::{
    Community, Direction, Evidence, GoalMetric, OpeningStatus, OutreachChannel, ProviderKind,
    RetentionQuarter, Segment, Stage,
};
use crate::store::{Store, StoreError, Table, MAX_SCAN};

/// Why a year's reports could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("suppression: {0}")]
    Plan(#[from] PlanError),
    #[error("the community record is missing")]
    NoCommunity,
    #[error("a computed report does not pass the report rules: {0}")]
    Report(DecodeError),
    #[error("reading the store: {0}")]
    Thread(String),
}

/// One cell of a year's figures: which period's report and which (metric, dimension, key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CellId {
    pub period: Period,
    pub metric: String,
    pub dimension: String,
    pub key: String,
}

/// A year's figures before they become reports: the suppression plan over all 17 periods,
/// what each of its cells is, and which are withheld.
#[derive(Debug, Clone)]
pub struct YearPlan {
    pub year: u16,
    /// The suppression threshold k.
    pub threshold: u16,
    /// The community's name, from its record.
    pub community: String,
    /// The cells' raw values, the additive groups (breakdowns and time), the medians'
    /// bases and the cells forced by earlier reports.
    pub plan: Plan,
    /// What each cell of `plan.cells` is (same index).
    pub cells: Vec<CellId>,
    /// `suppression::suppress(&plan, threshold)`: `true` for a withheld cell.
    pub withheld: Vec<bool>,
}

/// The year's 17 reports ([`Period::all_of_year`] order), each at version 1 (the publisher
/// sets versions), with threshold `threshold`, cells sorted and checked. Every cell withheld
/// in a report of `previous` for the same period stays withheld.
pub fn compute_year(
    store: &Store,
    year: u16,
    threshold: u16,
    computed_at_ms: u64,
    previous: &[MetricReport],
) -> Result<Vec<MetricReport>, ComputeError> {
    let yp = plan_year(store, year, threshold, previous)?;
    reports(&yp, computed_at_ms)
}

/// The year's figures and their suppression, before they become reports; see
/// [`compute_year`].
pub fn plan_year(
    store: &Store,
    year: u16,
    threshold: u16,
    previous: &[MetricReport],
) -> Result<YearPlan, ComputeError> {
    let community = store
        .get_meta::<Community>("community")?
        .ok_or(ComputeError::NoCommunity)?;
    let scans = scan(store, year)?;
    let mut series = build_series(&scans, &community, year);
    let forced = force_previous(&mut series, year, previous);
    let (plan, cells) = make_plan(&series, year, &forced);
    let withheld = suppression::suppress(&plan, threshold)?;
    Ok(YearPlan {
        year,
        threshold,
        community: community.name,
        plan,
        cells,
        withheld,
    })
}

/// The reports of a planned year: withheld cells become [`Value::Withheld`]; see
/// [`compute_year`].
pub fn reports(yp: &YearPlan, computed_at_ms: u64) -> Result<Vec<MetricReport>, ComputeError> {
    let periods = Period::all_of_year(yp.year);
    let mut out: Vec<MetricReport> = periods
        .iter()
        .map(|p| MetricReport {
            period: *p,
            version: 1,
            computed_at_ms,
            community: yp.community.clone(),
            threshold: yp.threshold,
            cells: Vec::new(),
        })
        .collect();
    for (i, id) in yp.cells.iter().enumerate() {
        let value = if yp.withheld.get(i).copied().unwrap_or(true) {
            Value::Withheld
        } else {
            match yp.plan.cells[i] {
                Raw::People(n) => Value::People(n),
                Raw::Count(n) => Value::Count(n),
                Raw::Amount(n) => Value::Amount(n),
            }
        };
        let slot = period_index(id.period);
        out[slot].cells.push(Cell {
            metric: id.metric.clone(),
            dimension: id.dimension.clone(),
            key: id.key.clone(),
            value,
        });
    }
    for r in &mut out {
        r.sort();
        r.check().map_err(ComputeError::Report)?;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Keys of the fixed dimensions.
// ---------------------------------------------------------------------------------------

/// Every segment, in the order of their tallies.
const SEGMENTS: [Segment; 9] = [
    Segment::Veteran,
    Segment::OpportunityYouth,
    Segment::LongTermUnemployed,
    Segment::Disability,
    Segment::JusticeInvolved,
    Segment::EnglishLearner,
    Segment::LowIncome,
    Segment::RuralResident,
    Segment::Other,
];

/// The segment's key (its API name) and its position in [`SEGMENTS`].
fn segment(s: Segment) -> (&'static str, usize) {
    match s {
        Segment::Veteran => ("veteran", 0),
        Segment::OpportunityYouth => ("opportunity_youth", 1),
        Segment::LongTermUnemployed => ("long_term_unemployed", 2),
        Segment::Disability => ("disability", 3),
        Segment::JusticeInvolved => ("justice_involved", 4),
        Segment::EnglishLearner => ("english_learner", 5),
        Segment::LowIncome => ("low_income", 6),
        Segment::RuralResident => ("rural_resident", 7),
        Segment::Other => ("other", 8),
    }
}

const KINDS: [ProviderKind; 7] = [
    ProviderKind::Bootcamp,
    ProviderKind::CommunityCollege,
    ProviderKind::Online,
    ProviderKind::Apprenticeship,
    ProviderKind::University,
    ProviderKind::NonProfit,
    ProviderKind::Other,
];

fn kind(k: ProviderKind) -> (&'static str, usize) {
    match k {
        ProviderKind::Bootcamp => ("bootcamp", 0),
        ProviderKind::CommunityCollege => ("community_college", 1),
        ProviderKind::Online => ("online", 2),
        ProviderKind::Apprenticeship => ("apprenticeship", 3),
        ProviderKind::University => ("university", 4),
        ProviderKind::NonProfit => ("non_profit", 5),
        ProviderKind::Other => ("other", 6),
    }
}

const CHANNELS: [OutreachChannel; 8] = [
    OutreachChannel::Event,
    OutreachChannel::SocialMedia,
    OutreachChannel::Referral,
    OutreachChannel::CommunityPartner,
    OutreachChannel::AmericanJobCenter,
    OutreachChannel::Library,
    OutreachChannel::Radio,
    OutreachChannel::Other,
];

fn channel(c: OutreachChannel) -> (&'static str, usize) {
    match c {
        OutreachChannel::Event => ("event", 0),
        OutreachChannel::SocialMedia => ("social_media", 1),
        OutreachChannel::Referral => ("referral", 2),
        OutreachChannel::CommunityPartner => ("community_partner", 3),
        OutreachChannel::AmericanJobCenter => ("american_job_center", 4),
        OutreachChannel::Library => ("library", 5),
        OutreachChannel::Radio => ("radio", 6),
        OutreachChannel::Other => ("other", 7),
    }
}

/// The pipeline metrics, in the order of their tallies: the first five come from the
/// candidate record, `placed` from placement records.
const PIPELINE: [&str; 6] = [
    "applied",
    "assessed",
    "vetted",
    "matched",
    "introduced",
    "placed",
];
const APPLIED: usize = 0;
const PLACED: usize = 5;
/// Events kept per candidate: the five pipeline stages, then training start and completion.
const T_START: usize = 5;
const T_DONE: usize = 6;
/// No event in the year.
const NONE: u8 = u8::MAX;

/// The stage's position in [`PIPELINE`], for the stages a candidate record counts.
fn pipeline_stage(s: Stage) -> Option<usize> {
    match s {
        Stage::Assessed => Some(1),
        Stage::Vetted => Some(2),
        Stage::Matched => Some(3),
        Stage::Introduced => Some(4),
        Stage::Applied | Stage::Placed | Stage::Withdrawn | Stage::NotHired => None,
    }
}

// ---------------------------------------------------------------------------------------
// Light records: only the fields a metric reads. Timestamps become month indexes.
// ---------------------------------------------------------------------------------------

/// A calendar month (UTC) as a running index: `year × 12 + month − 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Month(i32);

impl Month {
    /// The month within `year` (0..12), or a negative number before it / 12+ after it.
    fn of_year(self, year: u16) -> i32 {
        self.0 - i32::from(year) * 12
    }

    /// `Some(0..12)` when the month is in `year`.
    fn slot(self, year: u16) -> Option<usize> {
        let m = self.of_year(year);
        (0..12).contains(&m).then_some(m as usize)
    }
}

/// The month of an RFC 3339 UTC timestamp (`2026-03-14T15:09:26Z`, as chrono writes a
/// `DateTime<Utc>`), a date (`2026-03-14`) or a month (`2026-03`, as an introduction's
/// `remote.placed` holds it), read from the prefix; any other offset is parsed in full
/// and converted to UTC.
fn parse_month(s: &str) -> Option<Month> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i32> {
        b.get(r)?.iter().try_fold(0i32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i32::from(c - b'0'))
        })
    };
    let fast = (b.len() == 7 && b[4] == b'-')
        || (b.len() >= 10
            && b[4] == b'-'
            && b[7] == b'-'
            && (b.len() == 10 || (b[10] == b'T' && b.ends_with(b"Z"))));
    if fast {
        let (year, month) = (digits(0..4)?, digits(5..7)?);
        if (1..=12).contains(&month) {
            return Some(Month(year * 12 + month - 1));
        }
        return None;
    }
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?.naive_utc();
    use chrono::Datelike;
    Some(Month(t.year() * 12 + t.month0() as i32))
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Month, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Month;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an RFC 3339 timestamp or a date")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Month, E> {
                parse_month(s).ok_or_else(|| E::custom(format!("not a timestamp: {s:?}")))
            }
        }
        d.deserialize_str(V)
    }
}

// A million candidates are read per year computed: their rows are decoded without a heap
// allocation each where possible (a skill id is kept inline, lists are folded as they are
// read), since small allocations freed between the store's larger value buffers made
// glibc's allocator the biggest cost of a scan.

#[derive(Deserialize)]
struct CandidateRow {
    id: u64,
    created_at: Month,
    profile: ProfileRow,
    #[serde(default)]
    stage_history: FirstStages,
}

#[derive(Deserialize)]
struct ProfileRow {
    #[serde(default)]
    skills: AssessedSkills,
    #[serde(default)]
    program_id: Option<u64>,
    #[serde(default)]
    training_started_on: Option<Month>,
    #[serde(default)]
    training_completed_on: Option<Month>,
}

/// The taxonomy ids of the skills a profile claims with `assessment` evidence.
#[derive(Default)]
struct AssessedSkills(Vec<SkillId>);

#[derive(Deserialize)]
struct ClaimRow {
    #[serde(default)]
    skill_id: Option<SkillId>,
    evidence: Evidence,
}

impl<'de> Deserialize<'de> for AssessedSkills {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AssessedSkills, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = AssessedSkills;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of skill claims")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<AssessedSkills, A::Error> {
                let mut out = Vec::new();
                while let Some(claim) = seq.next_element::<ClaimRow>()? {
                    if let (Evidence::Assessment, Some(id)) = (claim.evidence, claim.skill_id) {
                        out.push(id);
                    }
                }
                Ok(AssessedSkills(out))
            }
        }
        d.deserialize_seq(V)
    }
}

/// Longest skill id kept inline.
const INLINE_ID: usize = 46;

/// A skill id, inline when short (taxonomy ids are short slugs).
enum SkillId {
    Inline { len: u8, bytes: [u8; INLINE_ID] },
    Heap(Box<str>),
}

impl SkillId {
    fn as_str(&self) -> &str {
        match self {
            SkillId::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            SkillId::Heap(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for SkillId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SkillId, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SkillId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a skill id")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<SkillId, E> {
                if s.len() <= INLINE_ID {
                    let mut bytes = [0; INLINE_ID];
                    bytes[..s.len()].copy_from_slice(s.as_bytes());
                    Ok(SkillId::Inline {
                        len: s.len() as u8,
                        bytes,
                    })
                } else {
                    Ok(SkillId::Heap(s.into()))
                }
            }
        }
        d.deserialize_str(V)
    }
}

/// The month each of `assessed`, `vetted`, `matched` and `introduced` first appears in a
/// stage history (by [`pipeline_stage`] position − 1).
#[derive(Default)]
struct FirstStages([Option<Month>; 4]);

#[derive(Deserialize)]
struct StageRow {
    stage: Stage,
    at: Month,
}

impl<'de> Deserialize<'de> for FirstStages {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FirstStages, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = FirstStages;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a stage history")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<FirstStages, A::Error> {
                let mut out = FirstStages::default();
                while let Some(h) = seq.next_element::<StageRow>()? {
                    if let Some(i) = pipeline_stage(h.stage) {
                        out.0[i - 1].get_or_insert(h.at);
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize)]
struct PersonalRow {
    #[serde(default)]
    segments: SegmentBits,
}

/// Self-identified segments as bits (by [`SEGMENTS`] position).
#[derive(Default)]
struct SegmentBits(u16);

impl<'de> Deserialize<'de> for SegmentBits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SegmentBits, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SegmentBits;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of segments")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<SegmentBits, A::Error> {
                let mut bits = 0u16;
                while let Some(s) = seq.next_element::<Segment>()? {
                    bits |= 1 << segment(s).1;
                }
                Ok(SegmentBits(bits))
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize)]
struct PlacementRow {
    created_at: Month,
    candidate_id: u64,
    starting_wage_annual_usd: u32,
    soc_code: String,
    #[serde(default)]
    program_id: Option<u64>,
    #[serde(default)]
    retention: Vec<RetentionRow>,
}

#[derive(Deserialize)]
struct RetentionRow {
    quarter: RetentionQuarter,
    checked_on: Month,
    employed: bool,
}

#[derive(Deserialize)]
struct OpeningRow {
    created_at: Month,
    updated_at: Month,
    #[serde(default)]
    required_skills: Vec<RequirementRow>,
    #[serde(default)]
    status: OpeningStatus,
    #[serde(default = "one")]
    positions: u16,
}

fn one() -> u16 {
    1
}

#[derive(Deserialize)]
struct RequirementRow {
    #[serde(default)]
    skill_id: Option<String>,
}

#[derive(Deserialize)]
struct EmployerRow {
    #[serde(default)]
    commitment: Option<CommitmentRow>,
}

#[derive(Deserialize)]
struct CommitmentRow {
    signed_on: Month,
}

/// An introduction, for `hired_from_other_communities`: only its federated part.
#[derive(Deserialize)]
struct IntroductionRow {
    #[serde(default)]
    remote: Option<RemoteIntroRow>,
}

#[derive(Deserialize)]
struct RemoteIntroRow {
    direction: Direction,
    #[serde(default)]
    placed: Option<Month>,
}

#[derive(Deserialize)]
struct OutreachRow {
    channel: OutreachChannel,
    period_end: Month,
    job_seekers_reached: u32,
}

#[derive(Deserialize)]
struct ProgramRow {
    provider_id: u64,
    name: String,
}

#[derive(Deserialize)]
struct ProviderRow {
    name: String,
    kind: ProviderKind,
}

// ---------------------------------------------------------------------------------------
// Reading the store.
// ---------------------------------------------------------------------------------------

/// Monthly tallies of the year.
type Months = [u64; 12];

/// A stock: `[0]` is the level before the year, `[1 + m]` what month `m` adds.
type Stock = [u64; 13];

/// What the candidate scan keeps.
#[derive(Default)]
struct CandidateScan {
    /// Candidates with an event in the year, in id order.
    events: Vec<Events>,
    /// `skills.supplied` by skill id.
    supplied: HashMap<String, Stock>,
    supplied_total: Stock,
}

/// One candidate's events in the year: month (0..12) or [`NONE`], by [`PIPELINE`] position
/// (placement excepted) then [`T_START`], [`T_DONE`].
struct Events {
    id: u64,
    program: Option<u64>,
    at: [u8; 7],
}

/// What the other scan keeps.
#[derive(Default)]
struct OtherScan {
    /// `(candidate id, segment bits)` for candidates with a segment, in id order.
    segments: Vec<(u64, u16)>,
    placements: Vec<PlacementRow>,
    /// Program id → (key, provider kind).
    programs: HashMap<u64, (String, Option<ProviderKind>)>,
    committed: Stock,
    new_commitments: Months,
    open_positions: Months,
    demanded: BTreeMap<String, Months>,
    demanded_total: Months,
    outreach: [Months; 8],
    /// This community's employers' hires of other nodes' candidates, by start month.
    hired_remote: Months,
}

struct Scans {
    candidates: CandidateScan,
    other: OtherScan,
}

/// Candidates are read in chunks of [`MAX_SCAN`] ids by both threads; the other thread
/// first reads every other table.
fn scan(store: &Store, year: u16) -> Result<Scans, ComputeError> {
    let queue = Chunks {
        next: AtomicU64::new(0),
        end: AtomicU64::new(u64::MAX),
    };
    let (mine, theirs, other) = std::thread::scope(|s| {
        let helper = s.spawn(|| {
            let other = scan_other(store, year);
            if other.is_err() {
                queue.stop();
            }
            (scan_candidates(store, year, &queue), other)
        });
        let mine = scan_candidates(store, year, &queue);
        match helper.join() {
            Ok((theirs, other)) => Ok((mine, theirs, other)),
            Err(_) => Err(ComputeError::Thread("a scan thread panicked".into())),
        }
    })?;
    let (mine, theirs, other) = (mine?, theirs?, other?);
    let mut parts: Vec<(u64, Vec<Events>)> = mine.0.into_iter().chain(theirs.0).collect();
    parts.sort_unstable_by_key(|(chunk, _)| *chunk);
    let mut candidates = mine.1;
    candidates.events = parts.into_iter().flat_map(|(_, e)| e).collect();
    for (skill, stock) in theirs.1.supplied {
        let into = candidates.supplied.entry(skill).or_insert([0; 13]);
        for (a, b) in into.iter_mut().zip(stock) {
            *a += b;
        }
    }
    for (a, b) in candidates
        .supplied_total
        .iter_mut()
        .zip(theirs.1.supplied_total)
    {
        *a += b;
    }
    Ok(Scans { candidates, other })
}

/// Chunks of candidate ids handed out to the scanning threads: chunk `c` is the ids
/// `c × MAX_SCAN + 1 ..= (c + 1) × MAX_SCAN`, so one `Store::list` call reads it whole.
struct Chunks {
    next: AtomicU64,
    /// The last chunk holding records (once a thread has seen the end of the table).
    end: AtomicU64,
}

impl Chunks {
    fn stop(&self) {
        self.end.store(0, Ordering::SeqCst);
        self.next.store(u64::MAX / 2, Ordering::SeqCst);
    }
}

/// One thread's share of the candidates: its chunks' events (by chunk) and its skill
/// tallies.
type CandidatePart = (Vec<(u64, Vec<Events>)>, CandidateScan);

fn scan_candidates(
    store: &Store,
    year: u16,
    queue: &Chunks,
) -> Result<CandidatePart, ComputeError> {
    let result = scan_candidate_chunks(store, year, queue);
    if result.is_err() {
        queue.stop();
    }
    result
}

fn scan_candidate_chunks(
    store: &Store,
    year: u16,
    queue: &Chunks,
) -> Result<CandidatePart, ComputeError> {
    let size = MAX_SCAN as u64;
    let mut parts = Vec::new();
    let mut out = CandidateScan::default();
    loop {
        let chunk = queue.next.fetch_add(1, Ordering::SeqCst);
        if chunk > queue.end.load(Ordering::SeqCst) {
            break;
        }
        let (after, last) = (chunk * size, (chunk + 1) * size);
        let page = store
            .list::<CandidateRow>(Table::Candidate, Some(after), MAX_SCAN, |c| c.id <= last)?;
        if page.next_after.is_none() {
            queue.end.fetch_min(chunk, Ordering::SeqCst);
        }
        let mut events = Vec::new();
        let mut held = Vec::new();
        for c in &page.items {
            candidate(c, year, &mut out, &mut held, &mut events);
        }
        parts.push((chunk, events));
    }
    Ok((parts, out))
}

/// Tallies one candidate: the skills they hold by the end of each month, and their events
/// of the year.
fn candidate<'a>(
    c: &'a CandidateRow,
    year: u16,
    out: &mut CandidateScan,
    held: &mut Vec<&'a str>,
    events: &mut Vec<Events>,
) {
    let applied = c.created_at.of_year(year);
    // skills.supplied: assessed taxonomy skills of candidates who applied by then.
    if applied < 12 {
        held.clear();
        held.extend(
            c.profile
                .skills
                .0
                .iter()
                .map(SkillId::as_str)
                .filter(|s| !s.is_empty() && s.len() <= MAX_KEY_BYTES),
        );
        if !held.is_empty() {
            held.sort_unstable();
            held.dedup();
            let at = (applied.max(-1) + 1) as usize;
            for skill in held.iter() {
                match out.supplied.get_mut(*skill) {
                    Some(stock) => stock[at] += 1,
                    None => {
                        let mut stock = [0; 13];
                        stock[at] = 1;
                        out.supplied.insert((*skill).to_owned(), stock);
                    }
                }
            }
            out.supplied_total[at] += 1;
        }
    }

    // Events of the year.
    let mut at = [NONE; 7];
    if (0..12).contains(&applied) {
        at[APPLIED] = applied as u8;
    }
    for (i, first) in c.stage_history.0.iter().enumerate() {
        if let Some(m) = first.and_then(|m| m.slot(year)) {
            at[i + 1] = m as u8;
        }
    }
    if c.profile.program_id.is_some() {
        if let Some(m) = c.profile.training_started_on.and_then(|d| d.slot(year)) {
            at[T_START] = m as u8;
        }
        if let Some(m) = c.profile.training_completed_on.and_then(|d| d.slot(year)) {
            at[T_DONE] = m as u8;
        }
    }
    if at.iter().any(|m| *m != NONE) {
        events.push(Events {
            id: c.id,
            program: c.profile.program_id,
            at,
        });
    }
}

fn scan_other(store: &Store, year: u16) -> Result<OtherScan, ComputeError> {
    let mut out = OtherScan::default();
    for row in store.scan::<PersonalRow>(Table::CandidatePersonal) {
        let (id, p) = row?;
        let bits = p.segments.0;
        if bits != 0 {
            out.segments.push((id, bits));
        }
    }
    for row in store.scan::<PlacementRow>(Table::Placement) {
        let (_, p) = row?;
        let placed = p.created_at.of_year(year);
        let checked = p
            .retention
            .iter()
            .any(|r| r.checked_on.slot(year).is_some());
        if (0..12).contains(&placed) || checked {
            out.placements.push(p);
        }
    }
    out.programs = program_keys(store)?;
    for row in store.scan::<EmployerRow>(Table::Employer) {
        let (_, e) = row?;
        if let Some(c) = e.commitment {
            let m = c.signed_on.of_year(year);
            if m < 12 {
                out.committed[(m.max(-1) + 1) as usize] += 1;
            }
            if let Some(m) = c.signed_on.slot(year) {
                out.new_commitments[m] += 1;
            }
        }
    }
    for row in store.scan::<OpeningRow>(Table::Opening) {
        let (_, o) = row?;
        // Open at the end of month m: created by then, and still open, or closed (filled,
        // paused) by a change after that month, taken to be its last update.
        let from = o.created_at.of_year(year).max(0);
        let until = match o.status {
            OpeningStatus::Open => 12,
            OpeningStatus::Paused | OpeningStatus::Filled | OpeningStatus::Closed => {
                o.updated_at.of_year(year).min(12)
            }
        };
        if from >= until {
            continue;
        }
        let skills: Vec<&str> = {
            let mut s: Vec<&str> = o
                .required_skills
                .iter()
                .filter_map(|r| r.skill_id.as_deref())
                .filter(|s| s.len() <= MAX_KEY_BYTES)
                .collect();
            s.sort_unstable();
            s.dedup();
            s
        };
        for m in from as usize..until as usize {
            out.open_positions[m] += u64::from(o.positions);
            if !skills.is_empty() {
                out.demanded_total[m] += 1;
            }
        }
        for s in skills {
            let months = match out.demanded.get_mut(s) {
                Some(m) => m,
                None => out.demanded.entry(s.to_owned()).or_default(),
            };
            for n in &mut months[from as usize..until as usize] {
                *n += 1;
            }
        }
    }
    for row in store.scan::<IntroductionRow>(Table::Introduction) {
        let (_, i) = row?;
        // Only outgoing ones: the home community counts its own candidate in `placed`.
        if let Some(RemoteIntroRow {
            direction: Direction::Outgoing,
            placed: Some(month),
        }) = i.remote
        {
            if let Some(m) = month.slot(year) {
                out.hired_remote[m] += 1;
            }
        }
    }
    for row in store.scan::<OutreachRow>(Table::Outreach) {
        let (_, o) = row?;
        if let Some(m) = o.period_end.slot(year) {
            out.outreach[channel(o.channel).1][m] += u64::from(o.job_seekers_reached);
        }
    }
    Ok(out)
}

/// Every program's key in the `program` dimension: "name (provider name)", cut to
/// [`MAX_KEY_BYTES`] at a character boundary; keys that two programs would share (after the
/// cut, or because names repeat) end in " #id" instead. With the provider's kind.
fn program_keys(
    store: &Store,
) -> Result<HashMap<u64, (String, Option<ProviderKind>)>, ComputeError> {
    let mut providers = HashMap::new();
    for row in store.scan::<ProviderRow>(Table::Provider) {
        let (id, p) = row?;
        providers.insert(id, p);
    }
    let mut programs = Vec::new();
    for row in store.scan::<ProgramRow>(Table::Program) {
        let (id, p) = row?;
        let provider = providers.get(&p.provider_id);
        let full = match provider {
            Some(v) => format!("{} ({})", p.name, v.name),
            None => p.name.clone(),
        };
        programs.push((id, full, provider.map(|v| v.kind)));
    }
    let mut uses: HashMap<String, usize> = HashMap::new();
    uses.insert(NO_PROGRAM.to_owned(), 1);
    for (_, full, _) in &programs {
        *uses.entry(cut(full, MAX_KEY_BYTES).to_owned()).or_default() += 1;
    }
    Ok(programs
        .into_iter()
        .map(|(id, full, kind)| {
            let key = cut(&full, MAX_KEY_BYTES);
            let key = if uses.get(key).copied().unwrap_or(0) > 1 {
                let suffix = format!(" #{id}");
                format!("{}{suffix}", cut(&full, MAX_KEY_BYTES - suffix.len()))
            } else {
                key.to_owned()
            };
            (id, (key, kind))
        })
        .collect())
}

/// The `program` key of placements credited to no program.
const NO_PROGRAM: &str = "none";

/// `s` cut to at most `max` bytes, at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

// ---------------------------------------------------------------------------------------
// Series: one (metric, dimension, key) across the year's 17 periods.
// ---------------------------------------------------------------------------------------

/// Periods are indexed as in [`Period::all_of_year`]: months 0..12, quarters 12..16, the
/// year 16.
const PERIODS: usize = 17;
const YEAR: usize = 16;

fn period_index(p: Period) -> usize {
    match p {
        Period::Month { month, .. } => usize::from(month) - 1,
        Period::Quarter { quarter, .. } => 11 + usize::from(quarter),
        Period::Year { .. } => YEAR,
    }
}

type Key = (String, String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    People,
    Count,
    Amount,
}

#[derive(Debug, Clone)]
struct Series {
    kind: Kind,
    values: [u64; PERIODS],
    present: [bool; PERIODS],
    /// Quarter = Σ months and year = Σ quarters (counts of people only).
    time_additive: bool,
    /// For a median: the count of people it rests on.
    base: Option<Key>,
}

/// Month values summed into quarters and the year (a flow).
fn flow(m: &Months) -> [u64; PERIODS] {
    let mut v = [0; PERIODS];
    v[..12].copy_from_slice(m);
    for q in 0..4 {
        v[12 + q] = m[3 * q..3 * q + 3].iter().sum();
    }
    v[YEAR] = m.iter().sum();
    v
}

/// Levels at the end of each month; a quarter's and the year's are their last month's.
fn level(m: &Months) -> [u64; PERIODS] {
    let mut v = [0; PERIODS];
    v[..12].copy_from_slice(m);
    for q in 0..4 {
        v[12 + q] = m[3 * q + 2];
    }
    v[YEAR] = m[11];
    v
}

/// A stock's levels at the end of each month.
fn accumulate(s: &Stock) -> Months {
    let mut out = [0; 12];
    let mut level = s[0];
    for m in 0..12 {
        level += s[1 + m];
        out[m] = level;
    }
    out
}

/// The months of period index `p`.
fn months_of(p: usize) -> std::ops::Range<usize> {
    match p {
        0..12 => p..p + 1,
        12..16 => 3 * (p - 12)..3 * (p - 12) + 3,
        _ => 0..12,
    }
}

/// Medians of the wages per period (0 where there are none).
fn medians(wages: &[Vec<u32>; 12]) -> [u64; PERIODS] {
    let mut v = [0; PERIODS];
    let mut buf = Vec::new();
    for (p, slot) in v.iter_mut().enumerate() {
        buf.clear();
        for m in months_of(p) {
            buf.extend_from_slice(&wages[m]);
        }
        *slot = median(&mut buf);
    }
    v
}

/// The median; for an even number of values the mean of the middle two, rounded down.
fn median(values: &mut [u32]) -> u64 {
    let n = values.len();
    if n == 0 {
        return 0;
    }
    values.sort_unstable();
    if n % 2 == 1 {
        u64::from(values[n / 2])
    } else {
        (u64::from(values[n / 2 - 1]) + u64::from(values[n / 2])) / 2
    }
}

#[derive(Default)]
struct Figures {
    series: BTreeMap<Key, Series>,
}

/// Which periods of a series carry a cell.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cells {
    /// Every period, zero or not.
    All,
    /// Only where the value is not zero (absent means 0).
    NonZero,
    /// The year's report only.
    YearOnly,
}

impl Figures {
    #[allow(clippy::too_many_arguments)]
    fn put(
        &mut self,
        metric: &str,
        dimension: &str,
        key: &str,
        kind: Kind,
        values: [u64; PERIODS],
        cells: Cells,
        time_additive: bool,
    ) {
        let present = std::array::from_fn(|p| match cells {
            Cells::All => true,
            Cells::NonZero => values[p] != 0,
            Cells::YearOnly => p == YEAR,
        });
        self.series.insert(
            (metric.to_owned(), dimension.to_owned(), key.to_owned()),
            Series {
                kind,
                values,
                present,
                time_additive,
                base: None,
            },
        );
    }

    /// People counted per month: every period, adding up over time.
    fn people(&mut self, metric: &str, dimension: &str, key: &str, m: &Months) {
        self.put(
            metric,
            dimension,
            key,
            Kind::People,
            flow(m),
            Cells::All,
            true,
        );
    }

    /// A median of `wages` resting on the count of people `base`; present where it is.
    fn median(&mut self, metric: &str, dimension: &str, key: &str, wages: &[Vec<u32>; 12]) {
        let base = ("placed".to_owned(), dimension.to_owned(), key.to_owned());
        let present = self
            .series
            .get(&base)
            .map_or([false; PERIODS], |b| b.present);
        self.series.insert(
            (metric.to_owned(), dimension.to_owned(), key.to_owned()),
            Series {
                kind: Kind::Amount,
                values: medians(wages),
                present,
                time_additive: false,
                base: Some(base),
            },
        );
    }
}

/// The breakdowns that partition their metric's total in every period.
const PARTITIONS: [(&str, &str); 7] = [
    ("placed", "soc"),
    ("placed", "program"),
    ("training.enrolled", "provider_kind"),
    ("training.completed", "provider_kind"),
    ("retention.q2", "status"),
    ("retention.q4", "status"),
    ("outreach.reached", "channel"),
];

/// The positions in [`SEGMENTS`] of the bits set in `bits`.
fn segment_bits(bits: u16) -> impl Iterator<Item = usize> {
    (0..SEGMENTS.len()).filter(move |s| bits & (1 << s) != 0)
}

fn build_series(scans: &Scans, community: &Community, year: u16) -> Figures {
    let c = &scans.candidates;
    let o = &scans.other;
    let segments_of = |id: u64| -> u16 {
        o.segments
            .binary_search_by_key(&id, |(i, _)| *i)
            .map_or(0, |i| o.segments[i].1)
    };

    // Pipeline and training, from the candidates' events.
    let mut pipeline = [[0u64; 12]; 6];
    let mut pipeline_seg = [[[0u64; 12]; 9]; 6];
    let mut training = [[0u64; 12]; 2];
    let mut training_kind = [[[0u64; 12]; 7]; 2];
    let mut training_seg = [[[0u64; 12]; 9]; 2];
    let mut seg_cursor = 0;
    for e in &c.events {
        // Both lists are in id order: a merge finds each candidate's segments.
        while seg_cursor < o.segments.len() && o.segments[seg_cursor].0 < e.id {
            seg_cursor += 1;
        }
        let bits = match o.segments.get(seg_cursor) {
            Some((id, bits)) if *id == e.id => *bits,
            _ => 0,
        };
        for (i, m) in e.at[..5].iter().enumerate() {
            if *m != NONE {
                let m = usize::from(*m);
                pipeline[i][m] += 1;
                for s in segment_bits(bits) {
                    pipeline_seg[i][s][m] += 1;
                }
            }
        }
        let kind_of = e
            .program
            .and_then(|p| o.programs.get(&p))
            .and_then(|(_, k)| *k);
        if let Some(k) = kind_of {
            for (t, ev) in [T_START, T_DONE].into_iter().enumerate() {
                let m = e.at[ev];
                if m != NONE {
                    let m = usize::from(m);
                    training[t][m] += 1;
                    training_kind[t][kind(k).1][m] += 1;
                    for s in segment_bits(bits) {
                        training_seg[t][s][m] += 1;
                    }
                }
            }
        }
    }

    // Placements and retention.
    let mut by_soc: BTreeMap<&str, (Months, [Vec<u32>; 12])> = BTreeMap::new();
    let mut by_program: BTreeMap<String, Months> = BTreeMap::new();
    let mut wages: [Vec<u32>; 12] = Default::default();
    let mut retention = [[[0u64; 12]; 2]; 2];
    for p in &o.placements {
        for r in &p.retention {
            if let Some(m) = r.checked_on.slot(year) {
                let q = match r.quarter {
                    RetentionQuarter::Q2 => 0,
                    RetentionQuarter::Q4 => 1,
                };
                retention[q][usize::from(!r.employed)][m] += 1;
            }
        }
        let Some(m) = p.created_at.slot(year) else {
            continue;
        };
        pipeline[PLACED][m] += 1;
        for s in segment_bits(segments_of(p.candidate_id)) {
            pipeline_seg[PLACED][s][m] += 1;
        }
        let soc = by_soc.entry(p.soc_code.as_str()).or_default();
        soc.0[m] += 1;
        soc.1[m].push(p.starting_wage_annual_usd);
        wages[m].push(p.starting_wage_annual_usd);
        let program = match p.program_id {
            None => NO_PROGRAM.to_owned(),
            Some(id) => match o.programs.get(&id) {
                Some((key, _)) => key.clone(),
                None => format!("program #{id}"),
            },
        };
        by_program.entry(program).or_default()[m] += 1;
    }

    let mut f = Figures::default();
    for (i, metric) in PIPELINE.iter().enumerate() {
        f.people(metric, "", "", &pipeline[i]);
        for (s, seg) in SEGMENTS.iter().enumerate() {
            f.people(metric, "segment", segment(*seg).0, &pipeline_seg[i][s]);
        }
    }
    for (soc, (months, _)) in &by_soc {
        f.put(
            "placed",
            "soc",
            soc,
            Kind::People,
            flow(months),
            Cells::NonZero,
            true,
        );
    }
    for (program, months) in &by_program {
        f.put(
            "placed",
            "program",
            program,
            Kind::People,
            flow(months),
            Cells::NonZero,
            true,
        );
    }
    f.median("placed.median_wage", "", "", &wages);
    for (soc, (_, w)) in &by_soc {
        f.median("placed.median_wage", "soc", soc, w);
    }

    for (t, metric) in ["training.enrolled", "training.completed"]
        .into_iter()
        .enumerate()
    {
        f.people(metric, "", "", &training[t]);
        for k in KINDS {
            let (key, i) = kind(k);
            f.people(metric, "provider_kind", key, &training_kind[t][i]);
        }
        for (s, seg) in SEGMENTS.iter().enumerate() {
            f.people(metric, "segment", segment(*seg).0, &training_seg[t][s]);
        }
    }

    for (q, metric) in ["retention.q2", "retention.q4"].into_iter().enumerate() {
        let [employed, not_employed] = retention[q];
        let total = std::array::from_fn(|m| employed[m] + not_employed[m]);
        f.people(metric, "", "", &total);
        f.people(metric, "status", "employed", &employed);
        f.people(metric, "status", "not_employed", &not_employed);
    }

    // Never added into `placed` (nor by the national view): the person is counted there by
    // their home community.
    f.people("hired_from_other_communities", "", "", &o.hired_remote);

    let reached = std::array::from_fn(|m| o.outreach.iter().map(|c| c[m]).sum());
    f.people("outreach.reached", "", "", &reached);
    for ch in CHANNELS {
        let (key, i) = channel(ch);
        f.people("outreach.reached", "channel", key, &o.outreach[i]);
    }

    let count = |f: &mut Figures, metric: &str, values: [u64; PERIODS]| {
        f.put(metric, "", "", Kind::Count, values, Cells::All, false);
    };
    count(
        &mut f,
        "employers.committed",
        level(&accumulate(&o.committed)),
    );
    count(
        &mut f,
        "employers.new_commitments",
        flow(&o.new_commitments),
    );
    count(&mut f, "openings.open_positions", level(&o.open_positions));

    count(&mut f, "skills.demanded", level(&o.demanded_total));
    for (skill, months) in &o.demanded {
        f.put(
            "skills.demanded",
            "skill",
            skill,
            Kind::Count,
            level(months),
            Cells::NonZero,
            false,
        );
    }
    f.put(
        "skills.supplied",
        "",
        "",
        Kind::People,
        level(&accumulate(&c.supplied_total)),
        Cells::All,
        false,
    );
    for (skill, stock) in &c.supplied {
        f.put(
            "skills.supplied",
            "skill",
            skill,
            Kind::People,
            level(&accumulate(stock)),
            Cells::NonZero,
            false,
        );
    }

    if let Some(goal) = community.goals.iter().find(|g| g.year == year) {
        let mut target = |metric: &str, dimension: &str, key: &str, n: u32| {
            let mut v = [0; PERIODS];
            v[YEAR] = u64::from(n);
            f.put(
                metric,
                dimension,
                key,
                Kind::Count,
                v,
                Cells::YearOnly,
                false,
            );
        };
        target("goal.placements", "", "", goal.placements);
        target("goal.people_trained", "", "", goal.people_trained);
        target("goal.job_seekers_reached", "", "", goal.job_seekers_reached);
        for s in &goal.segment_goals {
            let metric = match s.metric {
                GoalMetric::Placements => "goal.placements",
                GoalMetric::PeopleTrained => "goal.people_trained",
                GoalMetric::JobSeekersReached => "goal.job_seekers_reached",
            };
            target(metric, "segment", segment(s.segment).0, s.target);
        }
    }
    f
}

// ---------------------------------------------------------------------------------------
// Sticky suppression and the plan.
// ---------------------------------------------------------------------------------------

/// Marks every cell withheld in a previous report of `year` as present (a zero cell that
/// would otherwise be absent is kept, withheld) and returns them as (series, period).
fn force_previous(f: &mut Figures, year: u16, previous: &[MetricReport]) -> Vec<(Key, usize)> {
    let mut forced = Vec::new();
    for r in previous.iter().filter(|r| r.period.year() == year) {
        let p = period_index(r.period);
        for c in r.cells.iter().filter(|c| c.value == Value::Withheld) {
            let key = (c.metric.clone(), c.dimension.clone(), c.key.clone());
            if !f.series.contains_key(&key) && !add_missing(f, &key) {
                // A cell this version no longer computes at all: nothing to withhold.
                continue;
            }
            materialise(f, &key, p);
            forced.push((key, p));
        }
    }
    // A median is present wherever its base is.
    let bases: Vec<(Key, Key)> = f
        .series
        .iter()
        .filter_map(|(k, s)| s.base.clone().map(|b| (k.clone(), b)))
        .collect();
    for (k, b) in bases {
        let present = f.series.get(&b).map_or([false; PERIODS], |s| s.present);
        if let Some(s) = f.series.get_mut(&k) {
            s.present = present;
        }
    }
    forced
}

/// Adds an all-zero series for a key of a dimension whose zero cells are left out, so that
/// a cell withheld before can stay withheld. False for keys this version does not compute.
fn add_missing(f: &mut Figures, key: &Key) -> bool {
    let (kind, additive, base) = match (key.0.as_str(), key.1.as_str()) {
        ("placed", "soc" | "program") => (Kind::People, true, None),
        ("placed.median_wage", "soc") => (
            Kind::Amount,
            false,
            Some(("placed".to_owned(), key.1.clone(), key.2.clone())),
        ),
        ("skills.supplied", "skill") => (Kind::People, false, None),
        _ => return false,
    };
    if let Some(b) = &base {
        if !f.series.contains_key(b) && !add_missing(f, b) {
            return false;
        }
    }
    f.series.insert(
        key.clone(),
        Series {
            kind,
            values: [0; PERIODS],
            present: [false; PERIODS],
            time_additive: additive,
            base,
        },
    );
    true
}

/// Makes the cell of `key` at period `p` present; for a series that adds up over time its
/// quarter and year too (so that the time groups hold), and for a median its base.
fn materialise(f: &mut Figures, key: &Key, p: usize) {
    let Some(s) = f.series.get_mut(key) else {
        return;
    };
    s.present[p] = true;
    if s.time_additive {
        if p < 12 {
            s.present[12 + p / 3] = true;
        }
        s.present[YEAR] = true;
    }
    if let Some(b) = s.base.clone() {
        materialise(f, &b, p);
    }
}

fn make_plan(f: &Figures, year: u16, forced: &[(Key, usize)]) -> (Plan, Vec<CellId>) {
    let periods = Period::all_of_year(year);
    let mut plan = Plan::default();
    let mut cells = Vec::new();
    let mut index: HashMap<&Key, [Option<usize>; PERIODS]> = HashMap::new();
    for (key, s) in &f.series {
        let mut at = [None; PERIODS];
        for p in 0..PERIODS {
            if !s.present[p] {
                continue;
            }
            at[p] = Some(plan.cells.len());
            plan.cells.push(match s.kind {
                Kind::People => Raw::People(s.values[p]),
                Kind::Count => Raw::Count(s.values[p]),
                Kind::Amount => Raw::Amount(s.values[p]),
            });
            cells.push(CellId {
                period: periods[p],
                metric: key.0.clone(),
                dimension: key.1.clone(),
                key: key.2.clone(),
            });
        }
        index.insert(key, at);
    }

    for (key, s) in &f.series {
        let at = index[key];
        // Time groups: a quarter is the sum of its months, the year of its quarters.
        if s.time_additive {
            for q in 0..4 {
                if let Some(total) = at[12 + q] {
                    let parts: Vec<usize> = (3 * q..3 * q + 3).filter_map(|m| at[m]).collect();
                    if !parts.is_empty() {
                        plan.groups.push(Group { total, parts });
                    }
                }
            }
            if let Some(total) = at[YEAR] {
                let parts: Vec<usize> = (12..16).filter_map(|q| at[q]).collect();
                if !parts.is_empty() {
                    plan.groups.push(Group { total, parts });
                }
            }
        }
        if let Some(b) = &s.base {
            if let Some(base_at) = index.get(b) {
                for p in 0..PERIODS {
                    if let (Some(m), Some(b)) = (at[p], base_at[p]) {
                        plan.bases.push((m, b));
                    }
                }
            }
        }
    }

    // Breakdowns that partition their total, in every period.
    for (metric, dimension) in PARTITIONS {
        let total_key = (metric.to_owned(), String::new(), String::new());
        let Some(total_at) = index.get(&total_key) else {
            continue;
        };
        let lo = (metric.to_owned(), dimension.to_owned(), String::new());
        let parts: Vec<[Option<usize>; PERIODS]> = f
            .series
            .range(lo..)
            .take_while(|(k, _)| k.0 == metric && k.1 == dimension)
            .map(|(k, _)| index[k])
            .collect();
        for p in 0..PERIODS {
            let Some(total) = total_at[p] else { continue };
            let parts: Vec<usize> = parts.iter().filter_map(|at| at[p]).collect();
            if !parts.is_empty() {
                plan.groups.push(Group { total, parts });
            }
        }
    }

    for (key, p) in forced {
        if let Some(i) = index.get(key).and_then(|at| at[*p]) {
            plan.forced.push(i);
        }
    }
    plan.forced.sort_unstable();
    plan.forced.dedup();
    (plan, cells)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::OnceLock;

    use chrono::{DateTime, Datelike, NaiveDate, Utc};

    use super::*;
    use crate::model::{
        stage_create, Candidate, Employer, Opening, Outreach, Personal, Placement, Program,
        Provider, Record, SegmentGoal, YearlyGoal,
    };
    use crate::seed::{seed, SeedOptions};
    use crate::skills::Taxonomy;
    use crate::store::StoreOptions;

    const K: u16 = 11;

    fn community() -> Community {
        Community {
            name: "Test County, AL".into(),
            region: Some("AL".into()),
            backbone_organisation: None,
            goals: vec![YearlyGoal {
                year: 2025,
                placements: 300,
                people_trained: 900,
                job_seekers_reached: 20_000,
                segment_goals: vec![SegmentGoal {
                    segment: Segment::Veteran,
                    metric: GoalMetric::Placements,
                    target: 25,
                }],
            }],
        }
    }

    fn fresh() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("db"), &StoreOptions::default()).expect("open");
        (dir, store)
    }

    /// A seeded community (4,000 candidates over the seed window, 2024-11 to 2026-10).
    fn seeded() -> &'static Store {
        static STORE: OnceLock<(tempfile::TempDir, Store)> = OnceLock::new();
        &STORE
            .get_or_init(|| {
                let (dir, store) = fresh();
                let opts = SeedOptions {
                    candidates: 4000,
                    employers: 60,
                    openings: 200,
                    seed: 11,
                };
                seed(&store, Taxonomy::builtin(), &opts, |_| {}).expect("seed");
                store
                    .apply(|tx| tx.put_meta("community", &community()))
                    .expect("community");
                (dir, store)
            })
            .1
    }

    fn all<T: serde::de::DeserializeOwned>(store: &Store, table: Table) -> Vec<(u64, T)> {
        store
            .scan::<T>(table)
            .collect::<Result<_, _>>()
            .expect("scan")
    }

    fn month_of(t: DateTime<Utc>) -> i32 {
        t.year() * 12 + t.month0() as i32
    }

    fn day_month(d: NaiveDate) -> i32 {
        d.year() * 12 + d.month0() as i32
    }

    /// Running month indexes covered by period index `p` of `year`.
    fn covers(year: u16, p: usize) -> std::ops::Range<i32> {
        let r = months_of(p);
        let base = i32::from(year) * 12;
        base + r.start as i32..base + r.end as i32
    }

    /// The raw figures of a plan by (period index, metric, dimension, key).
    fn raw(yp: &YearPlan) -> HashMap<(usize, String, String, String), u64> {
        yp.cells
            .iter()
            .zip(&yp.plan.cells)
            .map(|(id, r)| {
                let n = match *r {
                    Raw::People(n) | Raw::Count(n) | Raw::Amount(n) => n,
                };
                (
                    (
                        period_index(id.period),
                        id.metric.clone(),
                        id.dimension.clone(),
                        id.key.clone(),
                    ),
                    n,
                )
            })
            .collect()
    }

    fn get(
        figures: &HashMap<(usize, String, String, String), u64>,
        p: usize,
        metric: &str,
        dimension: &str,
        key: &str,
    ) -> u64 {
        // Absent means 0 (zero cells of the soc, program and skill dimensions are left out).
        figures
            .get(&(p, metric.into(), dimension.into(), key.into()))
            .copied()
            .unwrap_or(0)
    }

    #[test]
    fn every_report_passes_the_rules_and_nothing_withheld_can_be_derived() {
        let store = seeded();
        for year in [2025, 2026] {
            let yp = plan_year(store, year, K, &[]).expect("plan");
            assert!(yp.withheld.iter().any(|w| *w), "something is withheld");
            assert_eq!(
                suppression::derivable(&yp.plan, &yp.withheld),
                Vec::<usize>::new()
            );
            let reports = compute_year(store, year, K, 77, &[]).expect("compute");
            let periods: Vec<Period> = reports.iter().map(|r| r.period).collect();
            assert_eq!(periods, Period::all_of_year(year));
            for r in &reports {
                r.check().expect("report rules");
                assert_eq!(
                    (r.version, r.computed_at_ms, r.threshold),
                    (1, 77, K),
                    "{}",
                    r.period
                );
                assert_eq!(r.community, "Test County, AL");
                MetricReport::decode(&r.encode()).expect("decodes");
                // Totals and fixed keys are always there.
                for metric in PIPELINE {
                    assert!(r.cell(metric, "", "").is_some(), "{metric} {}", r.period);
                    assert!(r.cell(metric, "segment", "veteran").is_some());
                }
                assert!(r
                    .cell("training.enrolled", "provider_kind", "online")
                    .is_some());
                assert!(r.cell("retention.q4", "status", "not_employed").is_some());
                assert!(r.cell("outreach.reached", "channel", "radio").is_some());
                assert!(r.cell("openings.open_positions", "", "").is_some());
                assert_eq!(
                    r.cell("goal.placements", "", "").is_some(),
                    r.period == Period::Year { year: 2025 }
                );
                // The keys keep to the protocol's limits.
                assert!(r.cells.iter().all(|c| c.key.len() <= MAX_KEY_BYTES));
            }
        }
    }

    #[test]
    fn published_months_add_up_to_quarters_and_the_year() {
        let reports = compute_year(seeded(), 2025, K, 0, &[]).expect("compute");
        let value = |p: usize, metric: &str, dimension: &str, key: &str| {
            reports[p]
                .cell(metric, dimension, key)
                .map_or(Some(0), |c| c.value.number())
        };
        let mut checked = 0;
        for (metric, dimension, key) in reports[YEAR]
            .cells
            .iter()
            .filter(|c| {
                let f = (c.metric.as_str(), c.dimension.as_str());
                PIPELINE.contains(&f.0)
                    || f.0.starts_with("training.")
                    || f.0.starts_with("retention.")
                    || f.0 == "outreach.reached"
            })
            .map(|c| (c.metric.clone(), c.dimension.clone(), c.key.clone()))
        {
            let sum = |parts: std::ops::Range<usize>| -> Option<u64> {
                parts.map(|p| value(p, &metric, &dimension, &key)).sum()
            };
            for q in 0..4 {
                if let (Some(total), Some(parts)) = (
                    value(12 + q, &metric, &dimension, &key),
                    sum(3 * q..3 * q + 3),
                ) {
                    assert_eq!(total, parts, "{metric} {dimension} {key} Q{}", q + 1);
                    checked += 1;
                }
            }
            if let (Some(total), Some(parts)) =
                (value(YEAR, &metric, &dimension, &key), sum(12..16))
            {
                assert_eq!(total, parts, "{metric} {dimension} {key}");
            }
        }
        assert!(checked > 50, "{checked}");
        // Where a breakdown is published whole, it adds up to its total.
        for r in &reports {
            for (metric, dimension) in PARTITIONS {
                let parts: Option<u64> = r
                    .cells
                    .iter()
                    .filter(|c| c.metric == metric && c.dimension == dimension)
                    .map(|c| c.value.number())
                    .sum();
                let total = r.cell(metric, "", "").and_then(|c| c.value.number());
                if let (Some(total), Some(parts)) = (total, parts) {
                    assert_eq!(total, parts, "{metric} by {dimension} in {}", r.period);
                }
            }
        }
    }

    #[test]
    fn figures_match_a_brute_force_count() {
        let store = seeded();
        let year = 2025;
        let yp = plan_year(store, year, 3, &[]).expect("plan");
        let f = raw(&yp);
        let candidates: Vec<(u64, Record<Candidate>)> = all(store, Table::Candidate);
        let personal: HashMap<u64, Personal> =
            all(store, Table::CandidatePersonal).into_iter().collect();
        let placements: Vec<(u64, Record<Placement>)> = all(store, Table::Placement);
        let programs: HashMap<u64, Record<Program>> =
            all(store, Table::Program).into_iter().collect();
        let providers: HashMap<u64, Record<Provider>> =
            all(store, Table::Provider).into_iter().collect();

        for p in 0..PERIODS {
            let months = covers(year, p);
            let applied = candidates
                .iter()
                .filter(|(_, c)| months.contains(&month_of(c.created_at)))
                .count() as u64;
            assert_eq!(get(&f, p, "applied", "", ""), applied, "applied in {p}");
            let first = |c: &Record<Candidate>, s: Stage| {
                c.data
                    .stage_history
                    .iter()
                    .find(|h| h.stage == s)
                    .map(|h| month_of(h.at))
            };
            let vetted = candidates
                .iter()
                .filter(|(_, c)| first(c, Stage::Vetted).is_some_and(|m| months.contains(&m)))
                .count() as u64;
            assert_eq!(get(&f, p, "vetted", "", ""), vetted, "vetted in {p}");
            let placed: Vec<&Placement> = placements
                .iter()
                .filter(|(_, pl)| months.contains(&month_of(pl.created_at)))
                .map(|(_, pl)| &pl.data)
                .collect();
            assert_eq!(get(&f, p, "placed", "", ""), placed.len() as u64);
            let veterans = placed
                .iter()
                .filter(|pl| {
                    personal[&pl.candidate_id]
                        .segments
                        .contains(&Segment::Veteran)
                })
                .count() as u64;
            assert_eq!(get(&f, p, "placed", "segment", "veteran"), veterans);
            let mut socs: BTreeMap<&str, u64> = BTreeMap::new();
            for pl in &placed {
                *socs.entry(pl.soc_code.as_str()).or_default() += 1;
            }
            for (soc, n) in &socs {
                assert_eq!(get(&f, p, "placed", "soc", soc), *n, "{soc} in {p}");
            }
            let mut wages: Vec<u32> = placed
                .iter()
                .map(|pl| pl.starting_wage_annual_usd)
                .collect();
            assert_eq!(get(&f, p, "placed.median_wage", "", ""), median(&mut wages));
            let no_program = placed.iter().filter(|pl| pl.program_id.is_none()).count();
            assert_eq!(
                get(&f, p, "placed", "program", NO_PROGRAM),
                no_program as u64
            );

            let bootcamp = candidates
                .iter()
                .filter(|(_, c)| {
                    let profile = &c.data.profile;
                    let kind = profile
                        .program_id
                        .map(|id| providers[&programs[&id].data.provider_id].data.kind);
                    kind == Some(ProviderKind::Bootcamp)
                        && profile
                            .training_started_on
                            .is_some_and(|d| months.contains(&day_month(d)))
                })
                .count() as u64;
            assert_eq!(
                get(&f, p, "training.enrolled", "provider_kind", "bootcamp"),
                bootcamp
            );
            let completed = candidates
                .iter()
                .filter(|(_, c)| {
                    c.data
                        .profile
                        .training_completed_on
                        .is_some_and(|d| months.contains(&day_month(d)))
                })
                .count() as u64;
            assert_eq!(get(&f, p, "training.completed", "", ""), completed);

            let q2_not_employed = placements
                .iter()
                .flat_map(|(_, pl)| &pl.data.retention)
                .filter(|r| {
                    r.quarter == RetentionQuarter::Q2
                        && !r.employed
                        && months.contains(&day_month(r.checked_on))
                })
                .count() as u64;
            assert_eq!(
                get(&f, p, "retention.q2", "status", "not_employed"),
                q2_not_employed
            );

            let reached: u64 = all::<Record<Outreach>>(store, Table::Outreach)
                .iter()
                .filter(|(_, o)| months.contains(&day_month(o.data.period_end)))
                .map(|(_, o)| u64::from(o.data.job_seekers_reached))
                .sum();
            assert_eq!(get(&f, p, "outreach.reached", "", ""), reached);

            // Stocks: as at the end of the period.
            let end = months.end - 1;
            let committed = all::<Record<Employer>>(store, Table::Employer)
                .iter()
                .filter(|(_, e)| {
                    e.data
                        .commitment
                        .as_ref()
                        .is_some_and(|c| day_month(c.signed_on) <= end)
                })
                .count() as u64;
            assert_eq!(get(&f, p, "employers.committed", "", ""), committed);
            let open: Vec<Record<Opening>> = all::<Record<Opening>>(store, Table::Opening)
                .into_iter()
                .map(|(_, o)| o)
                .filter(|o| {
                    month_of(o.created_at) <= end
                        && (o.data.status == OpeningStatus::Open || month_of(o.updated_at) > end)
                })
                .collect();
            let positions: u64 = open.iter().map(|o| u64::from(o.data.positions)).sum();
            assert_eq!(get(&f, p, "openings.open_positions", "", ""), positions);
            fn sql<'a>(mut skills: impl Iterator<Item = Option<&'a str>>) -> bool {
                skills.any(|s| s == Some("sql"))
            }
            let demanded = open
                .iter()
                .filter(|o| sql(o.data.required_skills.iter().map(|r| r.skill_id.as_deref())))
                .count() as u64;
            assert_eq!(get(&f, p, "skills.demanded", "skill", "sql"), demanded);
            let supplied = candidates
                .iter()
                .filter(|(_, c)| {
                    month_of(c.created_at) <= end
                        && sql(c
                            .data
                            .profile
                            .skills
                            .iter()
                            .filter(|s| s.evidence == Evidence::Assessment)
                            .map(|s| s.skill_id.as_deref()))
                })
                .count() as u64;
            assert_eq!(get(&f, p, "skills.supplied", "skill", "sql"), supplied);
        }
        assert!(get(&f, YEAR, "training.enrolled", "", "") > 0);
        assert!(get(&f, YEAR, "training.completed", "", "") > 0);
        assert!(get(&f, YEAR, "retention.q2", "", "") > 0);
        assert_eq!(get(&f, YEAR, "goal.placements", "", ""), 300);
        assert_eq!(get(&f, YEAR, "goal.placements", "segment", "veteran"), 25);
        assert_eq!(get(&f, YEAR, "goal.job_seekers_reached", "", ""), 20_000);
        assert_eq!(get(&f, 0, "goal.placements", "", ""), 0);
    }

    #[test]
    fn cells_withheld_before_stay_withheld() {
        let store = seeded();
        let first = compute_year(store, 2025, K, 0, &[]).expect("compute");
        let march = &first[2];
        let applied = march.cell("applied", "", "").expect("applied");
        assert!(matches!(applied.value, Value::People(n) if n >= u64::from(K)));

        let mut previous = march.clone();
        let withheld = |metric: &str, dimension: &str, key: &str| Cell {
            metric: metric.into(),
            dimension: dimension.into(),
            key: key.into(),
            value: Value::Withheld,
        };
        previous.cells = vec![
            withheld("applied", "", ""),
            // A cell this version has no figure for at all.
            withheld("placed", "soc", "99-9999"),
            // A metric this version does not compute: ignored.
            withheld("no.such.metric", "", ""),
        ];
        previous.sort();
        let mut other_year = previous.clone();
        other_year.period = Period::Month {
            year: 2026,
            month: 3,
        };
        other_year.cells = vec![withheld("vetted", "", "")];
        let prev = [previous, other_year];

        let yp = plan_year(store, 2025, K, &prev).expect("plan");
        assert_eq!(
            suppression::derivable(&yp.plan, &yp.withheld),
            Vec::<usize>::new()
        );
        let second = reports(&yp, 0).expect("reports");
        let march = &second[2];
        assert_eq!(
            march.cell("applied", "", "").map(|c| c.value),
            Some(Value::Withheld)
        );
        assert_eq!(
            march.cell("placed", "soc", "99-9999").map(|c| c.value),
            Some(Value::Withheld)
        );
        assert_eq!(march.cell("no.such.metric", "", ""), None);
        assert!(matches!(
            march.cell("vetted", "", "").map(|c| c.value),
            Some(Value::People(_))
        ));
        // Its quarter and year carry the made-up cell too, so the time groups hold.
        assert!(second[12].cell("placed", "soc", "99-9999").is_some());
        assert!(second[YEAR].cell("placed", "soc", "99-9999").is_some());
        // Whatever was withheld before is withheld again.
        for (a, b) in first.iter().zip(&second) {
            for c in a.cells.iter().filter(|c| c.value == Value::Withheld) {
                assert_eq!(
                    b.cell(&c.metric, &c.dimension, &c.key).map(|c| c.value),
                    Some(Value::Withheld)
                );
            }
        }
        // Feeding a version back in changes nothing further.
        let third = compute_year(store, 2025, K, 0, &second).expect("compute");
        assert_eq!(third, second);
    }

    #[test]
    fn program_keys_are_short_unique_and_named_after_their_provider() {
        let (_dir, store) = fresh();
        let taxonomy = Taxonomy::builtin();
        let now = Utc::now();
        let long = "Cloud Support and Systems Administration Apprenticeship ".repeat(3);
        let ids = store
            .apply(|tx| {
                let provider = stage_create(
                    tx,
                    Provider {
                        name: "Code Forward".into(),
                        kind: ProviderKind::Bootcamp,
                        website: None,
                        city: None,
                    },
                    now,
                )?;
                let mut ids = Vec::new();
                for name in [
                    "Full-Stack Web".to_owned(),
                    format!("{long}A"),
                    format!("{long}B"),
                    format!("{}é", "x".repeat(127)),
                ] {
                    let mut program: Program = serde_json::from_value(serde_json::json!({
                        "provider_id": provider.id,
                        "name": name,
                        "yearly_enrolment": 10,
                        "yearly_completion": 8,
                        "delivery": "live",
                        "length_weeks": 12,
                        "schedule": "full_time",
                        "tuition_usd": 0,
                    }))
                    .expect("program");
                    crate::model::Resource::normalise(&mut program, taxonomy).expect("ok");
                    ids.push(stage_create(tx, program, now)?.id);
                }
                Ok::<_, crate::model::CheckError>(ids)
            })
            .expect("stage");
        let keys = program_keys(&store).expect("keys");
        assert_eq!(keys[&ids[0]].0, "Full-Stack Web (Code Forward)");
        assert_eq!(keys[&ids[0]].1, Some(ProviderKind::Bootcamp));
        let (a, b) = (&keys[&ids[1]].0, &keys[&ids[2]].0);
        assert_ne!(a, b);
        assert!(a.ends_with(&format!(" #{}", ids[1])), "{a}");
        assert!(a.len() <= MAX_KEY_BYTES && b.len() <= MAX_KEY_BYTES);
        // Cut at a character boundary: "é" is two bytes and would straddle byte 128.
        let c = &keys[&ids[3]].0;
        assert!(c.len() <= MAX_KEY_BYTES, "{c}");
        assert_eq!(c, &"x".repeat(127));
    }

    #[test]
    fn a_store_without_a_community_is_an_error() {
        let (_dir, store) = fresh();
        assert!(matches!(
            compute_year(&store, 2025, K, 0, &[]),
            Err(ComputeError::NoCommunity)
        ));
    }

    #[test]
    fn months_medians_and_keys() {
        assert_eq!(
            parse_month("2026-03-14T15:09:26Z"),
            Some(Month(2026 * 12 + 2))
        );
        assert_eq!(
            parse_month("2026-03-14T15:09:26.5Z"),
            Some(Month(2026 * 12 + 2))
        );
        assert_eq!(parse_month("2026-12-01"), Some(Month(2026 * 12 + 11)));
        // Another offset is converted to UTC: 23:30 at -05:00 on Dec 31 is January.
        assert_eq!(
            parse_month("2025-12-31T23:30:00-05:00"),
            Some(Month(2026 * 12))
        );
        // An introduction's `remote.placed` is a month.
        assert_eq!(parse_month("2026-03"), Some(Month(2026 * 12 + 2)));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("2026-3"), None);
        assert_eq!(parse_month("2026-13-01"), None);
        assert_eq!(parse_month("yesterday"), None);
        assert_eq!(median(&mut []), 0);
        assert_eq!(median(&mut [5, 1, 3]), 3);
        assert_eq!(median(&mut [40_000, 50_001]), 45_000);
        for s in SEGMENTS {
            assert_eq!(serde_json::json!(s), segment(s).0);
            assert_eq!(SEGMENTS[segment(s).1], s);
        }
        for k in KINDS {
            assert_eq!(serde_json::json!(k), kind(k).0);
            assert_eq!(KINDS[kind(k).1], k);
        }
        for c in CHANNELS {
            assert_eq!(serde_json::json!(c), channel(c).0);
            assert_eq!(CHANNELS[channel(c).1], c);
        }
        assert_eq!(cut("abc", 2), "ab");
        assert_eq!(cut("aé", 2), "a");
    }
}
