//! Pseudonymous candidate ids for blind search results.
//!
//! An employer never sees a candidate's local id: it sees `c-` and 16 hex digits, a keyed
//! permutation of the id *for that employer*. The same candidate has a different pseudonym
//! for every employer, so two employers cannot line up what they were shown, and no
//! pseudonym can be guessed or walked (`c-…01`, `c-…02`) without the node's secret key.
//! The node turns a pseudonym back into the id when the employer asks for an introduction.
//!
//! The permutation is a four-round Feistel network over the id's two 32-bit halves whose
//! round function is SHA-256 of the key, the audience, the round and the half (Luby and
//! Rackoff: four rounds of a pseudorandom function give a strong pseudorandom permutation).
//! Pseudonyms are derived from the id and a random key only, never from personal data.
//!
//! The key is 32 random bytes in the store's metadata, made on first start; losing it
//! (a new data folder) changes every pseudonym, which only matters to introduction requests
//! in flight.

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::store::{Store, StoreError};

/// The metadata entry holding the key, as hex.
const KEY_META: &str = "pseudonym_key";
const PREFIX: &str = "c-";
const ROUNDS: u8 = 4;

/// Who a pseudonym is made for: an employer, or the operator's own view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Operator,
    Employer(u64),
}

impl Audience {
    fn tweak(self) -> [u8; 9] {
        let (kind, id) = match self {
            Audience::Operator => (0u8, 0u64),
            Audience::Employer(id) => (1u8, id),
        };
        let mut out = [0u8; 9];
        out[0] = kind;
        out[1..].copy_from_slice(&id.to_be_bytes());
        out
    }
}

/// Makes and reads pseudonyms with this node's key.
#[derive(Clone)]
pub struct Pseudonyms {
    key: [u8; 32],
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonyms { key: <secret> }")
    }
}

impl Pseudonyms {
    /// A codec with a given key (tests, benchmarks).
    pub fn with_key(key: [u8; 32]) -> Pseudonyms {
        Pseudonyms { key }
    }

    /// The node's codec: the key in the store, made and flushed on first use.
    pub fn load_or_create(store: &Store) -> Result<Pseudonyms, StoreError> {
        let key = store.apply(|tx| {
            if let Some(hex_key) = tx.get_meta::<String>(KEY_META)? {
                return decode_key(&hex_key);
            }
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            tx.put_meta(KEY_META, &hex::encode(key))?;
            Ok(key)
        })?;
        store.flush()?;
        Ok(Pseudonyms { key })
    }

    /// The pseudonym of candidate `id` for `audience`.
    pub fn encode(&self, audience: Audience, id: u64) -> String {
        let tweak = audience.tweak();
        let (mut left, mut right) = ((id >> 32) as u32, id as u32);
        for round in 0..ROUNDS {
            let next = left ^ self.round(&tweak, round, right);
            left = right;
            right = next;
        }
        format!(
            "{PREFIX}{:016x}",
            (u64::from(left) << 32) | u64::from(right)
        )
    }

    /// The candidate id behind `pseudonym` for `audience`, or `None` if it is not one of
    /// this node's pseudonyms' shape. A well-formed pseudonym made for another audience
    /// decodes to some other number, which the caller will not find as a candidate (or
    /// finds as an unrelated one: callers must therefore only decode pseudonyms for the
    /// audience that holds them, which the API does by using the caller's own audience).
    pub fn decode(&self, audience: Audience, pseudonym: &str) -> Option<u64> {
        let hex_part = pseudonym.strip_prefix(PREFIX)?;
        if hex_part.len() != 16 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let value = u64::from_str_radix(hex_part, 16).ok()?;
        let tweak = audience.tweak();
        let (mut left, mut right) = ((value >> 32) as u32, value as u32);
        for round in (0..ROUNDS).rev() {
            let prev = right ^ self.round(&tweak, round, left);
            right = left;
            left = prev;
        }
        Some((u64::from(left) << 32) | u64::from(right))
    }

    fn round(&self, tweak: &[u8; 9], round: u8, half: u32) -> u32 {
        let digest = Sha256::new()
            .chain_update(b"techhire/pseudonym/v1\0")
            .chain_update(self.key)
            .chain_update(tweak)
            .chain_update([round])
            .chain_update(half.to_be_bytes())
            .finalize();
        u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
    }
}

fn decode_key(hex_key: &str) -> Result<[u8; 32], StoreError> {
    hex::decode(hex_key)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| StoreError::Corrupt {
            key: KEY_META.into(),
            reason: "the pseudonym key is not 32 bytes of hex".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn codec() -> Pseudonyms {
        Pseudonyms::with_key([7; 32])
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(id: u64, employer: u64) {
            let p = codec();
            for audience in [Audience::Operator, Audience::Employer(employer)] {
                let s = p.encode(audience, id);
                prop_assert_eq!(s.len(), 18);
                prop_assert_eq!(p.decode(audience, &s), Some(id));
            }
        }
    }

    #[test]
    fn audiences_and_keys_see_different_pseudonyms() {
        let p = codec();
        let a = p.encode(Audience::Employer(1), 42);
        let b = p.encode(Audience::Employer(2), 42);
        assert_ne!(a, b);
        assert_ne!(
            a,
            Pseudonyms::with_key([8; 32]).encode(Audience::Employer(1), 42)
        );
        // Consecutive ids do not give consecutive pseudonyms.
        let next = p.encode(Audience::Employer(1), 43);
        assert_ne!(a[..12], next[..12]);
    }

    #[test]
    fn malformed_pseudonyms_decode_to_nothing() {
        let p = codec();
        for bad in [
            "",
            "c-",
            "c-123",
            "x-0000000000000001",
            "c-000000000000000g",
        ] {
            assert_eq!(p.decode(Audience::Operator, bad), None, "{bad}");
        }
    }

    #[test]
    fn the_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = crate::store::StoreOptions::default();
        let first = {
            let store = Store::open(dir.path(), &opts).expect("open");
            Pseudonyms::load_or_create(&store)
                .expect("key")
                .encode(Audience::Employer(3), 9)
        };
        // sled's threads let go of the folder's lock a moment after the store is dropped.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let store = loop {
            match Store::open(dir.path(), &opts) {
                Ok(store) => break store,
                Err(e)
                    if std::time::Instant::now() < deadline && e.to_string().contains("lock") =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => panic!("reopen: {e}"),
            }
        };
        let again = Pseudonyms::load_or_create(&store).expect("key");
        assert_eq!(again.encode(Audience::Employer(3), 9), first);
    }
}
