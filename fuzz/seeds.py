#!/usr/bin/env python3
"""Writes the seed corpus of the `decode` fuzz target (fuzz/corpus/decode/) from the protocol
vectors (docs/protocol-vectors.json): every encoded object they carry, one file each, named by
its SHA-256. Run after the vectors change; scripts/fuzz.sh starts every run from these seeds.
"""
import hashlib
import json
import pathlib
import re
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Fields of the vectors that hold an encoding a decoder reads (keys, hashes and ids do not).
ENCODED = {
    "input", "envelope", "message", "signed_message", "possession_proof", "proof", "query",
    "owner_query", "opening", "openings", "notice", "notices", "leaf", "leaves", "member_leaf",
    "certificate", "certificate_text", "sealed",
}
HEX = re.compile(r"(0x)?((?:[0-9a-f]{2})+)")


def encodings(value, key=None):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from encodings(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from encodings(v, key)
    elif isinstance(value, str) and key in ENCODED:
        m = HEX.fullmatch(value)
        if m:
            yield bytes.fromhex(m.group(2))
        elif value.startswith("-----BEGIN"):
            yield value.encode()


def main():
    vectors = json.loads((ROOT / "docs/protocol-vectors.json").read_text())
    out = ROOT / "fuzz/corpus/decode"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    seeds = {hashlib.sha256(b).hexdigest()[:16]: b for b in encodings(vectors) if b}
    for name, data in sorted(seeds.items()):
        (out / name).write_bytes(data)
    print(f"{len(seeds)} seeds in {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
