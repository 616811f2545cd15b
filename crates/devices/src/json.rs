//! JSON shapes shared by the on-disk state and the local link. A reading is written exactly
//! as the backend's inspect answers show it: `{timestamp, odometer_m, fuel_ml, engine_s,
//! faults: ["P0420", ...]}`.

use serde::{Deserialize, Serialize};
use witness_protocol::{FaultCode, Reading};

/// A reading in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadingJson {
    /// Device time, seconds since the Unix epoch.
    pub timestamp: u32,
    /// Odometer, metres.
    pub odometer_m: u64,
    /// Fuel used since the previous reading, millilitres.
    pub fuel_ml: u32,
    /// Total engine running time, seconds.
    pub engine_s: u32,
    /// Active trouble codes such as `P0420`.
    #[serde(with = "fault_list")]
    pub faults: Vec<FaultCode>,
}

impl From<&Reading> for ReadingJson {
    fn from(r: &Reading) -> Self {
        Self {
            timestamp: r.timestamp,
            odometer_m: r.odometer_m,
            fuel_ml: r.fuel_ml,
            engine_s: r.engine_s,
            faults: r.faults.clone(),
        }
    }
}

impl From<ReadingJson> for Reading {
    fn from(r: ReadingJson) -> Self {
        Self {
            timestamp: r.timestamp,
            odometer_m: r.odometer_m,
            fuel_ml: r.fuel_ml,
            engine_s: r.engine_s,
            faults: r.faults,
        }
    }
}

/// Serde for a list of readings.
pub(crate) mod readings {
    use super::*;

    pub(crate) fn serialize<S: serde::Serializer>(
        list: &[Reading],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(ReadingJson::from))
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<Reading>, D::Error> {
        Ok(Vec::<ReadingJson>::deserialize(d)?
            .into_iter()
            .map(Reading::from)
            .collect())
    }
}

/// Serde for one fault code as text.
pub(crate) mod fault {
    use super::*;

    pub(crate) fn serialize<S: serde::Serializer>(f: &FaultCode, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(f)
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<FaultCode, D::Error> {
        let text = String::deserialize(d)?;
        FaultCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

mod fault_list {
    use super::*;

    pub(super) fn serialize<S: serde::Serializer>(
        list: &[FaultCode],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(ToString::to_string))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<FaultCode>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|text| FaultCode::parse(text).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// Serde for byte strings as lowercase hex.
pub(crate) mod hex_bytes {
    use serde::Deserialize as _;

    pub(crate) fn serialize<S: serde::Serializer>(
        bytes: &impl AsRef<[u8]>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>, T: TryFrom<Vec<u8>>>(
        d: D,
    ) -> Result<T, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = witness_protocol::codec::parse_hex(&text)
            .ok_or_else(|| serde::de::Error::custom("not hex"))?;
        T::try_from(bytes).map_err(|_| serde::de::Error::custom("wrong length"))
    }
}
