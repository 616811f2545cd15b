import { concatBytes, fromHex, u32be, u64be } from '../lib/hex';

export const DEVICE = '26d3b382d70a0b277e991984dcc7007e';

/** An attestation notice payload (crates/backend/src/outputs.rs). */
export function attestationNotice(inputIndex: number, entries: [string, number, string, string][]): Uint8Array {
  return concatBytes(
    new Uint8Array([1, 1]),
    u64be(inputIndex),
    u64be(1790000100),
    u32be(entries.length),
    ...entries.map(([d, c, com, env]) => concatBytes(fromHex(d), u64be(c), fromHex(com), fromHex(env))),
  );
}
