//! The national view: every community's verified reports, added up where adding up is honest.
//!
//! [`national_view`] is pure: it takes the reports a node holds (each already verified and
//! decoded by the caller, with its origin's region: [`HeldReport`]) and the periods a
//! [`PeriodFilter`] selects, and returns a [`NationalView`]:
//!
//! - **per period**, the number of communities reporting and a national total for every
//!   (metric, dimension, key) that any report of the period has: the sum of the *published*
//!   counts only (people and counts). A withheld cell is never guessed or imputed: it is
//!   counted in `communities_withheld`, and the total is then `partial`. Medians and other
//!   amounts are not added up (medians do not add): their total has no value, status
//!   `not_added`, and they appear per community only. Every total lists the reports
//!   (origin key, sequence) whose published cells it adds.
//! - **per period, one table per community**: the report's cells as published (withheld
//!   cells as `null` with `withheld: true`), with the report's origin, sequence, version,
//!   threshold and the retention rates ([`retention_rate`]).
//! - **trends**: for the main pipeline metrics ([`TREND_METRICS`]), the monthly series of
//!   national totals with the communities reporting beside each.
//! - **goals**: for each year with yearly reports, every community's goals (`goal.*` cells)
//!   with the progress from the same year report ([`GOAL_PROGRESS`]), the share reached, and
//!   the network's sums.
//!
//! Absent cells: a report has no cell for a skill, occupation or training program nobody
//! was counted under, so in those dimensions ([`ZERO_WHEN_ABSENT`]) an absent cell is a
//! known 0 and does not make a total partial; elsewhere a report without the cell did not
//! report it (`communities_absent`), and the total is partial.
//!
//! Only the latest report per (origin, period) counts: of two held reports with the same
//! origin and period, the higher sequence wins (the store already keeps only the latest;
//! this holds whatever the caller passes).
//!
//! The output is deterministic: periods in calendar order (months, quarters, the year),
//! totals in the reports' cell order (metric, dimension, key as bytes), communities by name
//! then origin key. The view borrows the reports' strings instead of copying them, so that
//! aggregating a thousand communities' year stays well under a second
//! (`cargo bench -p techhire-node --bench national`).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};
use techhire_protocol::{Cell, MetricReport, Period, PublicKey, SignedRecord, Value};

/// The metrics whose monthly national totals form the trends.
pub const TREND_METRICS: [&str; 9] = [
    "applied",
    "assessed",
    "vetted",
    "matched",
    "introduced",
    "placed",
    "training.enrolled",
    "training.completed",
    "outreach.reached",
];

/// Dimensions in which a report leaves out the keys nobody was counted under, so that an
/// absent cell means 0.
pub const ZERO_WHEN_ABSENT: [&str; 3] = ["skill", "soc", "program"];

/// Each goal metric of a year report and the metric of the same report that measures
/// progress towards it. A segment goal (`goal.placements`, `segment`, `veterans`) is measured
/// by the cell with the same dimension and key (`placed`, `segment`, `veterans`).
pub const GOAL_PROGRESS: [(&str, &str); 3] = [
    ("goal.placements", "placed"),
    ("goal.people_trained", "training.completed"),
    ("goal.job_seekers_reached", "outreach.reached"),
];

const MEDIANS_NOTE: &str = "medians and other amounts do not add up: see each community's figure";
const ALL_WITHHELD_NOTE: &str = "withheld by every community that has it";

/// A metric report the node holds: the signed record (already verified by the caller), its
/// decoded report (cells in canonical order, as [`MetricReport::decode`] returns them) and
/// the region of its origin's membership certificate.
#[derive(Debug, Clone)]
pub struct HeldReport {
    pub record: SignedRecord,
    pub report: MetricReport,
    pub region: Option<String>,
}

/// Which periods the national view covers.
///
/// Text form ([`FromStr`], [`Display`](fmt::Display)): `all`; `2026` for every period of a
/// year (its months, quarters and the year); `2026-Q1` or `2026-03` for one period;
/// `2026-year` for the yearly report alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodFilter {
    All,
    /// Every period of the year: 12 months, 4 quarters and the year.
    Year(u16),
    /// One period.
    Period(Period),
}

impl PeriodFilter {
    /// Whether the filter selects `period`.
    pub fn contains(&self, period: Period) -> bool {
        match *self {
            PeriodFilter::All => true,
            PeriodFilter::Year(year) => period.year() == year,
            PeriodFilter::Period(p) => p == period,
        }
    }
}

impl fmt::Display for PeriodFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PeriodFilter::All => f.write_str("all"),
            PeriodFilter::Year(year) => write!(f, "{year}"),
            PeriodFilter::Period(Period::Year { year }) => write!(f, "{year}-year"),
            PeriodFilter::Period(p) => write!(f, "{p}"),
        }
    }
}

/// Why a period filter could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("periods are `all`, a year (YYYY), YYYY-year, YYYY-Qn or YYYY-MM, years 2000 to 2100")]
pub struct PeriodFilterError;

impl FromStr for PeriodFilter {
    type Err = PeriodFilterError;

    fn from_str(s: &str) -> Result<Self, PeriodFilterError> {
        if s == "all" {
            return Ok(PeriodFilter::All);
        }
        if let Some(year) = s.strip_suffix("-year") {
            return match year.parse::<Period>() {
                Ok(p @ Period::Year { .. }) => Ok(PeriodFilter::Period(p)),
                _ => Err(PeriodFilterError),
            };
        }
        match s.parse::<Period>() {
            Ok(Period::Year { year }) => Ok(PeriodFilter::Year(year)),
            Ok(p) => Ok(PeriodFilter::Period(p)),
            Err(_) => Err(PeriodFilterError),
        }
    }
}

impl Serialize for PeriodFilter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn ser_period<S: Serializer>(period: &Period, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(period)
}

/// The national view of the selected periods. Borrows the reports it was computed from.
#[derive(Debug, Serialize)]
pub struct NationalView<'a> {
    /// The filter the view was computed with.
    pub selected: PeriodFilter,
    /// Distinct origins with at least one report in the selected periods.
    pub communities_reporting: usize,
    /// In calendar order: months, then quarters, then the year, year by year.
    pub periods: Vec<PeriodView<'a>>,
    /// One series per metric of [`TREND_METRICS`], over the months of the view.
    pub trends: Vec<Trend>,
    /// One entry per year that has yearly reports in the view.
    pub goals: Vec<GoalYear<'a>>,
}

/// One period of the national view.
#[derive(Debug, Serialize)]
pub struct PeriodView<'a> {
    #[serde(serialize_with = "ser_period")]
    pub period: Period,
    /// `month`, `quarter` or `year`.
    pub kind: &'static str,
    /// Reports counted for the period (one per origin: the latest).
    pub communities_reporting: usize,
    /// One per (metric, dimension, key) found in any report of the period, in cell order.
    pub totals: Vec<NationalTotal<'a>>,
    /// One per report, by community name then origin key.
    pub communities: Vec<CommunityTable<'a>>,
}

/// What a figure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    People,
    Count,
    Amount,
    /// Reports disagree on the unit (a community on another version of the definitions).
    Mixed,
}

/// How far a national total can be trusted as the network's figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TotalStatus {
    /// Every community reporting the period published it (or, in a dimension of
    /// [`ZERO_WHEN_ABSENT`], has nobody under that key).
    Complete,
    /// The sum of what was published: some communities withheld the cell or did not report it.
    Partial,
    /// No community published it: there is nothing to add.
    Withheld,
    /// An amount (a median): not added up.
    NotAdded,
}

impl TotalStatus {
    /// The name used in JSON and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            TotalStatus::Complete => "complete",
            TotalStatus::Partial => "partial",
            TotalStatus::Withheld => "withheld",
            TotalStatus::NotAdded => "not_added",
        }
    }
}

/// A report a figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SourceRef {
    pub origin: PublicKey,
    pub seq: u64,
}

/// The reports whose published cells a total adds: a set over the period's reports
/// (serialised as their indexes in the period's `communities`, in that order).
#[derive(Debug, Clone)]
pub struct Sources {
    bits: Vec<u64>,
    reports: Arc<[SourceRef]>,
}

impl Sources {
    /// The contributing reports, in the order of the period's communities.
    pub fn iter(&self) -> impl Iterator<Item = &SourceRef> + '_ {
        self.reports
            .iter()
            .enumerate()
            .filter(|(i, _)| self.bits[i / 64] & (1 << (i % 64)) != 0)
            .map(|(_, s)| s)
    }

    /// How many reports contribute.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether no report contributes.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }
}

/// Serialised as the indexes of the contributing reports in the period's `communities`
/// (each of which names its origin and sequence): a list of keys per total would make a
/// year's export of a large federation several times larger.
impl Serialize for Sources {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for i in (0..self.reports.len()).filter(|i| self.bits[i / 64] & (1 << (i % 64)) != 0) {
            seq.serialize_element(&i)?;
        }
        seq.end()
    }
}

/// The national figure for one (metric, dimension, key) in one period.
#[derive(Debug, Clone, Serialize)]
pub struct NationalTotal<'a> {
    pub metric: &'a str,
    pub dimension: &'a str,
    pub key: &'a str,
    /// `null` when no community published the cell.
    pub unit: Option<Unit>,
    /// The sum of the published cells; `null` for amounts and when nothing was published.
    pub value: Option<u64>,
    pub status: TotalStatus,
    /// No community withheld the cell, and every community reporting the period has it
    /// (or, in a dimension of [`ZERO_WHEN_ABSENT`], has nobody under that key).
    pub complete: bool,
    /// Reports counted for the period, as in [`PeriodView::communities_reporting`].
    pub communities_reporting: usize,
    /// Reports with a published value for the cell (the `sources`).
    pub communities_published: usize,
    /// Reports that withheld the cell: their figures are not in `value`.
    pub communities_withheld: usize,
    /// Reports without the cell: 0 in a dimension of [`ZERO_WHEN_ABSENT`], else not reported.
    pub communities_absent: usize,
    /// Why there is no value.
    pub note: Option<&'static str>,
    /// The reports it adds up, as indexes into the period's `communities` (each names the
    /// origin and sequence of a signed report).
    pub sources: Sources,
}

/// A report's cells as published, serialised one object per cell:
/// `{metric, dimension, key, unit, value, withheld}` (`unit` and `value` `null` when withheld).
#[derive(Debug, Clone, Copy)]
pub struct CommunityCells<'a>(pub &'a [Cell]);

#[derive(Serialize)]
struct CellOut<'a> {
    metric: &'a str,
    dimension: &'a str,
    key: &'a str,
    unit: Option<Unit>,
    value: Option<u64>,
    withheld: bool,
}

/// The unit of a published value (`None` for a withheld cell).
pub fn unit_of(value: Value) -> Option<Unit> {
    match value {
        Value::Withheld => None,
        Value::People(_) => Some(Unit::People),
        Value::Count(_) => Some(Unit::Count),
        Value::Amount(_) => Some(Unit::Amount),
    }
}

impl Serialize for CommunityCells<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for c in self.0 {
            seq.serialize_element(&CellOut {
                metric: &c.metric,
                dimension: &c.dimension,
                key: &c.key,
                unit: unit_of(c.value),
                value: c.value.number(),
                withheld: c.value == Value::Withheld,
            })?;
        }
        seq.end()
    }
}

/// One community's report for a period.
#[derive(Debug, Clone, Serialize)]
pub struct CommunityTable<'a> {
    pub community: &'a str,
    pub region: Option<&'a str>,
    pub origin: PublicKey,
    pub seq: u64,
    pub version: u32,
    pub computed_at_ms: u64,
    pub threshold: u16,
    /// Share of the people placed still employed in the 2nd quarter after starting.
    pub retention_q2_rate: Option<f64>,
    /// The same in the 4th quarter.
    pub retention_q4_rate: Option<f64>,
    pub cells: CommunityCells<'a>,
}

/// A metric's monthly national totals.
#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    pub metric: &'static str,
    pub points: Vec<TrendPoint>,
}

/// One month of a trend. `value` and `status` are `null` when no report of the month has
/// the metric.
#[derive(Debug, Clone, Serialize)]
pub struct TrendPoint {
    #[serde(serialize_with = "ser_period")]
    pub period: Period,
    pub value: Option<u64>,
    pub status: Option<TotalStatus>,
    pub communities_reporting: usize,
    pub communities_published: usize,
    pub communities_withheld: usize,
}

/// Goal progress across the network for one year.
#[derive(Debug, Clone, Serialize)]
pub struct GoalYear<'a> {
    pub year: u16,
    /// Yearly reports counted.
    pub communities_reporting: usize,
    /// One per yearly report, by community name then origin key.
    pub communities: Vec<CommunityGoals<'a>>,
    /// One per (goal, dimension, key) that any community set, in cell order.
    pub network: Vec<NetworkGoal<'a>>,
}

/// Whether a goal's progress is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgressStatus {
    Published,
    Withheld,
    /// The year report has no progress cell for the goal.
    Absent,
    /// A goal metric this version does not know how to measure.
    Unknown,
}

/// One community's goals for a year.
#[derive(Debug, Clone, Serialize)]
pub struct CommunityGoals<'a> {
    pub community: &'a str,
    pub region: Option<&'a str>,
    pub origin: PublicKey,
    pub seq: u64,
    pub goals: Vec<GoalProgress<'a>>,
}

/// One goal of one community.
#[derive(Debug, Clone, Serialize)]
pub struct GoalProgress<'a> {
    pub goal: &'a str,
    pub dimension: &'a str,
    pub key: &'a str,
    /// `null` if the target itself is withheld.
    pub target: Option<u64>,
    /// The metric measuring progress ([`GOAL_PROGRESS`]).
    pub progress_metric: Option<&'static str>,
    /// `null` unless published.
    pub progress: Option<u64>,
    pub progress_status: ProgressStatus,
    /// progress / target, rounded to 4 decimals; `null` without both or with a target of 0.
    pub share_reached: Option<f64>,
}

/// One goal across the network.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkGoal<'a> {
    pub goal: &'a str,
    pub dimension: &'a str,
    pub key: &'a str,
    pub progress_metric: Option<&'static str>,
    /// Communities that set the goal.
    pub communities_with_goal: usize,
    /// The sum of the published targets.
    pub target_sum: u64,
    /// The sum of the published progress figures.
    pub progress_sum: u64,
    pub communities_progress_published: usize,
    pub communities_progress_withheld: usize,
    /// Absent or unknown progress.
    pub communities_progress_missing: usize,
    /// The progress over the targets of the communities with both published, rounded to 4
    /// decimals (`null` if those targets add up to 0).
    pub share_reached_where_published: Option<f64>,
}

/// The share `part / whole` rounded to 4 decimals; `None` if `whole` is 0.
fn share(part: u64, whole: u64) -> Option<f64> {
    if whole == 0 {
        return None;
    }
    Some(((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0)
}

/// A published count (people or count), if the cell is one.
fn count_of(value: Value) -> Option<u64> {
    match value {
        Value::People(n) | Value::Count(n) => Some(n),
        Value::Withheld | Value::Amount(_) => None,
    }
}

/// The retention rate of a report for `metric` (`retention.q2` or `retention.q4`): the
/// people employed (`metric`, `status`, `employed`) over all placed people counted
/// (`metric`, "", ""), rounded to 4 decimals; `None` unless both are published and the
/// total is not 0.
pub fn retention_rate(report: &MetricReport, metric: &str) -> Option<f64> {
    let employed = count_of(report.cell(metric, "status", "employed")?.value)?;
    let total = count_of(report.cell(metric, "", "")?.value)?;
    share(employed, total)
}

fn period_kind(period: Period) -> &'static str {
    match period {
        Period::Month { .. } => "month",
        Period::Quarter { .. } => "quarter",
        Period::Year { .. } => "year",
    }
}

/// Computes the national view of the periods `periods` selects from `reports`; see the
/// module documentation.
pub fn national_view<'a>(reports: &'a [HeldReport], periods: &PeriodFilter) -> NationalView<'a> {
    // The latest report per (origin, period).
    let mut latest: BTreeMap<(PublicKey, Period), &'a HeldReport> = BTreeMap::new();
    for held in reports.iter().filter(|h| periods.contains(h.report.period)) {
        let slot = latest
            .entry((*held.record.signer(), held.report.period))
            .or_insert(held);
        if held.record.seq() > slot.record.seq() {
            *slot = held;
        }
    }
    let mut origins: Vec<PublicKey> = latest.keys().map(|(o, _)| *o).collect();
    origins.dedup();

    let mut by_period: BTreeMap<(u16, u8, u8), (Period, Vec<&'a HeldReport>)> = BTreeMap::new();
    for ((_, period), held) in latest {
        by_period
            .entry(period.display_order())
            .or_insert_with(|| (period, Vec::new()))
            .1
            .push(held);
    }
    let mut groups: Vec<(Period, Vec<&'a HeldReport>)> = by_period.into_values().collect();
    for (_, group) in &mut groups {
        group.sort_by(|a, b| {
            (a.report.community.as_str(), a.record.signer())
                .cmp(&(b.report.community.as_str(), b.record.signer()))
        });
    }

    let period_views = aggregate_all(&groups);
    let trends = trends(&period_views);
    let goals = groups
        .iter()
        .filter_map(|(period, group)| match period {
            Period::Year { year } => Some(goals_of(*year, group)),
            _ => None,
        })
        .collect();
    NationalView {
        selected: *periods,
        communities_reporting: origins.len(),
        periods: period_views,
        trends,
        goals,
    }
}

/// Every period's view, the periods shared out over the machine's cores.
fn aggregate_all<'a>(groups: &[(Period, Vec<&'a HeldReport>)]) -> Vec<PeriodView<'a>> {
    let cells: usize = groups
        .iter()
        .flat_map(|(_, g)| g.iter())
        .map(|h| h.report.cells.len())
        .sum();
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .min(groups.len());
    // Threads pay off only for large inputs.
    if threads <= 1 || cells < 200_000 {
        return groups
            .iter()
            .map(|(period, group)| period_view(*period, group))
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, PeriodView<'a>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((period, group)) = groups.get(i) else {
                            break;
                        };
                        out.push((i, period_view(*period, group)));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| match w.join() {
                Ok(out) => out,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, v)| v).collect()
}

/// The running sum of one (metric, dimension, key) over a period's reports.
struct Acc<'a> {
    metric: &'a str,
    dimension: &'a str,
    key: &'a str,
    sum: u64,
    people: u32,
    counts: u32,
    amounts: u32,
    withheld: u32,
    /// Bit `r` set: report `r` of the period published the cell.
    bits: Vec<u64>,
}

impl<'a> Acc<'a> {
    fn new(cell: &'a Cell, words: usize) -> Self {
        Acc {
            metric: &cell.metric,
            dimension: &cell.dimension,
            key: &cell.key,
            sum: 0,
            people: 0,
            counts: 0,
            amounts: 0,
            withheld: 0,
            bits: vec![0; words],
        }
    }

    fn add(&mut self, value: Value, report: usize) {
        match value {
            Value::Withheld => {
                self.withheld += 1;
                return;
            }
            Value::People(n) => {
                self.people += 1;
                self.sum = self.sum.saturating_add(n);
            }
            Value::Count(n) => {
                self.counts += 1;
                self.sum = self.sum.saturating_add(n);
            }
            Value::Amount(_) => self.amounts += 1,
        }
        self.bits[report / 64] |= 1 << (report % 64);
    }

    fn cmp_cell(&self, cell: &Cell) -> Ordering {
        cmp_bytes(self.metric.as_bytes(), cell.metric.as_bytes())
            .then_with(|| cmp_bytes(self.dimension.as_bytes(), cell.dimension.as_bytes()))
            .then_with(|| cmp_bytes(self.key.as_bytes(), cell.key.as_bytes()))
    }

    fn cmp_acc(&self, other: &Acc<'_>) -> Ordering {
        cmp_bytes(self.metric.as_bytes(), other.metric.as_bytes())
            .then_with(|| cmp_bytes(self.dimension.as_bytes(), other.dimension.as_bytes()))
            .then_with(|| cmp_bytes(self.key.as_bytes(), other.key.as_bytes()))
    }
}

/// Byte order of two short strings, the same result as `a.cmp(b)`, but inline and eight
/// bytes at a time (the last step overlapping the one before), without a call to `memcmp`
/// per field, which dominated the aggregation.
#[inline]
fn cmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    if n >= 8 {
        let mut i = 0;
        loop {
            let x = be64(&a[i..i + 8]);
            let y = be64(&b[i..i + 8]);
            if x != y {
                return x.cmp(&y);
            }
            i += 8;
            if i >= n {
                break;
            }
            // The last step ends at `n`, overlapping bytes already known to be equal.
            i = i.min(n - 8);
        }
    } else {
        // Under eight bytes: the first and the last four (or two) bytes, overlapping, as
        // one number, which orders like the bytes because the overlap is compared first.
        let x = short_key(&a[..n]);
        let y = short_key(&b[..n]);
        if x != y {
            return x.cmp(&y);
        }
    }
    a.len().cmp(&b.len())
}

#[inline]
fn be64(s: &[u8]) -> u64 {
    u64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]])
}

/// For fewer than eight bytes, a number that orders as the bytes do among strings of the
/// same length.
#[inline]
fn short_key(s: &[u8]) -> u64 {
    let n = s.len();
    let be32 = |t: &[u8]| u64::from(u32::from_be_bytes([t[0], t[1], t[2], t[3]]));
    let be16 = |t: &[u8]| u64::from(u16::from_be_bytes([t[0], t[1]]));
    match n {
        0 => 0,
        1 => u64::from(s[0]),
        2..=3 => (be16(s) << 16) | be16(&s[n - 2..]),
        _ => (be32(s) << 32) | be32(&s[n - 4..]),
    }
}

/// Sums a period's reports: one pass per report along its (sorted) cells and the sorted
/// union of the keys seen so far, so each cell costs a comparison or two of borrowed
/// strings, not a map lookup or a copy. Keys new to the union are merged in after the pass.
fn accumulate<'a>(group: &[&'a HeldReport]) -> Vec<Acc<'a>> {
    let words = group.len().div_ceil(64).max(1);
    let mut union: Vec<Acc<'a>> = Vec::new();
    let mut fresh: Vec<Acc<'a>> = Vec::new();
    for (r, &held) in group.iter().enumerate() {
        let mut i = 0;
        for cell in &held.report.cells {
            loop {
                match union.get_mut(i) {
                    None => {
                        let mut acc = Acc::new(cell, words);
                        acc.add(cell.value, r);
                        fresh.push(acc);
                        break;
                    }
                    Some(acc) => match acc.cmp_cell(cell) {
                        Ordering::Less => i += 1,
                        Ordering::Equal => {
                            acc.add(cell.value, r);
                            i += 1;
                            break;
                        }
                        Ordering::Greater => {
                            let mut acc = Acc::new(cell, words);
                            acc.add(cell.value, r);
                            fresh.push(acc);
                            break;
                        }
                    },
                }
            }
        }
        if !fresh.is_empty() {
            // Cells in canonical order are strictly increasing, so `fresh` is sorted and
            // holds no key of `union`: a plain merge.
            let old = std::mem::take(&mut union);
            union.reserve(old.len() + fresh.len());
            let mut a = old.into_iter().peekable();
            let mut b = fresh.drain(..).peekable();
            loop {
                let take_a = match (a.peek(), b.peek()) {
                    (Some(x), Some(y)) => x.cmp_acc(y) != Ordering::Greater,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => break,
                };
                let next = if take_a { a.next() } else { b.next() };
                union.extend(next);
            }
        }
    }
    union
}

fn period_view<'a>(period: Period, group: &[&'a HeldReport]) -> PeriodView<'a> {
    let reporting = group.len();
    let refs: Arc<[SourceRef]> = group
        .iter()
        .map(|h| SourceRef {
            origin: *h.record.signer(),
            seq: h.record.seq(),
        })
        .collect();
    let totals = accumulate(group)
        .into_iter()
        .map(|acc| {
            let published = (acc.people + acc.counts + acc.amounts) as usize;
            let withheld = acc.withheld as usize;
            let absent = reporting.saturating_sub(published + withheld);
            let zero_when_absent = ZERO_WHEN_ABSENT.contains(&acc.dimension);
            let complete = withheld == 0 && (absent == 0 || zero_when_absent);
            let unit = match (acc.people > 0, acc.counts > 0, acc.amounts > 0) {
                (false, false, false) => None,
                (true, false, false) => Some(Unit::People),
                (false, true, false) => Some(Unit::Count),
                (false, false, true) => Some(Unit::Amount),
                _ => Some(Unit::Mixed),
            };
            let (value, status, note) = if acc.amounts > 0 {
                (None, TotalStatus::NotAdded, Some(MEDIANS_NOTE))
            } else if published == 0 {
                (None, TotalStatus::Withheld, Some(ALL_WITHHELD_NOTE))
            } else if complete {
                (Some(acc.sum), TotalStatus::Complete, None)
            } else {
                (Some(acc.sum), TotalStatus::Partial, None)
            };
            NationalTotal {
                metric: acc.metric,
                dimension: acc.dimension,
                key: acc.key,
                unit,
                value,
                status,
                complete,
                communities_reporting: reporting,
                communities_published: published,
                communities_withheld: withheld,
                communities_absent: absent,
                note,
                sources: Sources {
                    bits: acc.bits,
                    reports: refs.clone(),
                },
            }
        })
        .collect();
    let communities = group
        .iter()
        .map(|&h| CommunityTable {
            community: &h.report.community,
            region: h.region.as_deref(),
            origin: *h.record.signer(),
            seq: h.record.seq(),
            version: h.report.version,
            computed_at_ms: h.report.computed_at_ms,
            threshold: h.report.threshold,
            retention_q2_rate: retention_rate(&h.report, "retention.q2"),
            retention_q4_rate: retention_rate(&h.report, "retention.q4"),
            cells: CommunityCells(&h.report.cells),
        })
        .collect();
    PeriodView {
        period,
        kind: period_kind(period),
        communities_reporting: reporting,
        totals,
        communities,
    }
}

fn find_total<'v, 'a>(view: &'v PeriodView<'a>, metric: &str) -> Option<&'v NationalTotal<'a>> {
    view.totals
        .binary_search_by(|t| {
            (
                t.metric.as_bytes(),
                t.dimension.as_bytes(),
                t.key.as_bytes(),
            )
                .cmp(&(metric.as_bytes(), &b""[..], &b""[..]))
        })
        .ok()
        .map(|i| &view.totals[i])
}

fn trends(periods: &[PeriodView<'_>]) -> Vec<Trend> {
    let months: Vec<&PeriodView<'_>> = periods
        .iter()
        .filter(|p| matches!(p.period, Period::Month { .. }))
        .collect();
    TREND_METRICS
        .iter()
        .map(|&metric| Trend {
            metric,
            points: months
                .iter()
                .map(|p| {
                    let total = find_total(p, metric);
                    TrendPoint {
                        period: p.period,
                        value: total.and_then(|t| t.value),
                        status: total.map(|t| t.status),
                        communities_reporting: p.communities_reporting,
                        communities_published: total.map_or(0, |t| t.communities_published),
                        communities_withheld: total.map_or(0, |t| t.communities_withheld),
                    }
                })
                .collect(),
        })
        .collect()
}

#[derive(Default)]
struct NetAcc {
    progress_metric: Option<&'static str>,
    communities: usize,
    target_sum: u64,
    progress_sum: u64,
    /// (progress, target) summed over the communities with both published.
    both: (u64, u64),
    published: usize,
    withheld: usize,
    missing: usize,
}

/// (metric, dimension, key) as bytes: the reports' cell order.
type CellKey<'a> = (&'a [u8], &'a [u8], &'a [u8]);

fn goals_of<'a>(year: u16, group: &[&'a HeldReport]) -> GoalYear<'a> {
    let mut network: BTreeMap<CellKey<'a>, (&'a Cell, NetAcc)> = BTreeMap::new();
    let communities = group
        .iter()
        .map(|&h| {
            let report = &h.report;
            let goals = report
                .cells
                .iter()
                .filter(|c| c.metric.starts_with("goal."))
                .map(|c| {
                    let target = count_of(c.value);
                    let progress_metric = GOAL_PROGRESS
                        .iter()
                        .find(|(goal, _)| *goal == c.metric)
                        .map(|(_, m)| *m);
                    let (progress, progress_status) = match progress_metric {
                        None => (None, ProgressStatus::Unknown),
                        Some(m) => match report.cell(m, &c.dimension, &c.key) {
                            None if ZERO_WHEN_ABSENT.contains(&c.dimension.as_str()) => {
                                (Some(0), ProgressStatus::Published)
                            }
                            None => (None, ProgressStatus::Absent),
                            Some(p) => match count_of(p.value) {
                                Some(n) => (Some(n), ProgressStatus::Published),
                                None => (None, ProgressStatus::Withheld),
                            },
                        },
                    };
                    let share_reached = match (progress, target) {
                        (Some(p), Some(t)) => share(p, t),
                        _ => None,
                    };
                    let (_, acc) = network
                        .entry((
                            c.metric.as_bytes(),
                            c.dimension.as_bytes(),
                            c.key.as_bytes(),
                        ))
                        .or_insert_with(|| (c, NetAcc::default()));
                    acc.progress_metric = progress_metric;
                    acc.communities += 1;
                    acc.target_sum = acc.target_sum.saturating_add(target.unwrap_or(0));
                    match progress_status {
                        ProgressStatus::Published => {
                            acc.published += 1;
                            acc.progress_sum =
                                acc.progress_sum.saturating_add(progress.unwrap_or(0));
                            if let (Some(p), Some(t)) = (progress, target) {
                                acc.both.0 = acc.both.0.saturating_add(p);
                                acc.both.1 = acc.both.1.saturating_add(t);
                            }
                        }
                        ProgressStatus::Withheld => acc.withheld += 1,
                        ProgressStatus::Absent | ProgressStatus::Unknown => acc.missing += 1,
                    }
                    GoalProgress {
                        goal: &c.metric,
                        dimension: &c.dimension,
                        key: &c.key,
                        target,
                        progress_metric,
                        progress,
                        progress_status,
                        share_reached,
                    }
                })
                .collect();
            CommunityGoals {
                community: &report.community,
                region: h.region.as_deref(),
                origin: *h.record.signer(),
                seq: h.record.seq(),
                goals,
            }
        })
        .collect();
    GoalYear {
        year,
        communities_reporting: group.len(),
        communities,
        network: network
            .into_values()
            .map(|(c, acc)| NetworkGoal {
                goal: &c.metric,
                dimension: &c.dimension,
                key: &c.key,
                progress_metric: acc.progress_metric,
                communities_with_goal: acc.communities,
                target_sum: acc.target_sum,
                progress_sum: acc.progress_sum,
                communities_progress_published: acc.published,
                communities_progress_withheld: acc.withheld,
                communities_progress_missing: acc.missing,
                share_reached_where_published: share(acc.both.0, acc.both.1),
            })
            .collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use techhire_protocol::{MembershipCert, NodeKeypair};

    /// 2026-01-01T00:00:00Z.
    pub(crate) const T0: u64 = 1_767_225_600_000;
    pub(crate) const MARCH: Period = Period::Month {
        year: 2026,
        month: 3,
    };
    pub(crate) const YEAR: Period = Period::Year { year: 2026 };

    pub(crate) fn key(seed: u8) -> NodeKeypair {
        NodeKeypair::from_seed([seed; 32])
    }

    pub(crate) fn cell(metric: &str, dimension: &str, key: &str, value: Value) -> Cell {
        Cell {
            metric: metric.into(),
            dimension: dimension.into(),
            key: key.into(),
            value,
        }
    }

    pub(crate) fn held(
        origin: &NodeKeypair,
        seq: u64,
        period: Period,
        version: u32,
        community: &str,
        region: &str,
        cells: Vec<Cell>,
    ) -> HeldReport {
        let mut report = MetricReport {
            period,
            version,
            computed_at_ms: T0 + seq,
            community: community.into(),
            threshold: 11,
            cells,
        };
        report.sort();
        let record = report.try_sign(origin, seq, T0 + 1000 * seq).unwrap();
        HeldReport {
            record,
            report,
            region: Some(region.into()),
        }
    }

    pub(crate) fn certificate(
        steward: &NodeKeypair,
        member: &NodeKeypair,
        community: &str,
        region: &str,
    ) -> SignedRecord {
        MembershipCert {
            member: member.public(),
            community: community.into(),
            region: region.into(),
            not_before_ms: T0 - 1,
            not_after_ms: T0 + 365 * 24 * 3600 * 1000,
        }
        .sign(steward, T0 - 1)
    }

    /// Three communities' reports for March 2026 and the year 2026 (Akron's March report
    /// in two versions, the newer first), and their certificates by steward `key(9)`.
    pub(crate) fn network() -> (Vec<HeldReport>, Vec<SignedRecord>) {
        use Value::{Amount, Count, People, Withheld};
        let (akron, birmingham, chicago, steward) = (key(1), key(2), key(3), key(9));
        let reports = vec![
            held(
                &akron,
                4,
                MARCH,
                2,
                "Akron",
                "OH",
                vec![
                    cell("applied", "", "", People(120)),
                    cell("placed", "", "", People(40)),
                    cell("placed", "soc", "15-1252", People(25)),
                    cell("placed", "soc", "15-1232", People(15)),
                    cell("placed.median_wage", "", "", Amount(52_000)),
                    cell("skills.demanded", "skill", "python", Count(30)),
                    cell("retention.q2", "", "", People(50)),
                    cell("retention.q2", "status", "employed", People(38)),
                    cell("retention.q2", "status", "not_employed", People(12)),
                ],
            ),
            held(
                &akron,
                1,
                MARCH,
                1,
                "Akron",
                "OH",
                vec![
                    cell("applied", "", "", People(999)),
                    cell("placed", "", "", People(99)),
                ],
            ),
            held(
                &birmingham,
                2,
                MARCH,
                1,
                "Birmingham",
                "AL",
                vec![
                    cell("applied", "", "", People(90)),
                    cell("placed", "", "", People(30)),
                    cell("placed", "soc", "15-1252", Withheld),
                    cell("placed", "soc", "15-1232", Withheld),
                    cell("placed.median_wage", "", "", Withheld),
                    cell("skills.demanded", "skill", "python", Count(12)),
                    cell("skills.demanded", "skill", "sql", Count(7)),
                ],
            ),
            held(
                &chicago,
                7,
                MARCH,
                1,
                "Chicago",
                "IL",
                vec![
                    cell("applied", "", "", Withheld),
                    cell("placed", "", "", People(55)),
                    cell("placed", "soc", "15-1252", People(55)),
                    cell("placed.median_wage", "", "", Amount(61_000)),
                ],
            ),
            held(
                &akron,
                5,
                YEAR,
                1,
                "Akron",
                "OH",
                vec![
                    cell("goal.placements", "", "", Count(400)),
                    cell("goal.placements", "segment", "veterans", Count(50)),
                    cell("goal.people_trained", "", "", Count(300)),
                    cell("placed", "", "", People(200)),
                    cell("placed", "segment", "veterans", Withheld),
                    cell("training.completed", "", "", People(150)),
                ],
            ),
            held(
                &birmingham,
                3,
                YEAR,
                1,
                "Birmingham",
                "AL",
                vec![
                    cell("goal.placements", "", "", Count(100)),
                    cell("goal.job_seekers_reached", "", "", Count(1000)),
                    cell("placed", "", "", People(120)),
                    cell("outreach.reached", "", "", People(800)),
                ],
            ),
            held(
                &chicago,
                8,
                YEAR,
                1,
                "Chicago",
                "IL",
                vec![cell("placed", "", "", People(300))],
            ),
        ];
        let certificates = vec![
            certificate(&steward, &akron, "Akron", "OH"),
            certificate(&steward, &birmingham, "Birmingham", "AL"),
            certificate(&steward, &chicago, "Chicago", "IL"),
        ];
        (reports, certificates)
    }

    fn total<'v>(
        view: &'v NationalView<'_>,
        period: Period,
        metric: &str,
        dimension: &str,
        key: &str,
    ) -> &'v NationalTotal<'v> {
        let p = view.periods.iter().find(|p| p.period == period).unwrap();
        p.totals
            .iter()
            .find(|t| t.metric == metric && t.dimension == dimension && t.key == key)
            .unwrap()
    }

    #[test]
    fn totals_add_published_cells_and_count_withheld_ones() {
        let (reports, _) = network();
        let view = national_view(&reports, &PeriodFilter::All);
        assert_eq!(view.communities_reporting, 3);
        let march = &view.periods[0];
        assert_eq!(march.period, MARCH);
        assert_eq!(march.communities_reporting, 3);

        let placed = total(&view, MARCH, "placed", "", "");
        assert_eq!(placed.value, Some(40 + 30 + 55));
        assert_eq!(placed.status, TotalStatus::Complete);
        assert!(placed.complete);
        assert_eq!(placed.communities_published, 3);
        assert_eq!(placed.sources.len(), 3);

        // Chicago withheld its figure: not guessed, counted.
        let applied = total(&view, MARCH, "applied", "", "");
        assert_eq!(applied.value, Some(120 + 90));
        assert_eq!(applied.status, TotalStatus::Partial);
        assert!(!applied.complete);
        assert_eq!(
            (applied.communities_published, applied.communities_withheld),
            (2, 1)
        );
        let sources: Vec<u64> = applied.sources.iter().map(|s| s.seq).collect();
        assert_eq!(sources, vec![4, 2]);

        let soc = total(&view, MARCH, "placed", "soc", "15-1232");
        assert_eq!(soc.value, Some(15));
        assert_eq!(
            (
                soc.communities_published,
                soc.communities_withheld,
                soc.communities_absent
            ),
            (1, 1, 1)
        );
        assert!(!soc.complete);
        // Absent skills are zeros: the total is complete.
        let sql = total(&view, MARCH, "skills.demanded", "skill", "sql");
        assert_eq!(
            (sql.value, sql.complete, sql.communities_absent),
            (Some(7), true, 2)
        );
        assert_eq!(
            total(&view, MARCH, "skills.demanded", "skill", "python").value,
            Some(42)
        );
        // Absent outside those dimensions: not reported, so partial.
        let retention = total(&view, MARCH, "retention.q2", "", "");
        assert_eq!(retention.value, Some(50));
        assert_eq!(retention.status, TotalStatus::Partial);

        // Every total is the sum of the published cells of the period's reports.
        for p in &view.periods {
            for t in &p.totals {
                let cells: Vec<Value> = p
                    .communities
                    .iter()
                    .filter_map(|c| {
                        c.cells
                            .0
                            .iter()
                            .find(|x| {
                                x.metric == t.metric && x.dimension == t.dimension && x.key == t.key
                            })
                            .map(|x| x.value)
                    })
                    .collect();
                let withheld = cells.iter().filter(|v| **v == Value::Withheld).count();
                assert_eq!(t.communities_withheld, withheld);
                if t.unit != Some(Unit::Amount) && t.communities_published > 0 {
                    let sum: u64 = cells.iter().filter_map(|v| count_of(*v)).sum();
                    assert_eq!(t.value, Some(sum));
                }
            }
        }
    }

    #[test]
    fn the_latest_report_of_an_origin_and_period_wins() {
        let (mut reports, _) = network();
        let view = national_view(&reports, &PeriodFilter::Period(MARCH));
        let akron = &view.periods[0].communities[0];
        assert_eq!((akron.community, akron.seq, akron.version), ("Akron", 4, 2));
        assert_eq!(view.periods[0].communities.len(), 3);
        let first = serde_json::to_value(&view).unwrap();
        // Whatever the order.
        reports.reverse();
        let again = national_view(&reports, &PeriodFilter::Period(MARCH));
        assert_eq!(first, serde_json::to_value(&again).unwrap());
        assert_eq!(
            total(&again, MARCH, "placed", "", "").value,
            Some(125),
            "the superseded 99 is not counted"
        );
    }

    #[test]
    fn medians_are_not_added_up() {
        let (reports, _) = network();
        let view = national_view(&reports, &PeriodFilter::All);
        let wage = total(&view, MARCH, "placed.median_wage", "", "");
        assert_eq!(wage.value, None);
        assert_eq!(wage.status, TotalStatus::NotAdded);
        assert_eq!(wage.unit, Some(Unit::Amount));
        assert!(wage.note.is_some());
        assert_eq!(
            (wage.communities_published, wage.communities_withheld),
            (2, 1)
        );
        let json = serde_json::to_value(&view).unwrap();
        let chicago = &json["periods"][0]["communities"][2];
        assert_eq!(chicago["community"], "Chicago");
        let median = chicago["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["metric"] == "placed.median_wage")
            .unwrap();
        assert_eq!(median["value"], 61_000);
        let birmingham = &json["periods"][0]["communities"][1]["cells"];
        let withheld = birmingham
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["metric"] == "placed.median_wage")
            .unwrap();
        assert_eq!(withheld["value"], serde_json::Value::Null);
        assert_eq!(withheld["withheld"], true);
    }

    #[test]
    fn goals_progress_and_network_sums() {
        let (reports, _) = network();
        let view = national_view(&reports, &PeriodFilter::Year(2026));
        assert_eq!(view.goals.len(), 1);
        let goals = &view.goals[0];
        assert_eq!((goals.year, goals.communities_reporting), (2026, 3));
        let akron = &goals.communities[0];
        assert_eq!(akron.community, "Akron");
        let placements = akron
            .goals
            .iter()
            .find(|g| g.goal == "goal.placements" && g.dimension.is_empty())
            .unwrap();
        assert_eq!(
            (
                placements.target,
                placements.progress,
                placements.share_reached
            ),
            (Some(400), Some(200), Some(0.5))
        );
        let veterans = akron.goals.iter().find(|g| g.key == "veterans").unwrap();
        assert_eq!(veterans.progress, None);
        assert_eq!(veterans.progress_status, ProgressStatus::Withheld);
        assert_eq!(veterans.share_reached, None);
        let trained = akron
            .goals
            .iter()
            .find(|g| g.goal == "goal.people_trained")
            .unwrap();
        assert_eq!(trained.progress, Some(150));
        assert!(goals.communities[2].goals.is_empty(), "Chicago set none");

        let net = |goal: &str, key: &str| {
            goals
                .network
                .iter()
                .find(|g| g.goal == goal && g.key == key)
                .unwrap()
        };
        let all = net("goal.placements", "");
        assert_eq!(
            (all.communities_with_goal, all.target_sum, all.progress_sum),
            (2, 500, 320)
        );
        assert_eq!(all.share_reached_where_published, Some(0.64));
        let vets = net("goal.placements", "veterans");
        assert_eq!(
            (
                vets.target_sum,
                vets.progress_sum,
                vets.communities_progress_withheld
            ),
            (50, 0, 1)
        );
        assert_eq!(vets.share_reached_where_published, None);
        let reached = net("goal.job_seekers_reached", "");
        assert_eq!((reached.progress_sum, reached.target_sum), (800, 1000));
    }

    #[test]
    fn trends_and_retention() {
        let (reports, _) = network();
        let view = national_view(&reports, &PeriodFilter::All);
        assert_eq!(view.trends.len(), TREND_METRICS.len());
        let placed = view.trends.iter().find(|t| t.metric == "placed").unwrap();
        assert_eq!(placed.points.len(), 1);
        assert_eq!(placed.points[0].period, MARCH);
        assert_eq!(placed.points[0].value, Some(125));
        assert_eq!(placed.points[0].communities_reporting, 3);
        let vetted = view.trends.iter().find(|t| t.metric == "vetted").unwrap();
        assert_eq!(vetted.points[0].value, None);
        assert_eq!(vetted.points[0].status, None);

        let akron = &view.periods[0].communities[0];
        assert_eq!(akron.retention_q2_rate, Some(0.76));
        assert_eq!(akron.retention_q4_rate, None);
    }

    #[test]
    fn filters_select_and_print() {
        let (reports, _) = network();
        let only_year = national_view(&reports, &PeriodFilter::Period(YEAR));
        assert_eq!(only_year.periods.len(), 1);
        assert_eq!(only_year.periods[0].kind, "year");
        assert!(national_view(&reports, &PeriodFilter::Year(2025))
            .periods
            .is_empty());
        for (text, filter) in [
            ("all", PeriodFilter::All),
            ("2026", PeriodFilter::Year(2026)),
            ("2026-year", PeriodFilter::Period(YEAR)),
            ("2026-03", PeriodFilter::Period(MARCH)),
            (
                "2026-Q1",
                PeriodFilter::Period(Period::Quarter {
                    year: 2026,
                    quarter: 1,
                }),
            ),
        ] {
            assert_eq!(filter.to_string(), text);
            assert_eq!(text.parse::<PeriodFilter>(), Ok(filter));
        }
        for bad in ["", "2026-Q1-year", "1999", "al"] {
            assert!(bad.parse::<PeriodFilter>().is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn byte_order_is_the_slices_order(
            a in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            shared in 0usize..40,
        ) {
            // Long shared prefixes, so the eight-byte steps are exercised.
            let mut b = b;
            let n = shared.min(a.len()).min(b.len());
            b[..n].copy_from_slice(&a[..n]);
            proptest::prop_assert_eq!(cmp_bytes(&a, &b), a.cmp(&b));
            proptest::prop_assert_eq!(cmp_bytes(&a, &a), Ordering::Equal);
        }

        #[test]
        fn byte_order_of_short_strings(a in "[ab]{0,10}", b in "[ab]{0,10}") {
            proptest::prop_assert_eq!(cmp_bytes(a.as_bytes(), b.as_bytes()), a.cmp(&b));
        }
    }

    #[test]
    fn output_is_deterministic_and_threads_agree() {
        // Enough cells to take the threaded path.
        let keys: Vec<NodeKeypair> = (10..40).map(key).collect();
        let mut reports = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            for (j, period) in Period::all_of_year(2026).into_iter().enumerate() {
                let cells = (0..500)
                    .filter(|s| (s + i) % 7 != 0)
                    .map(|s| {
                        let v = match (s * 31 + i * 17 + j) % 5 {
                            0 => Value::Withheld,
                            1 => Value::People(0),
                            _ => Value::People(11 + ((s + i + j) % 50) as u64),
                        };
                        cell("skills.supplied", "skill", &format!("s{s:03}"), v)
                    })
                    .collect();
                reports.push(held(
                    k,
                    j as u64 + 1,
                    period,
                    1,
                    &format!("C{i:02}"),
                    "R",
                    cells,
                ));
            }
        }
        let view = national_view(&reports, &PeriodFilter::Year(2026));
        assert_eq!(view.periods.len(), 17);
        let serial: Vec<PeriodView<'_>> = {
            let mut groups: Vec<(Period, Vec<&HeldReport>)> = Vec::new();
            for p in view.periods.iter().map(|p| p.period) {
                let mut g: Vec<&HeldReport> =
                    reports.iter().filter(|h| h.report.period == p).collect();
                g.sort_by(|a, b| a.report.community.cmp(&b.report.community));
                groups.push((p, g));
            }
            groups.iter().map(|(p, g)| period_view(*p, g)).collect()
        };
        assert_eq!(
            serde_json::to_value(&view.periods).unwrap(),
            serde_json::to_value(&serial).unwrap()
        );
        let t = total(&view, MARCH, "skills.supplied", "skill", "s001");
        let expected: u64 = reports
            .iter()
            .filter(|h| h.report.period == MARCH)
            .filter_map(|h| h.report.cell("skills.supplied", "skill", "s001"))
            .filter_map(|c| count_of(c.value))
            .sum();
        assert_eq!(t.value, Some(expected));
    }
}
