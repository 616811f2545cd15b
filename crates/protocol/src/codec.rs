//! Canonical binary encoding: fixed-width big-endian integers, LEB128 varints in their
//! shortest form, and length checks against the remaining input before any allocation.

use alloc::vec::Vec;

use crate::error::{Error, Result};

/// Appends fields to a byte vector.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// A writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// A writer that appends to `buf`.
    pub fn from_vec(buf: Vec<u8>) -> Self {
        Self { buf }
    }

    /// Appends one byte.
    pub fn u8(&mut self, value: u8) -> &mut Self {
        self.buf.push(value);
        self
    }

    /// Appends a big-endian u16.
    pub fn u16(&mut self, value: u16) -> &mut Self {
        self.bytes(&value.to_be_bytes())
    }

    /// Appends a big-endian u32.
    pub fn u32(&mut self, value: u32) -> &mut Self {
        self.bytes(&value.to_be_bytes())
    }

    /// Appends a big-endian u64.
    pub fn u64(&mut self, value: u64) -> &mut Self {
        self.bytes(&value.to_be_bytes())
    }

    /// Appends an unsigned LEB128 varint in its shortest form.
    pub fn varint(&mut self, mut value: u64) -> &mut Self {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                self.buf.push(byte);
                return self;
            }
            self.buf.push(byte | 0x80);
        }
    }

    /// Appends a signed value as a zigzag varint.
    pub fn zigzag(&mut self, value: i64) -> &mut Self {
        self.varint(((value << 1) ^ (value >> 63)) as u64)
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Appends a varint length followed by the bytes.
    pub fn var_bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.varint(bytes.len() as u64).bytes(bytes)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads fields from a byte slice, rejecting anything non-canonical.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Offset of the next unread byte.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails with [`Error::TrailingBytes`] unless everything was read.
    pub fn finish(&self) -> Result<()> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(Error::TrailingBytes)
        }
    }

    /// The bytes read since offset `start`.
    pub fn since(&self, start: usize) -> &'a [u8] {
        &self.buf[start.min(self.pos)..self.pos]
    }

    /// The next `len` bytes.
    pub fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        if len > self.remaining() {
            return Err(Error::Truncated);
        }
        let out = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// A big-endian u16.
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A big-endian u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A big-endian u64.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A boolean encoded as exactly 0 or 1.
    pub fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::InvalidField),
        }
    }

    /// An unsigned LEB128 varint; rejects overlong forms and values above 2^64-1.
    pub fn varint(&mut self) -> Result<u64> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7f);
            // The 10th byte may only carry the top bit of a u64.
            if i == 9 && bits > 1 {
                return Err(Error::NonCanonicalVarint);
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                // A final zero byte after the first is an overlong encoding.
                if i > 0 && byte == 0 {
                    return Err(Error::NonCanonicalVarint);
                }
                return Ok(value);
            }
        }
        Err(Error::NonCanonicalVarint)
    }

    /// A zigzag-encoded signed varint.
    pub fn zigzag(&mut self) -> Result<i64> {
        let raw = self.varint()?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// A varint that must not exceed `max`.
    pub fn varint_at_most(&mut self, max: u64) -> Result<u64> {
        let value = self.varint()?;
        if value > max {
            Err(Error::Oversize)
        } else {
            Ok(value)
        }
    }

    /// A count of items that each take at least `min_item_size` bytes, bounded by `max` and
    /// by what remains, so a hostile count cannot make the caller allocate.
    pub fn count(&mut self, max: usize, min_item_size: usize) -> Result<usize> {
        let count = self.varint_at_most(max as u64)? as usize;
        if count.saturating_mul(min_item_size) > self.remaining() {
            return Err(Error::Truncated);
        }
        Ok(count)
    }

    /// Varint-length-prefixed bytes of at most `max` bytes.
    pub fn var_bytes(&mut self, max: usize) -> Result<&'a [u8]> {
        let len = self.varint_at_most(max as u64)? as usize;
        self.take(len)
    }
}

/// `text` without one leading `0x` or `0X` (a second prefix stays, and fails to parse).
pub fn strip_hex_prefix(text: &str) -> &str {
    text.strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text)
}

/// Hex with or without one `0x` prefix.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    hex::decode(strip_hex_prefix(text)).ok()
}

/// Exactly `N` bytes of hex, with or without one `0x` prefix, surrounding whitespace ignored.
pub fn parse_hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(strip_hex_prefix(text.trim()), &mut out).ok()?;
    Some(out)
}

/// A JSON-RPC quantity (`0x` and hex digits, as Ethereum and the Cartesi node write integers).
pub fn parse_quantity(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("0x")?;
    u64::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_parsers_take_one_prefix_and_exact_lengths() {
        assert_eq!(parse_hex_array::<2>(" 0xabcd\n"), Some([0xab, 0xcd]));
        assert_eq!(parse_hex_array::<2>("ABCD"), Some([0xab, 0xcd]));
        assert_eq!(parse_hex_array::<2>("0x0xabcd"), None);
        assert_eq!(parse_hex_array::<2>("abcdef"), None);
        assert_eq!(parse_hex_array::<2>("abc"), None);
        assert_eq!(parse_hex("0x0x00"), None);
        assert_eq!(parse_quantity("0x1f"), Some(31));
        assert_eq!(parse_quantity("0x0x1f"), None);
        assert_eq!(parse_quantity("1f"), None);
        assert_eq!(parse_quantity("0x10000000000000000"), None);
    }

    fn encode_varint(value: u64) -> Vec<u8> {
        let mut w = Writer::default();
        w.varint(value);
        w.finish()
    }

    #[test]
    fn varint_round_trips_at_boundaries() {
        for value in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let bytes = encode_varint(value);
            let mut r = Reader::new(&bytes);
            assert_eq!(r.varint(), Ok(value));
            assert_eq!(r.finish(), Ok(()));
        }
        assert_eq!(encode_varint(u64::MAX).len(), 10);
    }

    #[test]
    fn varint_rejects_overlong_and_overflow() {
        assert_eq!(
            Reader::new(&[0x80, 0x00]).varint(),
            Err(Error::NonCanonicalVarint)
        );
        assert_eq!(
            Reader::new(&[0xff, 0x80, 0x00]).varint(),
            Err(Error::NonCanonicalVarint)
        );
        let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(
            Reader::new(&overflow).varint(),
            Err(Error::NonCanonicalVarint)
        );
        assert_eq!(
            Reader::new(&[0xff; 11]).varint(),
            Err(Error::NonCanonicalVarint)
        );
        assert_eq!(Reader::new(&[0x80]).varint(), Err(Error::Truncated));
    }

    #[test]
    fn zigzag_round_trips() {
        for value in [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX] {
            let mut w = Writer::default();
            w.zigzag(value);
            let bytes = w.finish();
            assert_eq!(Reader::new(&bytes).zigzag(), Ok(value));
        }
    }

    #[test]
    fn count_is_bounded_by_remaining_input() {
        // Claims 1000 items of 10 bytes with 3 bytes left: refused before allocating.
        let mut w = Writer::default();
        w.varint(1000).bytes(&[0, 0, 0]);
        let bytes = w.finish();
        assert_eq!(Reader::new(&bytes).count(5000, 10), Err(Error::Truncated));
        assert_eq!(Reader::new(&bytes).count(999, 10), Err(Error::Oversize));
    }

    #[test]
    fn bool_is_strict() {
        assert_eq!(Reader::new(&[2]).bool(), Err(Error::InvalidField));
    }
}
