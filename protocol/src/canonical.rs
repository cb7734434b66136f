//! The canonical byte encoding that every signed structure is written in.
//!
//! Signatures are made over bytes, so two implementations must produce the
//! same bytes for the same value, and a decoder must accept exactly one byte
//! string per value. The rules are deliberately few:
//!
//! - integers are fixed width, big-endian (`i64` is two's complement);
//! - fixed-size byte arrays (keys, signatures) are written raw;
//! - variable-length bytes and strings are a `u32` big-endian length followed
//!   by that many bytes; strings must be UTF-8;
//! - `bool` is one byte, `0` or `1`;
//! - `Option<T>` is a tag byte, `0` for `None` or `1` followed by `T`;
//! - a list is a `u32` big-endian item count followed by the items;
//! - nothing may follow the last field.
//!
//! The [`Decoder`] enforces all of it and never panics on any input: peer
//! bytes are untrusted.

use crate::error::DecodeError;

/// Builds a canonical byte string field by field.
///
/// Methods take and return `self` so that a whole structure reads as one
/// chain:
///
/// ```
/// use techhire_protocol::Encoder;
///
/// let bytes = Encoder::new().u8(1).str("rust").option(Some(7u64), Encoder::u64).finish();
/// assert_eq!(bytes, [1, 0, 0, 0, 4, b'r', b'u', b's', b't', 1, 0, 0, 0, 0, 0, 0, 0, 7]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// An empty encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty encoder that will not reallocate before `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Appends one byte.
    pub fn u8(mut self, value: u8) -> Self {
        self.buf.push(value);
        self
    }

    /// Appends a `u16`, big-endian.
    pub fn u16(mut self, value: u16) -> Self {
        self.buf.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Appends a `u32`, big-endian.
    pub fn u32(mut self, value: u32) -> Self {
        self.buf.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Appends a `u64`, big-endian.
    pub fn u64(mut self, value: u64) -> Self {
        self.buf.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Appends an `i64`, two's complement big-endian.
    pub fn i64(mut self, value: i64) -> Self {
        self.buf.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Appends a `bool` as one byte, `0` or `1`.
    pub fn bool(self, value: bool) -> Self {
        self.u8(u8::from(value))
    }

    /// Appends bytes whose length is fixed by the format (a key, a
    /// signature), without a length prefix.
    pub fn array(mut self, bytes: &[u8]) -> Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Appends variable-length bytes: a `u32` big-endian length, then the
    /// bytes.
    ///
    /// # Panics
    ///
    /// If `bytes` is longer than `u32::MAX`. Every format in this crate
    /// limits its fields far below that, and callers check those limits
    /// before encoding.
    pub fn bytes(self, bytes: &[u8]) -> Self {
        self.length(bytes.len()).array(bytes)
    }

    /// Appends a string: a `u32` big-endian byte length, then its UTF-8
    /// bytes.
    ///
    /// # Panics
    ///
    /// If the string is longer than `u32::MAX` bytes, as for
    /// [`bytes`](Self::bytes).
    pub fn str(self, value: &str) -> Self {
        self.bytes(value.as_bytes())
    }

    /// Appends an `Option`: tag byte `0` for `None`, or `1` followed by
    /// whatever `encode` appends for the value.
    pub fn option<T>(self, value: Option<T>, encode: impl FnOnce(Self, T) -> Self) -> Self {
        match value {
            None => self.u8(0),
            Some(inner) => encode(self.u8(1), inner),
        }
    }

    /// Appends a list: a `u32` big-endian item count, then each item as
    /// `encode` appends it.
    ///
    /// # Panics
    ///
    /// If there are more than `u32::MAX` items, as for
    /// [`bytes`](Self::bytes).
    pub fn list<I>(self, items: I, mut encode: impl FnMut(Self, I::Item) -> Self) -> Self
    where
        I: IntoIterator,
        I::IntoIter: ExactSizeIterator,
    {
        let items = items.into_iter();
        let mut enc = self.length(items.len());
        for item in items {
            enc = encode(enc, item);
        }
        enc
    }

    /// Number of bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    fn length(self, len: usize) -> Self {
        // A length that does not fit the u32 prefix cannot be represented at
        // all; silently truncating it would produce bytes that decode to a
        // different value, which is worse than stopping.
        let Ok(len) = u32::try_from(len) else {
            panic!("canonical length {len} does not fit in a u32 prefix");
        };
        self.u32(len)
    }
}

/// Reads a canonical byte string field by field, strictly.
///
/// Every read fails with [`DecodeError`] instead of panicking, and
/// [`finish`](Self::finish) fails if bytes are left over, so a structure's
/// decoder is its field reads followed by `finish()?`:
///
/// ```
/// use techhire_protocol::{DecodeError, Decoder};
///
/// fn decode(bytes: &[u8]) -> Result<(u8, String), DecodeError> {
///     let mut dec = Decoder::new(bytes);
///     let version = dec.u8()?;
///     let name = dec.str(64)?.to_owned();
///     dec.finish()?;
///     Ok((version, name))
/// }
///
/// assert_eq!(decode(&[1, 0, 0, 0, 2, b'o', b'k']), Ok((1, "ok".to_owned())));
/// assert_eq!(decode(&[1, 0, 0, 0, 2, b'o', b'k', 0]), Err(DecodeError::TrailingBytes { count: 1 }));
/// ```
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    rest: &'a [u8],
}

impl<'a> Decoder<'a> {
    /// A decoder positioned at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    /// Reads a big-endian `u16`.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        self.array().map(u16::from_be_bytes)
    }

    /// Reads a big-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        self.array().map(u32::from_be_bytes)
    }

    /// Reads a big-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        self.array().map(u64::from_be_bytes)
    }

    /// Reads a two's complement big-endian `i64`.
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        self.array().map(i64::from_be_bytes)
    }

    /// Reads a `bool`; any byte other than `0` or `1` is an error, so that
    /// each value has exactly one encoding.
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidValue("bool must be 0 or 1")),
        }
    }

    /// Reads `N` raw bytes whose length is fixed by the format.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, tail) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(DecodeError::UnexpectedEnd)?;
        self.rest = tail;
        Ok(*head)
    }

    /// Reads length-prefixed bytes, refusing a length above `limit` before
    /// looking at the bytes themselves.
    pub fn bytes(&mut self, limit: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.length(limit)?;
        if self.rest.len() < len {
            return Err(DecodeError::UnexpectedEnd);
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    /// Reads a length-prefixed UTF-8 string of at most `limit` bytes.
    pub fn str(&mut self, limit: usize) -> Result<&'a str, DecodeError> {
        let bytes = self.bytes(limit)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)
    }

    /// Reads an `Option`: tag `0` is `None`, tag `1` is followed by a value
    /// read with `decode`, any other tag is an error.
    pub fn option<T>(
        &mut self,
        decode: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => decode(self).map(Some),
            tag => Err(DecodeError::InvalidOptionTag(tag)),
        }
    }

    /// Reads a list of at most `limit` items, each read with `decode`.
    pub fn list<T>(
        &mut self,
        limit: usize,
        mut decode: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let count = self.length(limit)?;
        // The count comes from the peer: reserve no more than the input could
        // possibly hold so a forged count cannot make us allocate.
        let mut items = Vec::with_capacity(count.min(self.rest.len()));
        for _ in 0..count {
            items.push(decode(self)?);
        }
        Ok(items)
    }

    /// Number of bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Ends decoding; fails if any bytes were not read, because a value has
    /// exactly one encoding and extra bytes would be a second one.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                count: self.rest.len(),
            })
        }
    }

    fn length(&mut self, limit: usize) -> Result<usize, DecodeError> {
        let len = self.u32()?;
        match usize::try_from(len) {
            Ok(n) if n <= limit => Ok(n),
            _ => Err(DecodeError::LengthOverLimit { len, limit }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Sample {
        a: u8,
        b: u16,
        c: u32,
        d: u64,
        e: i64,
        f: bool,
        key: [u8; 32],
        blob: Vec<u8>,
        name: String,
        nick: Option<String>,
        tags: Vec<u16>,
    }

    fn encode(s: &Sample) -> Vec<u8> {
        Encoder::new()
            .u8(s.a)
            .u16(s.b)
            .u32(s.c)
            .u64(s.d)
            .i64(s.e)
            .bool(s.f)
            .array(&s.key)
            .bytes(&s.blob)
            .str(&s.name)
            .option(s.nick.as_deref(), Encoder::str)
            .list(&s.tags, |e, t| e.u16(*t))
            .finish()
    }

    fn decode(bytes: &[u8]) -> Result<Sample, DecodeError> {
        let mut d = Decoder::new(bytes);
        let s = Sample {
            a: d.u8()?,
            b: d.u16()?,
            c: d.u32()?,
            d: d.u64()?,
            e: d.i64()?,
            f: d.bool()?,
            key: d.array()?,
            blob: d.bytes(1024)?.to_vec(),
            name: d.str(1024)?.to_owned(),
            nick: d.option(|d| d.str(64).map(str::to_owned))?,
            tags: d.list(64, Decoder::u16)?,
        };
        d.finish()?;
        Ok(s)
    }

    fn sample() -> impl Strategy<Value = Sample> {
        (
            (
                any::<u8>(),
                any::<u16>(),
                any::<u32>(),
                any::<u64>(),
                any::<i64>(),
                any::<bool>(),
            ),
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<u8>(), 0..256),
            ".{0,40}",
            proptest::option::of(".{0,10}"),
            proptest::collection::vec(any::<u16>(), 0..20),
        )
            .prop_map(|((a, b, c, d, e, f), key, blob, name, nick, tags)| Sample {
                a,
                b,
                c,
                d,
                e,
                f,
                key,
                blob,
                name,
                nick,
                tags,
            })
    }

    proptest! {
        #[test]
        fn round_trips(s in sample()) {
            let bytes = encode(&s);
            prop_assert_eq!(decode(&bytes), Ok(s));
        }

        #[test]
        fn truncation_is_an_error_not_a_panic(s in sample(), cut in any::<prop::sample::Index>()) {
            let bytes = encode(&s);
            let cut = cut.index(bytes.len());
            prop_assert!(decode(&bytes[..cut]).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn integers_are_big_endian() {
        let bytes = Encoder::new()
            .u16(0x0102)
            .u32(0x0304_0506)
            .u64(0x0708_090a_0b0c_0d0e)
            .i64(-2)
            .finish();
        assert_eq!(
            bytes,
            [
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xfe
            ]
        );
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut d = Decoder::new(&[0, 7, 9]);
        assert_eq!(d.u16().unwrap(), 7);
        assert_eq!(d.finish(), Err(DecodeError::TrailingBytes { count: 1 }));
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let bytes = Encoder::new().bytes(&[0xc3, 0x28]).finish();
        assert_eq!(Decoder::new(&bytes).str(16), Err(DecodeError::InvalidUtf8));
    }

    #[test]
    fn option_tag_other_than_0_or_1_is_rejected() {
        let mut d = Decoder::new(&[2, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            d.option(Decoder::u64),
            Err(DecodeError::InvalidOptionTag(2))
        );
    }

    #[test]
    fn bool_other_than_0_or_1_is_rejected() {
        assert!(matches!(
            Decoder::new(&[2]).bool(),
            Err(DecodeError::InvalidValue(_))
        ));
    }

    #[test]
    fn length_over_limit_is_rejected_before_reading() {
        // The length claims 5 bytes with only 1 present: the limit check must
        // come first so a huge claimed length is refused outright.
        let bytes = [0, 0, 0, 5, b'x'];
        assert_eq!(
            Decoder::new(&bytes).bytes(4),
            Err(DecodeError::LengthOverLimit { len: 5, limit: 4 })
        );
        assert_eq!(
            Decoder::new(&bytes).bytes(5),
            Err(DecodeError::UnexpectedEnd)
        );
    }

    #[test]
    fn list_count_over_limit_is_rejected() {
        let bytes = [0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            Decoder::new(&bytes).list(10, Decoder::u8),
            Err(DecodeError::LengthOverLimit {
                len: u32::MAX,
                limit: 10
            })
        );
    }

    #[test]
    fn empty_input_is_unexpected_end() {
        assert_eq!(Decoder::new(&[]).u8(), Err(DecodeError::UnexpectedEnd));
    }
}
