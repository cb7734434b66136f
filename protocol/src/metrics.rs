//! Metric reports: a community's signed, anonymised figures for one period.
//!
//! A report is the payload of a [`METRIC_REPORT`](RecordKind::METRIC_REPORT) record in its
//! origin's feed, keyed by its [`Period`]: a later record of the same origin for the same
//! period supersedes the earlier one everywhere ([`MetricReport::feed_key`]). A report holds
//! only aggregate cells; a count of people between 1 and `threshold − 1` is never published
//! (receivers refuse a report that does: [`MetricReport::check`]), and which cells are
//! withheld is decided by [`crate::suppression`]. Payload layout (canonical encoding, see
//! [`Encoder`]):
//!
//! ```text
//! format u8 (=1) | period (tag u8, year u16, part u8) | version u32 | computed_at_ms u64
//! | community str (1..=200) | threshold u16 (>= 3)
//! | cells: count u32 (<= 16384), each metric str (1..=64) | dimension str (0..=32)
//!   | key str (0..=128) | value (tag u8: 0 withheld, 1 people u64, 2 count u64, 3 amount u64)
//! ```
//!
//! Cells are in strictly increasing order of (metric, dimension, key) as bytes, so a report
//! has one encoding and no duplicate cells. A cell with an empty dimension is the metric's
//! total; its key is then empty too.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::canonical::{Decoder, Encoder};
use crate::envelope::{RecordKind, SignedRecord};
use crate::error::{DecodeError, EncodeError};
use crate::identity::NodeKeypair;

/// Format byte at the start of a metric report payload.
pub const METRIC_PAYLOAD_VERSION: u8 = 1;
/// The smallest suppression threshold a report may declare. Below 3 the rule that withheld
/// cells of a total must hide at least `threshold` people across two or more cells cannot
/// protect anything (1 + 1 = 2 tells both).
pub const MIN_THRESHOLD: u16 = 3;
/// Most cells in one report.
pub const MAX_CELLS: usize = 16_384;
/// Longest metric name, in bytes.
pub const MAX_METRIC_BYTES: usize = 64;
/// Longest dimension name, in bytes.
pub const MAX_DIMENSION_BYTES: usize = 32;
/// Longest dimension value, in bytes.
pub const MAX_KEY_BYTES: usize = 128;
/// Longest community name, in bytes (as in membership certificates).
pub const MAX_REPORT_COMMUNITY_BYTES: usize = 200;

/// The period a report covers: a calendar month, quarter or year (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// `month` is 1..=12.
    Month {
        year: u16,
        month: u8,
    },
    /// `quarter` is 1..=4.
    Quarter {
        year: u16,
        quarter: u8,
    },
    Year {
        year: u16,
    },
}

impl Period {
    fn tag(self) -> (u8, u16, u8) {
        match self {
            Period::Month { year, month } => (1, year, month),
            Period::Quarter { year, quarter } => (2, year, quarter),
            Period::Year { year } => (3, year, 0),
        }
    }

    fn from_tag(tag: u8, year: u16, part: u8) -> Option<Self> {
        if !(2000..=2100).contains(&year) {
            return None;
        }
        match (tag, part) {
            (1, 1..=12) => Some(Period::Month { year, month: part }),
            (2, 1..=4) => Some(Period::Quarter {
                year,
                quarter: part,
            }),
            (3, 0) => Some(Period::Year { year }),
            _ => None,
        }
    }

    /// The calendar year the period falls in.
    pub fn year(self) -> u16 {
        self.tag().1
    }

    /// The months (1..=12) the period covers, first to last.
    pub fn months(self) -> std::ops::RangeInclusive<u8> {
        match self {
            Period::Month { month, .. } => month..=month,
            Period::Quarter { quarter, .. } => (quarter * 3 - 2)..=(quarter * 3),
            Period::Year { .. } => 1..=12,
        }
    }

    /// The year's 17 periods: 12 months, 4 quarters, the year.
    pub fn all_of_year(year: u16) -> Vec<Period> {
        let mut out: Vec<Period> = (1..=12)
            .map(|month| Period::Month { year, month })
            .collect();
        out.extend((1..=4).map(|quarter| Period::Quarter { year, quarter }));
        out.push(Period::Year { year });
        out
    }

    /// The feed key of a report for this period: `tag << 24 | year << 8 | part`.
    pub fn key(self) -> u64 {
        let (tag, year, part) = self.tag();
        (u64::from(tag) << 24) | (u64::from(year) << 8) | u64::from(part)
    }

    /// Ordering for display: by year, then months before quarters before the year, each in
    /// calendar order.
    pub fn display_order(self) -> (u16, u8, u8) {
        let (tag, year, part) = self.tag();
        (year, tag, part)
    }
}

impl fmt::Display for Period {
    /// `2026-03`, `2026-Q1`, `2026`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Period::Month { year, month } => write!(f, "{year}-{month:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year}-Q{quarter}"),
            Period::Year { year } => write!(f, "{year}"),
        }
    }
}

/// Why a period could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a period is YYYY, YYYY-Qn or YYYY-MM with a year from 2000 to 2100")]
pub struct PeriodError;

impl FromStr for Period {
    type Err = PeriodError;

    fn from_str(s: &str) -> Result<Self, PeriodError> {
        let (year, rest) = match s.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (s, None),
        };
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PeriodError);
        }
        let year: u16 = year.parse().map_err(|_| PeriodError)?;
        let (tag, part) = match rest {
            None => (3, 0),
            Some(q) if q.len() == 2 && (q.starts_with('Q') || q.starts_with('q')) => {
                (2, q[1..].parse().map_err(|_| PeriodError)?)
            }
            Some(m) if m.len() == 2 && m.bytes().all(|b| b.is_ascii_digit()) => {
                (1, m.parse().map_err(|_| PeriodError)?)
            }
            Some(_) => return Err(PeriodError),
        };
        Period::from_tag(tag, year, part).ok_or(PeriodError)
    }
}

/// A cell's published value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Value {
    /// Not published: a small count, or one from which a small count could be worked out,
    /// or a median or rate whose base is too small.
    Withheld,
    /// A number of people. Never between 1 and the report's threshold − 1.
    People(u64),
    /// A number of things that are not people (openings, employers, targets).
    Count(u64),
    /// An amount, such as a median starting wage in US dollars a year.
    Amount(u64),
}

impl Value {
    /// The number, if the cell is published.
    pub fn number(self) -> Option<u64> {
        match self {
            Value::Withheld => None,
            Value::People(n) | Value::Count(n) | Value::Amount(n) => Some(n),
        }
    }
}

/// One figure of a report: `metric` broken down by `dimension` = `key` (both empty for the
/// metric's total).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cell {
    pub metric: String,
    pub dimension: String,
    pub key: String,
    pub value: Value,
}

impl Cell {
    fn order(&self, other: &Cell) -> Ordering {
        (
            self.metric.as_bytes(),
            self.dimension.as_bytes(),
            self.key.as_bytes(),
        )
            .cmp(&(
                other.metric.as_bytes(),
                other.dimension.as_bytes(),
                other.key.as_bytes(),
            ))
    }
}

/// A community's anonymised figures for one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricReport {
    pub period: Period,
    /// 1 for the first report of the period, then one more for each that replaces it.
    pub version: u32,
    /// When the figures were computed (ms since the Unix epoch).
    pub computed_at_ms: u64,
    /// The community's name, as in its membership certificate.
    pub community: String,
    /// The suppression threshold k the figures were withheld with.
    pub threshold: u16,
    /// In strictly increasing (metric, dimension, key) order; see [`MetricReport::sort`].
    pub cells: Vec<Cell>,
}

impl MetricReport {
    /// Puts the cells in canonical order.
    pub fn sort(&mut self) {
        self.cells.sort_by(|a, b| a.order(b));
    }

    /// The cell for (`metric`, `dimension`, `key`), if the report has it.
    pub fn cell(&self, metric: &str, dimension: &str, key: &str) -> Option<&Cell> {
        let probe = (metric.as_bytes(), dimension.as_bytes(), key.as_bytes());
        self.cells
            .binary_search_by(|c| {
                (
                    c.metric.as_bytes(),
                    c.dimension.as_bytes(),
                    c.key.as_bytes(),
                )
                    .cmp(&probe)
            })
            .ok()
            .map(|i| &self.cells[i])
    }

    /// The canonical payload. Does not check the limits; see [`try_sign`](Self::try_sign).
    pub fn encode(&self) -> Vec<u8> {
        let (tag, year, part) = self.period.tag();
        Encoder::with_capacity(64 + self.cells.len() * 40)
            .u8(METRIC_PAYLOAD_VERSION)
            .u8(tag)
            .u16(year)
            .u8(part)
            .u32(self.version)
            .u64(self.computed_at_ms)
            .str(&self.community)
            .u16(self.threshold)
            .list(&self.cells, |enc, c| {
                let enc = enc.str(&c.metric).str(&c.dimension).str(&c.key);
                match c.value {
                    Value::Withheld => enc.u8(0),
                    Value::People(n) => enc.u8(1).u64(n),
                    Value::Count(n) => enc.u8(2).u64(n),
                    Value::Amount(n) => enc.u8(3).u64(n),
                }
            })
            .finish()
    }

    /// Parses a payload strictly and applies [`check`](Self::check).
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = Decoder::new(payload);
        match dec.u8()? {
            METRIC_PAYLOAD_VERSION => {}
            other => return Err(DecodeError::UnsupportedVersion(other)),
        }
        let (tag, year, part) = (dec.u8()?, dec.u16()?, dec.u8()?);
        let period = Period::from_tag(tag, year, part)
            .ok_or(DecodeError::InvalidValue("metric report period"))?;
        let version = dec.u32()?;
        let computed_at_ms = dec.u64()?;
        let community = dec.str(MAX_REPORT_COMMUNITY_BYTES)?.to_owned();
        let threshold = dec.u16()?;
        let cells = dec.list(MAX_CELLS, |dec| {
            let metric = dec.str(MAX_METRIC_BYTES)?.to_owned();
            let dimension = dec.str(MAX_DIMENSION_BYTES)?.to_owned();
            let key = dec.str(MAX_KEY_BYTES)?.to_owned();
            let value = match dec.u8()? {
                0 => Value::Withheld,
                1 => Value::People(dec.u64()?),
                2 => Value::Count(dec.u64()?),
                3 => Value::Amount(dec.u64()?),
                _ => return Err(DecodeError::InvalidValue("metric cell value tag")),
            };
            Ok(Cell {
                metric,
                dimension,
                key,
                value,
            })
        })?;
        dec.finish()?;
        let report = Self {
            period,
            version,
            computed_at_ms,
            community,
            threshold,
            cells,
        };
        report.check()?;
        Ok(report)
    }

    /// The rules every report must keep, checked by senders before signing and by
    /// receivers after decoding: a version of at least 1, a community name, a threshold of
    /// at least [`MIN_THRESHOLD`], cells in strictly increasing order with a metric name, a
    /// key only under a dimension, and no count of people between 1 and `threshold − 1`.
    pub fn check(&self) -> Result<(), DecodeError> {
        if self.version == 0 {
            return Err(DecodeError::InvalidValue("metric report version 0"));
        }
        if self.community.is_empty() {
            return Err(DecodeError::InvalidValue(
                "empty community in metric report",
            ));
        }
        if self.threshold < MIN_THRESHOLD {
            return Err(DecodeError::InvalidValue(
                "metric report threshold below the minimum",
            ));
        }
        for (i, c) in self.cells.iter().enumerate() {
            if c.metric.is_empty() {
                return Err(DecodeError::InvalidValue("metric cell without a metric"));
            }
            if c.dimension.is_empty() && !c.key.is_empty() {
                return Err(DecodeError::InvalidValue(
                    "metric cell key without dimension",
                ));
            }
            if i > 0 && self.cells[i - 1].order(c) != Ordering::Less {
                return Err(DecodeError::InvalidValue(
                    "metric cells out of order or repeated",
                ));
            }
            if let Value::People(n) = c.value {
                if n > 0 && n < u64::from(self.threshold) {
                    return Err(DecodeError::InvalidValue(
                        "metric report publishes a small count of people",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Signs the report as a [`METRIC_REPORT`](RecordKind::METRIC_REPORT) record of
    /// `origin`'s feed, after checking it would decode (limits and [`check`](Self::check)).
    pub fn try_sign(
        &self,
        origin: &NodeKeypair,
        seq: u64,
        timestamp_ms: u64,
    ) -> Result<SignedRecord, EncodeError> {
        SignedRecord::sign_checked(
            origin,
            RecordKind::METRIC_REPORT,
            seq,
            timestamp_ms,
            self.encode(),
            |payload| Self::decode(payload).map(|_| ()),
        )
    }

    /// The key under which a later report supersedes this one in its origin's feed.
    pub fn feed_key(&self) -> u64 {
        self.period.key()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cell(metric: &str, dimension: &str, key: &str, value: Value) -> Cell {
        Cell {
            metric: metric.into(),
            dimension: dimension.into(),
            key: key.into(),
            value,
        }
    }

    fn report(cells: Vec<Cell>) -> MetricReport {
        MetricReport {
            period: Period::Month {
                year: 2026,
                month: 3,
            },
            version: 1,
            computed_at_ms: 5,
            community: "Akron, OH".into(),
            threshold: 11,
            cells,
        }
    }

    #[test]
    fn periods_print_and_parse() {
        for (text, period) in [
            (
                "2026-03",
                Period::Month {
                    year: 2026,
                    month: 3,
                },
            ),
            (
                "2026-Q4",
                Period::Quarter {
                    year: 2026,
                    quarter: 4,
                },
            ),
            ("2026", Period::Year { year: 2026 }),
        ] {
            assert_eq!(period.to_string(), text);
            assert_eq!(text.parse::<Period>(), Ok(period));
        }
        for bad in [
            "26", "2026-13", "2026-Q5", "2026-Q0", "1999", "2026-3", "2026-", "x",
        ] {
            assert_eq!(bad.parse::<Period>(), Err(PeriodError), "{bad}");
        }
        assert_eq!(Period::all_of_year(2026).len(), 17);
        assert_eq!(
            Period::Quarter {
                year: 2026,
                quarter: 2
            }
            .months(),
            4..=6
        );
    }

    #[test]
    fn layout_is_as_documented() {
        let r = report(vec![cell("placed", "", "", Value::People(12))]);
        assert_eq!(
            hex::encode(r.encode()),
            concat!(
                "01", // format
                "01",
                "07ea",
                "03",               // period 2026-03
                "00000001",         // version
                "0000000000000005", // computed_at_ms
                "00000009",
                "416b726f6e2c204f48", // "Akron, OH"
                "000b",               // threshold 11
                "00000001",           // one cell
                "00000006",
                "706c61636564", // "placed"
                "00000000",     // dimension ""
                "00000000",     // key ""
                "01",
                "000000000000000c", // people 12
            )
        );
    }

    #[test]
    fn small_counts_of_people_are_refused() {
        for n in 1..11 {
            let r = report(vec![cell("placed", "", "", Value::People(n))]);
            assert!(r.check().is_err(), "{n}");
            assert!(MetricReport::decode(&r.encode()).is_err());
            assert!(r.try_sign(&NodeKeypair::from_seed([1; 32]), 1, 1).is_err());
        }
        for v in [
            Value::People(0),
            Value::People(11),
            Value::Count(3),
            Value::Amount(5),
            Value::Withheld,
        ] {
            let r = report(vec![cell("placed", "", "", v)]);
            assert_eq!(MetricReport::decode(&r.encode()), Ok(r));
        }
    }

    #[test]
    fn cells_must_be_in_order_without_repeats() {
        let a = cell("a", "", "", Value::People(0));
        let b = cell("a", "soc", "15-1252", Value::People(0));
        assert!(report(vec![a.clone(), b.clone()]).check().is_ok());
        assert!(report(vec![b.clone(), a.clone()]).check().is_err());
        assert!(report(vec![a.clone(), a.clone()]).check().is_err());
        assert!(report(vec![cell("a", "", "k", Value::Withheld)])
            .check()
            .is_err());
        let mut r = report(vec![b, a]);
        r.sort();
        assert!(r.check().is_ok());
        assert_eq!(
            r.cell("a", "soc", "15-1252").map(|c| c.value),
            Some(Value::People(0))
        );
        assert_eq!(r.cell("a", "soc", "15-1251"), None);
    }

    #[test]
    fn threshold_and_version_have_floors() {
        let mut r = report(vec![]);
        r.threshold = 2;
        assert!(r.check().is_err());
        r.threshold = 3;
        r.version = 0;
        assert!(r.check().is_err());
    }

    proptest! {
        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = MetricReport::decode(&bytes);
        }

        #[test]
        fn round_trips(
            values in proptest::collection::vec((0u8..4, 0u64..1000), 0..20),
            month in 1u8..=12,
            version in 1u32..5,
        ) {
            let mut r = report(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, (tag, n))| {
                        let value = match tag {
                            0 => Value::Withheld,
                            1 => Value::People(if *n < 11 { 0 } else { *n }),
                            2 => Value::Count(*n),
                            _ => Value::Amount(*n),
                        };
                        cell("m", "d", &format!("{i:03}"), value)
                    })
                    .collect(),
            );
            r.period = Period::Month { year: 2026, month };
            r.version = version;
            let signed = r.try_sign(&NodeKeypair::from_seed([2; 32]), 7, 9).unwrap();
            prop_assert_eq!(MetricReport::decode(signed.payload()), Ok(r));
        }
    }
}
