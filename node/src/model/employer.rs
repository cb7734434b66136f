//! Employers: who they are, who to talk to, and their TechHire hiring commitment.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::{email, items, opt_text, phone, plausible_date, text, FieldError, MAX_NAME};
use super::Resource;
use crate::store::Table;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Employer {
    pub name: String,
    #[serde(default)]
    pub industry: Option<String>,
    pub size_band: SizeBand,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// The signed TechHire commitment, if the employer has made one.
    #[serde(default)]
    pub commitment: Option<Commitment>,
    /// An employer advocate recruits and speaks for other employers.
    #[serde(default)]
    pub advocate: bool,
}

/// Number of employees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum SizeBand {
    #[serde(rename = "1-9")]
    Micro,
    #[serde(rename = "10-49")]
    Small,
    #[serde(rename = "50-249")]
    Medium,
    #[serde(rename = "250-999")]
    Large,
    #[serde(rename = "1000+")]
    Enterprise,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    pub signed_on: NaiveDate,
    /// Commits to interview candidates from non-traditional backgrounds.
    pub interview_non_traditional: bool,
    #[serde(default)]
    pub hiring_target: Option<u32>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EmployerFilter {
    /// Case-insensitive part of the name.
    pub q: Option<String>,
    pub advocate: Option<bool>,
    /// Only employers with (or without) a signed commitment.
    pub committed: Option<bool>,
}

impl Resource for Employer {
    const TABLE: Table = Table::Employer;
    const NAME: &'static str = "employer";
    const COLLECTION: &'static str = "employers";
    type Filter = EmployerFilter;

    fn validate(&self) -> Result<(), FieldError> {
        text("name", &self.name, MAX_NAME)?;
        opt_text("industry", self.industry.as_deref(), MAX_NAME)?;
        items("contacts", &self.contacts, 20)?;
        for (i, c) in self.contacts.iter().enumerate() {
            text(&format!("contacts[{i}].name"), &c.name, MAX_NAME)?;
            email(&format!("contacts[{i}].email"), &c.email)?;
            if let Some(p) = &c.phone {
                phone(&format!("contacts[{i}].phone"), p)?;
            }
            opt_text(
                &format!("contacts[{i}].title"),
                c.title.as_deref(),
                MAX_NAME,
            )?;
        }
        if let Some(c) = &self.commitment {
            plausible_date("commitment.signed_on", c.signed_on)?;
        }
        Ok(())
    }

    fn matches(&self, f: &EmployerFilter) -> bool {
        f.q.as_ref()
            .is_none_or(|q| self.name.to_lowercase().contains(&q.to_lowercase()))
            && f.advocate.is_none_or(|a| a == self.advocate)
            && f.committed.is_none_or(|c| c == self.commitment.is_some())
    }
}
