//! The acceptance rules a node applies to every record it receives, as far
//! as they need no state beyond what is passed in.
//!
//! A node applies them in this order and stops at the first failure, which
//! it counts under the [`Rejection`] given after the dash (docs/protocol.md,
//! "Acceptance rules", is the normative text):
//!
//! 1. size: at most [`MAX_RECORD_BYTES`] ([`check_size`]) — `Oversized`;
//! 2. strict decoding ([`SignedRecord::decode`]) — `Undecodable`;
//! 3. known kind ([`known_kind`], [`check_kind`]; direct messages are not feed
//!    records) — `UnknownKind`;
//! 4. signature ([`SignedRecord::verify`], [`verify_batch`](crate::verify_batch),
//!    [`check_signature`]) — `BadSignature`;
//! 5. time ([`check_time`]) — `FutureTimestamp`;
//! 6. origin ([`check_origin`]): a certificate or revocation must be signed
//!    by a trusted steward — `UntrustedSteward`; any other record's signer
//!    must be a member at the record's timestamp ([`check_member`]) —
//!    `NotMember`, `NotYetValid`, `Expired` or `Revoked`;
//! 7. replay: `seq` must be above the origin's head ([`check_replay`]) —
//!    `Replay`;
//! 8. payload: it decodes for its kind ([`check_payload`]) — `BadPayload`;
//! 9. scope: a profile scoped to regions reaches only member nodes of those
//!    regions ([`check_scope`]) — `OutOfScope`.

use std::fmt;

use crate::bulletin::Bulletin;
use crate::envelope::{RecordKind, SignedRecord, MAX_RECORD_BYTES};
use crate::introduction::{is_direct, DirectMessage};
use crate::membership::{MemberStatus, Membership, MembershipCert, Revocation};
use crate::metrics::MetricReport;
use crate::profile::{SharedProfile, Tombstone};

/// How far in the future a record's timestamp may be, in ms (clock skew
/// between nodes).
pub const MAX_FUTURE_SKEW_MS: u64 = 5 * 60 * 1000;

/// Why a record was not accepted; one counter per variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rejection {
    /// The bytes are not a strictly valid record.
    Undecodable,
    /// Longer than [`MAX_RECORD_BYTES`].
    Oversized,
    /// The signature does not verify.
    BadSignature,
    /// Timestamp more than [`MAX_FUTURE_SKEW_MS`] ahead of the receiver's
    /// clock.
    FutureTimestamp,
    /// A kind this version does not understand.
    UnknownKind,
    /// The origin has no certificate from a trusted steward.
    NotMember,
    /// The origin's certificates start after the record's timestamp.
    NotYetValid,
    /// The origin's certificates ended before the record's timestamp.
    Expired,
    /// The origin was revoked at or before the record's timestamp.
    Revoked,
    /// A certificate or revocation not signed by a trusted steward.
    UntrustedSteward,
    /// `seq` is not above the origin's head: already seen, or a rollback.
    Replay,
    /// The payload does not decode for its kind.
    BadPayload,
    /// A profile scoped to regions that do not include the receiver's own
    /// region: its sender should never have offered it (docs/protocol.md §7b,
    /// "Delivery scope").
    OutOfScope,
}

impl Rejection {
    /// Every variant, in declaration order, for metrics that report zeros
    /// too.
    pub const ALL: [Rejection; 13] = [
        Self::Undecodable,
        Self::Oversized,
        Self::BadSignature,
        Self::FutureTimestamp,
        Self::UnknownKind,
        Self::NotMember,
        Self::NotYetValid,
        Self::Expired,
        Self::Revoked,
        Self::UntrustedSteward,
        Self::Replay,
        Self::BadPayload,
        Self::OutOfScope,
    ];

    /// The snake_case name, for metric labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Undecodable => "undecodable",
            Self::Oversized => "oversized",
            Self::BadSignature => "bad_signature",
            Self::FutureTimestamp => "future_timestamp",
            Self::UnknownKind => "unknown_kind",
            Self::NotMember => "not_member",
            Self::NotYetValid => "not_yet_valid",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::UntrustedSteward => "untrusted_steward",
            Self::Replay => "replay",
            Self::BadPayload => "bad_payload",
            Self::OutOfScope => "out_of_scope",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Size check on raw bytes, before decoding: `Err(Oversized)` above
/// [`MAX_RECORD_BYTES`].
pub fn check_size(len: usize) -> Result<(), Rejection> {
    if len > MAX_RECORD_BYTES {
        Err(Rejection::Oversized)
    } else {
        Ok(())
    }
}

/// Whether the kind is one this version accepts from gossip and sync: the membership
/// records and the feed kinds (1 to 5 and 7). The direct messages of an introduction (6, 8
/// and 9, [`is_direct`]) are known too, but travel only by the direct protocol: one that
/// arrives in a feed is rejected as `UnknownKind`, so that contact details can never be
/// spread by gossip.
pub fn known_kind(kind: RecordKind) -> bool {
    (RecordKind::MEMBERSHIP_CERT.0..=RecordKind::BULLETIN.0).contains(&kind.0) && !is_direct(kind)
}

/// `Err(UnknownKind)` unless [`known_kind`].
pub fn check_kind(record: &SignedRecord) -> Result<(), Rejection> {
    if known_kind(record.kind()) {
        Ok(())
    } else {
        Err(Rejection::UnknownKind)
    }
}

/// `Err(BadSignature)` unless [`SignedRecord::verify`] succeeds.
pub fn check_signature(record: &SignedRecord) -> Result<(), Rejection> {
    record.verify().map_err(|_| Rejection::BadSignature)
}

/// Checks a record's payload decodes for its kind (certs, revocations,
/// bulletins, metric reports, profiles, tombstones). Kinds that are not
/// [`known_kind`], direct messages included, are `Err(UnknownKind)`: this is the
/// check for gossip, sync and the node's own feed; direct messages have
/// [`check_direct_payload`].
pub fn check_payload(record: &SignedRecord) -> Result<(), Rejection> {
    let payload = record.payload();
    let decoded = match record.kind() {
        RecordKind::MEMBERSHIP_CERT => MembershipCert::decode(payload).map(|_| ()),
        RecordKind::REVOCATION => Revocation::decode(payload).map(|_| ()),
        RecordKind::BULLETIN => Bulletin::decode(payload).map(|_| ()),
        RecordKind::METRIC_REPORT => MetricReport::decode(payload).map(|_| ()),
        RecordKind::PROFILE => SharedProfile::decode(payload).map(|_| ()),
        RecordKind::TOMBSTONE => Tombstone::decode(payload).map(|_| ()),
        _ => return Err(Rejection::UnknownKind),
    };
    decoded.map_err(|_| Rejection::BadPayload)
}

/// Checks a direct message's payload decodes for its kind (introduction request, answer,
/// placement notice); `Err(BadPayload)` if not, `Err(UnknownKind)` for any kind that is
/// not a direct message (feed records never travel by the direct protocol).
pub fn check_direct_payload(record: &SignedRecord) -> Result<(), Rejection> {
    if !is_direct(record.kind()) {
        return Err(Rejection::UnknownKind);
    }
    DirectMessage::decode(record.kind(), record.payload())
        .map(|_| ())
        .map_err(|_| Rejection::BadPayload)
}

/// Time check: Err(FutureTimestamp) if timestamp_ms > now_ms +
/// [`MAX_FUTURE_SKEW_MS`]. Old timestamps are fine: feeds are synced long
/// after records were made.
pub fn check_time(record: &SignedRecord, now_ms: u64) -> Result<(), Rejection> {
    if record.timestamp_ms() > now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
        Err(Rejection::FutureTimestamp)
    } else {
        Ok(())
    }
}

/// Maps a MemberStatus to Ok for Member, else the Rejection.
pub fn check_member(status: &MemberStatus) -> Result<(), Rejection> {
    match status {
        MemberStatus::Member { .. } => Ok(()),
        MemberStatus::NoCertificate => Err(Rejection::NotMember),
        MemberStatus::NotYetValid => Err(Rejection::NotYetValid),
        MemberStatus::Expired => Err(Rejection::Expired),
        MemberStatus::Revoked => Err(Rejection::Revoked),
    }
}

/// The origin rule: a certificate or revocation must be signed by one of
/// `membership`'s trusted stewards (`Err(UntrustedSteward)`); any other
/// record's signer must be a member at the record's own timestamp
/// ([`check_member`] of [`Membership::status`]).
pub fn check_origin(record: &SignedRecord, membership: &Membership) -> Result<(), Rejection> {
    let kind = record.kind();
    if kind == RecordKind::MEMBERSHIP_CERT || kind == RecordKind::REVOCATION {
        if membership.is_steward(record.signer()) {
            Ok(())
        } else {
            Err(Rejection::UntrustedSteward)
        }
    } else {
        check_member(&membership.status(record.signer(), record.timestamp_ms()))
    }
}

/// Replay check against the origin's head (the highest `seq` stored for
/// that origin, 0 if none): `Err(Replay)` if `seq <= head`. A record that
/// passes may still be ahead of the head by more than one; whether to store
/// it or fetch the gap first is the node's decision (docs/protocol.md).
pub fn check_replay(record: &SignedRecord, head: u64) -> Result<(), Rejection> {
    if record.seq() <= head {
        Err(Rejection::Replay)
    } else {
        Ok(())
    }
}

/// Scope check at the receiver: `Err(OutOfScope)` for a profile scoped to
/// regions that do not include `own_region` (the region of the receiver's own
/// certificate now; `None` if it has none, which admits no scoped profile).
/// Every other record passes.
pub fn check_scope(record: &SignedRecord, own_region: Option<&str>) -> Result<(), Rejection> {
    if crate::scope::visible_to(record, own_region) {
        Ok(())
    } else {
        Err(Rejection::OutOfScope)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::identity::NodeKeypair;
    use crate::PublicKey;

    fn key(n: u8) -> NodeKeypair {
        NodeKeypair::from_seed([n; 32])
    }

    fn record(kind: RecordKind, payload: Vec<u8>) -> SignedRecord {
        SignedRecord::sign(&key(1), kind, 5, 1_000, payload).unwrap()
    }

    #[test]
    fn all_lists_every_variant_once_in_order_with_distinct_names() {
        let mut sorted = Rejection::ALL;
        sorted.sort();
        assert_eq!(sorted, Rejection::ALL);
        let names: std::collections::BTreeSet<_> =
            Rejection::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), Rejection::ALL.len());
        for r in Rejection::ALL {
            let name = r.as_str();
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert_eq!(r.to_string(), name);
        }
    }

    #[test]
    fn known_kinds_are_one_to_seven_except_direct_messages() {
        for k in 0..=20u16 {
            let feed_or_membership = (1..=7).contains(&k) && k != 6;
            assert_eq!(known_kind(RecordKind(k)), feed_or_membership, "{k}");
            assert_eq!(
                RecordKind(k).name().is_some(),
                feed_or_membership || [6, 8, 9, 10].contains(&k)
            );
        }
        for k in [6, 8, 9] {
            assert_eq!(
                check_kind(&record(RecordKind(k), vec![])),
                Err(Rejection::UnknownKind),
                "a direct message is no feed record"
            );
        }
        assert!(!known_kind(RecordKind(u16::MAX)));
        assert_eq!(
            check_kind(&record(RecordKind(8), vec![])),
            Err(Rejection::UnknownKind)
        );
        assert_eq!(check_kind(&record(RecordKind::BULLETIN, vec![])), Ok(()));
    }

    #[test]
    fn size_limit() {
        assert_eq!(check_size(MAX_RECORD_BYTES), Ok(()));
        assert_eq!(check_size(MAX_RECORD_BYTES + 1), Err(Rejection::Oversized));
    }

    #[test]
    fn signature_check() {
        let r = record(RecordKind::BULLETIN, vec![]);
        assert_eq!(check_signature(&r), Ok(()));
        let mut bytes = r.encode();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = SignedRecord::decode(&bytes).unwrap();
        assert_eq!(check_signature(&tampered), Err(Rejection::BadSignature));
    }

    #[test]
    fn payload_checks_by_kind() {
        let bulletin = Bulletin {
            id: 1,
            title: "t".to_owned(),
            body: String::new(),
        };
        assert_eq!(
            check_payload(&record(RecordKind::BULLETIN, bulletin.encode())),
            Ok(())
        );
        for kind in [
            RecordKind::MEMBERSHIP_CERT,
            RecordKind::REVOCATION,
            RecordKind::BULLETIN,
            RecordKind::METRIC_REPORT,
            RecordKind::PROFILE,
            RecordKind::TOMBSTONE,
        ] {
            assert_eq!(
                check_payload(&record(kind, vec![1, 2])),
                Err(Rejection::BadPayload)
            );
        }
        let tombstone = Tombstone {
            id: crate::profile::ProfileId([7; 16]),
            reason: crate::profile::TombstoneReason::Expired,
        };
        assert_eq!(
            check_payload(&record(RecordKind::TOMBSTONE, tombstone.encode())),
            Ok(())
        );
        // Direct messages are checked by their own rule, and never pass as feed records.
        let notice = crate::introduction::PlacementNotice {
            id: crate::introduction::RequestId([1; 16]),
            year: 2026,
            month: 4,
        };
        let notice = record(RecordKind::PLACEMENT_NOTICE, notice.encode());
        assert_eq!(check_direct_payload(&notice), Ok(()));
        assert_eq!(check_payload(&notice), Err(Rejection::UnknownKind));
        for kind in [
            RecordKind::INTRODUCTION,
            RecordKind::INTRODUCTION_ANSWER,
            RecordKind::PLACEMENT_NOTICE,
        ] {
            assert_eq!(
                check_payload(&record(kind, vec![1, 2])),
                Err(Rejection::UnknownKind)
            );
            assert_eq!(
                check_direct_payload(&record(kind, vec![1, 2])),
                Err(Rejection::BadPayload)
            );
        }
        assert_eq!(
            check_direct_payload(&record(RecordKind::BULLETIN, bulletin.encode())),
            Err(Rejection::UnknownKind)
        );
        assert_eq!(
            check_payload(&record(RecordKind(99), vec![])),
            Err(Rejection::UnknownKind)
        );
    }

    #[test]
    fn time_window() {
        let r = SignedRecord::sign(&key(1), RecordKind::BULLETIN, 1, 1_700_000_000_000, vec![])
            .unwrap();
        let ts = r.timestamp_ms();
        assert_eq!(check_time(&r, ts - MAX_FUTURE_SKEW_MS), Ok(()));
        assert_eq!(
            check_time(&r, ts - MAX_FUTURE_SKEW_MS - 1),
            Err(Rejection::FutureTimestamp)
        );
        assert_eq!(check_time(&r, u64::MAX), Ok(()));
        let far = SignedRecord::sign(&key(1), RecordKind::BULLETIN, 1, u64::MAX, vec![]).unwrap();
        assert_eq!(check_time(&far, u64::MAX), Ok(()));
        assert_eq!(check_time(&far, 0), Err(Rejection::FutureTimestamp));
    }

    #[test]
    fn member_mapping() {
        let member = MemberStatus::Member {
            community: "c".to_owned(),
            region: "r".to_owned(),
            not_after_ms: 1,
        };
        assert_eq!(check_member(&member), Ok(()));
        assert_eq!(
            check_member(&MemberStatus::NoCertificate),
            Err(Rejection::NotMember)
        );
        assert_eq!(
            check_member(&MemberStatus::NotYetValid),
            Err(Rejection::NotYetValid)
        );
        assert_eq!(
            check_member(&MemberStatus::Expired),
            Err(Rejection::Expired)
        );
        assert_eq!(
            check_member(&MemberStatus::Revoked),
            Err(Rejection::Revoked)
        );
    }

    #[test]
    fn origin_rule_distinguishes_stewards_and_members() {
        let steward = key(9);
        let member: PublicKey = key(1).public();
        let mut m = Membership::new(vec![steward.public()]);
        let cert = MembershipCert {
            member,
            community: "c".to_owned(),
            region: "r".to_owned(),
            not_before_ms: 500,
            not_after_ms: 2_000,
        };
        let cert_record = cert.sign(&steward, 100);
        assert_eq!(check_origin(&cert_record, &m), Ok(()));
        // A member may not issue certificates.
        let self_issued = cert.sign(&key(1), 100);
        assert_eq!(
            check_origin(&self_issued, &m),
            Err(Rejection::UntrustedSteward)
        );

        let bulletin = record(RecordKind::BULLETIN, vec![]);
        assert_eq!(check_origin(&bulletin, &m), Err(Rejection::NotMember));
        m.admit(&cert_record).unwrap();
        assert_eq!(check_origin(&bulletin, &m), Ok(()));
        let early = SignedRecord::sign(&key(1), RecordKind::BULLETIN, 1, 499, vec![]).unwrap();
        assert_eq!(check_origin(&early, &m), Err(Rejection::NotYetValid));
        let late = SignedRecord::sign(&key(1), RecordKind::BULLETIN, 1, 2_000, vec![]).unwrap();
        assert_eq!(check_origin(&late, &m), Err(Rejection::Expired));
        let rev = Revocation {
            member,
            effective_ms: 1_000,
            reason: String::new(),
        };
        m.admit(&rev.sign(&steward, 101)).unwrap();
        assert_eq!(check_origin(&bulletin, &m), Err(Rejection::Revoked));
        let before = SignedRecord::sign(&key(1), RecordKind::BULLETIN, 1, 999, vec![]).unwrap();
        assert_eq!(check_origin(&before, &m), Ok(()));
    }

    #[test]
    fn scope_refuses_profiles_for_other_regions_only() {
        let mut p = crate::profile::SharedProfile {
            id: crate::profile::ProfileId([1; 16]),
            version: 1,
            home_community: "c".to_owned(),
            home_region: "OH".to_owned(),
            scope: crate::profile::Scope::Regions(vec!["OH".to_owned()]),
            expires_at_ms: 1,
            skills: vec![],
            assessments: vec![],
            training: None,
            certificates: vec![],
            work: vec![],
            projects: vec![],
            desired_roles: vec![],
            desired_occupations: vec![],
            remote: 0,
            relocate: false,
        };
        let scoped = record(RecordKind::PROFILE, p.encode());
        assert_eq!(check_scope(&scoped, Some("OH")), Ok(()));
        assert_eq!(check_scope(&scoped, Some("AL")), Err(Rejection::OutOfScope));
        assert_eq!(check_scope(&scoped, None), Err(Rejection::OutOfScope));
        p.scope = crate::profile::Scope::Federation;
        let everyone = record(RecordKind::PROFILE, p.encode());
        assert_eq!(check_scope(&everyone, Some("AL")), Ok(()));
        assert_eq!(check_scope(&everyone, None), Ok(()));
        let tombstone = Tombstone {
            id: crate::profile::ProfileId([1; 16]),
            reason: crate::profile::TombstoneReason::Withdrawn,
        };
        assert_eq!(
            check_scope(&record(RecordKind::TOMBSTONE, tombstone.encode()), None),
            Ok(())
        );
    }

    #[test]
    fn replay_is_seq_not_above_head() {
        let r = record(RecordKind::BULLETIN, vec![]);
        assert_eq!(r.seq(), 5);
        assert_eq!(check_replay(&r, 0), Ok(()));
        assert_eq!(check_replay(&r, 4), Ok(()));
        assert_eq!(check_replay(&r, 5), Err(Rejection::Replay));
        assert_eq!(check_replay(&r, 6), Err(Rejection::Replay));
    }
}
