//! The audit of blind results: which candidates were shown to which employer, when, and for
//! which opening (or which search). Written before the results are sent, in the same
//! durable commit, so that nothing an employer saw is missing from the audit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::store::{StoreError, Table, WriteTx};

/// One page of results shown to one employer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Shown {
    pub id: u64,
    pub at: DateTime<Utc>,
    pub employer_id: u64,
    /// The opening whose matches were shown; `None` for a search.
    pub opening_id: Option<u64>,
    /// The search's query string, for a search.
    pub query: Option<String>,
    /// The candidates on the page, best first (local ids).
    pub candidates: Vec<u64>,
    /// The remote shared profiles on the page, best first (profile ids, 32 hex digits).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ShownFilter {
    pub opening_id: Option<u64>,
    pub employer_id: Option<u64>,
    /// Entries that showed this candidate.
    pub candidate_id: Option<u64>,
    /// Entries that showed this remote shared profile (its id, 32 hex digits).
    pub profile: Option<String>,
}

impl Shown {
    pub fn matches(&self, f: &ShownFilter) -> bool {
        f.opening_id.is_none_or(|o| Some(o) == self.opening_id)
            && f.employer_id.is_none_or(|e| e == self.employer_id)
            && f.candidate_id.is_none_or(|c| self.candidates.contains(&c))
            && f.profile.as_ref().is_none_or(|p| self.profiles.contains(p))
    }
}

/// The name of an entry in the by-opening index: opening id, then entry id, both
/// big-endian, so that an opening's entries are one range in id order.
pub fn shown_index_name(opening_id: u64, id: u64) -> [u8; 16] {
    let mut name = [0u8; 16];
    name[..8].copy_from_slice(&opening_id.to_be_bytes());
    name[8..].copy_from_slice(&id.to_be_bytes());
    name
}

/// Stages an audit entry (its id is allocated here) and its by-opening index entry.
pub fn stage_shown(
    tx: &mut WriteTx<'_>,
    at: DateTime<Utc>,
    employer_id: u64,
    opening_id: Option<u64>,
    query: Option<String>,
    candidates: Vec<u64>,
    profiles: Vec<String>,
) -> Result<Shown, StoreError> {
    let id = tx.next_id(Table::Shown)?;
    let shown = Shown {
        id,
        at,
        employer_id,
        opening_id,
        query,
        candidates,
        profiles,
    };
    tx.put(Table::Shown, id, &shown)?;
    if let Some(o) = opening_id {
        tx.index_put(Table::ShownByOpening, &shown_index_name(o, id), id);
    }
    Ok(shown)
}
