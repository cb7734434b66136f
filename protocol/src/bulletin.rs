//! Bulletins: a community's signed notices to the federation.
//!
//! A bulletin is the payload of a [`BULLETIN`](RecordKind::BULLETIN) record
//! in its origin's feed. Payload layout (canonical encoding, see
//! [`Encoder`]):
//!
//! ```text
//! version u8 (=1) | id u64 | title str (1..=200 bytes) | body str (0..=16384 bytes)
//! ```

use crate::canonical::{Decoder, Encoder};
use crate::envelope::{RecordKind, SignedRecord};
use crate::error::{DecodeError, EncodeError};
use crate::identity::NodeKeypair;

/// Version byte at the start of a bulletin payload.
pub const BULLETIN_PAYLOAD_VERSION: u8 = 1;
/// Longest bulletin title, in bytes of UTF-8.
pub const MAX_BULLETIN_TITLE_BYTES: usize = 200;
/// Longest bulletin body, in bytes of UTF-8 (16 KiB).
pub const MAX_BULLETIN_BODY_BYTES: usize = 16 * 1024;

/// A notice from one community to the federation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bulletin {
    /// The origin's own identifier for the bulletin, so later records can
    /// refer to it. Unique per origin is the origin's business; receivers
    /// do not check it.
    pub id: u64,
    /// Title, 1 to 200 bytes.
    pub title: String,
    /// Body text, 0 to 16384 bytes. Plain text; receivers must not
    /// interpret it as markup.
    pub body: String,
}

impl Bulletin {
    /// The canonical payload, starting with the version byte `1`. Does not
    /// check the limits; see [`try_sign`](Self::try_sign).
    pub fn encode(&self) -> Vec<u8> {
        Encoder::new()
            .u8(BULLETIN_PAYLOAD_VERSION)
            .u64(self.id)
            .str(&self.title)
            .str(&self.body)
            .finish()
    }

    /// Parses a payload strictly: version 1, title of 1 to 200 bytes, body
    /// of at most 16384 bytes, nothing after the last field.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = Decoder::new(payload);
        match dec.u8()? {
            BULLETIN_PAYLOAD_VERSION => {}
            other => return Err(DecodeError::UnsupportedVersion(other)),
        }
        let id = dec.u64()?;
        let title = dec.str(MAX_BULLETIN_TITLE_BYTES)?;
        if title.is_empty() {
            return Err(DecodeError::InvalidValue("empty bulletin title"));
        }
        let title = title.to_owned();
        let body = dec.str(MAX_BULLETIN_BODY_BYTES)?.to_owned();
        dec.finish()?;
        Ok(Self { id, title, body })
    }

    /// Signs the bulletin as a [`BULLETIN`](RecordKind::BULLETIN) record of
    /// `origin`'s feed with the given sequence number and timestamp.
    ///
    /// # Panics
    ///
    /// If [`try_sign`](Self::try_sign) fails: `seq` is 0 or the bulletin
    /// breaks a limit of [`decode`](Self::decode). Use `try_sign` for text
    /// from users.
    pub fn sign(&self, origin: &NodeKeypair, seq: u64, timestamp_ms: u64) -> SignedRecord {
        self.try_sign(origin, seq, timestamp_ms)
            .unwrap_or_else(|e| panic!("cannot sign bulletin: {e}"))
    }

    /// [`sign`](Self::sign), returning an error instead of panicking when
    /// `seq` is 0 or the bulletin would not decode.
    pub fn try_sign(
        &self,
        origin: &NodeKeypair,
        seq: u64,
        timestamp_ms: u64,
    ) -> Result<SignedRecord, EncodeError> {
        SignedRecord::sign_checked(
            origin,
            RecordKind::BULLETIN,
            seq,
            timestamp_ms,
            self.encode(),
            |payload| Self::decode(payload).map(|_| ()),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn origin() -> NodeKeypair {
        NodeKeypair::from_seed([3; 32])
    }

    #[test]
    fn layout_is_version_id_title_body() {
        let b = Bulletin {
            id: 0x0102,
            title: "Hi".to_owned(),
            body: "x".to_owned(),
        };
        assert_eq!(
            hex::encode(b.encode()),
            concat!(
                "01",               // version
                "0000000000000102", // id
                "00000002",         // title length
                "4869",             // "Hi"
                "00000001",         // body length
                "78",               // "x"
            )
        );
    }

    #[test]
    fn limits_are_enforced() {
        let mut b = Bulletin {
            id: 1,
            title: "t".repeat(MAX_BULLETIN_TITLE_BYTES),
            body: "b".repeat(MAX_BULLETIN_BODY_BYTES),
        };
        assert_eq!(Bulletin::decode(&b.encode()), Ok(b.clone()));
        let record = b.sign(&origin(), 3, 4);
        assert_eq!(record.kind(), RecordKind::BULLETIN);
        assert_eq!((record.seq(), record.timestamp_ms()), (3, 4));
        assert_eq!(record.verify(), Ok(()));

        b.body.push('b');
        assert!(matches!(
            Bulletin::decode(&b.encode()),
            Err(DecodeError::LengthOverLimit { .. })
        ));
        assert!(matches!(
            b.try_sign(&origin(), 1, 0),
            Err(EncodeError::InvalidPayload(_))
        ));
        b.body.clear();
        b.title.push('t');
        assert!(Bulletin::decode(&b.encode()).is_err());
        b.title.clear();
        assert!(matches!(
            Bulletin::decode(&b.encode()),
            Err(DecodeError::InvalidValue(_))
        ));
        b.title.push('t');
        assert_eq!(b.try_sign(&origin(), 0, 0), Err(EncodeError::ZeroSequence));
        let mut bytes = b.encode();
        bytes[0] = 0;
        assert_eq!(
            Bulletin::decode(&bytes),
            Err(DecodeError::UnsupportedVersion(0))
        );
    }

    #[test]
    #[should_panic(expected = "cannot sign bulletin")]
    fn sign_panics_on_empty_title() {
        let b = Bulletin {
            id: 1,
            title: String::new(),
            body: String::new(),
        };
        let _ = b.sign(&origin(), 1, 0);
    }

    prop_compose! {
        fn any_bulletin()(id in any::<u64>(), title in "\\PC{1,60}", body in "\\PC{0,300}") -> Bulletin {
            Bulletin { id, title, body }
        }
    }

    proptest! {
        #[test]
        fn round_trips(b in any_bulletin(), seq in 1..=u64::MAX, ts in any::<u64>()) {
            prop_assert_eq!(Bulletin::decode(&b.encode()), Ok(b.clone()));
            let record = b.sign(&origin(), seq, ts);
            let record = SignedRecord::decode(&record.encode()).unwrap();
            prop_assert_eq!(record.verify(), Ok(()));
            prop_assert_eq!(Bulletin::decode(record.payload()), Ok(b));
        }

        #[test]
        fn truncation_is_an_error(b in any_bulletin(), cut in any::<prop::sample::Index>()) {
            let bytes = b.encode();
            prop_assert!(Bulletin::decode(&bytes[..cut.index(bytes.len())]).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Bulletin::decode(&bytes);
        }

        #[test]
        fn valid_version_with_random_rest_never_panics(
            rest in proptest::collection::vec(any::<u8>(), 0..128),
        ) {
            let mut bytes = vec![BULLETIN_PAYLOAD_VERSION];
            bytes.extend_from_slice(&rest);
            let _ = Bulletin::decode(&bytes);
        }
    }
}
