//! The crate's error types, one per kind of failure a caller handles differently.
//!
//! Kept together because decoding errors are shared by the canonical
//! [`Decoder`](crate::Decoder) and everything built on it, and the variants
//! are few on purpose: a peer's bad bytes are counted and dropped whatever
//! the exact reason, and the messages are for logs.

use thiserror::Error;

/// A key could not be parsed or is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The text is not exactly 64 lowercase hex digits (32 bytes).
    #[error("key must be 64 lowercase hex digits")]
    InvalidHex,
    /// The 32 bytes are not the canonical encoding of an ed25519 point of
    /// large order, so no signature could ever verify against them.
    #[error("not a valid ed25519 public key")]
    InvalidPublicKey,
}

/// Bytes are not a valid canonical encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended in the middle of a field.
    #[error("input ended before the value was complete")]
    UnexpectedEnd,
    /// Bytes remained after the last field.
    #[error("{count} trailing bytes after the value")]
    TrailingBytes {
        /// How many bytes were left over.
        count: usize,
    },
    /// A string field is not UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// An `Option` tag byte other than `0` or `1`.
    #[error("option tag {0} is neither 0 nor 1")]
    InvalidOptionTag(u8),
    /// A length or item count above what the format allows at that place.
    #[error("length {len} exceeds the limit of {limit}")]
    LengthOverLimit {
        /// The length found in the input.
        len: u32,
        /// The largest length allowed there.
        limit: usize,
    },
    /// A record starts with a format version this implementation does not
    /// know.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u8),
    /// A field that should hold an ed25519 public key does not.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// A field holds a value the format forbids, such as sequence number 0.
    #[error("invalid value: {0}")]
    InvalidValue(&'static str),
}

/// A value cannot be encoded or signed because it breaks a format rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The payload is larger than [`MAX_PAYLOAD_BYTES`](crate::MAX_PAYLOAD_BYTES).
    #[error("payload of {len} bytes exceeds the maximum of {max}")]
    PayloadTooLarge {
        /// The payload's length.
        len: usize,
        /// The maximum allowed.
        max: usize,
    },
    /// Sequence numbers start at 1; 0 is never valid.
    #[error("sequence number must be at least 1")]
    ZeroSequence,
    /// A typed payload (certificate, revocation, bulletin, ...) breaks one of
    /// its format's rules, such as a string over its length limit, so its
    /// encoding would not decode. Nothing is signed.
    #[error("payload would not decode: {0}")]
    InvalidPayload(DecodeError),
}

/// A signature does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// The signature is not a valid strict ed25519 signature by the claimed
    /// signer over the signed bytes. Deliberately one variant: why it failed
    /// (wrong key, tampered bytes, malleated signature) makes no difference to
    /// what a caller does, which is drop the record.
    #[error("signature does not verify")]
    InvalidSignature,
}
