//! The federation: the stewards' membership records, every origin's feed of signed records,
//! and the libp2p node that exchanges them (gossip for what is new, sync for what was
//! missed). The wire format and the acceptance rules are in `docs/protocol.md`; the pure
//! parts (encoding, signatures, membership state, rules) are in `techhire-protocol`.

mod codec;
pub mod direct;
mod discovery;
pub mod feed;
mod network;

pub use feed::{heads, membership_records};
// For the operator side (`techhire federation admit|join`, the bulletins routes).
pub use feed::{fetch, keep_membership};
pub use network::{
    now_ms, peer_id_of, verify_parallel, Federation, FederationConfig, FederationError, FeedView,
    MemberView, OnStored, Status, StoredListener, ADMISSION_DEADLINE, BAN, INVALID_WINDOW,
    MAX_INVALID,
};
