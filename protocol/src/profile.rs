//! Shared candidate profiles and their tombstones.
//!
//! A candidate who consents to be found across the federation gets a pseudonymous
//! [`SharedProfile`], published by their home node as a [`PROFILE`](RecordKind::PROFILE)
//! record in its feed. When consent is withdrawn, the candidate is deleted or the profile
//! expires, the home node publishes a [`Tombstone`] ([`TOMBSTONE`](RecordKind::TOMBSTONE)
//! record) for the same [`ProfileId`].
//!
//! *Invariant:* a shared profile carries no personal data that identifies the candidate.
//! There is deliberately no field for a name, email, phone number, street address, city
//! (below the home community), date of birth, photo or segment, and none may be added.
//! The [`ProfileId`] is random ([`ProfileId::random`]), never derived from personal data,
//! and differs from the home node's local candidate id. Free text is limited to what the
//! layout below allows: work history is titles and durations (no employer names), projects
//! have no links, and every string has a length limit that receivers check.
//!
//! **Key.** A profile and a tombstone are both keyed by the profile id ([`feed_key`]).
//! Within the origin's feed a later profile with the same id replaces the earlier one
//! (a higher `version`), and a tombstone supersedes the profile: a node that stores the
//! tombstone deletes the profile, keeps the tombstone, and treats any profile with that id
//! arriving later (an older version replayed, or one fetched from a node that was offline
//! when the tombstone went out) as a replay. A tombstoned id is dead: renewed consent gets
//! a fresh id. Which node receives a profile is decided by its [`Scope`]
//! ([`SharedProfile::in_scope`]). Storing, compaction and delivery are the node's job.
//!
//! Profile payload layout (canonical encoding, see [`Encoder`]; `str (a..=b)` is a string
//! of `a` to `b` bytes of UTF-8, `list (<= n)` a u32 count of at most `n` items):
//!
//! ```text
//! format u8 (=1) | id [16] | version u32 (>= 1) | expires_at_ms u64
//! | home_community str (1..=200) | home_region str (1..=64)
//! | scope: tag u8 (0 federation | 1 regions, then list (1..=20) of str (1..=64),
//!   strictly increasing as bytes)
//! | skills: list (<= 100), strictly increasing by skill_id as bytes, each
//!   skill_id str (1..=64) | level u8 (1..=4) | evidence u8 (0..=4)
//! | assessments: list (<= 100), each skill_id str (1..=64) | instrument str (1..=200)
//!   | percent u8 (0..=100) | year u16 (1900..=2100)
//! | training: option of program str (1..=200) | provider str (1..=200) | provider_kind u8 (0..=6)
//! | certificates: list (<= 50), each name str (1..=200) | issuer str (0..=200)
//!   | year option u16 (1900..=2100)
//! | work: list (<= 50), each title str (1..=200) | months u16
//! | projects: list (<= 50), each name str (1..=200) | description str (0..=2000)
//!   | skills list (<= 20) of str (1..=64)
//! | desired_roles: list (<= 20) of str (1..=200)
//! | desired_occupations: list (<= 20) of str, each a SOC code "NN-NNNN" (ASCII digits)
//! | remote u8 (0..=3) | relocate bool
//! ```
//!
//! Tombstone payload layout:
//!
//! ```text
//! format u8 (=1) | id [16] | reason u8 (1 withdrawn, 2 deleted, 3 expired)
//! ```
//!
//! A maximal profile is about 250 000 bytes, within
//! [`MAX_PAYLOAD_BYTES`](crate::MAX_PAYLOAD_BYTES).

use std::fmt;
use std::str::FromStr;

use rand_core::{OsRng, RngCore};

use crate::canonical::{Decoder, Encoder};
use crate::envelope::{RecordKind, SignedRecord};
use crate::error::{DecodeError, EncodeError};
use crate::identity::NodeKeypair;

/// Format byte at the start of a profile payload.
pub const PROFILE_PAYLOAD_VERSION: u8 = 1;
/// Format byte at the start of a tombstone payload.
pub const TOMBSTONE_PAYLOAD_VERSION: u8 = 1;
/// Length of a profile id in bytes.
pub const PROFILE_ID_BYTES: usize = 16;
/// Longest home community name, in bytes (as in membership certificates).
pub const MAX_PROFILE_COMMUNITY_BYTES: usize = 200;
/// Longest region name (home region and scope regions), in bytes.
pub const MAX_PROFILE_REGION_BYTES: usize = 64;
/// Most regions in a [`Scope::Regions`].
pub const MAX_SCOPE_REGIONS: usize = 20;
/// Longest taxonomy skill id, in bytes.
pub const MAX_SKILL_ID_BYTES: usize = 64;
/// Most skills in a profile.
pub const MAX_PROFILE_SKILLS: usize = 100;
/// Most assessments in a profile.
pub const MAX_PROFILE_ASSESSMENTS: usize = 100;
/// Most certificates in a profile.
pub const MAX_PROFILE_CERTIFICATES: usize = 50;
/// Most work history entries in a profile.
pub const MAX_PROFILE_WORK: usize = 50;
/// Most projects in a profile.
pub const MAX_PROFILE_PROJECTS: usize = 50;
/// Most skill ids in one project.
pub const MAX_PROJECT_SKILLS: usize = 20;
/// Longest project description, in bytes.
pub const MAX_PROJECT_DESCRIPTION_BYTES: usize = 2000;
/// Most desired roles, and most desired occupations, in a profile.
pub const MAX_DESIRED: usize = 20;
/// Longest short text (names, titles, instruments, programs, providers, issuers, roles).
pub const MAX_PROFILE_TEXT_BYTES: usize = 200;
/// Earliest year an assessment or certificate may carry.
pub const MIN_PROFILE_YEAR: u16 = 1900;
/// Latest year an assessment or certificate may carry.
pub const MAX_PROFILE_YEAR: u16 = 2100;

/// Highest skill level (`1` beginner, `2` intermediate, `3` advanced, `4` expert).
pub const MAX_SKILL_LEVEL: u8 = 4;
/// Highest evidence code (`0` self_reported, `1` project, `2` work_experience,
/// `3` certificate, `4` assessment).
pub const MAX_EVIDENCE: u8 = 4;
/// Highest training provider kind (`0` bootcamp, `1` community_college, `2` online,
/// `3` apprenticeship, `4` university, `5` non_profit, `6` other).
pub const MAX_PROVIDER_KIND: u8 = 6;
/// Highest remote preference (`0` on_site, `1` hybrid, `2` remote, `3` any).
pub const MAX_REMOTE: u8 = 3;

/// A shared profile's pseudonymous id: 16 random bytes.
///
/// Never derived from personal data (no hash of a name, email or local id): make one
/// with [`ProfileId::random`]. Displayed and parsed as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProfileId(pub [u8; PROFILE_ID_BYTES]);

impl ProfileId {
    /// A fresh id from the operating system's random number generator.
    pub fn random() -> Self {
        let mut bytes = [0; PROFILE_ID_BYTES];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8; PROFILE_ID_BYTES] {
        &self.0
    }
}

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProfileId({self})")
    }
}

/// Why a profile id could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a profile id is 32 lowercase hex digits")]
pub struct ProfileIdError;

impl FromStr for ProfileId {
    type Err = ProfileIdError;

    fn from_str(s: &str) -> Result<Self, ProfileIdError> {
        if s.len() != 2 * PROFILE_ID_BYTES
            || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(ProfileIdError);
        }
        let mut bytes = [0; PROFILE_ID_BYTES];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| ProfileIdError)?;
        Ok(Self(bytes))
    }
}

/// Which member nodes may hold a profile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every member of the federation.
    Federation,
    /// Only members of these regions (as named in their membership certificates):
    /// 1 to 20 names of 1 to 64 bytes, strictly increasing as bytes in canonical form.
    Regions(Vec<String>),
}

/// One skill claim: a taxonomy id, a level and what backs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SharedSkill {
    /// Taxonomy skill id, 1 to 64 bytes.
    pub skill_id: String,
    /// `1` beginner, `2` intermediate, `3` advanced, `4` expert.
    pub level: u8,
    /// `0` self_reported, `1` project, `2` work_experience, `3` certificate, `4` assessment.
    pub evidence: u8,
}

/// An assessment result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SharedAssessment {
    /// Taxonomy skill id, 1 to 64 bytes.
    pub skill_id: String,
    /// The test or instrument, 1 to 200 bytes.
    pub instrument: String,
    /// Score, 0 to 100.
    pub percent: u8,
    /// 1900 to 2100.
    pub year: u16,
}

/// The training program the candidate followed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SharedTraining {
    /// 1 to 200 bytes.
    pub program: String,
    /// 1 to 200 bytes.
    pub provider: String,
    /// `0` bootcamp, `1` community_college, `2` online, `3` apprenticeship, `4` university,
    /// `5` non_profit, `6` other.
    pub provider_kind: u8,
}

/// A certificate held.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SharedCertificate {
    /// 1 to 200 bytes.
    pub name: String,
    /// 0 to 200 bytes (empty if not given).
    pub issuer: String,
    /// 1900 to 2100 if given.
    pub year: Option<u16>,
}

/// A work history entry: a title and a duration, never an employer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SharedWork {
    /// 1 to 200 bytes.
    pub title: String,
    /// Duration in months.
    pub months: u16,
}

/// A project, without links.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SharedProject {
    /// 1 to 200 bytes.
    pub name: String,
    /// 0 to 2000 bytes of plain text.
    pub description: String,
    /// Up to 20 taxonomy skill ids of 1 to 64 bytes.
    pub skills: Vec<String>,
}

/// A candidate's pseudonymous profile as shared with the federation (see the module
/// documentation for the invariant on personal data).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SharedProfile {
    pub id: ProfileId,
    /// 1 for the first publication, then one more for each that replaces it.
    pub version: u32,
    /// The home node's community name, 1 to 200 bytes.
    pub home_community: String,
    /// The home node's region, 1 to 64 bytes.
    pub home_region: String,
    pub scope: Scope,
    /// When the consent behind this profile ends (ms since the Unix epoch).
    pub expires_at_ms: u64,
    /// At most 100, strictly increasing by `skill_id` as bytes; see [`SharedProfile::sort`].
    pub skills: Vec<SharedSkill>,
    /// At most 100, in the home node's order.
    pub assessments: Vec<SharedAssessment>,
    pub training: Option<SharedTraining>,
    /// At most 50, in the home node's order.
    pub certificates: Vec<SharedCertificate>,
    /// At most 50, in the home node's order.
    pub work: Vec<SharedWork>,
    /// At most 50, in the home node's order.
    pub projects: Vec<SharedProject>,
    /// At most 20 of 1 to 200 bytes.
    pub desired_roles: Vec<String>,
    /// At most 20 SOC codes shaped `NN-NNNN`.
    pub desired_occupations: Vec<String>,
    /// `0` on_site, `1` hybrid, `2` remote, `3` any.
    pub remote: u8,
    pub relocate: bool,
}

fn text(dec: &mut Decoder<'_>, limit: usize, what: &'static str) -> Result<String, DecodeError> {
    let s = dec.str(limit)?;
    if s.is_empty() {
        return Err(DecodeError::InvalidValue(what));
    }
    Ok(s.to_owned())
}

fn year(y: u16) -> Result<u16, DecodeError> {
    if (MIN_PROFILE_YEAR..=MAX_PROFILE_YEAR).contains(&y) {
        Ok(y)
    } else {
        Err(DecodeError::InvalidValue("profile year out of range"))
    }
}

fn at_most(value: u8, max: u8, what: &'static str) -> Result<u8, DecodeError> {
    if value <= max {
        Ok(value)
    } else {
        Err(DecodeError::InvalidValue(what))
    }
}

/// Whether `code` is shaped like a SOC code: `NN-NNNN` with ASCII digits.
pub fn is_soc_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 7
        && b[2] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
}

fn strictly_increasing<'a>(mut keys: impl Iterator<Item = &'a [u8]>) -> bool {
    let Some(mut prev) = keys.next() else {
        return true;
    };
    for key in keys {
        if key <= prev {
            return false;
        }
        prev = key;
    }
    true
}

impl SharedProfile {
    /// Puts skills and scope regions in canonical order, dropping repeated regions.
    /// Repeated skill ids stay, and make the profile invalid.
    pub fn sort(&mut self) {
        self.skills.sort_by(|a, b| a.skill_id.cmp(&b.skill_id));
        if let Scope::Regions(regions) = &mut self.scope {
            regions.sort();
            regions.dedup();
        }
    }

    /// Whether a member node of `region` may hold the profile.
    pub fn in_scope(&self, region: &str) -> bool {
        match &self.scope {
            Scope::Federation => true,
            Scope::Regions(regions) => regions.iter().any(|r| r == region),
        }
    }

    /// The canonical payload. Does not check the limits; see [`try_sign`](Self::try_sign).
    pub fn encode(&self) -> Vec<u8> {
        let enc = Encoder::with_capacity(256)
            .u8(PROFILE_PAYLOAD_VERSION)
            .array(&self.id.0)
            .u32(self.version)
            .u64(self.expires_at_ms)
            .str(&self.home_community)
            .str(&self.home_region);
        let enc = match &self.scope {
            Scope::Federation => enc.u8(0),
            Scope::Regions(regions) => enc.u8(1).list(regions, |enc, r| enc.str(r)),
        };
        enc.list(&self.skills, |enc, s| {
            enc.str(&s.skill_id).u8(s.level).u8(s.evidence)
        })
        .list(&self.assessments, |enc, a| {
            enc.str(&a.skill_id)
                .str(&a.instrument)
                .u8(a.percent)
                .u16(a.year)
        })
        .option(self.training.as_ref(), |enc, t| {
            enc.str(&t.program).str(&t.provider).u8(t.provider_kind)
        })
        .list(&self.certificates, |enc, c| {
            enc.str(&c.name).str(&c.issuer).option(c.year, Encoder::u16)
        })
        .list(&self.work, |enc, w| enc.str(&w.title).u16(w.months))
        .list(&self.projects, |enc, p| {
            enc.str(&p.name)
                .str(&p.description)
                .list(&p.skills, |enc, s| enc.str(s))
        })
        .list(&self.desired_roles, |enc, r| enc.str(r))
        .list(&self.desired_occupations, |enc, o| enc.str(o))
        .u8(self.remote)
        .bool(self.relocate)
        .finish()
    }

    /// Parses a payload strictly: format 1, every limit and shape of the layout in the
    /// module documentation, canonical order of skills and scope regions, nothing after
    /// the last field.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = Decoder::new(payload);
        match dec.u8()? {
            PROFILE_PAYLOAD_VERSION => {}
            other => return Err(DecodeError::UnsupportedVersion(other)),
        }
        let id = ProfileId(dec.array()?);
        let version = dec.u32()?;
        if version == 0 {
            return Err(DecodeError::InvalidValue("profile version 0"));
        }
        let expires_at_ms = dec.u64()?;
        let home_community = text(
            &mut dec,
            MAX_PROFILE_COMMUNITY_BYTES,
            "empty profile community",
        )?;
        let home_region = text(&mut dec, MAX_PROFILE_REGION_BYTES, "empty profile region")?;
        let scope = match dec.u8()? {
            0 => Scope::Federation,
            1 => {
                let regions = dec.list(MAX_SCOPE_REGIONS, |dec| {
                    text(dec, MAX_PROFILE_REGION_BYTES, "empty scope region")
                })?;
                if regions.is_empty() {
                    return Err(DecodeError::InvalidValue("profile scope without regions"));
                }
                if !strictly_increasing(regions.iter().map(|r| r.as_bytes())) {
                    return Err(DecodeError::InvalidValue(
                        "scope regions out of order or repeated",
                    ));
                }
                Scope::Regions(regions)
            }
            _ => return Err(DecodeError::InvalidValue("profile scope tag")),
        };
        let skills = dec.list(MAX_PROFILE_SKILLS, |dec| {
            Ok(SharedSkill {
                skill_id: text(dec, MAX_SKILL_ID_BYTES, "empty skill id")?,
                level: match dec.u8()? {
                    l @ 1..=MAX_SKILL_LEVEL => l,
                    _ => return Err(DecodeError::InvalidValue("skill level")),
                },
                evidence: at_most(dec.u8()?, MAX_EVIDENCE, "skill evidence")?,
            })
        })?;
        if !strictly_increasing(skills.iter().map(|s| s.skill_id.as_bytes())) {
            return Err(DecodeError::InvalidValue("skills out of order or repeated"));
        }
        let assessments = dec.list(MAX_PROFILE_ASSESSMENTS, |dec| {
            Ok(SharedAssessment {
                skill_id: text(dec, MAX_SKILL_ID_BYTES, "empty assessment skill id")?,
                instrument: text(dec, MAX_PROFILE_TEXT_BYTES, "empty assessment instrument")?,
                percent: at_most(dec.u8()?, 100, "assessment percent")?,
                year: year(dec.u16()?)?,
            })
        })?;
        let training = dec.option(|dec| {
            Ok(SharedTraining {
                program: text(dec, MAX_PROFILE_TEXT_BYTES, "empty training program")?,
                provider: text(dec, MAX_PROFILE_TEXT_BYTES, "empty training provider")?,
                provider_kind: at_most(dec.u8()?, MAX_PROVIDER_KIND, "training provider kind")?,
            })
        })?;
        let certificates = dec.list(MAX_PROFILE_CERTIFICATES, |dec| {
            let name = text(dec, MAX_PROFILE_TEXT_BYTES, "empty certificate name")?;
            let issuer = dec.str(MAX_PROFILE_TEXT_BYTES)?.to_owned();
            let year = match dec.option(Decoder::u16)? {
                Some(y) => Some(year(y)?),
                None => None,
            };
            Ok(SharedCertificate { name, issuer, year })
        })?;
        let work = dec.list(MAX_PROFILE_WORK, |dec| {
            Ok(SharedWork {
                title: text(dec, MAX_PROFILE_TEXT_BYTES, "empty work title")?,
                months: dec.u16()?,
            })
        })?;
        let projects = dec.list(MAX_PROFILE_PROJECTS, |dec| {
            Ok(SharedProject {
                name: text(dec, MAX_PROFILE_TEXT_BYTES, "empty project name")?,
                description: dec.str(MAX_PROJECT_DESCRIPTION_BYTES)?.to_owned(),
                skills: dec.list(MAX_PROJECT_SKILLS, |dec| {
                    text(dec, MAX_SKILL_ID_BYTES, "empty project skill id")
                })?,
            })
        })?;
        let desired_roles = dec.list(MAX_DESIRED, |dec| {
            text(dec, MAX_PROFILE_TEXT_BYTES, "empty desired role")
        })?;
        let desired_occupations = dec.list(MAX_DESIRED, |dec| {
            let code = dec.str(7)?;
            if !is_soc_code(code) {
                return Err(DecodeError::InvalidValue("occupation is not a SOC code"));
            }
            Ok(code.to_owned())
        })?;
        let remote = at_most(dec.u8()?, MAX_REMOTE, "remote preference")?;
        let relocate = dec.bool()?;
        dec.finish()?;
        Ok(Self {
            id,
            version,
            home_community,
            home_region,
            scope,
            expires_at_ms,
            skills,
            assessments,
            training,
            certificates,
            work,
            projects,
            desired_roles,
            desired_occupations,
            remote,
            relocate,
        })
    }

    /// Signs the profile as a [`PROFILE`](RecordKind::PROFILE) record of `origin`'s feed,
    /// after checking it would decode; [`EncodeError::InvalidPayload`] if it breaks a
    /// limit, shape or order, [`EncodeError::ZeroSequence`] if `seq` is 0.
    pub fn try_sign(
        &self,
        origin: &NodeKeypair,
        seq: u64,
        timestamp_ms: u64,
    ) -> Result<SignedRecord, EncodeError> {
        SignedRecord::sign_checked(
            origin,
            RecordKind::PROFILE,
            seq,
            timestamp_ms,
            self.encode(),
            |payload| Self::decode(payload).map(|_| ()),
        )
    }
}

/// Why a profile was withdrawn from the federation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TombstoneReason {
    /// The candidate withdrew consent (`1`).
    Withdrawn,
    /// The candidate was deleted at the home node (`2`).
    Deleted,
    /// The consent expired without renewal (`3`).
    Expired,
}

impl TombstoneReason {
    /// The reason's byte.
    pub fn code(self) -> u8 {
        match self {
            Self::Withdrawn => 1,
            Self::Deleted => 2,
            Self::Expired => 3,
        }
    }

    /// The reason with byte `code`, if any.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Withdrawn),
            2 => Some(Self::Deleted),
            3 => Some(Self::Expired),
            _ => None,
        }
    }
}

/// The end of a shared profile: every node deletes the profile with this id and keeps
/// the tombstone, so no older version of it is accepted again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tombstone {
    pub id: ProfileId,
    pub reason: TombstoneReason,
}

impl Tombstone {
    /// The canonical payload.
    pub fn encode(&self) -> Vec<u8> {
        Encoder::with_capacity(18)
            .u8(TOMBSTONE_PAYLOAD_VERSION)
            .array(&self.id.0)
            .u8(self.reason.code())
            .finish()
    }

    /// Parses a payload strictly: format 1, a known reason, nothing after it.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = Decoder::new(payload);
        match dec.u8()? {
            TOMBSTONE_PAYLOAD_VERSION => {}
            other => return Err(DecodeError::UnsupportedVersion(other)),
        }
        let id = ProfileId(dec.array()?);
        let reason = TombstoneReason::from_code(dec.u8()?)
            .ok_or(DecodeError::InvalidValue("tombstone reason"))?;
        dec.finish()?;
        Ok(Self { id, reason })
    }

    /// Signs the tombstone as a [`TOMBSTONE`](RecordKind::TOMBSTONE) record of `origin`'s
    /// feed; fails only if `seq` is 0.
    pub fn try_sign(
        &self,
        origin: &NodeKeypair,
        seq: u64,
        timestamp_ms: u64,
    ) -> Result<SignedRecord, EncodeError> {
        SignedRecord::sign_checked(
            origin,
            RecordKind::TOMBSTONE,
            seq,
            timestamp_ms,
            self.encode(),
            |payload| Self::decode(payload).map(|_| ()),
        )
    }
}

/// The key of a [`PROFILE`](RecordKind::PROFILE) or [`TOMBSTONE`](RecordKind::TOMBSTONE)
/// record in its origin's feed: the profile id, the same for a profile and its tombstone.
/// `None` for other kinds and for payloads that do not decode.
pub fn feed_key(record: &SignedRecord) -> Option<ProfileId> {
    match record.kind() {
        RecordKind::PROFILE => SharedProfile::decode(record.payload()).ok().map(|p| p.id),
        RecordKind::TOMBSTONE => Tombstone::decode(record.payload()).ok().map(|t| t.id),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::envelope::MAX_PAYLOAD_BYTES;
    use proptest::prelude::*;

    fn origin() -> NodeKeypair {
        NodeKeypair::from_seed([5; 32])
    }

    fn minimal() -> SharedProfile {
        SharedProfile {
            id: ProfileId([0xab; 16]),
            version: 1,
            home_community: "A".to_owned(),
            home_region: "R".to_owned(),
            scope: Scope::Federation,
            expires_at_ms: 2,
            skills: vec![],
            assessments: vec![],
            training: None,
            certificates: vec![],
            work: vec![],
            projects: vec![],
            desired_roles: vec![],
            desired_occupations: vec![],
            remote: 3,
            relocate: false,
        }
    }

    fn full() -> SharedProfile {
        SharedProfile {
            scope: Scope::Regions(vec!["ohio".into(), "west-virginia".into()]),
            skills: vec![
                SharedSkill {
                    skill_id: "python".into(),
                    level: 3,
                    evidence: 1,
                },
                SharedSkill {
                    skill_id: "sql".into(),
                    level: 1,
                    evidence: 0,
                },
            ],
            assessments: vec![SharedAssessment {
                skill_id: "sql".into(),
                instrument: "Community SQL test".into(),
                percent: 87,
                year: 2026,
            }],
            training: Some(SharedTraining {
                program: "Data bootcamp".into(),
                provider: "Akron Codes".into(),
                provider_kind: 0,
            }),
            certificates: vec![SharedCertificate {
                name: "CompTIA A+".into(),
                issuer: String::new(),
                year: Some(2025),
            }],
            work: vec![SharedWork {
                title: "Help desk technician".into(),
                months: 18,
            }],
            projects: vec![SharedProject {
                name: "Food bank inventory".into(),
                description: "A small web app.".into(),
                skills: vec!["python".into(), "sql".into()],
            }],
            desired_roles: vec!["Data analyst".into()],
            desired_occupations: vec!["15-2051".into()],
            remote: 1,
            relocate: true,
            ..minimal()
        }
    }

    fn refused(p: &SharedProfile) -> bool {
        SharedProfile::decode(&p.encode()).is_err()
            && matches!(
                p.try_sign(&origin(), 1, 0),
                Err(EncodeError::InvalidPayload(_))
            )
    }

    #[test]
    fn tombstone_layout() {
        let t = Tombstone {
            id: ProfileId([0x11; 16]),
            reason: TombstoneReason::Deleted,
        };
        assert_eq!(
            hex::encode(t.encode()),
            concat!(
                "01",                               // format
                "11111111111111111111111111111111", // id
                "02",                               // reason: deleted
            )
        );
        assert_eq!(Tombstone::decode(&t.encode()), Ok(t));
        let record = t.try_sign(&origin(), 7, 8).unwrap();
        assert_eq!(record.kind(), RecordKind::TOMBSTONE);
        assert_eq!(record.verify(), Ok(()));
    }

    #[test]
    fn minimal_profile_layout() {
        assert_eq!(
            hex::encode(minimal().encode()),
            concat!(
                "01",                               // format
                "abababababababababababababababab", // id
                "00000001",                         // version
                "0000000000000002",                 // expires_at_ms
                "0000000141",                       // home_community "A"
                "0000000152",                       // home_region "R"
                "00",                               // scope: federation
                "00000000",                         // skills
                "00000000",                         // assessments
                "00",                               // training: none
                "00000000",                         // certificates
                "00000000",                         // work
                "00000000",                         // projects
                "00000000",                         // desired_roles
                "00000000",                         // desired_occupations
                "03",                               // remote: any
                "00",                               // relocate
            )
        );
        assert_eq!(SharedProfile::decode(&minimal().encode()), Ok(minimal()));
    }

    #[test]
    fn full_profile_signs_and_round_trips() {
        let p = full();
        let record = p.try_sign(&origin(), 3, 4).unwrap();
        assert_eq!(record.kind(), RecordKind::PROFILE);
        assert_eq!((record.seq(), record.timestamp_ms()), (3, 4));
        assert_eq!(record.verify(), Ok(()));
        assert_eq!(SharedProfile::decode(record.payload()), Ok(p.clone()));
        assert_eq!(p.try_sign(&origin(), 0, 0), Err(EncodeError::ZeroSequence));
    }

    #[test]
    fn maximal_profile_fits_in_a_record() {
        let s = |n: usize| "s".repeat(n);
        let p = SharedProfile {
            home_community: s(MAX_PROFILE_COMMUNITY_BYTES),
            home_region: s(MAX_PROFILE_REGION_BYTES),
            scope: Scope::Regions(
                (0..MAX_SCOPE_REGIONS)
                    .map(|i| format!("{i:02}{}", s(MAX_PROFILE_REGION_BYTES - 2)))
                    .collect(),
            ),
            skills: (0..MAX_PROFILE_SKILLS)
                .map(|i| SharedSkill {
                    skill_id: format!("{i:03}{}", s(MAX_SKILL_ID_BYTES - 3)),
                    level: MAX_SKILL_LEVEL,
                    evidence: MAX_EVIDENCE,
                })
                .collect(),
            assessments: vec![
                SharedAssessment {
                    skill_id: s(MAX_SKILL_ID_BYTES),
                    instrument: s(MAX_PROFILE_TEXT_BYTES),
                    percent: 100,
                    year: MAX_PROFILE_YEAR,
                };
                MAX_PROFILE_ASSESSMENTS
            ],
            training: Some(SharedTraining {
                program: s(MAX_PROFILE_TEXT_BYTES),
                provider: s(MAX_PROFILE_TEXT_BYTES),
                provider_kind: MAX_PROVIDER_KIND,
            }),
            certificates: vec![
                SharedCertificate {
                    name: s(MAX_PROFILE_TEXT_BYTES),
                    issuer: s(MAX_PROFILE_TEXT_BYTES),
                    year: Some(MIN_PROFILE_YEAR),
                };
                MAX_PROFILE_CERTIFICATES
            ],
            work: vec![
                SharedWork {
                    title: s(MAX_PROFILE_TEXT_BYTES),
                    months: u16::MAX,
                };
                MAX_PROFILE_WORK
            ],
            projects: vec![
                SharedProject {
                    name: s(MAX_PROFILE_TEXT_BYTES),
                    description: s(MAX_PROJECT_DESCRIPTION_BYTES),
                    skills: vec![s(MAX_SKILL_ID_BYTES); MAX_PROJECT_SKILLS],
                };
                MAX_PROFILE_PROJECTS
            ],
            desired_roles: vec![s(MAX_PROFILE_TEXT_BYTES); MAX_DESIRED],
            desired_occupations: vec!["99-9999".into(); MAX_DESIRED],
            remote: MAX_REMOTE,
            relocate: true,
            ..minimal()
        };
        assert!(
            p.encode().len() <= MAX_PAYLOAD_BYTES,
            "{}",
            p.encode().len()
        );
        assert_eq!(SharedProfile::decode(&p.encode()), Ok(p.clone()));
        assert_eq!(p.try_sign(&origin(), 1, 0).unwrap().verify(), Ok(()));
    }

    #[test]
    fn limits_are_enforced() {
        let s = |n: usize| "s".repeat(n);
        type Breaker = Box<dyn Fn(&mut SharedProfile)>;
        let cases: Vec<(&str, Breaker)> = vec![
            ("version 0", Box::new(|p| p.version = 0)),
            ("empty community", Box::new(|p| p.home_community.clear())),
            (
                "long community",
                Box::new(move |p| p.home_community = s(MAX_PROFILE_COMMUNITY_BYTES + 1)),
            ),
            ("empty region", Box::new(|p| p.home_region.clear())),
            (
                "long region",
                Box::new(move |p| p.home_region = s(MAX_PROFILE_REGION_BYTES + 1)),
            ),
            (
                "no scope regions",
                Box::new(|p| p.scope = Scope::Regions(vec![])),
            ),
            (
                "empty scope region",
                Box::new(|p| p.scope = Scope::Regions(vec![String::new()])),
            ),
            (
                "long scope region",
                Box::new(move |p| p.scope = Scope::Regions(vec![s(MAX_PROFILE_REGION_BYTES + 1)])),
            ),
            (
                "too many scope regions",
                Box::new(|p| {
                    p.scope =
                        Scope::Regions((0..=MAX_SCOPE_REGIONS).map(|i| format!("{i:02}")).collect())
                }),
            ),
            ("empty skill id", Box::new(|p| p.skills[0].skill_id.clear())),
            (
                "long skill id",
                Box::new(move |p| p.skills[0].skill_id = s(MAX_SKILL_ID_BYTES + 1)),
            ),
            ("skill level 0", Box::new(|p| p.skills[0].level = 0)),
            ("skill level 5", Box::new(|p| p.skills[0].level = 5)),
            ("evidence 5", Box::new(|p| p.skills[0].evidence = 5)),
            (
                "too many skills",
                Box::new(|p| {
                    p.skills = (0..=MAX_PROFILE_SKILLS)
                        .map(|i| SharedSkill {
                            skill_id: format!("{i:03}"),
                            level: 1,
                            evidence: 0,
                        })
                        .collect()
                }),
            ),
            (
                "empty assessment skill",
                Box::new(|p| p.assessments[0].skill_id.clear()),
            ),
            (
                "empty instrument",
                Box::new(|p| p.assessments[0].instrument.clear()),
            ),
            (
                "long instrument",
                Box::new(move |p| p.assessments[0].instrument = s(MAX_PROFILE_TEXT_BYTES + 1)),
            ),
            ("percent 101", Box::new(|p| p.assessments[0].percent = 101)),
            ("year 1899", Box::new(|p| p.assessments[0].year = 1899)),
            ("year 2101", Box::new(|p| p.assessments[0].year = 2101)),
            (
                "too many assessments",
                Box::new(|p| {
                    p.assessments = vec![p.assessments[0].clone(); MAX_PROFILE_ASSESSMENTS + 1]
                }),
            ),
            (
                "empty program",
                Box::new(|p| p.training.as_mut().unwrap().program.clear()),
            ),
            (
                "long provider",
                Box::new(move |p| {
                    p.training.as_mut().unwrap().provider = s(MAX_PROFILE_TEXT_BYTES + 1)
                }),
            ),
            (
                "provider kind 7",
                Box::new(|p| p.training.as_mut().unwrap().provider_kind = 7),
            ),
            (
                "empty certificate",
                Box::new(|p| p.certificates[0].name.clear()),
            ),
            (
                "long issuer",
                Box::new(move |p| p.certificates[0].issuer = s(MAX_PROFILE_TEXT_BYTES + 1)),
            ),
            (
                "certificate year",
                Box::new(|p| p.certificates[0].year = Some(0)),
            ),
            (
                "too many certificates",
                Box::new(|p| {
                    p.certificates = vec![p.certificates[0].clone(); MAX_PROFILE_CERTIFICATES + 1]
                }),
            ),
            ("empty work title", Box::new(|p| p.work[0].title.clear())),
            (
                "long work title",
                Box::new(move |p| p.work[0].title = s(MAX_PROFILE_TEXT_BYTES + 1)),
            ),
            (
                "too much work",
                Box::new(|p| p.work = vec![p.work[0].clone(); MAX_PROFILE_WORK + 1]),
            ),
            ("empty project", Box::new(|p| p.projects[0].name.clear())),
            (
                "long description",
                Box::new(move |p| p.projects[0].description = s(MAX_PROJECT_DESCRIPTION_BYTES + 1)),
            ),
            (
                "empty project skill",
                Box::new(|p| p.projects[0].skills[0].clear()),
            ),
            (
                "too many project skills",
                Box::new(|p| p.projects[0].skills = vec!["x".into(); MAX_PROJECT_SKILLS + 1]),
            ),
            (
                "too many projects",
                Box::new(|p| p.projects = vec![p.projects[0].clone(); MAX_PROFILE_PROJECTS + 1]),
            ),
            ("empty role", Box::new(|p| p.desired_roles[0].clear())),
            (
                "long role",
                Box::new(move |p| p.desired_roles[0] = s(MAX_PROFILE_TEXT_BYTES + 1)),
            ),
            (
                "too many roles",
                Box::new(|p| p.desired_roles = vec!["r".into(); MAX_DESIRED + 1]),
            ),
            (
                "bad SOC shape",
                Box::new(|p| p.desired_occupations[0] = "152051".into()),
            ),
            (
                "SOC with letters",
                Box::new(|p| p.desired_occupations[0] = "15-20a1".into()),
            ),
            (
                "too many occupations",
                Box::new(|p| p.desired_occupations = vec!["15-2051".into(); MAX_DESIRED + 1]),
            ),
            ("remote 4", Box::new(|p| p.remote = 4)),
        ];
        for (name, breaker) in cases {
            let mut p = full();
            assert!(!refused(&p), "{name}: the base profile is valid");
            breaker(&mut p);
            assert!(refused(&p), "{name}: accepted");
        }
    }

    #[test]
    fn bad_bytes_are_refused() {
        let mut bytes = full().encode();
        bytes[0] = 2;
        assert_eq!(
            SharedProfile::decode(&bytes),
            Err(DecodeError::UnsupportedVersion(2))
        );
        // The scope tag sits after format, id, version, expiry and the two strings.
        let mut bytes = minimal().encode();
        let scope_at = 1 + 16 + 4 + 8 + 5 + 5;
        bytes[scope_at] = 2;
        assert!(SharedProfile::decode(&bytes).is_err());
        // relocate is the last byte and must be 0 or 1.
        let mut bytes = minimal().encode();
        *bytes.last_mut().unwrap() = 2;
        assert!(SharedProfile::decode(&bytes).is_err());
        let mut bytes = minimal().encode();
        bytes.push(0);
        assert_eq!(
            SharedProfile::decode(&bytes),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
        // Invalid UTF-8 in the home community.
        let mut bytes = minimal().encode();
        bytes[1 + 16 + 4 + 8 + 4] = 0xff;
        assert_eq!(SharedProfile::decode(&bytes), Err(DecodeError::InvalidUtf8));

        let t = Tombstone {
            id: ProfileId([1; 16]),
            reason: TombstoneReason::Withdrawn,
        };
        for reason in [0u8, 4, 255] {
            let mut bytes = t.encode();
            bytes[17] = reason;
            assert_eq!(
                Tombstone::decode(&bytes),
                Err(DecodeError::InvalidValue("tombstone reason"))
            );
        }
        let mut bytes = t.encode();
        bytes[0] = 0;
        assert_eq!(
            Tombstone::decode(&bytes),
            Err(DecodeError::UnsupportedVersion(0))
        );
        bytes[0] = 1;
        bytes.push(0);
        assert!(Tombstone::decode(&bytes).is_err());
        assert!(Tombstone::decode(&bytes[..17]).is_err());
        assert_eq!(t.try_sign(&origin(), 0, 0), Err(EncodeError::ZeroSequence));
        for reason in [
            TombstoneReason::Withdrawn,
            TombstoneReason::Deleted,
            TombstoneReason::Expired,
        ] {
            assert_eq!(TombstoneReason::from_code(reason.code()), Some(reason));
        }
    }

    #[test]
    fn non_canonical_order_is_refused() {
        let mut p = full();
        p.skills.swap(0, 1);
        assert!(refused(&p));
        p.sort();
        assert_eq!(p, full());

        let mut p = full();
        let dup = p.skills[0].clone();
        p.skills.insert(1, SharedSkill { level: 4, ..dup });
        assert!(refused(&p));
        p.sort();
        assert!(refused(&p), "sort keeps repeated skills");

        let mut p = full();
        p.scope = Scope::Regions(vec!["west-virginia".into(), "ohio".into()]);
        assert!(refused(&p));
        p.sort();
        assert_eq!(p, full());

        let mut p = full();
        p.scope = Scope::Regions(vec!["ohio".into(), "ohio".into(), "west-virginia".into()]);
        assert!(refused(&p));
        p.sort();
        assert_eq!(p, full());
    }

    #[test]
    fn scope() {
        let p = full();
        assert!(p.in_scope("ohio"));
        assert!(p.in_scope("west-virginia"));
        assert!(!p.in_scope("alabama"));
        assert!(!p.in_scope("Ohio"));
        assert!(!p.in_scope(""));
        let p = minimal();
        assert!(p.in_scope("alabama"));
        assert!(p.in_scope("ohio"));
    }

    #[test]
    fn profile_ids() {
        let id = ProfileId::random();
        assert_ne!(id, ProfileId::random());
        assert_eq!(id.to_string().len(), 32);
        assert_eq!(id.to_string().parse::<ProfileId>(), Ok(id));
        let fixed = ProfileId([0xab; 16]);
        assert_eq!(fixed.to_string(), "ab".repeat(16));
        assert_eq!(
            format!("{fixed:?}"),
            format!("ProfileId({})", "ab".repeat(16))
        );
        assert_eq!(fixed.as_bytes(), &[0xab; 16]);
        for bad in [
            "",
            "ab",
            &"AB".repeat(16),
            &"ab".repeat(17),
            &"zz".repeat(16),
            &format!("+{}", "a".repeat(31)),
        ] {
            assert_eq!(bad.parse::<ProfileId>(), Err(ProfileIdError), "{bad}");
        }
    }

    #[test]
    fn profile_and_tombstone_share_the_feed_key() {
        let p = full();
        let profile = p.try_sign(&origin(), 1, 0).unwrap();
        let tombstone = Tombstone {
            id: p.id,
            reason: TombstoneReason::Withdrawn,
        }
        .try_sign(&origin(), 2, 0)
        .unwrap();
        assert_eq!(feed_key(&profile), Some(p.id));
        assert_eq!(feed_key(&tombstone), Some(p.id));
        let other = SignedRecord::sign(&origin(), RecordKind::BULLETIN, 3, 0, vec![]).unwrap();
        assert_eq!(feed_key(&other), None);
        let junk = SignedRecord::sign(&origin(), RecordKind::PROFILE, 4, 0, vec![1]).unwrap();
        assert_eq!(feed_key(&junk), None);
    }

    fn any_text(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("\\PC{{1,{}}}", max.min(12)))
            .unwrap()
            .prop_filter("within the byte limit", move |s| s.len() <= max)
    }

    fn any_profile() -> impl Strategy<Value = SharedProfile> {
        let skills = proptest::collection::btree_map(
            any_text(MAX_SKILL_ID_BYTES),
            (1..=MAX_SKILL_LEVEL, 0..=MAX_EVIDENCE),
            0..6,
        )
        .prop_map(|m| {
            m.into_iter()
                .map(|(skill_id, (level, evidence))| SharedSkill {
                    skill_id,
                    level,
                    evidence,
                })
                .collect::<Vec<_>>()
        });
        let scope = prop_oneof![
            Just(Scope::Federation),
            proptest::collection::btree_set(any_text(MAX_PROFILE_REGION_BYTES), 1..4)
                .prop_map(|s| Scope::Regions(s.into_iter().collect())),
        ];
        let assessments = proptest::collection::vec(
            (
                any_text(MAX_SKILL_ID_BYTES),
                any_text(MAX_PROFILE_TEXT_BYTES),
                0..=100u8,
                MIN_PROFILE_YEAR..=MAX_PROFILE_YEAR,
            )
                .prop_map(|(skill_id, instrument, percent, year)| SharedAssessment {
                    skill_id,
                    instrument,
                    percent,
                    year,
                }),
            0..3,
        );
        let training = proptest::option::of(
            (
                any_text(MAX_PROFILE_TEXT_BYTES),
                any_text(MAX_PROFILE_TEXT_BYTES),
                0..=MAX_PROVIDER_KIND,
            )
                .prop_map(|(program, provider, provider_kind)| SharedTraining {
                    program,
                    provider,
                    provider_kind,
                }),
        );
        let certificates = proptest::collection::vec(
            (
                any_text(MAX_PROFILE_TEXT_BYTES),
                "\\PC{0,10}",
                proptest::option::of(MIN_PROFILE_YEAR..=MAX_PROFILE_YEAR),
            )
                .prop_map(|(name, issuer, year)| SharedCertificate {
                    name,
                    issuer,
                    year,
                }),
            0..3,
        );
        let work = proptest::collection::vec(
            (any_text(MAX_PROFILE_TEXT_BYTES), any::<u16>())
                .prop_map(|(title, months)| SharedWork { title, months }),
            0..3,
        );
        let projects = proptest::collection::vec(
            (
                any_text(MAX_PROFILE_TEXT_BYTES),
                "\\PC{0,40}",
                proptest::collection::vec(any_text(MAX_SKILL_ID_BYTES), 0..3),
            )
                .prop_map(|(name, description, skills)| SharedProject {
                    name,
                    description,
                    skills,
                }),
            0..3,
        );
        let desired = (
            proptest::collection::vec(any_text(MAX_PROFILE_TEXT_BYTES), 0..3),
            proptest::collection::vec("[0-9]{2}-[0-9]{4}", 0..3),
            0..=MAX_REMOTE,
            any::<bool>(),
        );
        (
            (
                any::<[u8; 16]>(),
                1..=u32::MAX,
                any_text(MAX_PROFILE_COMMUNITY_BYTES),
                any_text(MAX_PROFILE_REGION_BYTES),
                scope,
                any::<u64>(),
            ),
            (skills, assessments, training, certificates, work, projects),
            desired,
        )
            .prop_map(
                |(
                    (id, version, home_community, home_region, scope, expires_at_ms),
                    (skills, assessments, training, certificates, work, projects),
                    (desired_roles, desired_occupations, remote, relocate),
                )| SharedProfile {
                    id: ProfileId(id),
                    version,
                    home_community,
                    home_region,
                    scope,
                    expires_at_ms,
                    skills,
                    assessments,
                    training,
                    certificates,
                    work,
                    projects,
                    desired_roles,
                    desired_occupations,
                    remote,
                    relocate,
                },
            )
    }

    proptest! {
        #[test]
        fn round_trips(p in any_profile(), seq in 1..=u64::MAX, ts in any::<u64>()) {
            prop_assert_eq!(SharedProfile::decode(&p.encode()), Ok(p.clone()));
            let record = p.try_sign(&origin(), seq, ts).unwrap();
            let record = SignedRecord::decode(&record.encode()).unwrap();
            prop_assert_eq!(record.verify(), Ok(()));
            prop_assert_eq!(SharedProfile::decode(record.payload()), Ok(p.clone()));
            prop_assert_eq!(feed_key(&record), Some(p.id));
        }

        #[test]
        fn tombstones_round_trip(id in any::<[u8; 16]>(), code in 1..=3u8) {
            let t = Tombstone { id: ProfileId(id), reason: TombstoneReason::from_code(code).unwrap() };
            prop_assert_eq!(Tombstone::decode(&t.encode()), Ok(t));
        }

        #[test]
        fn truncation_is_an_error(p in any_profile(), cut in any::<prop::sample::Index>()) {
            let bytes = p.encode();
            prop_assert!(SharedProfile::decode(&bytes[..cut.index(bytes.len())]).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = SharedProfile::decode(&bytes);
            let _ = Tombstone::decode(&bytes);
        }

        #[test]
        fn valid_format_with_random_rest_never_panics(
            rest in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut bytes = vec![PROFILE_PAYLOAD_VERSION];
            bytes.extend_from_slice(&rest);
            let _ = SharedProfile::decode(&bytes);
            let _ = Tombstone::decode(&bytes);
        }

        #[test]
        fn mutated_profiles_never_panic(p in any_profile(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut bytes = p.encode();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            let _ = SharedProfile::decode(&bytes);
        }
    }
}
