// Generated from crates/protocol/src/api.rs by ts-rs: do not edit. Regenerate with
//   WITNESS_WRITE_API_TS=1 cargo test -p witness-protocol --lib api::ts
// (`cargo test -p witness-protocol` fails while this file is out of date.)
// Integers are JSON numbers; binary values are lowercase hex without a prefix, EVM addresses `0x…`.

/**
 * An inspect payload: a UTF-8 JSON object with a `type`.
 */
export type InspectQuery = { "type": "config" } | { "type": "device", 
/**
 * Device id, 32 hex digits.
 */
device_id: string, } | { "type": "device_proof", 
/**
 * Device id, 32 hex digits.
 */
device_id: string, 
/**
 * The input whose state notice the path is for.
 */
input_index?: number | null, } | { "type": "history_keys", 
/**
 * An owner query (section 8.6), hex.
 */
owner_query?: string | null, 
/**
 * A possession proof (section 8.5), hex.
 */
proof?: string | null, 
/**
 * With `proof`: the X25519 key to seal the answer to, hex.
 */
response_key?: string | null, } | { "type": "stats" } | { "type": "state" };

/**
 * One inspect answer (the single report of an inspect).
 */
export type InspectAnswer = { "type": "config" } & ConfigAnswer | { "type": "device" } & DeviceAnswer | { "type": "device_proof" } & DeviceProofAnswer | { "type": "history_keys" } & HistoryKeysAnswer | { "type": "stats" } & StatsAnswer | { "type": "state" } & StateAnswer | { "type": "error" } & ErrorAnswer;

/**
 * A model of the catalogue.
 */
export type ModelView = { 
/**
 * Model id.
 */
model: number, 
/**
 * Name.
 */
name: string, 
/**
 * `petrol` or `diesel`.
 */
fuel: string, };

/**
 * The backend's configuration.
 */
export type ConfigAnswer = { 
/**
 * Protocol version of notices (2).
 */
protocol_version: number, 
/**
 * X25519 key envelopes are sealed to.
 */
backend_public_key: string, 
/**
 * The application admin (`0x…`).
 */
admin: string, 
/**
 * Root registrars.
 */
root_registrars: Array<string>, 
/**
 * All trusted registrars.
 */
registrars: Array<string>, 
/**
 * Authorized gateways (`0x…`).
 */
gateways: Array<string>, 
/**
 * Seconds a reading may be ahead of block time.
 */
max_future_skew_s: number, 
/**
 * Seconds a reading may be behind block time.
 */
max_age_s: number, 
/**
 * Seconds a possession proof stays fresh.
 */
proof_freshness_s: number, 
/**
 * Smallest published statistics group.
 */
k_anonymity: number, 
/**
 * Blocks back for which per-input versions of the map are kept.
 */
proof_retention_blocks: number, 
/**
 * The catalogue.
 */
models: Array<ModelView>, };

/**
 * A reading the leaf points to.
 */
export type AttestedView = { 
/**
 * Counter.
 */
counter: number, 
/**
 * Commitment, hex.
 */
commitment: string, 
/**
 * Input that attested it.
 */
input_index: number, };

/**
 * The latest rollback.
 */
export type TamperView = { 
/**
 * Counter of the reading that fell.
 */
counter: number, 
/**
 * Counter it fell below.
 */
reference_counter: number, 
/**
 * Input that recorded it.
 */
input_index: number, };

/**
 * The latest correction.
 */
export type CorrectionView = { 
/**
 * Corrected counter.
 */
counter: number, 
/**
 * Input that recorded it.
 */
input_index: number, };

/**
 * A baseline a correction set (no reading attested since).
 */
export type CorrectedBaselineView = { 
/**
 * The baseline, metres (public: it is in the signed correction).
 */
odometer_m: number, 
/**
 * Input that recorded the correction.
 */
input_index: number, };

/**
 * An ownership recovery waiting for its time (PROTOCOL.md 8.4.2).
 */
export type PendingRecoveryView = { 
/**
 * The owner key it binds, hex.
 */
owner: string, 
/**
 * When it takes effect (block time, seconds since the Unix epoch) unless the current
 * owner objects before.
 */
effective_at: number, };

/**
 * The history accumulator.
 */
export type AccumulatorView = { 
/**
 * Notices folded in.
 */
count: number, 
/**
 * Chain head, hex.
 */
root: string, 
/**
 * Input of the latest notice.
 */
last_input: number | null, };

/**
 * A device leaf in JSON (section 16.2 has the bytes that are proven).
 */
export type LeafView = { 
/**
 * Device id.
 */
device_id: string, 
/**
 * Model id.
 */
model: number, 
/**
 * Ed25519 key, hex.
 */
public_key: string, 
/**
 * `active`, `flagged`, `replaced` or `revoked`.
 */
status: string, 
/**
 * Revoked by a registrar.
 */
revoked: boolean, 
/**
 * A rollback on record that no correction cleared.
 */
flagged: boolean, 
/**
 * Rollbacks on record that no correction cleared.
 */
open_tampers: number, 
/**
 * Highest counter consumed.
 */
last_counter: number | null, 
/**
 * Owner key, hex.
 */
owner: string | null, 
/**
 * Highest ownership sequence.
 */
ownership_sequence: number | null, 
/**
 * Ownership era.
 */
era: number, 
/**
 * Attested readings.
 */
attested: number, 
/**
 * The highest attested reading.
 */
highest: AttestedView | null, 
/**
 * The first attested reading (never changes once set).
 */
first: AttestedView | null, 
/**
 * Rollbacks on record.
 */
tamper_events: number, 
/**
 * The latest rollback.
 */
latest_tamper: TamperView | null, 
/**
 * Corrections on record.
 */
corrections: number, 
/**
 * The latest correction.
 */
latest_correction: CorrectionView | null, 
/**
 * The baseline the latest correction set, while no reading is attested since: what
 * a verifier compares the device with instead of `highest`.
 */
corrected_baseline: CorrectedBaselineView | null, 
/**
 * The vehicle (its VIN commitment, hex).
 */
vehicle: string, 
/**
 * The unit this one replaced, if any.
 */
predecessor: string | null, 
/**
 * The unit that replaced this one, if any: this unit is retired.
 */
successor: string | null, 
/**
 * A registrar's ownership recovery waiting for its time, if any.
 */
pending_recovery: PendingRecoveryView | null, 
/**
 * The history accumulator.
 */
history: AccumulatorView, };

/**
 * A device's current leaf, unproven.
 */
export type DeviceAnswer = { 
/**
 * Device id.
 */
device_id: string, 
/**
 * Whether it is registered.
 */
exists: boolean, 
/**
 * The latest processed input.
 */
input_index: number | null, 
/**
 * The leaf, when it exists.
 */
leaf: LeafView | null, };

/**
 * A device's leaf and path as of an input.
 */
export type DeviceProofAnswer = { 
/**
 * Device id.
 */
device_id: string, 
/**
 * The input.
 */
input_index: number, 
/**
 * The map root after it, hex (the verifier takes the root from the proven state notice
 * instead).
 */
map_root: string, 
/**
 * The map proof (section 16.3), hex.
 */
proof: string, };

/**
 * History keys, sealed (section 8.7) to the requester's key.
 */
export type HistoryKeysAnswer = { 
/**
 * Device id.
 */
device_id: string, 
/**
 * The device's current era.
 */
era: number, 
/**
 * The sealed [`HistoryKeys`], hex.
 */
sealed: string, };

/**
 * One era's key.
 */
export type EraKey = { 
/**
 * Era.
 */
era: number, 
/**
 * ChaCha20-Poly1305 key, hex.
 */
key: string, };

/**
 * What a [`HistoryKeysAnswer`] opens to.
 */
export type HistoryKeys = { 
/**
 * Device id.
 */
device_id: string, 
/**
 * Odometer keys (dated odometer values), one per era the requester may read.
 */
odometer: Array<EraKey>, 
/**
 * Detail keys (whole readings with their blindings), one per era the requester may read.
 */
detail: Array<EraKey>, };

/**
 * One published statistics group.
 */
export type GroupStats = { 
/**
 * Model id, or `null` for the whole fleet.
 */
model: number | null, 
/**
 * Model name.
 */
name: string, 
/**
 * `false` when the group has fewer than k devices; all figures are then `null`.
 */
published: boolean, 
/**
 * Devices in the group (only when published).
 */
devices: number | null, 
/**
 * Attested readings.
 */
readings: number | null, 
/**
 * Total attested distance, km.
 */
total_km: number | null, 
/**
 * Devices per km/year bucket.
 */
km_per_year_histogram: Array<number> | null, 
/**
 * Median km/year over devices with at least a day of history.
 */
km_per_year_median: number | null, 
/**
 * New fault codes per 10,000 km.
 */
faults_per_10000_km: number | null, 
/**
 * Average consumption, litres per 100 km.
 */
consumption_l_per_100km: number | null, 
/**
 * Tank-to-wheel CO2, grams per km.
 */
co2_g_per_km: number | null, };

/**
 * Fleet statistics.
 */
export type StatsAnswer = { 
/**
 * Smallest published group.
 */
k_anonymity: number, 
/**
 * Upper bounds (km/year) of the histogram's buckets; the last bucket is open.
 */
km_per_year_buckets: Array<number>, 
/**
 * Per model.
 */
models: Array<GroupStats>, 
/**
 * Published models together.
 */
fleet: GroupStats, };

/**
 * The latest state notice, decoded, and what is kept.
 */
export type StateAnswer = { 
/**
 * Inputs processed.
 */
processed_inputs: number, 
/**
 * The latest state notice's input.
 */
input_index: number | null, 
/**
 * Its block.
 */
block_number: number | null, 
/**
 * Devices.
 */
devices: number, 
/**
 * Map root, hex.
 */
map_root: string, 
/**
 * Globals hash, hex.
 */
globals: string, 
/**
 * Oldest input whose version is kept.
 */
kept_from: number | null, };

/**
 * A refused query.
 */
export type ErrorAnswer = { 
/**
 * Stable code.
 */
error: string, 
/**
 * Explanation.
 */
detail: string, };

/**
 * A JSON report of an advance. Public: it names what happened, never a reading's value.
 */
export type Report = { "type": "input_refused", 
/**
 * The input.
 */
input_index: number, 
/**
 * Stable reason (section 16.1).
 */
reason: string, 
/**
 * Explanation.
 */
detail: string, } | { "type": "message_rejected", 
/**
 * The input.
 */
input_index: number, 
/**
 * Position of the message.
 */
message_index: number, 
/**
 * Stable reason.
 */
reason: string, 
/**
 * The device, when known.
 */
device_id?: string, 
/**
 * Envelope counter or ownership sequence.
 */
counter?: number, } | { "type": "tamper", 
/**
 * The input.
 */
input_index: number, 
/**
 * The device.
 */
device_id: string, 
/**
 * The reading that fell.
 */
counter: number, 
/**
 * The reading it fell below.
 */
reference_counter: number, } | { "type": "input_accepted", 
/**
 * The input.
 */
input_index: number, 
/**
 * Readings attested.
 */
readings_attested: number, 
/**
 * Rollbacks recorded.
 */
tamper_events: number, 
/**
 * Messages refused.
 */
messages_rejected: number, 
/**
 * Registrar, authorization and ownership acts applied.
 */
acts_applied: number, };

/**
 * `web/src/lib/api.ts`: the TypeScript declarations of every type above, generated by
 * ts-rs. The test fails when the committed file differs; `WITNESS_WRITE_API_TS=1` rewrites
 * it instead.
 * Trust anchors pinned by the user (docs/PROTOCOL.md 17.1), with optional endpoints: the
 * `anchors.json` that `witness up` writes, the file `witness verify --anchors` reads, and the
 * JSON in the dashboard's `#pin=` link (base64url, no padding). Endpoints are not anchors:
 * everything from them is checked.
 */
export type TrustAnchors = { 
/**
 * The chain id (`eth_chainId` must equal it).
 */
chain_id: number, 
/**
 * The application contract (`0x…`).
 */
application: string, 
/**
 * Its consensus contract (`Application.getOutputsMerkleRootValidator()` must equal it).
 */
consensus: string, 
/**
 * The backend's X25519 key that possession proofs are bound to, hex.
 */
backend_public_key?: string | null, 
/**
 * A chain JSON-RPC URL.
 */
chain_rpc_url?: string | null, 
/**
 * A node's JSON-RPC URL (`…/rpc`).
 */
node_rpc_url?: string | null, 
/**
 * The same node's inspect URL (`…/inspect/<app>`).
 */
node_inspect_url?: string | null, };
