//! Placements: who was hired where, at what wage, through which program, and whether they
//! were still employed in the 2nd and 4th quarter after starting.
//!
//! A placement that came through an introduction from another node (named in
//! `introduction_id`: never guessed) also tells that node, so that
//! its community can credit the hire as `hired_from_other_communities` without counting the
//! person a second time (docs/metrics.md).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::candidate::{Candidate, Stage, StageChange};
use super::common::{items, plausible_date, soc_code, FieldError, Record, Reference};
use super::introduction::PlacedThroughError;
use super::opening::Opening;
use super::{CheckError, Resource};
use crate::store::{Table, WriteTx};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    pub candidate_id: u64,
    pub employer_id: u64,
    #[serde(default)]
    pub opening_id: Option<u64>,
    pub start_date: NaiveDate,
    pub starting_wage_annual_usd: u32,
    pub soc_code: String,
    /// The training program credited with this placement (a "hiring channel").
    #[serde(default)]
    pub program_id: Option<u64>,
    #[serde(default)]
    pub retention: Vec<RetentionCheck>,
    /// The introduction from another node this hire came through, if any: an accepted one
    /// for this candidate. Only a named introduction credits the requesting community; none
    /// is guessed when it is left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduction_id: Option<u64>,
}

/// A follow-up in the spirit of the WIOA employment-rate indicators.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionCheck {
    pub quarter: RetentionQuarter,
    pub checked_on: NaiveDate,
    pub employed: bool,
    pub same_employer: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetentionQuarter {
    Q2,
    Q4,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PlacementFilter {
    pub candidate_id: Option<u64>,
    pub employer_id: Option<u64>,
    pub program_id: Option<u64>,
}

impl Resource for Placement {
    const TABLE: Table = Table::Placement;
    const NAME: &'static str = "placement";
    const COLLECTION: &'static str = "placements";
    type Filter = PlacementFilter;

    fn validate(&self) -> Result<(), FieldError> {
        plausible_date("start_date", self.start_date)?;
        soc_code("soc_code", &self.soc_code)?;
        if self.starting_wage_annual_usd == 0 {
            return Err(FieldError::new(
                "starting_wage_annual_usd",
                "must be above 0",
            ));
        }
        items("retention", &self.retention, 2)?;
        for (i, r) in self.retention.iter().enumerate() {
            // The 2nd quarter after the start begins 3 months in, the 4th 9 months in.
            let months = match r.quarter {
                RetentionQuarter::Q2 => 3,
                RetentionQuarter::Q4 => 9,
            };
            let opens = self
                .start_date
                .checked_add_months(chrono::Months::new(months))
                .unwrap_or(self.start_date);
            if r.checked_on < opens {
                return Err(FieldError::new(
                    format!("retention[{i}].checked_on"),
                    format!(
                        "is before the {:?} check-in can be made ({opens}, {months} months after the start date)",
                        r.quarter
                    ),
                ));
            }
            plausible_date(&format!("retention[{i}].checked_on"), r.checked_on)?;
            if self.retention[..i].iter().any(|o| o.quarter == r.quarter) {
                return Err(FieldError::new(
                    format!("retention[{i}].quarter"),
                    "has already been checked",
                ));
            }
            if r.same_employer && !r.employed {
                return Err(FieldError::new(
                    format!("retention[{i}].same_employer"),
                    "cannot be true when employed is false",
                ));
            }
        }
        Ok(())
    }

    fn candidate_id(&self) -> Option<u64> {
        Some(self.candidate_id)
    }

    fn references(&self) -> Vec<Reference> {
        let mut refs = vec![
            Reference::new(
                "candidate_id",
                Table::Candidate,
                "candidate",
                self.candidate_id,
            ),
            Reference::new("employer_id", Table::Employer, "employer", self.employer_id),
        ];
        if let Some(o) = self.opening_id {
            refs.push(Reference::new("opening_id", Table::Opening, "opening", o));
        }
        if let Some(p) = self.program_id {
            refs.push(Reference::new("program_id", Table::Program, "program", p));
        }
        refs
    }

    fn check_with(&self, tx: &WriteTx<'_>) -> Result<(), CheckError> {
        if let Some(id) = self.introduction_id {
            match super::placed_through(tx, self.candidate_id, Some(id)) {
                Ok(_) => {}
                Err(PlacedThroughError::NotFit(_)) => {
                    return Err(FieldError::new(
                        "introduction_id",
                        format!("introduction {id} is not an accepted introduction from another node for candidate {}", self.candidate_id),
                    )
                    .into())
                }
                Err(PlacedThroughError::Store(e)) => return Err(e.into()),
            }
        }
        if let Some(opening_id) = self.opening_id {
            if let Some(o) = tx.get::<Record<Opening>>(Table::Opening, opening_id)? {
                if o.data.employer_id != self.employer_id {
                    return Err(FieldError::new(
                        "opening_id",
                        format!(
                            "opening {opening_id} belongs to employer {}",
                            o.data.employer_id
                        ),
                    )
                    .into());
                }
            }
        }
        Ok(())
    }

    /// A placement moves its candidate to the `placed` stage in the same write.
    fn after_create(
        &self,
        id: u64,
        tx: &mut WriteTx<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), CheckError> {
        if let Some(mut c) = tx.get::<Record<Candidate>>(Table::Candidate, self.candidate_id)? {
            if c.data.stage != Stage::Placed {
                c.data.stage = Stage::Placed;
                c.data.stage_history.push(StageChange {
                    stage: Stage::Placed,
                    at: now,
                    note: Some(format!("placement {id}")),
                });
                c.updated_at = now;
                tx.put(Table::Candidate, self.candidate_id, &c)?;
            }
        }
        // The requesting community is told in the same write (delivered at the next sync).
        match super::placed_through(tx, self.candidate_id, self.introduction_id) {
            Ok(Some(intro)) => {
                super::stage_placement_notice(tx, intro, self.start_date, now)?;
            }
            Ok(None) => {}
            Err(PlacedThroughError::NotFit(id)) => {
                return Err(FieldError::new(
                    "introduction_id",
                    format!("introduction {id} is not an accepted introduction from another node"),
                )
                .into())
            }
            Err(PlacedThroughError::Store(e)) => return Err(e.into()),
        }
        Ok(())
    }

    fn matches(&self, f: &PlacementFilter) -> bool {
        f.candidate_id.is_none_or(|c| c == self.candidate_id)
            && f.employer_id.is_none_or(|e| e == self.employer_id)
            && f.program_id.is_none_or(|p| Some(p) == self.program_id)
    }
}
