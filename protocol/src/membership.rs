//! Membership: which keys belong to the federation, on whose word.
//!
//! A federation trusts a fixed set of *steward* keys. A steward admits a
//! community node by signing a [`MembershipCert`] for the node's key, valid
//! for a time window, and withdraws it by signing a [`Revocation`]. Both
//! travel as ordinary [`SignedRecord`]s (kinds
//! [`MEMBERSHIP_CERT`](RecordKind::MEMBERSHIP_CERT) and
//! [`REVOCATION`](RecordKind::REVOCATION)) whose `seq` and `timestamp_ms`
//! are the issuance time in milliseconds: a steward keeps no running feed,
//! so its issuance times are its strictly increasing sequence.
//!
//! [`Membership`] is the pure state built from the certificates and
//! revocations a node has verified; it answers "is this key a member at
//! time `t`" without reading a clock.
//!
//! Payload layouts (canonical encoding, see [`Encoder`]):
//!
//! ```text
//! MembershipCert: version u8 (=1) | member [32] | community str (1..=200 bytes)
//!                 | region str (1..=64 bytes) | not_before_ms u64 | not_after_ms u64
//! Revocation:     version u8 (=1) | member [32] | effective_ms u64 | reason str (0..=500 bytes)
//! ```

use std::collections::BTreeMap;

use thiserror::Error;

use crate::canonical::{Decoder, Encoder};
use crate::envelope::{RecordKind, SignedRecord};
use crate::error::{DecodeError, EncodeError};
use crate::identity::{NodeKeypair, PublicKey};

/// Version byte at the start of certificate and revocation payloads.
pub const MEMBERSHIP_PAYLOAD_VERSION: u8 = 1;
/// Longest community name, in bytes of UTF-8.
pub const MAX_COMMUNITY_BYTES: usize = 200;
/// Longest region name, in bytes of UTF-8.
pub const MAX_REGION_BYTES: usize = 64;
/// Longest revocation reason, in bytes of UTF-8.
pub const MAX_REASON_BYTES: usize = 500;

/// A steward's statement that `member` belongs to the federation, as part of
/// `community` in `region`, from `not_before_ms` (inclusive) to
/// `not_after_ms` (exclusive), both milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MembershipCert {
    /// The member node's key.
    pub member: PublicKey,
    /// The community the node serves, 1 to 200 bytes.
    pub community: String,
    /// Where the community is, 1 to 64 bytes; free text such as a country
    /// or city.
    pub region: String,
    /// First millisecond of validity.
    pub not_before_ms: u64,
    /// First millisecond after validity; greater than `not_before_ms`.
    pub not_after_ms: u64,
}

impl MembershipCert {
    /// The canonical payload, starting with the version byte `1`.
    ///
    /// Does not check the limits; a certificate that breaks them encodes to
    /// bytes [`decode`](Self::decode) refuses. [`try_sign`](Self::try_sign)
    /// checks them.
    pub fn encode(&self) -> Vec<u8> {
        Encoder::new()
            .u8(MEMBERSHIP_PAYLOAD_VERSION)
            .public_key(&self.member)
            .str(&self.community)
            .str(&self.region)
            .u64(self.not_before_ms)
            .u64(self.not_after_ms)
            .finish()
    }

    /// Parses a payload strictly: version 1, a valid member key, community
    /// of 1 to 200 bytes, region of 1 to 64 bytes, `not_before_ms <
    /// not_after_ms`, nothing after the last field.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = Decoder::new(payload);
        expect_version(&mut dec)?;
        let member = dec.public_key()?;
        let community = non_empty(dec.str(MAX_COMMUNITY_BYTES)?, "empty community")?;
        let region = non_empty(dec.str(MAX_REGION_BYTES)?, "empty region")?;
        let not_before_ms = dec.u64()?;
        let not_after_ms = dec.u64()?;
        dec.finish()?;
        if not_before_ms >= not_after_ms {
            return Err(DecodeError::InvalidValue(
                "certificate not_before_ms must be before not_after_ms",
            ));
        }
        Ok(Self {
            member,
            community,
            region,
            not_before_ms,
            not_after_ms,
        })
    }

    /// Signs the certificate as a [`MEMBERSHIP_CERT`](RecordKind::MEMBERSHIP_CERT)
    /// record by `steward`: seq = issued_ms (a steward has no running feed;
    /// issuance times in ms are its strictly increasing sequence), timestamp
    /// = issued_ms.
    ///
    /// # Panics
    ///
    /// If [`try_sign`](Self::try_sign) fails: `issued_ms` is 0 or the
    /// certificate breaks a limit of [`decode`](Self::decode). Use
    /// `try_sign` for values from operators or peers.
    pub fn sign(&self, steward: &NodeKeypair, issued_ms: u64) -> SignedRecord {
        self.try_sign(steward, issued_ms)
            .unwrap_or_else(|e| panic!("cannot sign membership certificate: {e}"))
    }

    /// [`sign`](Self::sign), returning an error instead of panicking when
    /// `issued_ms` is 0 or the certificate would not decode.
    pub fn try_sign(
        &self,
        steward: &NodeKeypair,
        issued_ms: u64,
    ) -> Result<SignedRecord, EncodeError> {
        SignedRecord::sign_checked(
            steward,
            RecordKind::MEMBERSHIP_CERT,
            issued_ms,
            issued_ms,
            self.encode(),
            |payload| Self::decode(payload).map(|_| ()),
        )
    }

    /// Whether `t_ms` falls in the validity window: `not_before_ms <= t_ms <
    /// not_after_ms`.
    pub fn valid_at(&self, t_ms: u64) -> bool {
        self.not_before_ms <= t_ms && t_ms < self.not_after_ms
    }

    /// Sort key for "latest": the later `not_after_ms` wins; ties are broken
    /// on the other fields so the choice never depends on arrival order.
    fn recency(&self) -> (u64, u64, &str, &str) {
        (
            self.not_after_ms,
            self.not_before_ms,
            &self.community,
            &self.region,
        )
    }
}

/// A steward's statement that `member` is no longer a member from
/// `effective_ms` on, whatever certificates it holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Revocation {
    /// The key whose membership ends.
    pub member: PublicKey,
    /// First millisecond (since the Unix epoch) at which the key is revoked.
    /// Records the member timestamped earlier are still accepted.
    pub effective_ms: u64,
    /// Why, for operators; 0 to 500 bytes.
    pub reason: String,
}

impl Revocation {
    /// The canonical payload, starting with the version byte `1`. Does not
    /// check the reason's length; see [`try_sign`](Self::try_sign).
    pub fn encode(&self) -> Vec<u8> {
        Encoder::new()
            .u8(MEMBERSHIP_PAYLOAD_VERSION)
            .public_key(&self.member)
            .u64(self.effective_ms)
            .str(&self.reason)
            .finish()
    }

    /// Parses a payload strictly: version 1, a valid member key, reason of
    /// at most 500 bytes, nothing after the last field.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = Decoder::new(payload);
        expect_version(&mut dec)?;
        let member = dec.public_key()?;
        let effective_ms = dec.u64()?;
        let reason = dec.str(MAX_REASON_BYTES)?.to_owned();
        dec.finish()?;
        Ok(Self {
            member,
            effective_ms,
            reason,
        })
    }

    /// Signs the revocation as a [`REVOCATION`](RecordKind::REVOCATION)
    /// record by `steward`, with seq = timestamp = `issued_ms` as for
    /// certificates.
    ///
    /// # Panics
    ///
    /// If `issued_ms` is 0 or the reason is over 500 bytes; see
    /// [`try_sign`](Self::try_sign).
    pub fn sign(&self, steward: &NodeKeypair, issued_ms: u64) -> SignedRecord {
        self.try_sign(steward, issued_ms)
            .unwrap_or_else(|e| panic!("cannot sign revocation: {e}"))
    }

    /// [`sign`](Self::sign), returning an error instead of panicking.
    pub fn try_sign(
        &self,
        steward: &NodeKeypair,
        issued_ms: u64,
    ) -> Result<SignedRecord, EncodeError> {
        SignedRecord::sign_checked(
            steward,
            RecordKind::REVOCATION,
            issued_ms,
            issued_ms,
            self.encode(),
            |payload| Self::decode(payload).map(|_| ()),
        )
    }
}

/// A key's membership at one moment, as [`Membership::status`] sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MemberStatus {
    /// A certificate is valid at that moment and no revocation has taken
    /// effect. The fields are from the valid certificate with the latest
    /// `not_after_ms`.
    Member {
        /// The certificate's community.
        community: String,
        /// The certificate's region.
        region: String,
        /// When membership ends unless renewed.
        not_after_ms: u64,
    },
    /// No trusted steward has certified the key.
    NoCertificate,
    /// Certified only from a later moment on.
    NotYetValid,
    /// Certified only until an earlier moment.
    Expired,
    /// A revocation for the key took effect at or before that moment.
    Revoked,
}

impl MemberStatus {
    /// Whether this is [`Member`](Self::Member).
    pub fn is_member(&self) -> bool {
        matches!(self, Self::Member { .. })
    }
}

/// Why [`Membership::admit`] refused a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MembershipError {
    /// The record's signer is not one of the trusted stewards.
    #[error("record is not signed by a trusted steward")]
    UntrustedSteward,
    /// The record's payload is not a valid certificate or revocation.
    #[error("invalid membership payload: {0}")]
    Payload(#[from] DecodeError),
    /// The record is neither a certificate nor a revocation.
    #[error("record is neither a membership certificate nor a revocation")]
    NotMembership,
}

/// Which keys are members, from the certificates and revocations of trusted
/// stewards. Pure state; the node feeds it records it has verified.
///
/// The result does not depend on the order records are admitted in: a key's
/// status is computed from the set of everything admitted for it.
#[derive(Debug, Clone, Default)]
pub struct Membership {
    /// Sorted, without duplicates.
    stewards: Vec<PublicKey>,
    certs: BTreeMap<PublicKey, Vec<MembershipCert>>,
    revocations: BTreeMap<PublicKey, Vec<Revocation>>,
}

impl Membership {
    /// Empty state trusting `stewards` (duplicates are ignored).
    pub fn new(mut stewards: Vec<PublicKey>) -> Membership {
        stewards.sort_unstable();
        stewards.dedup();
        Self {
            stewards,
            ..Self::default()
        }
    }

    /// The trusted stewards, sorted, without duplicates.
    pub fn stewards(&self) -> &[PublicKey] {
        &self.stewards
    }

    /// Whether `key` is a trusted steward.
    pub fn is_steward(&self, key: &PublicKey) -> bool {
        self.stewards.binary_search(key).is_ok()
    }

    /// Takes a [`MEMBERSHIP_CERT`](RecordKind::MEMBERSHIP_CERT) or
    /// [`REVOCATION`](RecordKind::REVOCATION) record, already
    /// signature-checked by the caller.
    ///
    /// Checks, in this order: the kind is one of those two
    /// ([`MembershipError::NotMembership`]), the signer is a trusted steward
    /// ([`MembershipError::UntrustedSteward`]), the payload decodes
    /// ([`MembershipError::Payload`]). `Ok(true)` if it changed the state,
    /// `Ok(false)` if an equal certificate or revocation was already known
    /// (from this record or another steward's).
    pub fn admit(&mut self, record: &SignedRecord) -> Result<bool, MembershipError> {
        let kind = record.kind();
        if kind != RecordKind::MEMBERSHIP_CERT && kind != RecordKind::REVOCATION {
            return Err(MembershipError::NotMembership);
        }
        if !self.is_steward(record.signer()) {
            return Err(MembershipError::UntrustedSteward);
        }
        if kind == RecordKind::MEMBERSHIP_CERT {
            let cert = MembershipCert::decode(record.payload())?;
            Ok(insert_new(self.certs.entry(cert.member).or_default(), cert))
        } else {
            let revocation = Revocation::decode(record.payload())?;
            Ok(insert_new(
                self.revocations.entry(revocation.member).or_default(),
                revocation,
            ))
        }
    }

    /// A key's status at time `t_ms`: [`Revoked`](MemberStatus::Revoked) if
    /// any revocation for it has `effective_ms <= t_ms`; else
    /// [`Member`](MemberStatus::Member) if any certificate is valid at
    /// `t_ms` (the latest `not_after_ms` wins); else
    /// [`NotYetValid`](MemberStatus::NotYetValid) if some certificate starts
    /// after `t_ms`; else [`Expired`](MemberStatus::Expired) if it has
    /// certificates (all ended); [`NoCertificate`](MemberStatus::NoCertificate)
    /// otherwise.
    pub fn status(&self, key: &PublicKey, t_ms: u64) -> MemberStatus {
        let revoked = self
            .revocations
            .get(key)
            .is_some_and(|revs| revs.iter().any(|r| r.effective_ms <= t_ms));
        if revoked {
            return MemberStatus::Revoked;
        }
        let Some(certs) = self.certs.get(key).filter(|c| !c.is_empty()) else {
            return MemberStatus::NoCertificate;
        };
        if let Some(cert) = latest(certs.iter().filter(|c| c.valid_at(t_ms))) {
            return MemberStatus::Member {
                community: cert.community.clone(),
                region: cert.region.clone(),
                not_after_ms: cert.not_after_ms,
            };
        }
        if certs.iter().any(|c| c.not_before_ms > t_ms) {
            MemberStatus::NotYetValid
        } else {
            MemberStatus::Expired
        }
    }

    /// Every key with a certificate, sorted by key, with its latest
    /// certificate (latest `not_after_ms`) and its earliest-effective
    /// revocation if it has any, for the operator view. Whether that
    /// revocation is in effect yet depends on the time; see
    /// [`status`](Self::status).
    pub fn members(&self) -> Vec<(PublicKey, MembershipCert, Option<Revocation>)> {
        self.certs
            .iter()
            .filter_map(|(key, certs)| {
                let cert = latest(certs.iter())?.clone();
                let revocation = self.revocations.get(key).and_then(|revs| {
                    revs.iter()
                        .min_by(|a, b| {
                            (a.effective_ms, &a.reason).cmp(&(b.effective_ms, &b.reason))
                        })
                        .cloned()
                });
                Some((*key, cert, revocation))
            })
            .collect()
    }
}

fn latest<'a>(certs: impl Iterator<Item = &'a MembershipCert>) -> Option<&'a MembershipCert> {
    certs.max_by(|a, b| a.recency().cmp(&b.recency()))
}

fn insert_new<T: PartialEq>(items: &mut Vec<T>, item: T) -> bool {
    if items.contains(&item) {
        false
    } else {
        items.push(item);
        true
    }
}

fn expect_version(dec: &mut Decoder<'_>) -> Result<(), DecodeError> {
    match dec.u8()? {
        MEMBERSHIP_PAYLOAD_VERSION => Ok(()),
        other => Err(DecodeError::UnsupportedVersion(other)),
    }
}

fn non_empty(text: &str, what: &'static str) -> Result<String, DecodeError> {
    if text.is_empty() {
        Err(DecodeError::InvalidValue(what))
    } else {
        Ok(text.to_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn steward() -> NodeKeypair {
        NodeKeypair::from_seed(std::array::from_fn(|i| i as u8))
    }

    fn member_key() -> NodeKeypair {
        NodeKeypair::from_seed(std::array::from_fn(|i| 0x20 + i as u8))
    }

    const NOT_BEFORE: u64 = 1_700_000_000_000;
    const NOT_AFTER: u64 = 1_731_536_000_000;

    fn golden_cert() -> MembershipCert {
        MembershipCert {
            member: member_key().public(),
            community: "Lisbon Tech Collective".to_owned(),
            region: "PT".to_owned(),
            not_before_ms: NOT_BEFORE,
            not_after_ms: NOT_AFTER,
        }
    }

    fn cert(
        member: PublicKey,
        community: &str,
        not_before_ms: u64,
        not_after_ms: u64,
    ) -> MembershipCert {
        MembershipCert {
            member,
            community: community.to_owned(),
            region: "PT".to_owned(),
            not_before_ms,
            not_after_ms,
        }
    }

    /// Freezes the certificate payload and its record; the same bytes are in
    /// docs/protocol.md and were checked against Python `cryptography`.
    #[test]
    fn golden_certificate_record() {
        const MEMBER: &str = "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7";
        const PAYLOAD: &str = concat!(
            "01",                                                               // version
            "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7", // member
            "00000016",                                                         // community length
            "4c6973626f6e205465636820436f6c6c656374697665", // "Lisbon Tech Collective"
            "00000002",                                     // region length
            "5054",                                         // "PT"
            "0000018bcfe56800",                             // not_before_ms
            "0000019327969400",                             // not_after_ms
        );
        const RECORD: &str = concat!(
            "01",                                                                 // version
            "0001",                                                               // kind
            "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",   // signer
            "0000018bcfe56800",                                                   // seq
            "0000018bcfe56800",                                                   // timestamp_ms
            "00000051",                                                           // payload_len
            "0129acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7", // payload
            "000000164c6973626f6e205465636820436f6c6c6563746976650000000250540000018bcfe568",
            "000000019327969400",
            "efcf472287a130457d2f679fd719b91ae9210ca7fc39c97fe73574e528114501", // signature R
            "143046470e1bbe55fee25648213eb93846e98f7ed55061993e6161fb8e8e5d0c", // signature s
        );
        let record = golden_cert().sign(&steward(), NOT_BEFORE);
        assert_eq!(member_key().public().to_string(), MEMBER);
        assert_eq!(hex::encode(golden_cert().encode()), PAYLOAD);
        assert_eq!(hex::encode(record.encode()), RECORD);
        assert_eq!(record.kind(), RecordKind::MEMBERSHIP_CERT);
        assert_eq!(record.seq(), NOT_BEFORE);
        assert_eq!(record.timestamp_ms(), NOT_BEFORE);
        assert_eq!(record.verify(), Ok(()));
        let decoded = SignedRecord::decode(&hex::decode(RECORD).unwrap()).unwrap();
        assert_eq!(decoded, record);
        assert_eq!(MembershipCert::decode(decoded.payload()), Ok(golden_cert()));
        let mut m = Membership::new(vec![steward().public()]);
        assert_eq!(m.admit(&decoded), Ok(true));
        assert!(m.status(&member_key().public(), NOT_BEFORE).is_member());
    }

    #[test]
    fn cert_decode_enforces_limits() {
        let key = member_key().public();
        let ok = cert(key, &"c".repeat(MAX_COMMUNITY_BYTES), 1, 2);
        assert_eq!(MembershipCert::decode(&ok.encode()), Ok(ok.clone()));

        let too_long = cert(key, &"c".repeat(MAX_COMMUNITY_BYTES + 1), 1, 2);
        assert!(matches!(
            MembershipCert::decode(&too_long.encode()),
            Err(DecodeError::LengthOverLimit { .. })
        ));
        let empty = cert(key, "", 1, 2);
        assert!(matches!(
            MembershipCert::decode(&empty.encode()),
            Err(DecodeError::InvalidValue(_))
        ));
        let mut no_region = ok.clone();
        no_region.region.clear();
        assert!(MembershipCert::decode(&no_region.encode()).is_err());
        let mut long_region = ok.clone();
        long_region.region = "r".repeat(MAX_REGION_BYTES + 1);
        assert!(MembershipCert::decode(&long_region.encode()).is_err());
        long_region.region.pop();
        assert!(MembershipCert::decode(&long_region.encode()).is_ok());
        for (nb, na) in [(2, 2), (3, 2)] {
            assert!(MembershipCert::decode(&cert(key, "c", nb, na).encode()).is_err());
        }
        let mut bytes = ok.encode();
        bytes[0] = 2;
        assert_eq!(
            MembershipCert::decode(&bytes),
            Err(DecodeError::UnsupportedVersion(2))
        );
        let mut bytes = ok.encode();
        bytes.push(0);
        assert_eq!(
            MembershipCert::decode(&bytes),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
    }

    #[test]
    fn revocation_decode_enforces_limits() {
        let key = member_key().public();
        let mut rev = Revocation {
            member: key,
            effective_ms: 5,
            reason: String::new(),
        };
        assert_eq!(Revocation::decode(&rev.encode()), Ok(rev.clone()));
        rev.reason = "r".repeat(MAX_REASON_BYTES);
        assert_eq!(Revocation::decode(&rev.encode()), Ok(rev.clone()));
        rev.reason.push('r');
        assert!(matches!(
            Revocation::decode(&rev.encode()),
            Err(DecodeError::LengthOverLimit { .. })
        ));
        assert!(matches!(
            rev.try_sign(&steward(), 1),
            Err(EncodeError::InvalidPayload(
                DecodeError::LengthOverLimit { .. }
            ))
        ));
    }

    #[test]
    fn try_sign_refuses_invalid_certificates_and_seq_zero() {
        let bad = cert(member_key().public(), "", 1, 2);
        assert!(matches!(
            bad.try_sign(&steward(), 1),
            Err(EncodeError::InvalidPayload(_))
        ));
        assert_eq!(
            golden_cert().try_sign(&steward(), 0),
            Err(EncodeError::ZeroSequence)
        );
    }

    #[test]
    #[should_panic(expected = "cannot sign membership certificate")]
    fn sign_panics_on_invalid_certificate() {
        let _ = cert(member_key().public(), "c", 2, 1).sign(&steward(), 1);
    }

    #[test]
    fn valid_at_is_half_open() {
        let c = cert(member_key().public(), "c", 10, 20);
        assert!(!c.valid_at(9));
        assert!(c.valid_at(10));
        assert!(c.valid_at(19));
        assert!(!c.valid_at(20));
    }

    #[test]
    fn admit_checks_kind_then_steward_then_payload() {
        let mut m = Membership::new(vec![steward().public()]);
        let other = NodeKeypair::from_seed([7; 32]);
        let bulletin = SignedRecord::sign(&steward(), RecordKind::BULLETIN, 1, 1, vec![]).unwrap();
        assert_eq!(m.admit(&bulletin), Err(MembershipError::NotMembership));
        let untrusted = golden_cert().sign(&other, 1);
        assert_eq!(m.admit(&untrusted), Err(MembershipError::UntrustedSteward));
        let garbage =
            SignedRecord::sign(&steward(), RecordKind::MEMBERSHIP_CERT, 1, 1, vec![1]).unwrap();
        assert!(matches!(
            m.admit(&garbage),
            Err(MembershipError::Payload(_))
        ));
        let garbage = SignedRecord::sign(&steward(), RecordKind::REVOCATION, 1, 1, vec![]).unwrap();
        assert!(matches!(
            m.admit(&garbage),
            Err(MembershipError::Payload(_))
        ));
        assert!(m.members().is_empty());
    }

    #[test]
    fn admit_reports_whether_state_changed() {
        let second = NodeKeypair::from_seed([8; 32]);
        let mut m = Membership::new(vec![
            steward().public(),
            second.public(),
            steward().public(),
        ]);
        assert_eq!(m.stewards().len(), 2);
        assert!(m.is_steward(&second.public()));
        assert!(!m.is_steward(&member_key().public()));

        assert_eq!(m.admit(&golden_cert().sign(&steward(), 1)), Ok(true));
        assert_eq!(m.admit(&golden_cert().sign(&steward(), 1)), Ok(false));
        // The same certificate from another steward, or issued again later,
        // adds nothing.
        assert_eq!(m.admit(&golden_cert().sign(&second, 5)), Ok(false));
        let rev = Revocation {
            member: member_key().public(),
            effective_ms: NOT_AFTER - 1,
            reason: "left".to_owned(),
        };
        assert_eq!(m.admit(&rev.sign(&second, 9)), Ok(true));
        assert_eq!(m.admit(&rev.sign(&steward(), 10)), Ok(false));
    }

    #[test]
    fn status_follows_certificates_and_revocations() {
        let key = member_key().public();
        let mut m = Membership::new(vec![steward().public()]);
        assert_eq!(m.status(&key, 15), MemberStatus::NoCertificate);

        m.admit(&cert(key, "old", 10, 20).sign(&steward(), 1))
            .unwrap();
        m.admit(&cert(key, "new", 15, 30).sign(&steward(), 2))
            .unwrap();
        m.admit(&cert(key, "later", 50, 60).sign(&steward(), 3))
            .unwrap();
        assert_eq!(m.status(&key, 9), MemberStatus::NotYetValid);
        assert_eq!(
            m.status(&key, 12),
            MemberStatus::Member {
                community: "old".to_owned(),
                region: "PT".to_owned(),
                not_after_ms: 20
            }
        );
        // Both valid: the latest not_after wins.
        assert_eq!(
            m.status(&key, 16),
            MemberStatus::Member {
                community: "new".to_owned(),
                region: "PT".to_owned(),
                not_after_ms: 30
            }
        );
        // Between certificates with one still to come.
        assert_eq!(m.status(&key, 40), MemberStatus::NotYetValid);
        assert_eq!(m.status(&key, 60), MemberStatus::Expired);
        assert!(m.status(&key, 55).is_member());

        let rev = Revocation {
            member: key,
            effective_ms: 25,
            reason: String::new(),
        };
        m.admit(&rev.sign(&steward(), 4)).unwrap();
        assert!(m.status(&key, 24).is_member());
        assert_eq!(m.status(&key, 25), MemberStatus::Revoked);
        // Revocation is for good: later certificates do not undo it.
        assert_eq!(m.status(&key, 55), MemberStatus::Revoked);

        let members = m.members();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].0, key);
        assert_eq!(members[0].1.community, "later");
        assert_eq!(members[0].2, Some(rev));
    }

    #[test]
    fn revocation_without_certificate_is_not_listed() {
        let key = member_key().public();
        let mut m = Membership::new(vec![steward().public()]);
        let rev = Revocation {
            member: key,
            effective_ms: 0,
            reason: String::new(),
        };
        assert_eq!(m.admit(&rev.sign(&steward(), 1)), Ok(true));
        assert_eq!(m.status(&key, 0), MemberStatus::Revoked);
        assert!(m.members().is_empty());
    }

    fn key() -> impl Strategy<Value = PublicKey> {
        any::<[u8; 32]>().prop_map(|seed| NodeKeypair::from_seed(seed).public())
    }

    prop_compose! {
        fn any_cert()(
            member in key(),
            community in "\\PC{1,50}",
            region in "\\PC{1,16}",
            not_before_ms in any::<u64>(),
            len in 1..=u64::MAX,
        ) -> MembershipCert {
            MembershipCert {
                member,
                community,
                region,
                not_before_ms: not_before_ms.min(u64::MAX - 1),
                not_after_ms: not_before_ms.min(u64::MAX - 1).saturating_add(len),
            }
        }
    }

    prop_compose! {
        fn any_revocation()(
            member in key(),
            effective_ms in any::<u64>(),
            reason in "\\PC{0,60}",
        ) -> Revocation {
            Revocation { member, effective_ms, reason }
        }
    }

    proptest! {
        #[test]
        fn cert_round_trips(c in any_cert()) {
            prop_assert_eq!(MembershipCert::decode(&c.encode()), Ok(c.clone()));
            let record = c.sign(&steward(), 1);
            prop_assert_eq!(record.verify(), Ok(()));
            prop_assert_eq!(MembershipCert::decode(record.payload()), Ok(c));
        }

        #[test]
        fn revocation_round_trips(r in any_revocation()) {
            prop_assert_eq!(Revocation::decode(&r.encode()), Ok(r.clone()));
            let record = r.sign(&steward(), u64::MAX);
            prop_assert_eq!(Revocation::decode(record.payload()), Ok(r));
        }

        #[test]
        fn truncated_payloads_are_errors(
            c in any_cert(),
            r in any_revocation(),
            cut in any::<prop::sample::Index>(),
        ) {
            let bytes = c.encode();
            prop_assert!(MembershipCert::decode(&bytes[..cut.index(bytes.len())]).is_err());
            let bytes = r.encode();
            prop_assert!(Revocation::decode(&bytes[..cut.index(bytes.len())]).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = MembershipCert::decode(&bytes);
            let _ = Revocation::decode(&bytes);
        }

        #[test]
        fn valid_prefix_with_random_rest_never_panics(
            rest in proptest::collection::vec(any::<u8>(), 0..128),
        ) {
            // Past the version and key, so the later fields get random input.
            let mut bytes = golden_cert().encode()[..33].to_vec();
            bytes.extend_from_slice(&rest);
            let _ = MembershipCert::decode(&bytes);
            let _ = Revocation::decode(&bytes);
        }

        #[test]
        fn status_does_not_depend_on_admission_order(
            certs in proptest::collection::vec((0u64..100, 1u64..50), 0..6),
            revs in proptest::collection::vec(0u64..150, 0..3),
            t in 0u64..150,
        ) {
            let key = member_key().public();
            let mut records: Vec<SignedRecord> = certs
                .iter()
                .enumerate()
                .map(|(i, (nb, len))| cert(key, &format!("c{}", i % 2), *nb, nb + len).sign(&steward(), 1 + i as u64))
                .collect();
            records.extend(revs.iter().map(|e| {
                Revocation { member: key, effective_ms: *e, reason: String::new() }.sign(&steward(), 100)
            }));
            let mut forward = Membership::new(vec![steward().public()]);
            let mut backward = forward.clone();
            for r in &records {
                forward.admit(r).unwrap();
            }
            for r in records.iter().rev() {
                backward.admit(r).unwrap();
            }
            prop_assert_eq!(forward.status(&key, t), backward.status(&key, t));
            prop_assert_eq!(forward.members(), backward.members());
        }
    }
}
