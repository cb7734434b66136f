//! Wire types, canonical encoding and signatures of the TechHire federation.
//!
//! Every TechHire community node has an ed25519 key ([`NodeKeypair`]) and is
//! named by its [`PublicKey`]. Whatever a node publishes to the federation
//! (membership certificates, metric reports, profiles, tombstones, ...)
//! travels as a [`SignedRecord`]: a small envelope whose payload is written
//! in the [canonical encoding](Encoder) and whose signature covers a
//! domain-separated copy of every envelope byte. `docs/protocol.md` in the
//! repository is the specification; this crate is its reference
//! implementation.
//!
//! *Invariant:* this crate is pure data. It does no I/O, reads no clock,
//! touches no filesystem or network and has no async code; callers pass in
//! time and bytes and get bytes and verdicts back. That keeps it usable from
//! any context and trivially testable, and a CI check can prove it by finding
//! no tokio in its dependency tree.
//!
//! *Invariant:* decoding never panics. Bytes from peers are untrusted; every
//! malformed input is a [`DecodeError`].

//!
//! The federation layer on top of the envelope: [`Membership`] (steward
//! certificates and revocations), [`Bulletin`]s, [`MetricReport`]s, shared
//! candidate [`profile`]s and their [`Tombstone`]s, the direct messages of an
//! [`introduction`] across the federation, the acceptance [`rules`]
//! every record goes through, the delivery [`scope`] of records limited to
//! regions, and the [`sync`] messages and gossip topic that move records between nodes. Their items are re-exported here; the
//! modules carry the overview.

pub mod addresses;
pub mod bulletin;
mod canonical;
mod envelope;
mod error;
mod identity;
pub mod introduction;
pub mod membership;
pub mod metrics;
pub mod profile;
pub mod rules;
pub mod scope;
pub mod suppression;
pub mod sync;

pub use addresses::{MemberAddresses, ADDRESSES_PAYLOAD_VERSION, MAX_ADDRESSES, MAX_ADDRESS_BYTES};
pub use bulletin::{
    Bulletin, BULLETIN_PAYLOAD_VERSION, MAX_BULLETIN_BODY_BYTES, MAX_BULLETIN_TITLE_BYTES,
};
pub use canonical::{Decoder, Encoder};
pub use envelope::{
    verify_batch, RecordKind, SignedRecord, MAX_PAYLOAD_BYTES, MAX_RECORD_BYTES,
    RECORD_HEADER_BYTES, RECORD_VERSION, SIGNING_DOMAIN,
};
pub use error::{DecodeError, EncodeError, KeyError, VerifyError};
pub use identity::{NodeKeypair, PublicKey, PUBLIC_KEY_BYTES, SEED_BYTES, SIGNATURE_BYTES};
pub use introduction::{
    is_direct, AnswerOutcome, Contact, DirectMessage, DirectReply, IntroAnswer, IntroRequest,
    OpeningRef, PlacementNotice, RefusalReason, RequestId, RequestIdError, DIRECT_PROTOCOL,
    INTRODUCTION_PAYLOAD_VERSION, MAX_DIRECT_RECORD_BYTES,
};
pub use membership::{
    MemberStatus, Membership, MembershipCert, MembershipError, Revocation, MAX_COMMUNITY_BYTES,
    MAX_REASON_BYTES, MAX_REGION_BYTES, MEMBERSHIP_PAYLOAD_VERSION,
};
pub use metrics::{
    Cell, MetricReport, Period, PeriodError, Value, MAX_CELLS, METRIC_PAYLOAD_VERSION,
    MIN_THRESHOLD,
};
pub use profile::{
    feed_key as profile_feed_key, is_soc_code, ProfileId, ProfileIdError, Scope, SharedAssessment,
    SharedCertificate, SharedProfile, SharedProject, SharedSkill, SharedTraining, SharedWork,
    Tombstone, TombstoneReason, PROFILE_ID_BYTES, PROFILE_PAYLOAD_VERSION,
    TOMBSTONE_PAYLOAD_VERSION,
};
pub use rules::{
    check_direct_payload, check_kind, check_member, check_origin, check_payload, check_replay,
    check_scope, check_signature, check_size, check_time, known_kind, Rejection,
    MAX_FUTURE_SKEW_MS,
};
pub use scope::{
    gossip_topics, is_region_topic, region_topic, scoped_regions, visible_to, REGION_TOPIC_PREFIX,
};
pub use sync::{
    SyncRequest, SyncResponse, GOSSIP_TOPIC, MAX_FETCH_RECORDS, MAX_HEADS, MAX_REFUSAL_BYTES,
    MAX_SYNC_MESSAGE_BYTES, MEMBERSHIP_CURSOR_BYTES, SYNC_PROTOCOL, SYNC_VERSION,
};
