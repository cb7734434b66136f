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

mod canonical;
mod envelope;
mod error;
mod identity;

pub use canonical::{Decoder, Encoder};
pub use envelope::{
    RecordKind, SignedRecord, MAX_PAYLOAD_BYTES, MAX_RECORD_BYTES, RECORD_HEADER_BYTES,
    RECORD_VERSION, SIGNING_DOMAIN,
};
pub use error::{DecodeError, EncodeError, KeyError, VerifyError};
pub use identity::{NodeKeypair, PublicKey, PUBLIC_KEY_BYTES, SEED_BYTES, SIGNATURE_BYTES};
