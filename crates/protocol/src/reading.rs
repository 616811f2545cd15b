//! Readings and their two encodings: standalone (fixed width, used in commitments, openings
//! and possession proofs) and packed (delta varints, used inside sealed envelopes).

use alloc::vec::Vec;
use core::fmt;

use crate::codec::{Reader, Writer};
use crate::error::{Error, Result};

/// Version byte at the start of every packed reading list.
pub const READING_FORMAT_V1: u8 = 1;

/// Most fault codes one reading may carry.
pub const MAX_FAULTS_PER_READING: usize = 32;

/// An OBD-II diagnostic trouble code (SAE J2012) packed in 16 bits as on the wire of
/// OBD-II mode 03: 2 bits system (P, C, B, U), then four 4-bit digits (the first 0..=3).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaultCode(pub u16);

impl FaultCode {
    /// Parses a code such as `P0301`.
    pub fn parse(text: &str) -> Result<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 5 {
            return Err(Error::InvalidField);
        }
        let system = match bytes[0].to_ascii_uppercase() {
            b'P' => 0u16,
            b'C' => 1,
            b'B' => 2,
            b'U' => 3,
            _ => return Err(Error::InvalidField),
        };
        let mut value = system << 14;
        for (i, ch) in bytes[1..].iter().enumerate() {
            let digit = (*ch as char).to_digit(16).ok_or(Error::InvalidField)? as u16;
            if i == 0 && digit > 3 {
                return Err(Error::InvalidField);
            }
            value |= digit << (12 - 4 * i);
        }
        Ok(Self(value))
    }

    /// The letter of the system: P (powertrain), C (chassis), B (body), U (network).
    pub fn system(self) -> char {
        ['P', 'C', 'B', 'U'][usize::from(self.0 >> 14)]
    }
}

impl fmt::Display for FaultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:04X}", self.system(), self.0 & 0x3fff)
    }
}

impl fmt::Debug for FaultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultCode({self})")
    }
}

/// One reading of a vehicle's instruments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reading {
    /// Device time in seconds since the Unix epoch (u32: valid until 2106).
    pub timestamp: u32,
    /// Odometer in metres.
    pub odometer_m: u64,
    /// Fuel used since the previous reading, in millilitres.
    pub fuel_ml: u32,
    /// Total engine running time in seconds.
    pub engine_s: u32,
    /// Active diagnostic trouble codes, at most [`MAX_FAULTS_PER_READING`].
    pub faults: Vec<FaultCode>,
}

impl Reading {
    /// Size of the standalone encoding without fault codes.
    pub const STANDALONE_FIXED_LEN: usize = 4 + 8 + 4 + 4 + 1;

    /// Standalone encoding: `timestamp u32 | odometer_m u64 | fuel_ml u32 | engine_s u32 |
    /// fault count u8 | fault codes u16 each`, all big-endian.
    pub fn encode_standalone(&self, w: &mut Writer) -> Result<()> {
        if self.faults.len() > MAX_FAULTS_PER_READING {
            return Err(Error::Oversize);
        }
        w.u32(self.timestamp)
            .u64(self.odometer_m)
            .u32(self.fuel_ml)
            .u32(self.engine_s);
        w.u8(self.faults.len() as u8);
        for fault in &self.faults {
            w.u16(fault.0);
        }
        Ok(())
    }

    /// The standalone encoding as bytes.
    pub fn to_standalone_bytes(&self) -> Result<Vec<u8>> {
        let mut w = Writer::with_capacity(Self::STANDALONE_FIXED_LEN + 2 * self.faults.len());
        self.encode_standalone(&mut w)?;
        Ok(w.finish())
    }

    /// Reads the standalone encoding.
    pub fn decode_standalone(r: &mut Reader<'_>) -> Result<Self> {
        let timestamp = r.u32()?;
        let odometer_m = r.u64()?;
        let fuel_ml = r.u32()?;
        let engine_s = r.u32()?;
        let count = usize::from(r.u8()?);
        if count > MAX_FAULTS_PER_READING {
            return Err(Error::Oversize);
        }
        let faults = read_faults(r, count)?;
        Ok(Self {
            timestamp,
            odometer_m,
            fuel_ml,
            engine_s,
            faults,
        })
    }
}

fn read_faults(r: &mut Reader<'_>, count: usize) -> Result<Vec<FaultCode>> {
    if count * 2 > r.remaining() {
        return Err(Error::Truncated);
    }
    (0..count).map(|_| r.u16().map(FaultCode)).collect()
}

fn write_faults(w: &mut Writer, faults: &[FaultCode]) -> Result<()> {
    if faults.len() > MAX_FAULTS_PER_READING {
        return Err(Error::Oversize);
    }
    w.varint(faults.len() as u64);
    for fault in faults {
        w.u16(fault.0);
    }
    Ok(())
}

/// Packs consecutive readings: the format byte, then per reading
/// `[Δt varint (not for the first)] odometer | engine | fuel varint | fault count varint |
/// faults u16`, where odometer and engine are plain varints in the first reading and zigzag
/// deltas from the previous reading after it. The first reading's time is the envelope
/// header's timestamp; later times never go backwards.
pub fn pack_readings(readings: &[Reading]) -> Result<Vec<u8>> {
    let mut w = Writer::with_capacity(1 + readings.len() * 12);
    w.u8(READING_FORMAT_V1);
    let mut previous: Option<&Reading> = None;
    for reading in readings {
        match previous {
            None => {
                w.varint(reading.odometer_m)
                    .varint(u64::from(reading.engine_s));
            }
            Some(prev) => {
                let dt = reading
                    .timestamp
                    .checked_sub(prev.timestamp)
                    .ok_or(Error::InvalidField)?;
                w.varint(u64::from(dt));
                w.zigzag(signed_delta(prev.odometer_m, reading.odometer_m)?);
                w.zigzag(i64::from(reading.engine_s) - i64::from(prev.engine_s));
            }
        }
        w.varint(u64::from(reading.fuel_ml));
        write_faults(&mut w, &reading.faults)?;
        previous = Some(reading);
    }
    Ok(w.finish())
}

fn signed_delta(from: u64, to: u64) -> Result<i64> {
    let delta = i128::from(to) - i128::from(from);
    i64::try_from(delta).map_err(|_| Error::ReadingOutOfRange)
}

/// Unpacks `count` readings whose first time is `first_timestamp`. Every failure is
/// [`Error::MalformedPlaintext`]: the bytes were authenticated, so they are the device's fault.
pub fn unpack_readings(bytes: &[u8], count: usize, first_timestamp: u32) -> Result<Vec<Reading>> {
    unpack(bytes, count, first_timestamp).map_err(|_| Error::MalformedPlaintext)
}

fn unpack(bytes: &[u8], count: usize, first_timestamp: u32) -> Result<Vec<Reading>> {
    let mut r = Reader::new(bytes);
    if r.u8()? != READING_FORMAT_V1 {
        return Err(Error::UnsupportedVersion);
    }
    // Each packed reading takes at least 4 bytes (5 after the first).
    if count.saturating_mul(4) > r.remaining() {
        return Err(Error::Truncated);
    }
    let mut readings: Vec<Reading> = Vec::with_capacity(count);
    for _ in 0..count {
        let (timestamp, odometer_m, engine_s) = match readings.last() {
            None => {
                let odometer = r.varint()?;
                let engine = u32::try_from(r.varint()?).map_err(|_| Error::ReadingOutOfRange)?;
                (first_timestamp, odometer, engine)
            }
            Some(prev) => {
                let dt = u32::try_from(r.varint()?).map_err(|_| Error::ReadingOutOfRange)?;
                let timestamp = prev
                    .timestamp
                    .checked_add(dt)
                    .ok_or(Error::ReadingOutOfRange)?;
                let odometer = apply_delta(prev.odometer_m, r.zigzag()?)?;
                let engine = u32::try_from(apply_delta(u64::from(prev.engine_s), r.zigzag()?)?)
                    .map_err(|_| Error::ReadingOutOfRange)?;
                (timestamp, odometer, engine)
            }
        };
        let fuel_ml = u32::try_from(r.varint()?).map_err(|_| Error::ReadingOutOfRange)?;
        let fault_count = r.varint_at_most(MAX_FAULTS_PER_READING as u64)? as usize;
        let faults = read_faults(&mut r, fault_count)?;
        readings.push(Reading {
            timestamp,
            odometer_m,
            fuel_ml,
            engine_s,
            faults,
        });
    }
    r.finish()?;
    Ok(readings)
}

fn apply_delta(base: u64, delta: i64) -> Result<u64> {
    u64::try_from(i128::from(base) + i128::from(delta)).map_err(|_| Error::ReadingOutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn sample(ts: u32, odo: u64) -> Reading {
        Reading {
            timestamp: ts,
            odometer_m: odo,
            fuel_ml: 840,
            engine_s: 3600,
            faults: vec![],
        }
    }

    #[test]
    fn fault_codes_parse_and_print() {
        for text in ["P0301", "C1234", "B0001", "U3FFF", "P0420"] {
            assert_eq!(
                FaultCode::parse(text).map(|f| f.to_string()).as_deref(),
                Ok(text)
            );
        }
        assert_eq!(FaultCode::parse("P4000"), Err(Error::InvalidField));
        assert_eq!(FaultCode::parse("X0301"), Err(Error::InvalidField));
        assert_eq!(FaultCode::parse("P030"), Err(Error::InvalidField));
    }

    #[test]
    fn packing_handles_rollback_deltas() {
        let mut second = sample(1_700_000_600, 40_000_000);
        second.engine_s = 3000;
        second.faults = vec![FaultCode::parse("P0301").unwrap()];
        let readings = vec![sample(1_700_000_000, 152_000_000), second];
        let packed = pack_readings(&readings).unwrap();
        assert_eq!(
            unpack_readings(&packed, 2, 1_700_000_000).unwrap(),
            readings
        );
    }

    #[test]
    fn packing_rejects_time_going_backwards() {
        let readings = vec![sample(100, 1), sample(99, 2)];
        assert_eq!(pack_readings(&readings), Err(Error::InvalidField));
    }

    #[test]
    fn unpacking_rejects_count_mismatch_and_trailing() {
        let packed = pack_readings(&[sample(5, 1), sample(6, 2)]).unwrap();
        assert_eq!(
            unpack_readings(&packed, 1, 5),
            Err(Error::MalformedPlaintext)
        );
        assert_eq!(
            unpack_readings(&packed, 3, 5),
            Err(Error::MalformedPlaintext)
        );
    }

    #[test]
    fn standalone_round_trips() {
        let mut reading = sample(7, 9);
        reading.faults = vec![FaultCode(0x0420), FaultCode(0xC001)];
        let bytes = reading.to_standalone_bytes().unwrap();
        assert_eq!(bytes.len(), Reading::STANDALONE_FIXED_LEN + 4);
        let mut r = Reader::new(&bytes);
        assert_eq!(Reading::decode_standalone(&mut r).unwrap(), reading);
        assert_eq!(r.finish(), Ok(()));
    }
}
