/** The device map of PROTOCOL.md 16.3, written out from the spec for tests: roots and proofs of sets of encoded leaves. */
import { concatBytes } from '../lib/hex';
import { EMPTY_HASH, keyBit, leafHash, nodeHash } from '../lib/state';

/** 16.3: the root of a set of leaves (encoded) below `depth`. */
export function rootOf(leaves: Uint8Array[], depth = 0): Uint8Array {
  if (leaves.length === 0) return EMPTY_HASH;
  if (leaves.length === 1) return leafHash(leaves[0] as Uint8Array);
  const bit = (l: Uint8Array) => keyBit(l.slice(1, 17), depth);
  return nodeHash(rootOf(leaves.filter((l) => !bit(l)), depth + 1), rootOf(leaves.filter(bit), depth + 1));
}

/** 16.3: the map proof of `key` (16 bytes) in the map of `leaves`. */
export function mapProofOf(leaves: Uint8Array[], key: Uint8Array): Uint8Array {
  let set = leaves;
  const siblings: Uint8Array[] = [];
  while (set.length > 1) {
    const depth = siblings.length;
    const bit = keyBit(key, depth);
    siblings.push(rootOf(set.filter((l) => keyBit(l.slice(1, 17), depth) !== bit), depth + 1));
    set = set.filter((l) => keyBit(l.slice(1, 17), depth) === bit);
  }
  const bitmap = new Uint8Array(16);
  siblings.forEach((s, i) => {
    if (s.some((b) => b !== 0)) bitmap[i >> 3] = (bitmap[i >> 3] as number) | (0x80 >> (i & 7));
  });
  return concatBytes(new Uint8Array([1, set.length, siblings.length]), bitmap, ...siblings.filter((s) => s.some((b) => b !== 0)), ...(set.length ? [set[0] as Uint8Array] : []));
}
