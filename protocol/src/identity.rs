//! Node identity: the ed25519 keypair a node signs with and the public key that names it.
//!
//! The 32-byte secret seed is the whole identity. It is exportable so the node
//! can keep it in a key file and so the same key can become the node's libp2p
//! identity (`libp2p::identity::Keypair::ed25519_from_bytes(seed)`), making the
//! peer id and the record signer one and the same key.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::OsRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::canonical::{Decoder, Encoder};
use crate::error::{DecodeError, KeyError, VerifyError};

/// Length of a secret seed in bytes.
pub const SEED_BYTES: usize = 32;
/// Length of a public key in bytes.
pub const PUBLIC_KEY_BYTES: usize = 32;
/// Length of a signature in bytes.
pub const SIGNATURE_BYTES: usize = 64;

/// A node's ed25519 signing key.
///
/// `Debug` shows only the public key: the seed must not end up in logs. The
/// underlying key is zeroized when dropped.
#[derive(Clone)]
pub struct NodeKeypair {
    signing: SigningKey,
}

impl NodeKeypair {
    /// A fresh random keypair from the operating system's RNG.
    pub fn generate() -> Self {
        Self {
            signing: SigningKey::generate(&mut OsRng),
        }
    }

    /// The keypair whose secret seed is `seed` (RFC 8032's 32-byte private
    /// key, the same bytes libp2p's `ed25519_from_bytes` takes).
    pub fn from_seed(seed: [u8; SEED_BYTES]) -> Self {
        Self {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// The secret seed. Whoever has it can sign as this node.
    pub fn seed(&self) -> [u8; SEED_BYTES] {
        self.signing.to_bytes()
    }

    /// The public key that identifies this node.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// Signs `msg` (ed25519 is deterministic: same key and message, same
    /// signature).
    pub fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_BYTES] {
        self.signing.sign(msg).to_bytes()
    }

    /// The seed as 64 lowercase hex digits, the key file format.
    pub fn to_hex(&self) -> String {
        hex::encode(self.seed())
    }

    /// Parses a seed written by [`to_hex`](Self::to_hex). Surrounding
    /// whitespace is ignored because key files usually end with a newline.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        decode_hex32(text.trim()).map(Self::from_seed)
    }
}

impl fmt::Debug for NodeKeypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKeypair")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

/// An ed25519 public key: a node's identity.
///
/// Always holds the canonical encoding of a point of large order, checked on
/// construction, so a key that exists can in principle verify a signature.
/// Text form (`Display`, `FromStr`, serde) is 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; PUBLIC_KEY_BYTES]);

impl PublicKey {
    /// Checks and wraps 32 bytes.
    ///
    /// Rejects bytes that are not on the curve, non-canonical encodings (so
    /// one key has exactly one byte form, and one identity) and small-order
    /// points (which strict verification would reject anyway).
    pub fn from_bytes(bytes: [u8; PUBLIC_KEY_BYTES]) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::InvalidPublicKey)?;
        let canonical = key.to_edwards().compress().to_bytes() == bytes;
        if !canonical || key.is_weak() {
            return Err(KeyError::InvalidPublicKey);
        }
        Ok(Self(bytes))
    }

    /// The 32 bytes of the key.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_BYTES] {
        &self.0
    }

    /// Checks that `signature` is a valid signature by this key over `msg`,
    /// using strict ed25519 verification: non-canonical `s`, non-canonical or
    /// small-order `R` and small-order keys are rejected, so a signature
    /// cannot be altered into another valid one.
    pub fn verify(&self, msg: &[u8], signature: &[u8; SIGNATURE_BYTES]) -> Result<(), VerifyError> {
        // Cannot fail for a constructed PublicKey; mapping instead of
        // unwrapping keeps this panic-free regardless.
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| VerifyError::InvalidSignature)?;
        key.verify_strict(msg, &Signature::from_bytes(signature))
            .map_err(|_| VerifyError::InvalidSignature)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    /// Parses exactly 64 lowercase hex digits; uppercase is refused so that
    /// a key has one text form.
    fn from_str(text: &str) -> Result<Self, KeyError> {
        Self::from_bytes(decode_hex32(text)?)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Encoder {
    /// Appends a public key as its 32 raw bytes.
    pub fn public_key(self, key: &PublicKey) -> Self {
        self.array(key.as_bytes())
    }
}

impl Decoder<'_> {
    /// Reads 32 raw bytes and checks them as with [`PublicKey::from_bytes`].
    pub fn public_key(&mut self) -> Result<PublicKey, DecodeError> {
        PublicKey::from_bytes(self.array()?).map_err(|_| DecodeError::InvalidPublicKey)
    }
}

fn decode_hex32(text: &str) -> Result<[u8; 32], KeyError> {
    let lower_hex = text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !lower_hex {
        return Err(KeyError::InvalidHex);
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).map_err(|_| KeyError::InvalidHex)?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::value::{Error as ValueError, StrDeserializer};
    use serde::de::IntoDeserializer;

    fn seq_seed() -> [u8; 32] {
        std::array::from_fn(|i| i as u8)
    }

    #[test]
    fn seed_hex_round_trips() {
        let key = NodeKeypair::generate();
        let text = key.to_hex();
        assert_eq!(text.len(), 64);
        let back = NodeKeypair::from_hex(&format!("{text}\n")).unwrap();
        assert_eq!(back.seed(), key.seed());
        assert_eq!(back.public(), key.public());
    }

    #[test]
    fn seed_hex_rejects_malformed_text() {
        let text = NodeKeypair::from_seed(seq_seed()).to_hex();
        for bad in [
            &text[..62],
            &format!("{text}00"),
            &text.to_uppercase(),
            &format!("zz{}", &text[2..]),
            "",
        ] {
            assert_eq!(
                NodeKeypair::from_hex(bad).err(),
                Some(KeyError::InvalidHex),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_does_not_show_the_seed() {
        let key = NodeKeypair::from_seed(seq_seed());
        let debug = format!("{key:?} {key:#?}");
        assert!(!debug.contains(&key.to_hex()), "{debug}");
        assert!(debug.contains(&key.public().to_string()), "{debug}");
    }

    #[test]
    fn public_key_text_round_trips() {
        let public = NodeKeypair::from_seed(seq_seed()).public();
        let text = public.to_string();
        assert_eq!(text, text.to_lowercase());
        assert_eq!(text.parse::<PublicKey>(), Ok(public));
        assert_eq!(
            text.to_uppercase().parse::<PublicKey>(),
            Err(KeyError::InvalidHex)
        );
    }

    #[test]
    fn public_key_serde_is_hex_and_checked() {
        let public = NodeKeypair::from_seed(seq_seed()).public();
        let text = public.to_string();
        let de: StrDeserializer<'_, ValueError> = text.as_str().into_deserializer();
        assert_eq!(PublicKey::deserialize(de).unwrap(), public);

        let identity = format!("01{}", "00".repeat(31));
        let de: StrDeserializer<'_, ValueError> = identity.as_str().into_deserializer();
        assert!(PublicKey::deserialize(de).is_err());
    }

    #[test]
    fn small_order_points_are_rejected() {
        // The identity (y = 1) and the order-2 point (y = -1).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        for bytes in [identity, minus_one] {
            assert!(VerifyingKey::from_bytes(&bytes).is_ok());
            assert_eq!(
                PublicKey::from_bytes(bytes),
                Err(KeyError::InvalidPublicKey)
            );
        }
    }

    #[test]
    fn off_curve_bytes_are_rejected() {
        // y = 2 has no x on the curve.
        let mut bytes = [0u8; 32];
        bytes[0] = 2;
        assert!(VerifyingKey::from_bytes(&bytes).is_err());
        assert_eq!(
            PublicKey::from_bytes(bytes),
            Err(KeyError::InvalidPublicKey)
        );
    }

    #[test]
    fn non_canonical_encodings_are_rejected() {
        // y + p encodes the same point as y when y + p < 2^255, i.e. y <= 18.
        // Find a small y that is a valid large-order point, then check that
        // its second encoding is refused.
        let mut checked = 0;
        for y in 2u8..=18 {
            let mut canonical = [0u8; 32];
            canonical[0] = y;
            if PublicKey::from_bytes(canonical).is_err() {
                continue;
            }
            // p = 2^255 - 19, so y + p = 2^255 - 19 + y, little-endian.
            let mut alias = [0xffu8; 32];
            alias[0] = 0xed + y;
            alias[31] = 0x7f;
            assert!(VerifyingKey::from_bytes(&alias).is_ok());
            assert_eq!(
                PublicKey::from_bytes(alias),
                Err(KeyError::InvalidPublicKey)
            );
            checked += 1;
        }
        assert!(
            checked > 0,
            "no small y was a valid point; pick another test"
        );
    }

    #[test]
    fn verify_rejects_other_message_and_other_key() {
        let key = NodeKeypair::from_seed(seq_seed());
        let sig = key.sign(b"message");
        assert_eq!(key.public().verify(b"message", &sig), Ok(()));
        assert_eq!(
            key.public().verify(b"messagf", &sig),
            Err(VerifyError::InvalidSignature)
        );
        let other = NodeKeypair::from_seed([7; 32]).public();
        assert_eq!(
            other.verify(b"message", &sig),
            Err(VerifyError::InvalidSignature)
        );
    }

    proptest! {
        #[test]
        fn every_generated_public_key_is_accepted(seed in any::<[u8; 32]>()) {
            let public = NodeKeypair::from_seed(seed).public();
            prop_assert_eq!(PublicKey::from_bytes(*public.as_bytes()), Ok(public));
            prop_assert_eq!(public.to_string().parse::<PublicKey>(), Ok(public));
        }

        #[test]
        fn from_bytes_never_panics(bytes in any::<[u8; 32]>()) {
            let _ = PublicKey::from_bytes(bytes);
        }
    }
}
