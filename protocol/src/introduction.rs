//! Introductions across the federation: direct messages between two member nodes.
//!
//! An employer at one node (the *requester*) asks for an introduction to a candidate whose
//! [`SharedProfile`](crate::SharedProfile) another node (the *home* node) published. The
//! three messages below travel from one node to one other node, each a [`SignedRecord`]
//! signed by the sending node:
//!
//! - [`IntroRequest`] (kind [`INTRODUCTION`](RecordKind::INTRODUCTION), `6`): requester to
//!   home node; names the profile, the requesting community and employer, the opening and
//!   the employer's message.
//! - [`IntroAnswer`] (kind [`INTRODUCTION_ANSWER`](RecordKind::INTRODUCTION_ANSWER), `8`):
//!   home node to requester; accepted (with the contact details the candidate chose to
//!   share, and the operator's note: no other outcome carries one), declined, refused (with
//!   a reason) or expired. Also requester to home node, outcome expired only, as a
//!   *cancel*: the request was withdrawn or timed out at the requester, so the home node
//!   closes it and can no longer accept it (same payload, so no new kind).
//! - [`PlacementNotice`] (kind [`PLACEMENT_NOTICE`](RecordKind::PLACEMENT_NOTICE), `9`):
//!   home node to requester; the candidate was placed through this introduction, so the
//!   requesting community can credit it without counting the person a second time.
//!
//! *Invariant:* direct messages are never part of a feed. An answer can carry a candidate's
//! contact details, which must reach the requester only: a node that receives one of these
//! kinds by gossip or sync rejects it ([`crate::rules::known_kind`] is false for them).
//!
//! In a direct message the envelope's `seq` is the sender's clock in milliseconds (at least
//! 1), like `timestamp_ms`: there is no feed to number. Duplicates are recognised by the
//! request id, not by `seq`.
//!
//! Payload layouts (canonical encoding, see [`Encoder`]; `str (a..=b)` is a string of `a`
//! to `b` bytes of UTF-8):
//!
//! ```text
//! request:  format u8 (=1) | id [16] | profile [16] | community str (1..=200)
//!           | employer str (1..=800) | opening option of (title str (1..=800)
//!           | soc option of str "NN-NNNN") | message str (1..=16000) | requested_at_ms u64
//! answer:   format u8 (=1) | id [16] | outcome u8 (1 accepted | 2 declined | 3 refused
//!           | 4 expired), then for accepted: name option str (1..=800) | email option
//!           str (1..=1024) | phone option str (1..=128), at least one present; for
//!           refused: reason u8 (1 profile_withdrawn | 2 unknown_profile
//!           | 3 candidate_unavailable) | note option str (1..=16000) | decided_at_ms u64
//! notice:   format u8 (=1) | id [16] | year u16 (2000..=2100) | month u8 (1..=12)
//! ```
//!
//! The transport ([`DIRECT_PROTOCOL`]) carries one encoded record per request, at most
//! [`MAX_DIRECT_RECORD_BYTES`], and answers with a [`DirectReply`].

use std::fmt;
use std::str::FromStr;

use rand_core::{OsRng, RngCore};

use crate::canonical::{Decoder, Encoder};
use crate::envelope::{RecordKind, SignedRecord};
use crate::error::{DecodeError, EncodeError};
use crate::identity::NodeKeypair;
use crate::membership::MAX_COMMUNITY_BYTES;
use crate::profile::{is_soc_code, ProfileId};

/// Format byte at the start of every introduction payload (request, answer, notice).
pub const INTRODUCTION_PAYLOAD_VERSION: u8 = 1;
/// Length of a request id in bytes.
pub const REQUEST_ID_BYTES: usize = 16;
/// Longest employer name, opening title or contact name, in bytes (200 characters of up
/// to 4 bytes each, the nodes' own limit).
pub const MAX_INTRO_NAME_BYTES: usize = 800;
/// Longest message or note, in bytes (4000 characters of up to 4 bytes).
pub const MAX_INTRO_TEXT_BYTES: usize = 16_000;
/// Longest email address shared on acceptance, in bytes.
pub const MAX_CONTACT_EMAIL_BYTES: usize = 1024;
/// Longest phone number shared on acceptance, in bytes.
pub const MAX_CONTACT_PHONE_BYTES: usize = 128;
/// Largest encoded direct message a receiver reads (the largest valid one is about
/// 35 KiB).
pub const MAX_DIRECT_RECORD_BYTES: usize = 64 * 1024;
/// Longest reason in a [`DirectReply::Refused`], in bytes.
pub const MAX_DIRECT_REASON_BYTES: usize = 1024;
/// The libp2p request-response protocol of direct messages.
pub const DIRECT_PROTOCOL: &str = "/techhire/direct/1";
/// Version byte of a [`DirectReply`].
pub const DIRECT_REPLY_VERSION: u8 = 1;

/// Whether `kind` is a direct message (introduction request, answer, placement notice):
/// addressed to one node, never stored in or accepted from a feed.
pub fn is_direct(kind: RecordKind) -> bool {
    matches!(
        kind,
        RecordKind::INTRODUCTION | RecordKind::INTRODUCTION_ANSWER | RecordKind::PLACEMENT_NOTICE
    )
}

/// An introduction request's id: 16 random bytes chosen by the requester, shown as 32
/// lowercase hex digits. Answers and notices name their request by it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub [u8; REQUEST_ID_BYTES]);

impl RequestId {
    /// A fresh id from the operating system's random number generator.
    pub fn random() -> Self {
        let mut bytes = [0; REQUEST_ID_BYTES];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({self})")
    }
}

/// Why a request id could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a request id is 32 lowercase hex digits")]
pub struct RequestIdError;

impl FromStr for RequestId {
    type Err = RequestIdError;

    fn from_str(s: &str) -> Result<Self, RequestIdError> {
        if s.len() != 2 * REQUEST_ID_BYTES
            || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(RequestIdError);
        }
        let mut bytes = [0; REQUEST_ID_BYTES];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| RequestIdError)?;
        Ok(Self(bytes))
    }
}

/// The opening an introduction is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpeningRef {
    /// 1 to 800 bytes.
    pub title: String,
    /// A SOC code shaped `NN-NNNN`, if the opening has one.
    pub soc: Option<String>,
}

/// An employer's request for an introduction, sent by its node to the profile's home node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IntroRequest {
    pub id: RequestId,
    /// The shared profile the employer was shown.
    pub profile: ProfileId,
    /// The requesting node's community, 1 to 200 bytes (as in its certificate).
    pub community: String,
    /// The employer's name, 1 to 800 bytes.
    pub employer: String,
    pub opening: Option<OpeningRef>,
    /// The employer's message to the candidate, 1 to 16,000 bytes.
    pub message: String,
    /// When the employer asked (ms since the Unix epoch).
    pub requested_at_ms: u64,
}

/// The contact details a candidate chose to share on accepting; at least one is present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Contact {
    /// 1 to 800 bytes.
    pub name: Option<String>,
    /// 1 to 1024 bytes.
    pub email: Option<String>,
    /// 1 to 128 bytes.
    pub phone: Option<String>,
}

/// Why a home node refused a request without asking the candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefusalReason {
    /// The profile was withdrawn, deleted or expired (`1`).
    ProfileWithdrawn,
    /// The home node never published this profile (`2`).
    UnknownProfile,
    /// The candidate can no longer be introduced: placed, or left the program (`3`).
    CandidateUnavailable,
}

impl RefusalReason {
    /// The reason's byte.
    pub fn code(self) -> u8 {
        match self {
            Self::ProfileWithdrawn => 1,
            Self::UnknownProfile => 2,
            Self::CandidateUnavailable => 3,
        }
    }

    /// The reason with byte `code`, if any.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::ProfileWithdrawn),
            2 => Some(Self::UnknownProfile),
            3 => Some(Self::CandidateUnavailable),
            _ => None,
        }
    }

    /// The snake_case name shown to operators and employers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProfileWithdrawn => "profile_withdrawn",
            Self::UnknownProfile => "unknown_profile",
            Self::CandidateUnavailable => "candidate_unavailable",
        }
    }
}

/// What became of a request at the home node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AnswerOutcome {
    /// The candidate agreed; the details they chose to share.
    Accepted(Contact),
    /// The candidate said no.
    Declined,
    /// The home node refused the request without asking the candidate.
    Refused(RefusalReason),
    /// The home node closed the request without an answer from the candidate.
    Expired,
}

/// The home node's answer to an [`IntroRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IntroAnswer {
    pub id: RequestId,
    pub outcome: AnswerOutcome,
    /// The home operator's note for the employer, 1 to 16,000 bytes.
    pub note: Option<String>,
    /// When the outcome was recorded (ms since the Unix epoch).
    pub decided_at_ms: u64,
}

/// The candidate of an accepted request was placed; the month the job started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlacementNotice {
    pub id: RequestId,
    /// 2000 to 2100.
    pub year: u16,
    /// 1 to 12.
    pub month: u8,
}

/// Any of the three direct messages, decoded by kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DirectMessage {
    Request(IntroRequest),
    Answer(IntroAnswer),
    Placement(PlacementNotice),
}

fn text(dec: &mut Decoder<'_>, limit: usize, what: &'static str) -> Result<String, DecodeError> {
    let s = dec.str(limit)?;
    if s.is_empty() {
        return Err(DecodeError::InvalidValue(what));
    }
    Ok(s.to_owned())
}

fn version(dec: &mut Decoder<'_>) -> Result<(), DecodeError> {
    match dec.u8()? {
        INTRODUCTION_PAYLOAD_VERSION => Ok(()),
        other => Err(DecodeError::UnsupportedVersion(other)),
    }
}

impl IntroRequest {
    /// The canonical payload.
    pub fn encode(&self) -> Vec<u8> {
        Encoder::new()
            .u8(INTRODUCTION_PAYLOAD_VERSION)
            .array(&self.id.0)
            .array(&self.profile.0)
            .str(&self.community)
            .str(&self.employer)
            .option(self.opening.as_ref(), |e, o| {
                e.str(&o.title).option(o.soc.as_deref(), |e, s| e.str(s))
            })
            .str(&self.message)
            .u64(self.requested_at_ms)
            .finish()
    }

    /// Parses a payload strictly: format 1, every limit, nothing after the last field.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = Decoder::new(payload);
        version(&mut dec)?;
        let id = RequestId(dec.array()?);
        let profile = ProfileId(dec.array()?);
        let community = text(&mut dec, MAX_COMMUNITY_BYTES, "empty community")?;
        let employer = text(&mut dec, MAX_INTRO_NAME_BYTES, "empty employer")?;
        let opening = dec.option(|d| {
            let title = text(d, MAX_INTRO_NAME_BYTES, "empty opening title")?;
            let soc = d.option(|d| {
                let s = d.str(7)?;
                if is_soc_code(s) {
                    Ok(s.to_owned())
                } else {
                    Err(DecodeError::InvalidValue("opening SOC code"))
                }
            })?;
            Ok(OpeningRef { title, soc })
        })?;
        let message = text(&mut dec, MAX_INTRO_TEXT_BYTES, "empty message")?;
        let requested_at_ms = dec.u64()?;
        dec.finish()?;
        Ok(Self {
            id,
            profile,
            community,
            employer,
            opening,
            message,
            requested_at_ms,
        })
    }
}

impl IntroAnswer {
    /// The canonical payload.
    pub fn encode(&self) -> Vec<u8> {
        let enc = Encoder::new()
            .u8(INTRODUCTION_PAYLOAD_VERSION)
            .array(&self.id.0);
        let enc = match &self.outcome {
            AnswerOutcome::Accepted(c) => enc
                .u8(1)
                .option(c.name.as_deref(), |e, s| e.str(s))
                .option(c.email.as_deref(), |e, s| e.str(s))
                .option(c.phone.as_deref(), |e, s| e.str(s)),
            AnswerOutcome::Declined => enc.u8(2),
            AnswerOutcome::Refused(reason) => enc.u8(3).u8(reason.code()),
            AnswerOutcome::Expired => enc.u8(4),
        };
        enc.option(self.note.as_deref(), |e, s| e.str(s))
            .u64(self.decided_at_ms)
            .finish()
    }

    /// Parses a payload strictly: format 1, a known outcome, an accepted one sharing at
    /// least one detail, every limit, nothing after the last field.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = Decoder::new(payload);
        version(&mut dec)?;
        let id = RequestId(dec.array()?);
        let outcome = match dec.u8()? {
            1 => {
                let name = dec.option(|d| text(d, MAX_INTRO_NAME_BYTES, "empty contact name"))?;
                let email =
                    dec.option(|d| text(d, MAX_CONTACT_EMAIL_BYTES, "empty contact email"))?;
                let phone =
                    dec.option(|d| text(d, MAX_CONTACT_PHONE_BYTES, "empty contact phone"))?;
                if name.is_none() && email.is_none() && phone.is_none() {
                    return Err(DecodeError::InvalidValue("an acceptance shares no contact"));
                }
                AnswerOutcome::Accepted(Contact { name, email, phone })
            }
            2 => AnswerOutcome::Declined,
            3 => AnswerOutcome::Refused(
                RefusalReason::from_code(dec.u8()?)
                    .ok_or(DecodeError::InvalidValue("refusal reason"))?,
            ),
            4 => AnswerOutcome::Expired,
            _ => return Err(DecodeError::InvalidValue("answer outcome")),
        };
        let note = dec.option(|d| text(d, MAX_INTRO_TEXT_BYTES, "empty note"))?;
        let decided_at_ms = dec.u64()?;
        dec.finish()?;
        Ok(Self {
            id,
            outcome,
            note,
            decided_at_ms,
        })
    }
}

impl PlacementNotice {
    /// The canonical payload.
    pub fn encode(&self) -> Vec<u8> {
        Encoder::with_capacity(20)
            .u8(INTRODUCTION_PAYLOAD_VERSION)
            .array(&self.id.0)
            .u16(self.year)
            .u8(self.month)
            .finish()
    }

    /// Parses a payload strictly: format 1, a year 2000 to 2100, a month 1 to 12.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = Decoder::new(payload);
        version(&mut dec)?;
        let id = RequestId(dec.array()?);
        let year = dec.u16()?;
        if !(2000..=2100).contains(&year) {
            return Err(DecodeError::InvalidValue("placement year"));
        }
        let month = dec.u8()?;
        if !(1..=12).contains(&month) {
            return Err(DecodeError::InvalidValue("placement month"));
        }
        dec.finish()?;
        Ok(Self { id, year, month })
    }
}

impl DirectMessage {
    /// The record kind this message travels as.
    pub fn kind(&self) -> RecordKind {
        match self {
            Self::Request(_) => RecordKind::INTRODUCTION,
            Self::Answer(_) => RecordKind::INTRODUCTION_ANSWER,
            Self::Placement(_) => RecordKind::PLACEMENT_NOTICE,
        }
    }

    /// The request the message is about.
    pub fn request_id(&self) -> RequestId {
        match self {
            Self::Request(r) => r.id,
            Self::Answer(a) => a.id,
            Self::Placement(p) => p.id,
        }
    }

    /// The canonical payload.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Request(r) => r.encode(),
            Self::Answer(a) => a.encode(),
            Self::Placement(p) => p.encode(),
        }
    }

    /// Decodes the payload of a record of `kind` strictly; `InvalidValue` for a kind that
    /// is not a direct message.
    pub fn decode(kind: RecordKind, payload: &[u8]) -> Result<Self, DecodeError> {
        match kind {
            RecordKind::INTRODUCTION => IntroRequest::decode(payload).map(Self::Request),
            RecordKind::INTRODUCTION_ANSWER => IntroAnswer::decode(payload).map(Self::Answer),
            RecordKind::PLACEMENT_NOTICE => PlacementNotice::decode(payload).map(Self::Placement),
            _ => Err(DecodeError::InvalidValue("not a direct message kind")),
        }
    }

    /// Signs the message as `sender`'s direct record made at `now_ms` (also its `seq`,
    /// at least 1), after checking it would decode: [`EncodeError::InvalidPayload`] if it
    /// breaks a limit or shape.
    pub fn sign(&self, sender: &NodeKeypair, now_ms: u64) -> Result<SignedRecord, EncodeError> {
        SignedRecord::sign_checked(
            sender,
            self.kind(),
            now_ms.max(1),
            now_ms,
            self.encode(),
            |payload| Self::decode(self.kind(), payload).map(|_| ()),
        )
    }
}

/// The receiver's reply to a direct message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DirectReply {
    /// Received and kept (or already held: duplicates are acknowledged again, so a sender
    /// whose first acknowledgement was lost stops retrying).
    Ack,
    /// Not accepted. With `retry` the sender should offer it again later (the receiver
    /// lacked a certificate, or could not write); without, never (forged, malformed, or
    /// naming a request the receiver did not make).
    Refused { retry: bool, reason: String },
}

impl DirectReply {
    /// `version u8 (=1) | tag u8 (0 ack | 1 refused: retry bool | reason str (0..=1024))`.
    pub fn encode(&self) -> Vec<u8> {
        let enc = Encoder::new().u8(DIRECT_REPLY_VERSION);
        match self {
            Self::Ack => enc.u8(0),
            Self::Refused { retry, reason } => {
                // Truncated on a character boundary so that the reply always decodes.
                let mut end = reason.len().min(MAX_DIRECT_REASON_BYTES);
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                enc.u8(1).bool(*retry).str(&reason[..end])
            }
        }
        .finish()
    }

    /// Parses a reply strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = Decoder::new(bytes);
        match dec.u8()? {
            DIRECT_REPLY_VERSION => {}
            other => return Err(DecodeError::UnsupportedVersion(other)),
        }
        let reply = match dec.u8()? {
            0 => Self::Ack,
            1 => Self::Refused {
                retry: dec.bool()?,
                reason: dec.str(MAX_DIRECT_REASON_BYTES)?.to_owned(),
            },
            _ => return Err(DecodeError::InvalidValue("direct reply tag")),
        };
        dec.finish()?;
        Ok(reply)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::envelope::MAX_PAYLOAD_BYTES;
    use proptest::prelude::*;

    fn request() -> IntroRequest {
        IntroRequest {
            id: RequestId([0x11; 16]),
            profile: ProfileId([0x22; 16]),
            community: "B".into(),
            employer: "Acme".into(),
            opening: Some(OpeningRef {
                title: "Dev".into(),
                soc: Some("15-1252".into()),
            }),
            message: "Hi".into(),
            requested_at_ms: 0x0000_018b_cfe5_6800,
        }
    }

    #[test]
    fn request_layout() {
        assert_eq!(
            hex::encode(request().encode()),
            concat!(
                "01",                               // format
                "11111111111111111111111111111111", // id
                "22222222222222222222222222222222", // profile
                "0000000142",                       // community "B"
                "0000000441636d65",                 // employer "Acme"
                "01",                               // opening: some
                "00000003446576",                   // title "Dev"
                "01",                               // soc: some
                "0000000731352d31323532",           // "15-1252"
                "000000024869",                     // message "Hi"
                "0000018bcfe56800",                 // requested_at_ms
            )
        );
        assert_eq!(IntroRequest::decode(&request().encode()), Ok(request()));
    }

    #[test]
    fn answer_and_notice_layouts() {
        let accepted = IntroAnswer {
            id: RequestId([0x11; 16]),
            outcome: AnswerOutcome::Accepted(Contact {
                name: Some("Al".into()),
                email: None,
                phone: Some("5".into()),
            }),
            note: None,
            decided_at_ms: 7,
        };
        assert_eq!(
            hex::encode(accepted.encode()),
            concat!(
                "01",
                "11111111111111111111111111111111",
                "01",             // accepted
                "0100000002416c", // name "Al"
                "00",             // email: none
                "010000000135",   // phone "5"
                "00",             // note: none
                "0000000000000007",
            )
        );
        let refused = IntroAnswer {
            outcome: AnswerOutcome::Refused(RefusalReason::ProfileWithdrawn),
            note: Some("n".into()),
            ..accepted.clone()
        };
        assert_eq!(
            hex::encode(refused.encode()),
            concat!(
                "01",
                "11111111111111111111111111111111",
                "0301",         // refused: profile_withdrawn
                "01000000016e", // note "n"
                "0000000000000007",
            )
        );
        for a in [accepted, refused] {
            assert_eq!(IntroAnswer::decode(&a.encode()), Ok(a));
        }
        let notice = PlacementNotice {
            id: RequestId([0x11; 16]),
            year: 2026,
            month: 3,
        };
        assert_eq!(
            hex::encode(notice.encode()),
            "011111111111111111111111111111111107ea03"
        );
        assert_eq!(PlacementNotice::decode(&notice.encode()), Ok(notice));
    }

    /// The signed bytes are pinned: a change to the envelope or the payload of a request
    /// shows here (the seed is the one of docs/protocol.md §12.1).
    #[test]
    fn golden_request_record() {
        let key = NodeKeypair::from_seed(core::array::from_fn(|i| i as u8));
        let record = DirectMessage::Request(request())
            .sign(&key, 1_700_000_000_000)
            .unwrap();
        assert_eq!(record.kind(), RecordKind::INTRODUCTION);
        assert_eq!(record.seq(), 1_700_000_000_000);
        assert_eq!(record.verify(), Ok(()));
        assert_eq!(hex::encode(record.encode()), GOLDEN_REQUEST);
        let back = SignedRecord::decode(&hex::decode(GOLDEN_REQUEST).unwrap()).unwrap();
        assert_eq!(
            DirectMessage::decode(back.kind(), back.payload()),
            Ok(DirectMessage::Request(request()))
        );
    }

    // Checked against Python `cryptography` (Ed25519 over the domain tag and the record).
    const GOLDEN_REQUEST: &str = concat!(
        "01000603a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
        "0000018bcfe568000000018bcfe5680000000050",
        "0111111111111111111111111111111111222222222222222222222222222222220000000142",
        "0000000441636d650100000003446576010000000731352d31323532000000024869",
        "0000018bcfe56800",
        "dd7ab486fa9721f3b24d881ff6b4781ec3e164c3f759614a4f039540ecebdaaf",
        "b928d4c4005d67a246775a549927b9c9d6a66476dc7b185c007eeba2779db50c",
    );

    #[test]
    fn limits_and_bad_bytes_are_refused() {
        let refused = |r: &IntroRequest| IntroRequest::decode(&r.encode()).is_err();
        let mut r = request();
        r.community = String::new();
        assert!(refused(&r));
        r.community = "c".repeat(MAX_COMMUNITY_BYTES + 1);
        assert!(refused(&r));
        r = request();
        r.employer = "e".repeat(MAX_INTRO_NAME_BYTES + 1);
        assert!(refused(&r));
        r.employer = "e".repeat(MAX_INTRO_NAME_BYTES);
        assert!(!refused(&r));
        r = request();
        r.message = "m".repeat(MAX_INTRO_TEXT_BYTES + 1);
        assert!(refused(&r));
        assert!(matches!(
            DirectMessage::Request(r.clone()).sign(&NodeKeypair::from_seed([1; 32]), 5),
            Err(EncodeError::InvalidPayload(_))
        ));
        r.message = String::new();
        assert!(refused(&r));
        r = request();
        r.opening = Some(OpeningRef {
            title: "t".into(),
            soc: Some("151252".into()),
        });
        assert!(refused(&r));

        let empty = IntroAnswer {
            id: RequestId([1; 16]),
            outcome: AnswerOutcome::Accepted(Contact::default()),
            note: None,
            decided_at_ms: 1,
        };
        assert!(IntroAnswer::decode(&empty.encode()).is_err());
        let mut bytes = IntroAnswer {
            outcome: AnswerOutcome::Declined,
            ..empty.clone()
        }
        .encode();
        assert!(IntroAnswer::decode(&bytes).is_ok());
        bytes[17] = 5; // an unknown outcome
        assert!(IntroAnswer::decode(&bytes).is_err());
        bytes[17] = 3; // refused, with the note tag read as a reason: 0 is none
        assert!(IntroAnswer::decode(&bytes).is_err());

        for (year, month) in [(1999, 1), (2101, 1), (2026, 0), (2026, 13)] {
            let n = PlacementNotice {
                id: RequestId([1; 16]),
                year,
                month,
            };
            assert!(
                PlacementNotice::decode(&n.encode()).is_err(),
                "{year}-{month}"
            );
        }
        let mut notice = PlacementNotice {
            id: RequestId([1; 16]),
            year: 2026,
            month: 1,
        }
        .encode();
        notice.push(0);
        assert!(PlacementNotice::decode(&notice).is_err(), "trailing byte");
        notice.pop();
        notice[0] = 2;
        assert_eq!(
            PlacementNotice::decode(&notice),
            Err(DecodeError::UnsupportedVersion(2))
        );
        // A payload of one kind is not read as another.
        assert!(DirectMessage::decode(RecordKind::PLACEMENT_NOTICE, &request().encode()).is_err());
        assert!(DirectMessage::decode(RecordKind::PROFILE, &request().encode()).is_err());
    }

    #[test]
    fn largest_messages_fit_the_transport_limit() {
        let big = IntroRequest {
            community: "c".repeat(MAX_COMMUNITY_BYTES),
            employer: "e".repeat(MAX_INTRO_NAME_BYTES),
            opening: Some(OpeningRef {
                title: "t".repeat(MAX_INTRO_NAME_BYTES),
                soc: Some("15-1252".into()),
            }),
            message: "m".repeat(MAX_INTRO_TEXT_BYTES),
            ..request()
        };
        let record = DirectMessage::Request(big)
            .sign(&NodeKeypair::from_seed([1; 32]), 9)
            .unwrap();
        assert!(record.encoded_len() <= MAX_DIRECT_RECORD_BYTES);
        let answer = IntroAnswer {
            id: RequestId([1; 16]),
            outcome: AnswerOutcome::Accepted(Contact {
                name: Some("n".repeat(MAX_INTRO_NAME_BYTES)),
                email: Some("e".repeat(MAX_CONTACT_EMAIL_BYTES)),
                phone: Some("p".repeat(MAX_CONTACT_PHONE_BYTES)),
            }),
            note: Some("x".repeat(MAX_INTRO_TEXT_BYTES)),
            decided_at_ms: 1,
        };
        let record = DirectMessage::Answer(answer)
            .sign(&NodeKeypair::from_seed([1; 32]), 9)
            .unwrap();
        assert!(record.encoded_len() <= MAX_DIRECT_RECORD_BYTES);
        const { assert!(MAX_DIRECT_RECORD_BYTES < MAX_PAYLOAD_BYTES) };
    }

    #[test]
    fn replies_and_ids() {
        for reply in [
            DirectReply::Ack,
            DirectReply::Refused {
                retry: true,
                reason: "not_member".into(),
            },
        ] {
            assert_eq!(DirectReply::decode(&reply.encode()), Ok(reply));
        }
        assert_eq!(hex::encode(DirectReply::Ack.encode()), "0100");
        let long = DirectReply::Refused {
            retry: false,
            reason: "é".repeat(MAX_DIRECT_REASON_BYTES),
        };
        assert!(DirectReply::decode(&long.encode()).is_ok());
        assert!(DirectReply::decode(&[1, 2]).is_err());
        assert!(DirectReply::decode(&[1, 0, 0]).is_err());
        let id = RequestId::random();
        assert_eq!(id.to_string().parse::<RequestId>(), Ok(id));
        assert_ne!(id, RequestId::random());
        assert!("ABCD".repeat(8).parse::<RequestId>().is_err());
        assert!(is_direct(RecordKind::INTRODUCTION));
        assert!(is_direct(RecordKind::INTRODUCTION_ANSWER));
        assert!(is_direct(RecordKind::PLACEMENT_NOTICE));
        assert!(!is_direct(RecordKind::PROFILE));
    }

    fn any_text(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("\\PC{{1,{}}}", max.min(12)))
            .unwrap()
            .prop_filter("within the byte limit", move |s| s.len() <= max)
    }

    fn any_message() -> impl Strategy<Value = DirectMessage> {
        let opening = proptest::option::of(
            (
                any_text(MAX_INTRO_NAME_BYTES),
                proptest::option::of("[0-9]{2}-[0-9]{4}"),
            )
                .prop_map(|(title, soc)| OpeningRef { title, soc }),
        );
        let request = (
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any_text(MAX_COMMUNITY_BYTES),
            any_text(MAX_INTRO_NAME_BYTES),
            opening,
            any_text(MAX_INTRO_TEXT_BYTES),
            any::<u64>(),
        )
            .prop_map(|(id, profile, community, employer, opening, message, at)| {
                DirectMessage::Request(IntroRequest {
                    id: RequestId(id),
                    profile: ProfileId(profile),
                    community,
                    employer,
                    opening,
                    message,
                    requested_at_ms: at,
                })
            });
        let contact = (
            proptest::option::of(any_text(MAX_INTRO_NAME_BYTES)),
            proptest::option::of(any_text(MAX_CONTACT_EMAIL_BYTES)),
            proptest::option::of(any_text(MAX_CONTACT_PHONE_BYTES)),
        )
            .prop_filter("shares something", |(n, e, p)| {
                n.is_some() || e.is_some() || p.is_some()
            })
            .prop_map(|(name, email, phone)| Contact { name, email, phone });
        let outcome = prop_oneof![
            contact.prop_map(AnswerOutcome::Accepted),
            Just(AnswerOutcome::Declined),
            (1..=3u8).prop_map(|c| AnswerOutcome::Refused(RefusalReason::from_code(c).unwrap())),
            Just(AnswerOutcome::Expired),
        ];
        let answer = (
            any::<[u8; 16]>(),
            outcome,
            proptest::option::of(any_text(MAX_INTRO_TEXT_BYTES)),
            any::<u64>(),
        )
            .prop_map(|(id, outcome, note, at)| {
                DirectMessage::Answer(IntroAnswer {
                    id: RequestId(id),
                    outcome,
                    note,
                    decided_at_ms: at,
                })
            });
        let notice = (any::<[u8; 16]>(), 2000..=2100u16, 1..=12u8).prop_map(|(id, year, month)| {
            DirectMessage::Placement(PlacementNotice {
                id: RequestId(id),
                year,
                month,
            })
        });
        prop_oneof![request, answer, notice]
    }

    proptest! {
        #[test]
        fn round_trips(m in any_message(), now in 1..=u64::MAX) {
            prop_assert_eq!(DirectMessage::decode(m.kind(), &m.encode()), Ok(m.clone()));
            let record = m.sign(&NodeKeypair::from_seed([3; 32]), now).unwrap();
            let record = SignedRecord::decode(&record.encode()).unwrap();
            prop_assert_eq!(record.verify(), Ok(()));
            prop_assert!(is_direct(record.kind()));
            prop_assert_eq!(DirectMessage::decode(record.kind(), record.payload()), Ok(m));
        }

        #[test]
        fn truncation_is_an_error(m in any_message(), cut in any::<prop::sample::Index>()) {
            let bytes = m.encode();
            prop_assert!(DirectMessage::decode(m.kind(), &bytes[..cut.index(bytes.len())]).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            for kind in [RecordKind::INTRODUCTION, RecordKind::INTRODUCTION_ANSWER, RecordKind::PLACEMENT_NOTICE] {
                let _ = DirectMessage::decode(kind, &bytes);
            }
            let _ = DirectReply::decode(&bytes);
        }

        #[test]
        fn mutated_messages_never_panic(m in any_message(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut bytes = m.encode();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            let _ = DirectMessage::decode(m.kind(), &bytes);
        }
    }
}
