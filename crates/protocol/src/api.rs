//! The backend's JSON contracts, defined once: inspect queries and answers and reports
//! (docs/PROTOCOL.md 16.7-16.8). The backend writes them, the CLI, gateway and node read them,
//! and `web/src/lib/api.ts` is generated from them (feature `ts`; `cargo test -p
//! witness-protocol` fails when the committed file is out of date, and
//! `WITNESS_WRITE_API_TS=1 cargo test -p witness-protocol --lib api::ts` rewrites it).
//!
//! Binary values travel as lowercase hex without a prefix, except EVM addresses (`0x…`).

use alloc::string::String;
use alloc::vec::Vec;
// The `TS` derive expands to code that expects std's prelude.
#[cfg(feature = "ts")]
use alloc::{format, string::ToString as _};

use serde::{Deserialize, Serialize};

/// An inspect payload: a UTF-8 JSON object with a `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum InspectQuery {
    /// The backend's configuration.
    Config,
    /// A device's current leaf, decoded: a convenience for dashboards, proven by nothing.
    /// Verifiers use [`InspectQuery::DeviceProof`].
    Device {
        /// Device id, 32 hex digits.
        device_id: String,
    },
    /// A device's leaf and path as of an input (default: the latest processed).
    DeviceProof {
        /// Device id, 32 hex digits.
        device_id: String,
        /// The input whose state notice the path is for.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional = nullable))]
        input_index: Option<u64>,
    },
    /// The keys that open a device's history notices, sealed to the requester: with an owner
    /// query, the current owner's; with a fresh possession proof, a verifier's.
    HistoryKeys {
        /// An owner query (section 8.6), hex.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional = nullable))]
        owner_query: Option<String>,
        /// A possession proof (section 8.5), hex.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional = nullable))]
        proof: Option<String>,
        /// With `proof`: the X25519 key to seal the answer to, hex.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional = nullable))]
        response_key: Option<String>,
    },
    /// Fleet statistics.
    Stats,
    /// The latest state notice and the inputs whose versions are kept.
    State,
}

/// One inspect answer (the single report of an inspect).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
// One answer per inspect, built to be serialized at once: the size of the largest variant
// (a leaf view) costs nothing worth a box and an indirection in every consumer.
#[allow(clippy::large_enum_variant)]
pub enum InspectAnswer {
    /// See [`InspectQuery::Config`].
    Config(ConfigAnswer),
    /// See [`InspectQuery::Device`].
    Device(DeviceAnswer),
    /// See [`InspectQuery::DeviceProof`].
    DeviceProof(DeviceProofAnswer),
    /// See [`InspectQuery::HistoryKeys`].
    HistoryKeys(HistoryKeysAnswer),
    /// See [`InspectQuery::Stats`].
    Stats(StatsAnswer),
    /// See [`InspectQuery::State`].
    State(StateAnswer),
    /// A refused query (the inspect is answered `reject`).
    Error(ErrorAnswer),
}

/// A model of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelView {
    /// Model id.
    pub model: u32,
    /// Name.
    pub name: String,
    /// `petrol` or `diesel`.
    pub fuel: String,
}

/// The backend's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConfigAnswer {
    /// Protocol version of notices (2).
    pub protocol_version: u8,
    /// X25519 key envelopes are sealed to.
    pub backend_public_key: String,
    /// The application admin (`0x…`).
    pub admin: String,
    /// Root registrars.
    pub root_registrars: Vec<String>,
    /// All trusted registrars.
    pub registrars: Vec<String>,
    /// Authorized gateways (`0x…`).
    pub gateways: Vec<String>,
    /// Seconds a reading may be ahead of block time.
    pub max_future_skew_s: u64,
    /// Seconds a reading may be behind block time.
    pub max_age_s: u64,
    /// Seconds a possession proof stays fresh.
    pub proof_freshness_s: u64,
    /// Smallest published statistics group.
    pub k_anonymity: u64,
    /// Blocks back for which per-input versions of the map are kept.
    pub proof_retention_blocks: u64,
    /// The catalogue.
    pub models: Vec<ModelView>,
}

/// A reading the leaf points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AttestedView {
    /// Counter.
    pub counter: u64,
    /// Commitment, hex.
    pub commitment: String,
    /// Input that attested it.
    pub input_index: u64,
}

/// The latest rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TamperView {
    /// Counter of the reading that fell.
    pub counter: u64,
    /// Counter it fell below.
    pub reference_counter: u64,
    /// Input that recorded it.
    pub input_index: u64,
}

/// The latest correction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CorrectionView {
    /// Corrected counter.
    pub counter: u64,
    /// Input that recorded it.
    pub input_index: u64,
}

/// A baseline a correction set (no reading attested since).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CorrectedBaselineView {
    /// The baseline, metres (public: it is in the signed correction).
    pub odometer_m: u64,
    /// Input that recorded the correction.
    pub input_index: u64,
}

/// An ownership recovery waiting for its time (PROTOCOL.md 8.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PendingRecoveryView {
    /// The owner key it binds, hex.
    pub owner: String,
    /// When it takes effect (block time, seconds since the Unix epoch) unless the current
    /// owner objects before.
    pub effective_at: u64,
}

/// The history accumulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AccumulatorView {
    /// Notices folded in.
    pub count: u64,
    /// Chain head, hex.
    pub root: String,
    /// Input of the latest notice.
    pub last_input: Option<u64>,
}

/// A device leaf in JSON (section 16.2 has the bytes that are proven).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeafView {
    /// Device id.
    pub device_id: String,
    /// Model id.
    pub model: u32,
    /// Ed25519 key, hex.
    pub public_key: String,
    /// `active`, `flagged`, `replaced` or `revoked`.
    pub status: String,
    /// Revoked by a registrar.
    pub revoked: bool,
    /// A rollback on record that no correction cleared.
    pub flagged: bool,
    /// Rollbacks on record that no correction cleared.
    pub open_tampers: u32,
    /// Highest counter consumed.
    pub last_counter: Option<u64>,
    /// Owner key, hex.
    pub owner: Option<String>,
    /// Highest ownership sequence.
    pub ownership_sequence: Option<u64>,
    /// Ownership era.
    pub era: u32,
    /// Attested readings.
    pub attested: u64,
    /// The highest attested reading.
    pub highest: Option<AttestedView>,
    /// The first attested reading (never changes once set).
    pub first: Option<AttestedView>,
    /// Rollbacks on record.
    pub tamper_events: u32,
    /// The latest rollback.
    pub latest_tamper: Option<TamperView>,
    /// Corrections on record.
    pub corrections: u32,
    /// The latest correction.
    pub latest_correction: Option<CorrectionView>,
    /// The baseline the latest correction set, while no reading is attested since: what
    /// a verifier compares the device with instead of `highest`.
    pub corrected_baseline: Option<CorrectedBaselineView>,
    /// The vehicle (its VIN commitment, hex).
    pub vehicle: String,
    /// The unit this one replaced, if any.
    pub predecessor: Option<String>,
    /// The unit that replaced this one, if any: this unit is retired.
    pub successor: Option<String>,
    /// A registrar's ownership recovery waiting for its time, if any.
    pub pending_recovery: Option<PendingRecoveryView>,
    /// The history accumulator.
    pub history: AccumulatorView,
}

/// A device's current leaf, unproven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeviceAnswer {
    /// Device id.
    pub device_id: String,
    /// Whether it is registered.
    pub exists: bool,
    /// The latest processed input.
    pub input_index: Option<u64>,
    /// The leaf, when it exists.
    pub leaf: Option<LeafView>,
}

/// A device's leaf and path as of an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeviceProofAnswer {
    /// Device id.
    pub device_id: String,
    /// The input.
    pub input_index: u64,
    /// The map root after it, hex (the verifier takes the root from the proven state notice
    /// instead).
    pub map_root: String,
    /// The map proof (section 16.3), hex.
    pub proof: String,
}

/// History keys, sealed (section 8.7) to the requester's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryKeysAnswer {
    /// Device id.
    pub device_id: String,
    /// The device's current era.
    pub era: u32,
    /// The sealed [`HistoryKeys`], hex.
    pub sealed: String,
}

/// One era's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EraKey {
    /// Era.
    pub era: u32,
    /// ChaCha20-Poly1305 key, hex.
    pub key: String,
}

/// What a [`HistoryKeysAnswer`] opens to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryKeys {
    /// Device id.
    pub device_id: String,
    /// Odometer keys (dated odometer values), one per era the requester may read.
    pub odometer: Vec<EraKey>,
    /// Detail keys (whole readings with their blindings), one per era the requester may read.
    pub detail: Vec<EraKey>,
}

/// One published statistics group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupStats {
    /// Model id, or `null` for the whole fleet.
    pub model: Option<u32>,
    /// Model name.
    pub name: String,
    /// `false` when the group has fewer than k devices; all figures are then `null`.
    pub published: bool,
    /// Devices in the group (only when published).
    pub devices: Option<u64>,
    /// Attested readings.
    pub readings: Option<u64>,
    /// Total attested distance, km.
    pub total_km: Option<f64>,
    /// Devices per km/year bucket.
    pub km_per_year_histogram: Option<Vec<u64>>,
    /// Median km/year over devices with at least a day of history.
    pub km_per_year_median: Option<f64>,
    /// New fault codes per 10,000 km.
    pub faults_per_10000_km: Option<f64>,
    /// Average consumption, litres per 100 km.
    pub consumption_l_per_100km: Option<f64>,
    /// Tank-to-wheel CO2, grams per km.
    pub co2_g_per_km: Option<f64>,
}

/// Fleet statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatsAnswer {
    /// Smallest published group.
    pub k_anonymity: u64,
    /// Upper bounds (km/year) of the histogram's buckets; the last bucket is open.
    pub km_per_year_buckets: Vec<u32>,
    /// Per model.
    pub models: Vec<GroupStats>,
    /// Published models together.
    pub fleet: GroupStats,
}

/// The latest state notice, decoded, and what is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StateAnswer {
    /// Inputs processed.
    pub processed_inputs: u64,
    /// The latest state notice's input.
    pub input_index: Option<u64>,
    /// Its block.
    pub block_number: Option<u64>,
    /// Devices.
    pub devices: u64,
    /// Map root, hex.
    pub map_root: String,
    /// Globals hash, hex.
    pub globals: String,
    /// Oldest input whose version is kept.
    pub kept_from: Option<u64>,
}

/// A refused query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorAnswer {
    /// Stable code.
    pub error: String,
    /// Explanation.
    pub detail: String,
}

/// A JSON report of an advance. Public: it names what happened, never a reading's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Report {
    /// Nothing of the input applied (it is still accepted and has its state notice).
    InputRefused {
        /// The input.
        input_index: u64,
        /// Stable reason (section 16.1).
        reason: String,
        /// Explanation.
        detail: String,
    },
    /// One message of an input was refused; the others proceeded.
    MessageRejected {
        /// The input.
        input_index: u64,
        /// Position of the message.
        message_index: u64,
        /// Stable reason.
        reason: String,
        /// The device, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        device_id: Option<String>,
        /// Envelope counter or ownership sequence.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        counter: Option<u64>,
    },
    /// A rollback was recorded.
    Tamper {
        /// The input.
        input_index: u64,
        /// The device.
        device_id: String,
        /// The reading that fell.
        counter: u64,
        /// The reading it fell below.
        reference_counter: u64,
    },
    /// Summary of an input (always its last report).
    InputAccepted {
        /// The input.
        input_index: u64,
        /// Readings attested.
        readings_attested: u64,
        /// Rollbacks recorded.
        tamper_events: u64,
        /// Messages refused.
        messages_rejected: u64,
        /// Registrar, authorization and ownership acts applied.
        acts_applied: u64,
    },
}

/// `web/src/lib/api.ts`: the TypeScript declarations of every type above, generated by
/// ts-rs. The test fails when the committed file differs; `WITNESS_WRITE_API_TS=1` rewrites
/// it instead.
/// Trust anchors pinned by the user (docs/PROTOCOL.md 17.1), with optional endpoints: the
/// `anchors.json` that `witness up` writes, the file `witness verify --anchors` reads, and the
/// JSON in the dashboard's `#pin=` link (base64url, no padding). Endpoints are not anchors:
/// everything from them is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TrustAnchors {
    /// The chain id (`eth_chainId` must equal it).
    pub chain_id: u64,
    /// The application contract (`0x…`).
    pub application: String,
    /// Its consensus contract (`Application.getOutputsMerkleRootValidator()` must equal it).
    pub consensus: String,
    /// The backend's X25519 key that possession proofs are bound to, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_public_key: Option<String>,
    /// A chain JSON-RPC URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_rpc_url: Option<String>,
    /// A node's JSON-RPC URL (`…/rpc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_rpc_url: Option<String>,
    /// The same node's inspect URL (`…/inspect/<app>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_inspect_url: Option<String>,
}

#[cfg(all(test, feature = "ts"))]
mod ts {
    use alloc::format;
    use alloc::string::String;
    use std::path::PathBuf;

    use ts_rs::{Config, TS};

    use super::*;

    const HEADER: &str = "\
// Generated from crates/protocol/src/api.rs by ts-rs: do not edit. Regenerate with
//   WITNESS_WRITE_API_TS=1 cargo test -p witness-protocol --lib api::ts
// (`cargo test -p witness-protocol` fails while this file is out of date.)
// Integers are JSON numbers; binary values are lowercase hex without a prefix, EVM addresses `0x…`.
";

    fn declaration<T: TS + 'static>(cfg: &Config) -> String {
        format!("{}export {}\n", T::docs().unwrap_or_default(), T::decl(cfg))
    }

    fn generated() -> String {
        // Counters, indices and block numbers stay far below 2^53; JSON.parse gives numbers.
        let cfg = Config::new().with_large_int("number");
        let parts = [
            declaration::<InspectQuery>(&cfg),
            declaration::<InspectAnswer>(&cfg),
            declaration::<ModelView>(&cfg),
            declaration::<ConfigAnswer>(&cfg),
            declaration::<AttestedView>(&cfg),
            declaration::<TamperView>(&cfg),
            declaration::<CorrectionView>(&cfg),
            declaration::<CorrectedBaselineView>(&cfg),
            declaration::<PendingRecoveryView>(&cfg),
            declaration::<AccumulatorView>(&cfg),
            declaration::<LeafView>(&cfg),
            declaration::<DeviceAnswer>(&cfg),
            declaration::<DeviceProofAnswer>(&cfg),
            declaration::<HistoryKeysAnswer>(&cfg),
            declaration::<EraKey>(&cfg),
            declaration::<HistoryKeys>(&cfg),
            declaration::<GroupStats>(&cfg),
            declaration::<StatsAnswer>(&cfg),
            declaration::<StateAnswer>(&cfg),
            declaration::<ErrorAnswer>(&cfg),
            declaration::<Report>(&cfg),
            declaration::<TrustAnchors>(&cfg),
        ];
        let mut out = String::from(HEADER);
        for part in parts {
            out.push('\n');
            out.push_str(&part);
        }
        out
    }

    #[test]
    fn web_api_ts_is_up_to_date() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/src/lib/api.ts");
        let want = generated();
        if std::env::var_os("WITNESS_WRITE_API_TS").is_some() {
            std::fs::write(&path, &want).expect("write web/src/lib/api.ts");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "web/src/lib/api.ts is out of date with crates/protocol/src/api.rs; regenerate it with \
             WITNESS_WRITE_API_TS=1 cargo test -p witness-protocol --lib api::ts"
        );
    }
}
