//! Member addresses: how members find each other without a full mesh in their configs.
//!
//! Each member signs an [`ADDRESSES`](RecordKind::ADDRESSES) record naming where it can be
//! dialled (its listen addresses, its confirmed external addresses, relayed addresses
//! through other members) and whether it is publicly reachable (so that members behind a
//! NAT know whom to ask for a relay). The record is not in a feed: a member holds only the
//! latest of each origin (the highest `seq`; a lower or equal one is a replay), and hands
//! them all to any member that asks with [`SyncRequest::Addresses`](crate::SyncRequest).
//! Signed by the origin itself, a record cannot be forged by the member that relays it;
//! an address in it is still only a hint (the transport authenticates the peer).
//!
//! Payload layout (canonical encoding, see [`Encoder`]):
//!
//! ```text
//! version u8 (=1) | flags u8 | count u32 (0..=16) | count x addr str (1..=256 bytes)
//! flags: bit 0 = reachable (the origin accepts connections from the public network and
//!        serves relay reservations to members); other bits 0
//! addr:  a multiaddr in its text form, e.g. "/ip4/203.0.113.5/tcp/7070" or
//!        "/ip4/203.0.113.5/tcp/7070/p2p/12D3.../p2p-circuit"; without the origin's own
//!        "/p2p/<id>" suffix
//! ```

use crate::canonical::{Decoder, Encoder};
use crate::envelope::{RecordKind, SignedRecord};
use crate::error::{DecodeError, EncodeError};
use crate::identity::NodeKeypair;

/// Version byte at the start of an addresses payload.
pub const ADDRESSES_PAYLOAD_VERSION: u8 = 1;
/// Most addresses in one record.
pub const MAX_ADDRESSES: usize = 16;
/// Longest address, in bytes of UTF-8.
pub const MAX_ADDRESS_BYTES: usize = 256;
const FLAG_REACHABLE: u8 = 1;

/// Where a member can be dialled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberAddresses {
    /// The member says it is publicly reachable and serves relay reservations.
    pub reachable: bool,
    /// Multiaddrs in text form, at most [`MAX_ADDRESSES`], each 1 to
    /// [`MAX_ADDRESS_BYTES`] bytes. Receivers ignore those they cannot parse.
    pub addresses: Vec<String>,
}

impl MemberAddresses {
    /// The canonical payload. Does not check the limits; see [`try_sign`](Self::try_sign).
    pub fn encode(&self) -> Vec<u8> {
        let flags = if self.reachable { FLAG_REACHABLE } else { 0 };
        Encoder::new()
            .u8(ADDRESSES_PAYLOAD_VERSION)
            .u8(flags)
            .list(&self.addresses, |e, a| e.str(a))
            .finish()
    }

    /// Parses a payload strictly: version 1, only known flags, at most 16 addresses of 1
    /// to 256 bytes, nothing after the last.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = Decoder::new(payload);
        match dec.u8()? {
            ADDRESSES_PAYLOAD_VERSION => {}
            other => return Err(DecodeError::UnsupportedVersion(other)),
        }
        let flags = dec.u8()?;
        if flags & !FLAG_REACHABLE != 0 {
            return Err(DecodeError::InvalidValue("unknown address flags"));
        }
        let addresses = dec.list(MAX_ADDRESSES, |d| {
            let a = d.str(MAX_ADDRESS_BYTES)?;
            if a.is_empty() {
                return Err(DecodeError::InvalidValue("empty address"));
            }
            Ok(a.to_owned())
        })?;
        dec.finish()?;
        Ok(Self {
            reachable: flags & FLAG_REACHABLE != 0,
            addresses,
        })
    }

    /// Signs the addresses as an [`ADDRESSES`](RecordKind::ADDRESSES) record of `origin`.
    /// `seq` must grow with every new record of the origin (nodes use the time in
    /// milliseconds, or one more than the last if the clock went back).
    pub fn try_sign(
        &self,
        origin: &NodeKeypair,
        seq: u64,
        timestamp_ms: u64,
    ) -> Result<SignedRecord, EncodeError> {
        SignedRecord::sign_checked(
            origin,
            RecordKind::ADDRESSES,
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

    #[test]
    fn layout_is_version_flags_addresses() {
        let a = MemberAddresses {
            reachable: true,
            addresses: vec!["/a".into()],
        };
        assert_eq!(
            hex::encode(a.encode()),
            concat!("01", "01", "00000001", "00000002", "2f61")
        );
        assert_eq!(MemberAddresses::decode(&a.encode()), Ok(a));
    }

    #[test]
    fn limits_and_flags_are_enforced() {
        let key = NodeKeypair::from_seed([4; 32]);
        let mut a = MemberAddresses {
            reachable: false,
            addresses: vec!["x".repeat(MAX_ADDRESS_BYTES); MAX_ADDRESSES],
        };
        let record = a.try_sign(&key, 7, 8).unwrap();
        assert_eq!(record.kind(), RecordKind::ADDRESSES);
        assert_eq!(record.verify(), Ok(()));
        a.addresses.push("y".into());
        assert!(a.try_sign(&key, 8, 8).is_err(), "17 addresses");
        a.addresses = vec![String::new()];
        assert!(
            MemberAddresses::decode(&a.encode()).is_err(),
            "empty address"
        );
        let mut bytes = MemberAddresses {
            reachable: false,
            addresses: vec![],
        }
        .encode();
        bytes[1] = 2;
        assert!(MemberAddresses::decode(&bytes).is_err(), "unknown flag");
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = MemberAddresses::decode(&bytes);
        }
    }
}
