/**
 * Vehicles (PROTOCOL.md section 4): a unit (telematics unit or instrument cluster) belongs to
 * one vehicle, named in its leaf by a hiding commitment to the VIN,
 * `SHA-256("witness/v2/vehicle" ‖ salt (32) ‖ VIN (17 ASCII))`. The manufacturer draws the salt
 * and hands it to the owner with the car's papers: only who holds the VIN and the salt can tell
 * which car a leaf is about. The twin of `witness_protocol::keys::{VehicleId, VehicleIdentity}`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, toHex, utf8 } from './hex';
import { DecodeError } from './codec';

export const VEHICLE_TAG = utf8('witness/v2/vehicle');
/** ISO 3779: digits and capital letters except I, O and Q. */
export const VIN_ALPHABET = '0123456789ABCDEFGHJKLMNPRSTUVWXYZ';
export const VIN_LEN = 17;

/** What opens a vehicle commitment: the VIN and its salt (32 bytes). */
export interface VehicleIdentity {
  vin: string;
  salt: Uint8Array;
}

/** A VIN: 17 characters of ISO 3779 (lower case is refused, not folded: one VIN, one commitment). */
export function isVin(vin: string): boolean {
  return vin.length === VIN_LEN && [...vin].every((c) => VIN_ALPHABET.includes(c));
}

/** The vehicle id (hex) of `vin` under `salt`; a VIN that is not one, or a salt not 32 bytes: `invalid_field`. */
export function vehicleCommitment(vin: string, salt: Uint8Array): string {
  if (!isVin(vin)) throw new DecodeError('invalid_field', 'VIN');
  if (salt.length !== 32) throw new DecodeError('invalid_field', 'vehicle salt');
  return toHex(sha256(concatBytes(VEHICLE_TAG, salt, utf8(vin))));
}

/** Whether `identity` opens the vehicle id `vehicle` (hex); an invalid VIN opens nothing. */
export function opensVehicle(identity: VehicleIdentity, vehicle: string): boolean {
  try {
    return vehicleCommitment(identity.vin, identity.salt) === vehicle.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * A made-up vehicle for simulations and tests (`VehicleIdentity::simulated`): VIN `WTN` and 14
 * characters `VIN_ALPHABET[b mod 33]` of the first 14 bytes of
 * `SHA-256("witness simulated vehicle" ‖ seed)`, salt `SHA-256("witness simulated vehicle salt" ‖ seed)`.
 */
export function simulatedVehicle(seed: Uint8Array): VehicleIdentity {
  const digest = sha256(concatBytes(utf8('witness simulated vehicle'), seed));
  const vin = 'WTN' + [...digest.slice(0, 14)].map((b) => VIN_ALPHABET[b % VIN_ALPHABET.length]).join('');
  return { vin, salt: sha256(concatBytes(utf8('witness simulated vehicle salt'), seed)) };
}
