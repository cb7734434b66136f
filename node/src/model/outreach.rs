//! Outreach: how many job seekers the community reached, by channel and period.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::{date_order, opt_text, plausible_date, FieldError, MAX_NOTE};
use super::Resource;
use crate::store::Table;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Outreach {
    pub channel: OutreachChannel,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub job_seekers_reached: u32,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutreachChannel {
    Event,
    SocialMedia,
    Referral,
    CommunityPartner,
    AmericanJobCenter,
    Library,
    Radio,
    Other,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutreachFilter {
    pub channel: Option<OutreachChannel>,
}

impl Resource for Outreach {
    const TABLE: Table = Table::Outreach;
    const NAME: &'static str = "outreach record";
    const COLLECTION: &'static str = "outreach";
    type Filter = OutreachFilter;

    fn validate(&self) -> Result<(), FieldError> {
        plausible_date("period_start", self.period_start)?;
        date_order("period_end", self.period_start, Some(self.period_end))?;
        opt_text("notes", self.notes.as_deref(), MAX_NOTE)
    }

    fn matches(&self, f: &OutreachFilter) -> bool {
        f.channel.is_none_or(|c| c == self.channel)
    }
}
