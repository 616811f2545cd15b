/**
 * A stopgap for the generated api.ts: its `LeafView.corrected_baseline` names
 * `CorrectedBaselineView`, which the generator (crates/protocol/src/api.rs, `mod ts`,
 * `generated()`) does not emit yet (its list lacks `declaration::<CorrectedBaselineView>`).
 * Declared here, globally, as api.rs defines it, so the names resolve; delete this file once
 * api.ts is regenerated with the declaration (a module's own `export type` then takes
 * precedence over this global one, so nothing breaks in between).
 */
/** A baseline a correction set (no reading attested since). */
type CorrectedBaselineView = {
  /** The baseline, metres (public: it is in the signed correction). */
  odometer_m: number;
  /** Input that recorded the correction. */
  input_index: number;
};
