//! Feed sync: the wire messages nodes exchange to catch up on each other's
//! records.
//!
//! Two transports carry records between nodes:
//!
//! - gossip: every message on the gossipsub topic [`GOSSIP_TOPIC`] is exactly
//!   one encoded [`SignedRecord`], nothing around it;
//! - sync: the request-response protocol [`SYNC_PROTOCOL`], whose request is
//!   a [`SyncRequest`] and whose response a [`SyncResponse`]. A node asks for
//!   [`Heads`](SyncRequest::Heads) to learn how far each origin's feed goes,
//!   then [`Fetch`](SyncRequest::Fetch)es what it is missing.
//!
//! Layouts (canonical encoding, see [`Encoder`]):
//!
//! ```text
//! SyncRequest:  version u8 (=1) | tag u8
//!   tag 0 Heads:   (nothing)
//!   tag 1 Fetch:   origin [32] | after u64 | limit u32 (1..=512)
//!   tag 2 Membership: (nothing)
//!   tag 3 Addresses: after [32]
//!   tag 4 MembershipAfter: after [66] (steward key [32] | kind u16 | SHA-256 of the record [32])
//! SyncResponse: version u8 (=1) | tag u8
//!   tag 0 Heads:   count u32 (<= 100000) | count x (origin [32] | head u64)
//!   tag 1 Records: count u32 (<= 512) | count x (len u32 (<= MAX_RECORD_BYTES) | record [len])
//!   tag 2 Refused: reason str (<= 1024 bytes)
//! ```
//!
//! A whole message is at most [`MAX_SYNC_MESSAGE_BYTES`]; decoders refuse
//! longer input before reading it.

use crate::canonical::{Decoder, Encoder};
use crate::envelope::{SignedRecord, MAX_RECORD_BYTES};
use crate::error::DecodeError;
use crate::identity::{PublicKey, PUBLIC_KEY_BYTES};

/// The request-response protocol name for feed sync.
pub const SYNC_PROTOCOL: &str = "/techhire/sync/1";
/// The gossipsub topic records are published on; each message is one
/// encoded [`SignedRecord`].
pub const GOSSIP_TOPIC: &str = "techhire/records/1";
/// Version byte at the start of every sync message.
pub const SYNC_VERSION: u8 = 1;
/// Most records one [`SyncRequest::Fetch`] may ask for, and one
/// [`SyncResponse::Records`] may carry.
pub const MAX_FETCH_RECORDS: u32 = 512;
/// Most entries in a [`SyncResponse::Heads`].
pub const MAX_HEADS: usize = 100_000;
/// Largest encoded sync message, request or response (16 MiB).
pub const MAX_SYNC_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Longest [`SyncResponse::Refused`] reason, in bytes of UTF-8.
pub const MAX_REFUSAL_BYTES: usize = 1024;

const TAG_HEADS: u8 = 0;
const TAG_FETCH: u8 = 1;
const TAG_MEMBERSHIP: u8 = 2;
const TAG_ADDRESSES: u8 = 3;
const TAG_MEMBERSHIP_AFTER: u8 = 4;
/// Bytes of a [`SyncRequest::MembershipAfter`] cursor: steward key, kind, SHA-256.
pub const MEMBERSHIP_CURSOR_BYTES: usize = PUBLIC_KEY_BYTES + 2 + 32;
const TAG_RECORDS: u8 = 1;
const TAG_REFUSED: u8 = 2;

/// A sync request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SyncRequest {
    /// "Which origins do you hold records of, and up to which seq?"
    Heads,
    /// "Send me `origin`'s records with seq greater than `after`, in seq
    /// order, at most `limit` of them." `limit` is 1 to
    /// [`MAX_FETCH_RECORDS`].
    Fetch {
        /// Whose feed.
        origin: PublicKey,
        /// The requester's head for that origin: only records with a
        /// greater seq are wanted. 0 asks from the start.
        after: u64,
        /// The most records to send, 1 to [`MAX_FETCH_RECORDS`].
        limit: u32,
    },
    /// "Send me every membership certificate and revocation you hold." Answered with
    /// [`SyncResponse::Records`], also to a peer that is not yet known as a member: a new
    /// member's own certificate reaches the federation this way. The records come in the
    /// order of their cursor (the signing steward's key, the kind as u16 big-endian, the
    /// SHA-256 of the encoded record), at most [`MAX_FETCH_RECORDS`]: a full answer means
    /// ask [`MembershipAfter`](Self::MembershipAfter) the last one's cursor for more.
    Membership,
    /// "Send me the latest addresses record of every member you hold, of origins whose
    /// key bytes are above `after`, in key order." Answered with [`SyncResponse::Records`]
    /// of at most [`MAX_FETCH_RECORDS`] [`ADDRESSES`](crate::RecordKind::ADDRESSES)
    /// records, to members only; a full answer means ask again after its last origin.
    /// `after` of all zeros asks from the start.
    Addresses {
        /// The last origin key (raw bytes) of the previous page.
        after: [u8; PUBLIC_KEY_BYTES],
    },
    /// The next page of [`Membership`](Self::Membership): records whose cursor is above
    /// `after`, in cursor order, at most [`MAX_FETCH_RECORDS`].
    MembershipAfter {
        /// The cursor of the last record of the previous page.
        after: [u8; MEMBERSHIP_CURSOR_BYTES],
    },
}

impl SyncRequest {
    /// The message's wire bytes. A `Fetch` with a `limit` outside 1 to
    /// [`MAX_FETCH_RECORDS`] encodes to bytes [`decode`](Self::decode)
    /// refuses.
    pub fn encode(&self) -> Vec<u8> {
        let enc = Encoder::new().u8(SYNC_VERSION);
        match self {
            Self::Heads => enc.u8(TAG_HEADS),
            Self::Fetch {
                origin,
                after,
                limit,
            } => enc.u8(TAG_FETCH).public_key(origin).u64(*after).u32(*limit),
            Self::Membership => enc.u8(TAG_MEMBERSHIP),
            Self::Addresses { after } => enc.u8(TAG_ADDRESSES).array(after),
            Self::MembershipAfter { after } => enc.u8(TAG_MEMBERSHIP_AFTER).array(after),
        }
        .finish()
    }

    /// Parses a request strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = message_decoder(bytes)?;
        let request = match dec.u8()? {
            TAG_HEADS => Self::Heads,
            TAG_FETCH => {
                let origin = dec.public_key()?;
                let after = dec.u64()?;
                let limit = dec.u32()?;
                if limit == 0 || limit > MAX_FETCH_RECORDS {
                    return Err(DecodeError::InvalidValue(
                        "fetch limit must be 1 to MAX_FETCH_RECORDS",
                    ));
                }
                Self::Fetch {
                    origin,
                    after,
                    limit,
                }
            }
            TAG_MEMBERSHIP => Self::Membership,
            TAG_ADDRESSES => Self::Addresses {
                after: dec.array()?,
            },
            TAG_MEMBERSHIP_AFTER => Self::MembershipAfter {
                after: dec.array()?,
            },
            _ => return Err(DecodeError::InvalidValue("unknown sync request tag")),
        };
        dec.finish()?;
        Ok(request)
    }
}

/// A sync response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncResponse {
    /// Answer to [`SyncRequest::Heads`]: for each origin the responder holds
    /// records of, the highest seq it holds. At most [`MAX_HEADS`] entries;
    /// order carries no meaning.
    Heads(Vec<(PublicKey, u64)>),
    /// Answer to [`SyncRequest::Fetch`]: records of the requested origin
    /// with seq above `after`, in increasing seq order, at most `limit` (and
    /// [`MAX_FETCH_RECORDS`]), fewer if the message would otherwise exceed
    /// [`MAX_SYNC_MESSAGE_BYTES`]. Empty if the responder has none.
    Records(Vec<SignedRecord>),
    /// The responder will not answer, with a reason for logs (at most
    /// [`MAX_REFUSAL_BYTES`]), for instance because it is rate limiting or
    /// the requester is not a member.
    Refused(String),
}

impl SyncResponse {
    /// The message's wire bytes. A response over the limits (too many
    /// heads or records, too long a reason, over
    /// [`MAX_SYNC_MESSAGE_BYTES`]) encodes to bytes
    /// [`decode`](Self::decode) refuses; [`encoded_len`](Self::encoded_len)
    /// tells the size without encoding.
    pub fn encode(&self) -> Vec<u8> {
        let enc = Encoder::with_capacity(self.encoded_len()).u8(SYNC_VERSION);
        match self {
            Self::Heads(heads) => enc
                .u8(TAG_HEADS)
                .list(heads, |e, (origin, head)| e.public_key(origin).u64(*head)),
            Self::Records(records) => enc
                .u8(TAG_RECORDS)
                .list(records, |e, record| e.bytes(&record.encode())),
            Self::Refused(reason) => enc.u8(TAG_REFUSED).str(reason),
        }
        .finish()
    }

    /// Length of [`encode`](Self::encode)'s output, so a responder can stop
    /// adding records before reaching [`MAX_SYNC_MESSAGE_BYTES`].
    pub fn encoded_len(&self) -> usize {
        2 + match self {
            Self::Heads(heads) => 4 + heads.len() * (PUBLIC_KEY_BYTES + 8),
            Self::Records(records) => {
                4 + records.iter().map(|r| 4 + r.encoded_len()).sum::<usize>()
            }
            Self::Refused(reason) => 4 + reason.len(),
        }
    }

    /// Parses a response strictly, including every record in it (their
    /// signatures are not checked).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = message_decoder(bytes)?;
        let response = match dec.u8()? {
            TAG_HEADS => Self::Heads(dec.list(MAX_HEADS, |d| Ok((d.public_key()?, d.u64()?)))?),
            TAG_RECORDS => Self::Records(dec.list(MAX_FETCH_RECORDS as usize, |d| {
                SignedRecord::decode(d.bytes(MAX_RECORD_BYTES)?)
            })?),
            TAG_REFUSED => Self::Refused(dec.str(MAX_REFUSAL_BYTES)?.to_owned()),
            _ => return Err(DecodeError::InvalidValue("unknown sync response tag")),
        };
        dec.finish()?;
        Ok(response)
    }
}

/// Checks the overall size and the version byte; the decoder is left at the
/// tag.
fn message_decoder(bytes: &[u8]) -> Result<Decoder<'_>, DecodeError> {
    if bytes.len() > MAX_SYNC_MESSAGE_BYTES {
        return Err(DecodeError::LengthOverLimit {
            len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
            limit: MAX_SYNC_MESSAGE_BYTES,
        });
    }
    let mut dec = Decoder::new(bytes);
    match dec.u8()? {
        SYNC_VERSION => Ok(dec),
        other => Err(DecodeError::UnsupportedVersion(other)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::envelope::{RecordKind, MAX_PAYLOAD_BYTES};
    use crate::identity::NodeKeypair;
    use proptest::prelude::*;

    fn key(n: u8) -> PublicKey {
        NodeKeypair::from_seed([n; 32]).public()
    }

    fn record(seq: u64, payload: Vec<u8>) -> SignedRecord {
        SignedRecord::sign(
            &NodeKeypair::from_seed([1; 32]),
            RecordKind::BULLETIN,
            seq,
            seq * 10,
            payload,
        )
        .unwrap()
    }

    #[test]
    fn layouts() {
        assert_eq!(SyncRequest::Heads.encode(), [1, 0]);
        assert_eq!(SyncRequest::Membership.encode(), [1, 2]);
        let addresses = SyncRequest::Addresses { after: [7; 32] }.encode();
        assert_eq!((addresses.len(), &addresses[..3]), (34, &[1, 3, 7][..]));
        let fetch = SyncRequest::Fetch {
            origin: key(1),
            after: 7,
            limit: 512,
        }
        .encode();
        assert_eq!(fetch.len(), 2 + 32 + 8 + 4);
        assert_eq!(&fetch[..2], [1, 1]);
        assert_eq!(&fetch[2..34], key(1).as_bytes());
        assert_eq!(&fetch[34..], [0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 2, 0]);

        let heads = SyncResponse::Heads(vec![(key(2), 3)]).encode();
        assert_eq!(&heads[..6], [1, 0, 0, 0, 0, 1]);
        assert_eq!(&heads[6..38], key(2).as_bytes());
        assert_eq!(&heads[38..], [0, 0, 0, 0, 0, 0, 0, 3]);

        let r = record(1, b"x".to_vec());
        let records = SyncResponse::Records(vec![r.clone()]).encode();
        assert_eq!(&records[..6], [1, 1, 0, 0, 0, 1]);
        let len = u32::try_from(r.encoded_len()).unwrap().to_be_bytes();
        assert_eq!(&records[6..10], len);
        assert_eq!(&records[10..], r.encode());

        assert_eq!(
            SyncResponse::Refused("no".to_owned()).encode(),
            [1, 2, 0, 0, 0, 2, b'n', b'o']
        );
    }

    #[test]
    fn fetch_limit_must_be_1_to_max() {
        for (limit, ok) in [
            (0, false),
            (1, true),
            (MAX_FETCH_RECORDS, true),
            (MAX_FETCH_RECORDS + 1, false),
        ] {
            let req = SyncRequest::Fetch {
                origin: key(1),
                after: 0,
                limit,
            };
            assert_eq!(SyncRequest::decode(&req.encode()).is_ok(), ok, "{limit}");
        }
    }

    #[test]
    fn counts_over_limits_are_refused_before_reading() {
        let mut heads = vec![1, 0];
        heads.extend_from_slice(&u32::try_from(MAX_HEADS + 1).unwrap().to_be_bytes());
        assert!(matches!(
            SyncResponse::decode(&heads),
            Err(DecodeError::LengthOverLimit { .. })
        ));
        let mut records = vec![1, 1];
        records.extend_from_slice(&(MAX_FETCH_RECORDS + 1).to_be_bytes());
        assert!(matches!(
            SyncResponse::decode(&records),
            Err(DecodeError::LengthOverLimit { .. })
        ));
        let mut huge_record = vec![1, 1, 0, 0, 0, 1];
        huge_record.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            SyncResponse::decode(&huge_record),
            Err(DecodeError::LengthOverLimit { .. })
        ));
        let too_many = SyncResponse::Records(
            (1..=u64::from(MAX_FETCH_RECORDS) + 1)
                .map(|s| record(s, vec![]))
                .collect(),
        );
        assert!(SyncResponse::decode(&too_many.encode()).is_err());
        let refusal = SyncResponse::Refused("r".repeat(MAX_REFUSAL_BYTES + 1));
        assert!(SyncResponse::decode(&refusal.encode()).is_err());
    }

    #[test]
    fn whole_message_size_is_bounded() {
        // 64 maximal records are just over 16 MiB.
        let big = record(1, vec![7; MAX_PAYLOAD_BYTES]);
        let fits = (MAX_SYNC_MESSAGE_BYTES - 6) / (4 + big.encoded_len());
        let response = SyncResponse::Records(vec![big.clone(); fits]);
        assert!(response.encoded_len() <= MAX_SYNC_MESSAGE_BYTES);
        assert_eq!(response.encode().len(), response.encoded_len());
        assert_eq!(SyncResponse::decode(&response.encode()).unwrap(), response);

        let over = SyncResponse::Records(vec![big; fits + 1]);
        assert!(over.encoded_len() > MAX_SYNC_MESSAGE_BYTES);
        assert!(matches!(
            SyncResponse::decode(&over.encode()),
            Err(DecodeError::LengthOverLimit { .. })
        ));
        let mut padded = SyncRequest::Heads.encode();
        padded.resize(MAX_SYNC_MESSAGE_BYTES + 1, 0);
        assert!(matches!(
            SyncRequest::decode(&padded),
            Err(DecodeError::LengthOverLimit { .. })
        ));
    }

    #[test]
    fn version_tag_and_trailing_bytes_are_checked() {
        assert_eq!(
            SyncRequest::decode(&[2, 0]),
            Err(DecodeError::UnsupportedVersion(2))
        );
        assert_eq!(
            SyncResponse::decode(&[0, 0, 0, 0, 0, 0]),
            Err(DecodeError::UnsupportedVersion(0))
        );
        assert!(matches!(
            SyncRequest::decode(&[1, 5]),
            Err(DecodeError::InvalidValue(_))
        ));
        // A tag that takes a cursor, without it.
        assert!(matches!(
            SyncRequest::decode(&[1, 3]),
            Err(DecodeError::UnexpectedEnd)
        ));
        assert!(matches!(
            SyncResponse::decode(&[1, 3]),
            Err(DecodeError::InvalidValue(_))
        ));
        assert_eq!(
            SyncRequest::decode(&[1, 0, 0]),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
        assert_eq!(SyncRequest::decode(&[]), Err(DecodeError::UnexpectedEnd));
        assert_eq!(SyncResponse::decode(&[1]), Err(DecodeError::UnexpectedEnd));
    }

    #[test]
    fn a_bad_record_spoils_the_response() {
        let mut bytes = SyncResponse::Records(vec![record(1, vec![])]).encode();
        // The record's own version byte.
        bytes[10] = 9;
        assert_eq!(
            SyncResponse::decode(&bytes),
            Err(DecodeError::UnsupportedVersion(9))
        );
    }

    #[test]
    fn names() {
        assert_eq!(SYNC_PROTOCOL, "/techhire/sync/1");
        assert_eq!(GOSSIP_TOPIC, "techhire/records/1");
    }

    fn any_key() -> impl Strategy<Value = PublicKey> {
        any::<[u8; 32]>().prop_map(|seed| NodeKeypair::from_seed(seed).public())
    }

    fn any_request() -> impl Strategy<Value = SyncRequest> {
        prop_oneof![
            Just(SyncRequest::Heads),
            Just(SyncRequest::Membership),
            any::<[u8; PUBLIC_KEY_BYTES]>().prop_map(|after| SyncRequest::Addresses { after }),
            proptest::collection::vec(any::<u8>(), MEMBERSHIP_CURSOR_BYTES).prop_map(|v| {
                let mut after = [0u8; MEMBERSHIP_CURSOR_BYTES];
                after.copy_from_slice(&v);
                SyncRequest::MembershipAfter { after }
            }),
            (any_key(), any::<u64>(), 1..=MAX_FETCH_RECORDS).prop_map(|(origin, after, limit)| {
                SyncRequest::Fetch {
                    origin,
                    after,
                    limit,
                }
            }),
        ]
    }

    fn any_record() -> impl Strategy<Value = SignedRecord> {
        (
            any::<u8>(),
            any::<u16>(),
            1..=u64::MAX,
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(|(seed, kind, seq, ts, payload)| {
                SignedRecord::sign(
                    &NodeKeypair::from_seed([seed; 32]),
                    RecordKind(kind),
                    seq,
                    ts,
                    payload,
                )
                .unwrap()
            })
    }

    fn any_response() -> impl Strategy<Value = SyncResponse> {
        prop_oneof![
            proptest::collection::vec((any_key(), any::<u64>()), 0..20)
                .prop_map(SyncResponse::Heads),
            proptest::collection::vec(any_record(), 0..8).prop_map(SyncResponse::Records),
            "\\PC{0,100}".prop_map(SyncResponse::Refused),
        ]
    }

    proptest! {
        #[test]
        fn requests_round_trip(req in any_request()) {
            prop_assert_eq!(SyncRequest::decode(&req.encode()), Ok(req));
        }

        #[test]
        fn responses_round_trip(resp in any_response()) {
            let bytes = resp.encode();
            prop_assert_eq!(bytes.len(), resp.encoded_len());
            prop_assert_eq!(SyncResponse::decode(&bytes), Ok(resp));
        }

        #[test]
        fn truncation_is_an_error(
            req in any_request(),
            resp in any_response(),
            cut in any::<prop::sample::Index>(),
        ) {
            let bytes = req.encode();
            prop_assert!(SyncRequest::decode(&bytes[..cut.index(bytes.len())]).is_err());
            let bytes = resp.encode();
            prop_assert!(SyncResponse::decode(&bytes[..cut.index(bytes.len())]).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = SyncRequest::decode(&bytes);
            let _ = SyncResponse::decode(&bytes);
        }

        #[test]
        fn valid_header_with_random_rest_never_panics(
            tag in 0u8..4,
            rest in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let mut bytes = vec![SYNC_VERSION, tag];
            bytes.extend_from_slice(&rest);
            let _ = SyncRequest::decode(&bytes);
            let _ = SyncResponse::decode(&bytes);
        }

        #[test]
        fn mutated_messages_never_panic(
            resp in any_response(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let mut bytes = resp.encode();
            let at = at.index(bytes.len());
            bytes[at] = byte;
            let _ = SyncResponse::decode(&bytes);
        }
    }
}
