#!/usr/bin/env python3
"""Independent implementation of The Witness wire protocol v1 and of the backend's provable state
(notices version 2, the device map, verdicts), written from docs/PROTOCOL.md alone (not ported
from the Rust crate), checked against docs/protocol-vectors.json.

Libraries: `cryptography` (Ed25519, X25519, SHA-256, ChaCha20-Poly1305) and `pyhpke` (RFC 9180
HPKE). Ed25519
strictness checks (canonical point encodings, small-order rejection) are done here with plain
integer arithmetic, because OpenSSL does not perform them all.

Usage: crosscheck.py [path/to/protocol-vectors.json]
Prints one line per vector and a final line `N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import traceback
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from Crypto.Hash import keccak
from pyhpke import AEADId, CipherSuite, KDFId, KEMId

# --------------------------------------------------------------------------------------------
# Constants (PROTOCOL.md sections 3, 5, 6, 7, 8, 9)

TAG_ENVELOPE = b"witness/v2/envelope"
TAG_REGISTRAR = b"witness/v2/registrar"
TAG_OWNERSHIP = b"witness/v2/ownership"
TAG_OWNERSHIP_RELEASE = b"witness/v2/ownership-release"
TAG_OBJECTION = b"witness/v2/objection"
TAG_POSSESSION = b"witness/v2/possession"
TAG_OWNER_QUERY = b"witness/v2/owner-query"
TAG_BLINDING = b"witness/v1/blinding"
TAG_COMMIT = b"witness/v1/commit"
EXPORTER_CONTEXT = b"witness/v1/commitment"
HPKE_INFO = b"witness/v1/hpke"
RESPONSE_HPKE_INFO = b"witness/v1/response"

ENVELOPE_VERSION = 2
SUITE_1 = 1
READING_FORMAT = 1
INPUT_VERSION = 2
QUERY_VERSION = 2

HEADER_LEN = 33
ENC_LEN = 32
SIG_LEN = 64
AEAD_TAG_LEN = 16
MAX_READINGS = 64
MAX_CIPHERTEXT = 16_384
MAX_FAULTS = 32
MAX_REASON = 256
MAX_INPUT_LEN = 65_216
MAX_MESSAGES = 4_096
MIN_MESSAGE_LEN = 22

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1

KIND_ENVELOPE, KIND_REGISTRAR, KIND_GATEWAY, KIND_OWNERSHIP, KIND_OBJECTION = 1, 2, 3, 4, 5
# 8.4.2: a registrar's recovery takes effect seven days (block time) after it starts.
RECOVERY_DELAY_S = 7 * 86_400


class ProtocolError(Exception):
    """A rejection, carrying the error code of PROTOCOL.md section 10.1."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}{': ' + detail if detail else ''}")
        self.code = code


# --------------------------------------------------------------------------------------------
# Canonical encodings (section 2)


class Reader:
    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n > self.remaining():
            raise ProtocolError("truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def u64(self) -> int:
        return int.from_bytes(self.take(8), "big")

    def boolean(self) -> bool:
        b = self.u8()
        if b not in (0, 1):
            raise ProtocolError("invalid_field", "bool must be 0 or 1")
        return b == 1

    def varint(self) -> int:
        value = 0
        for i in range(10):
            b = self.u8()
            if i == 9 and (b & 0x7F) > 1:
                raise ProtocolError("non_canonical_varint", "overflows 64 bits")
            value |= (b & 0x7F) << (7 * i)
            if b & 0x80 == 0:
                if i > 0 and b == 0:
                    raise ProtocolError("non_canonical_varint", "overlong")
                return value
        raise ProtocolError("non_canonical_varint", "more than 10 bytes")

    def zigzag(self) -> int:
        u = self.varint()
        return (u >> 1) ^ -(u & 1)

    def count(self, maximum: int, min_item: int) -> int:
        c = self.varint()
        if c > maximum:
            raise ProtocolError("oversize", f"count {c} > {maximum}")
        if c * min_item > self.remaining():
            raise ProtocolError("truncated", "count exceeds remaining input")
        return c

    def text(self, maximum: int) -> str:
        n = self.varint()
        if n > maximum:
            raise ProtocolError("oversize", f"text length {n} > {maximum}")
        raw = self.take(n)
        try:
            return raw.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise ProtocolError("invalid_text") from None

    def finish(self) -> None:
        if self.remaining():
            raise ProtocolError("trailing_bytes", f"{self.remaining()} bytes left")


def enc_varint(v: int) -> bytes:
    assert 0 <= v <= U64_MAX
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def enc_zigzag(v: int) -> bytes:
    assert -(2**63) <= v < 2**63
    return enc_varint(((v << 1) ^ (v >> 63)) & U64_MAX)


def be(v: int, n: int) -> bytes:
    return v.to_bytes(n, "big")


# --------------------------------------------------------------------------------------------
# Ed25519, strict (section 3.2). Point arithmetic only for the strictness checks; the
# verification equation itself is OpenSSL's (via `cryptography`).

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _point_add(p1, p2):
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * D * t1 * t2 % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def decode_point(data: bytes):
    """RFC 8032 5.1.3 decoding; None if not a canonical encoding of a curve point."""
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        return None
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P == u:
        pass
    elif v * x * x % P == (-u) % P:
        x = x * SQRT_M1 % P
    else:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


def is_small_order(point) -> bool:
    q = point
    for _ in range(3):
        q = _point_add(q, q)
    x, y, z, _ = q
    return x % P == 0 and (y - z) % P == 0


def parse_ed25519_key(data: bytes) -> bytes:
    """A public key parsed from a message: canonical point, not small order."""
    point = decode_point(data)
    if point is None or is_small_order(point):
        raise ProtocolError("invalid_public_key", data.hex())
    return data


def verify_strict(public_key: bytes, message: bytes, signature: bytes) -> None:
    if len(signature) != 64:
        raise ProtocolError("bad_signature", "length")
    r_bytes, s_bytes = signature[:32], signature[32:]
    if int.from_bytes(s_bytes, "little") >= L:
        raise ProtocolError("bad_signature", "non-canonical S")
    a = decode_point(public_key)
    if a is None or is_small_order(a):
        raise ProtocolError("bad_signature", "invalid or small-order key")
    r = decode_point(r_bytes)
    if r is None or is_small_order(r):
        raise ProtocolError("bad_signature", "invalid or small-order R")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        raise ProtocolError("bad_signature") from None


def ed25519_public(seed: bytes) -> bytes:
    return (
        Ed25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).sign(message)


# --------------------------------------------------------------------------------------------
# HPKE (section 3.3)

assert KEMId.DHKEM_X25519_HKDF_SHA256.value == 0x0020
assert KDFId.HKDF_SHA256.value == 0x0001
assert AEADId.CHACHA20_POLY1305.value == 0x0003
SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.CHACHA20_POLY1305)


def hpke_open(secret_key: bytes, enc: bytes, info: bytes, aad: bytes, ciphertext: bytes):
    """Returns (plaintext, context) or raises decryption_failed."""
    try:
        sk = SUITE.kem.deserialize_private_key(secret_key)
        ctx = SUITE.create_recipient_context(enc, sk, info=info)
        return ctx.open(ciphertext, aad=aad), ctx
    except Exception:  # any decapsulation or AEAD failure
        raise ProtocolError("decryption_failed") from None


def x25519_public(secret_key: bytes) -> bytes:
    return (
        X25519PrivateKey.from_private_bytes(secret_key)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )


def clamp(secret_key: bytes) -> bytes:
    """RFC 7748 clamping; RFC 9180 7.1.2: SerializePrivateKey MUST clamp its output."""
    b = bytearray(secret_key)
    b[0] &= 248
    b[31] &= 127
    b[31] |= 64
    return bytes(b)


def hpke_derive_key_pair(ikm: bytes) -> tuple[bytes, bytes]:
    """RFC 9180 DeriveKeyPair, with the private key serialized (clamped) per 7.1.2."""
    kp = SUITE.kem.derive_key_pair(ikm)
    return clamp(kp.private_key.to_private_bytes()), kp.public_key.to_public_bytes()


def seal_response(response_key: bytes, aad: bytes, plaintext: bytes) -> bytes:
    pk = SUITE.kem.deserialize_public_key(response_key)
    enc, ctx = SUITE.create_sender_context(pk, info=RESPONSE_HPKE_INFO)
    return enc + ctx.seal(plaintext, aad=aad)


def open_response(secret_key: bytes, aad: bytes, sealed: bytes) -> bytes:
    if len(sealed) < ENC_LEN:
        raise ProtocolError("truncated")
    plaintext, _ = hpke_open(secret_key, sealed[:ENC_LEN], RESPONSE_HPKE_INFO, aad, sealed[ENC_LEN:])
    return plaintext


# --------------------------------------------------------------------------------------------
# Readings (section 5)

SYSTEMS = "PCBU"


def fault_text(code: int) -> str:
    return f"{SYSTEMS[code >> 14]}{code & 0x3FFF:04X}"


def fault_from_text(text: str) -> int:
    assert len(text) == 5 and text[0] in SYSTEMS, text
    low = int(text[1:], 16)
    assert low <= 0x3FFF, text
    return (SYSTEMS.index(text[0]) << 14) | low


def reading_from_json(obj: dict) -> dict:
    return {
        "timestamp": obj["timestamp"],
        "odometer_m": obj["odometer_m"],
        "fuel_ml": obj["fuel_ml"],
        "engine_s": obj["engine_s"],
        "faults": [fault_from_text(t) for t in obj["faults"]],
    }


def encode_standalone(r: dict) -> bytes:
    if len(r["faults"]) > MAX_FAULTS:
        raise ProtocolError("oversize")
    out = be(r["timestamp"], 4) + be(r["odometer_m"], 8) + be(r["fuel_ml"], 4) + be(r["engine_s"], 4)
    out += be(len(r["faults"]), 1) + b"".join(be(f, 2) for f in r["faults"])
    return out


def decode_standalone(rd: Reader) -> dict:
    r = {"timestamp": rd.u32(), "odometer_m": rd.u64(), "fuel_ml": rd.u32(), "engine_s": rd.u32()}
    n = rd.u8()
    if n > MAX_FAULTS:
        raise ProtocolError("oversize", "fault count")
    r["faults"] = [rd.u16() for _ in range(n)]
    return r


def pack_readings(readings: list[dict]) -> bytes:
    out = bytearray([READING_FORMAT])
    prev = None
    for r in readings:
        if prev is None:
            out += enc_varint(r["odometer_m"]) + enc_varint(r["engine_s"])
        else:
            dt = r["timestamp"] - prev["timestamp"]
            if dt < 0:
                raise ProtocolError("invalid_field", "time goes backwards")
            out += enc_varint(dt)
            out += enc_zigzag(r["odometer_m"] - prev["odometer_m"])
            out += enc_zigzag(r["engine_s"] - prev["engine_s"])
        out += enc_varint(r["fuel_ml"]) + enc_varint(len(r["faults"]))
        out += b"".join(be(f, 2) for f in r["faults"])
        prev = r
    return bytes(out)


def unpack_readings(plaintext: bytes, count: int, first_timestamp: int) -> list[dict]:
    """Section 5.3; every failure is malformed_plaintext."""
    try:
        return _unpack(plaintext, count, first_timestamp)
    except ProtocolError as e:
        raise ProtocolError("malformed_plaintext", str(e)) from None


def _unpack(plaintext: bytes, count: int, first_timestamp: int) -> list[dict]:
    rd = Reader(plaintext)
    if rd.u8() != READING_FORMAT:
        raise ProtocolError("unsupported_version", "reading format")
    readings: list[dict] = []
    for i in range(count):
        if i == 0:
            t = first_timestamp
            odo = rd.varint()
            engine = rd.varint()
        else:
            prev = readings[-1]
            dt = rd.varint()
            if dt > U32_MAX or prev["timestamp"] + dt > U32_MAX:
                raise ProtocolError("reading_out_of_range", "time")
            t = prev["timestamp"] + dt
            odo = prev["odometer_m"] + rd.zigzag()
            engine = prev["engine_s"] + rd.zigzag()
        if not 0 <= odo <= U64_MAX:
            raise ProtocolError("reading_out_of_range", "odometer")
        if not 0 <= engine <= U32_MAX:
            raise ProtocolError("reading_out_of_range", "engine")
        fuel = rd.varint()
        if fuel > U32_MAX:
            raise ProtocolError("reading_out_of_range", "fuel")
        n = rd.varint()
        if n > MAX_FAULTS:
            raise ProtocolError("oversize", "fault count")
        faults = [rd.u16() for _ in range(n)]
        readings.append(
            {"timestamp": t, "odometer_m": odo, "fuel_ml": fuel, "engine_s": engine, "faults": faults}
        )
    rd.finish()
    return readings


# --------------------------------------------------------------------------------------------
# Envelopes (section 6)


def read_header(rd: Reader) -> dict:
    version = rd.u8()
    if version != ENVELOPE_VERSION:
        raise ProtocolError("unsupported_version", f"envelope version {version}")
    suite = rd.u8()
    if suite != SUITE_1:
        raise ProtocolError("unsupported_suite", f"suite {suite}")
    h = {
        "version": version,
        "suite": suite,
        "device_id": rd.take(16),
        "counter": rd.u64(),
        "timestamp": rd.u32(),
        "reading_count": rd.u8(),
        "ciphertext_len": rd.u16(),
    }
    if h["reading_count"] == 0:
        raise ProtocolError("invalid_field", "reading_count 0")
    if h["reading_count"] > MAX_READINGS or h["ciphertext_len"] > MAX_CIPHERTEXT:
        raise ProtocolError("oversize", "reading_count or ciphertext_len")
    if h["ciphertext_len"] <= AEAD_TAG_LEN:
        raise ProtocolError("invalid_field", "ciphertext_len <= 16")
    if h["counter"] + h["reading_count"] - 1 > U64_MAX:
        raise ProtocolError("invalid_field", "counter overflow")
    return h


def read_envelope(rd: Reader) -> dict:
    start = rd.pos
    h = read_header(rd)
    c = h["ciphertext_len"]
    rd.take(ENC_LEN + c + SIG_LEN)
    raw = rd.data[start : rd.pos]
    return {
        "header": h,
        "bytes": raw,
        "aad": raw[0:33],
        "enc": raw[33:65],
        "ciphertext": raw[65 : 65 + c],
        "signature": raw[65 + c :],
        "signed_body": raw[: 65 + c],
    }


def decode_envelope(data: bytes) -> dict:
    rd = Reader(data)
    env = read_envelope(rd)
    rd.finish()
    return env


def open_envelope(env: dict, device_key: bytes, domain: bytes, backend_secret: bytes) -> dict:
    """Section 10.4 A2-A5 (A1, the registry lookup, is the caller's)."""
    verify_strict(device_key, signed_bytes(TAG_ENVELOPE, domain, env["signed_body"]), env["signature"])
    plaintext, ctx = hpke_open(backend_secret, env["enc"], HPKE_INFO, env["aad"], env["ciphertext"])
    h = env["header"]
    readings = unpack_readings(plaintext, h["reading_count"], h["timestamp"])
    key = ctx.export(EXPORTER_CONTEXT, 32)
    commitments = [
        commitment(h["device_id"], h["counter"] + i, blinding(key, h["counter"] + i), r)
        for i, r in enumerate(readings)
    ]
    return {"plaintext": plaintext, "readings": readings, "commitment_key": key, "commitments": commitments}


# --------------------------------------------------------------------------------------------
# Commitments (section 7)


def blinding(key: bytes, counter: int) -> bytes:
    return hashlib.sha256(TAG_BLINDING + key + be(counter, 8)).digest()


def commitment(device_id: bytes, counter: int, blind: bytes, reading: dict) -> bytes:
    return hashlib.sha256(
        TAG_COMMIT + device_id + be(counter, 8) + blind + encode_standalone(reading)
    ).digest()


def decode_opening(data: bytes) -> dict:
    rd = Reader(data)
    o = {"device_id": rd.take(16), "counter": rd.u64(), "blinding": rd.take(32)}
    o["reading"] = decode_standalone(rd)
    rd.finish()
    return o


# --------------------------------------------------------------------------------------------
# Signed statements (section 8) and rollup inputs (section 9)


def domain_bytes(chain_id: int, application: bytes, backend_public: bytes) -> bytes:
    """Section 3.5: the deployment every version-2 signature covers."""
    if len(application) != 20 or len(backend_public) != 32:
        raise ProtocolError("invalid_field", "domain")
    return be(chain_id, 8) + application + backend_public


def signed_bytes(tag: bytes, domain: bytes, body: bytes) -> bytes:
    """Section 8.1: tag || domain (60) || body."""
    return tag + domain + body


# 8.2.1: a correction's reason and evidence codes; any other byte is invalid_field.
CORRECTION_REASONS = {1: "cluster_replaced", 2: "sensor_fault", 3: "data_entry_error"}
CORRECTION_EVIDENCE = {1: "workshop_record", 2: "inspection_report", 3: "diagnostic_log", 4: "registry_record"}
OP_CORRECT = 7
CORRECTION_FIXED_LEN = 76  # device id 16 ‖ counter 8 ‖ 9 ‖ 9 ‖ reason 1 ‖ evidence 1 ‖ digest 32


def read_code(rd: Reader, names: dict, what: str) -> str:
    b = rd.u8()
    if b not in names:
        raise ProtocolError("invalid_field", f"{what} {b}")
    return names[b]


def read_correction(rd: Reader) -> dict:
    """8.2.1, the fields of op 7 (also the tail of history entry kind 8, 16.4): `device_id 16 ‖
    counter u64 ‖ has_odometer u8 ‖ odometer_m u64 ‖ has_baseline u8 ‖ baseline_m u64 ‖ reason u8
    ‖ evidence u8 ‖ evidence_digest 32 ‖ note text(256)`. An absent value is all zeros, a flag
    is 0 or 1 (both invalid_field, as in read_opt). Absent values are None; bytes stay bytes."""
    return {
        "device_id": rd.take(16),
        "counter": rd.u64(),
        "odometer_m": read_opt(rd, rd.u64),
        "baseline_m": read_opt(rd, rd.u64),
        "reason": read_code(rd, CORRECTION_REASONS, "correction reason"),
        "evidence": read_code(rd, CORRECTION_EVIDENCE, "correction evidence"),
        "evidence_digest": rd.take(32),
        "note": rd.text(MAX_REASON),
    }


def encode_correction(m: dict) -> bytes:
    def code(names: dict, name: str) -> bytes:
        return bytes([next(k for k, v in names.items() if v == name)])

    u64 = lambda v: be(v, 8)  # noqa: E731
    note = m["note"].encode()
    return (m["device_id"] + u64(m["counter"]) + enc_opt(m["odometer_m"], u64, 8) + enc_opt(m["baseline_m"], u64, 8)
            + code(CORRECTION_REASONS, m["reason"]) + code(CORRECTION_EVIDENCE, m["evidence"])
            + m["evidence_digest"] + enc_varint(len(note)) + note)


# Section 4: a vehicle is named by a hiding commitment to its VIN.
TAG_VEHICLE = b"witness/v2/vehicle"
VIN_LEN = 17
VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # ISO 3779: digits, capitals but I, O and Q
assert len(VIN_ALPHABET) == 33 and not set("IOQ") & set(VIN_ALPHABET)


def check_vin(vin: str) -> bytes:
    """17 characters of the ISO 3779 alphabet, else invalid_field (lower case too): one VIN, one
    commitment. Returns its 17 ASCII bytes."""
    if len(vin) != VIN_LEN or any(ch not in VIN_ALPHABET for ch in vin):
        raise ProtocolError("invalid_field", f"VIN {vin!r}")
    return vin.encode("ascii")


def vehicle_id(vin: str, salt: bytes) -> bytes:
    """SHA-256("witness/v2/vehicle" ‖ salt 32 ‖ VIN 17 ASCII)."""
    assert len(salt) == 32
    return hashlib.sha256(TAG_VEHICLE + salt + check_vin(vin)).digest()


def simulated_vehicle(seed: bytes) -> tuple[str, bytes]:
    """Section 13, `VehicleIdentity::simulated(seed)`: VIN "WTN" and 14 characters
    VIN_ALPHABET[b mod 33] of the first 14 bytes of SHA-256("witness simulated vehicle" ‖ seed);
    salt SHA-256("witness simulated vehicle salt" ‖ seed)."""
    d = hashlib.sha256(b"witness simulated vehicle" + seed).digest()
    vin = "WTN" + "".join(VIN_ALPHABET[b % 33] for b in d[:14])
    return vin, hashlib.sha256(b"witness simulated vehicle salt" + seed).digest()


OP_REGISTER, OP_REPLACE, OP_RECOVER, OP_REINSTATE = 8, 9, 10, 11


def read_registrar(rd: Reader) -> dict:
    start = rd.pos
    m = {"registrar": parse_ed25519_key(rd.take(32)), "sequence": rd.u64(), "op": rd.u8()}
    op = m["op"]
    if op == OP_REGISTER:
        m.update(device_id=rd.take(16), model=rd.u32(), public_key=parse_ed25519_key(rd.take(32)),
                 vehicle=rd.take(32))
    elif op == OP_REPLACE:
        # 8.2.2: vehicle ‖ old unit ‖ new unit ‖ model ‖ the new unit's key ‖ baseline_m.
        m.update(vehicle=rd.take(32), old_device=rd.take(16), new_device=rd.take(16), model=rd.u32(),
                 public_key=parse_ed25519_key(rd.take(32)), baseline_m=rd.u64())
    elif op in (2, OP_REINSTATE):
        # RevokeDevice, ReinstateDevice (8.2): the device ‖ the reason, text(256).
        m.update(device_id=rd.take(16), reason=rd.text(MAX_REASON))
    elif op == 3:
        m.update(device_id=rd.take(16), new_key=parse_ed25519_key(rd.take(32)))
    elif op == OP_RECOVER:
        # 8.4.2 RecoverOwner: the device ‖ the owner key the recovery binds.
        m.update(device_id=rd.take(16), owner=parse_ed25519_key(rd.take(32)))
    elif op in (5, 6):
        m.update(key=parse_ed25519_key(rd.take(32)))
    elif op == OP_CORRECT:
        m.update(read_correction(rd))
    else:
        # Ops 1 (the draft's RegisterDevice without a vehicle) and 4 (the draft's
        # CorrectReading) are retired: unknown_kind like any other op.
        raise ProtocolError("unknown_kind", f"registrar op {op}")
    m["body"] = rd.data[start : rd.pos]
    m["signature"] = rd.take(64)
    return m


def read_gateway_authorization(rd: Reader) -> dict:
    return {"gateway": rd.take(20), "authorized": rd.boolean()}


RELEASE_LEN = 68  # 8.4.1: expires_at u32 ‖ signature 64
TRANSFER_PREFIX = "witness-transfer-1."


def read_release(rd: Reader) -> dict:
    """8.4.1 Release: expires_at u32 ‖ the current owner's signature 64."""
    return {"expires_at": rd.u32(), "signature": rd.take(64)}


def encode_release(release: dict) -> bytes:
    return be(release["expires_at"], 4) + release["signature"]


def release_signed_message(domain: bytes, device_id: bytes, released_sequence: int, expires_at: int) -> bytes:
    """8.4.1: what the current owner signs to release the binding `released_sequence`."""
    return signed_bytes(TAG_OWNERSHIP_RELEASE, domain, device_id + be(released_sequence, 8) + be(expires_at, 4))


def read_ownership(rd: Reader) -> dict:
    """8.4: device_id 16 ‖ owner 32 ‖ sequence u64 (the body the device signs) ‖ consent u8
    (0 first pairing; 1 release, then the Release) ‖ device signature 64."""
    start = rd.pos
    m = {"device_id": rd.take(16), "owner": parse_ed25519_key(rd.take(32)), "sequence": rd.u64()}
    m["body"] = rd.data[start : rd.pos]
    consent = rd.u8()
    if consent == 0:
        m["release"] = None
    elif consent == 1:
        m["release"] = read_release(rd)
    else:
        raise ProtocolError("invalid_field", f"consent {consent}")
    m["device_signature"] = rd.take(64)
    return m


def read_objection(rd: Reader) -> dict:
    """8.4.2 OwnerObjection: device_id 16 ‖ owner 32 ‖ effective_at u64 ‖ signature 64."""
    start = rd.pos
    m = {"device_id": rd.take(16), "owner": parse_ed25519_key(rd.take(32)), "effective_at": rd.u64()}
    m["body"] = rd.data[start : rd.pos]
    m["signature"] = rd.take(64)
    return m


def _strict_hex(text: str) -> bytes:
    """Hex digits in pairs and nothing else (no whitespace inside, unlike bytes.fromhex)."""
    if len(text) % 2 or any(ch not in "0123456789abcdefABCDEF" for ch in text):
        raise ProtocolError("invalid_field", "transfer code hex")
    return bytes.fromhex(text)


def transfer_code_text(device_id: bytes, release: dict) -> str:
    """8.4.1: witness-transfer-1. ‖ lowercase hex(device_id 16 ‖ expires_at u32 ‖ signature 64)."""
    return TRANSFER_PREFIX + (device_id + encode_release(release)).hex()


def parse_transfer_code(text: str) -> tuple[bytes, dict]:
    text = text.strip()
    if not text.startswith(TRANSFER_PREFIX):
        raise ProtocolError("unsupported_version", "transfer code prefix")
    rd = Reader(_strict_hex(text[len(TRANSFER_PREFIX) :]))
    device_id = rd.take(16)
    release = read_release(rd)
    rd.finish()
    return device_id, release


def decode_possession(data: bytes) -> dict:
    rd = Reader(data)
    version = rd.u8()
    if version != QUERY_VERSION:
        raise ProtocolError("unsupported_version")
    m = {"device_id": rd.take(16), "nonce": rd.take(32), "counter": rd.u64()}
    m["reading"] = decode_standalone(rd)
    m["body"] = data[: rd.pos]
    m["signature"] = rd.take(64)
    rd.finish()
    return m


def decode_owner_query(data: bytes) -> dict:
    rd = Reader(data)
    version = rd.u8()
    if version != QUERY_VERSION:
        raise ProtocolError("unsupported_version")
    m = {
        "device_id": rd.take(16),
        "owner": parse_ed25519_key(rd.take(32)),
        "response_key": rd.take(32),
        "expires_at": rd.u32(),
    }
    if rd.u8() != 0:
        raise ProtocolError("invalid_field", "flags")
    m["body"] = data[: rd.pos]
    m["signature"] = rd.take(64)
    rd.finish()
    return m


def decode_input(data: bytes) -> list[tuple[int, dict]]:
    if len(data) > MAX_INPUT_LEN:
        raise ProtocolError("oversize", "input")
    rd = Reader(data)
    if rd.u8() != INPUT_VERSION:
        raise ProtocolError("unsupported_version", "input")
    count = rd.count(MAX_MESSAGES, MIN_MESSAGE_LEN)
    if count == 0:
        raise ProtocolError("invalid_field", "no messages")
    messages = []
    for _ in range(count):
        kind = rd.u8()
        if kind == KIND_ENVELOPE:
            messages.append((kind, read_envelope(rd)))
        elif kind == KIND_REGISTRAR:
            messages.append((kind, read_registrar(rd)))
        elif kind == KIND_GATEWAY:
            messages.append((kind, read_gateway_authorization(rd)))
        elif kind == KIND_OWNERSHIP:
            messages.append((kind, read_ownership(rd)))
        elif kind == KIND_OBJECTION:
            messages.append((kind, read_objection(rd)))
        else:
            raise ProtocolError("unknown_kind", f"kind {kind}")
    rd.finish()
    return messages


# --------------------------------------------------------------------------------------------
# Vector checks


class Failed(Exception):
    pass


class Checker:
    def __init__(self):
        self.count = 0

    def eq(self, what: str, got, want):
        self.count += 1
        if got != want:
            def show(x):
                return x.hex() if isinstance(x, (bytes, bytearray)) else repr(x)

            raise Failed(f"{what}: got {show(got)}, want {show(want)}")

    def true(self, what: str, cond: bool):
        self.eq(what, bool(cond), True)

    def rejects(self, what: str, code: str, fn, *args):
        self.count += 1
        try:
            fn(*args)
        except ProtocolError as e:
            if e.code != code:
                raise Failed(f"{what}: rejected with {e.code} ({e}), want {code}") from None
            return
        raise Failed(f"{what}: accepted, want {code}")


def h(v: dict, field: str) -> bytes:
    return bytes.fromhex(v[field])


def vector_seed(label: str) -> bytes:
    return hashlib.sha256(b"witness vector seed/" + label.encode()).digest()


def vector_device_id(label: str) -> bytes:
    return vector_seed("device id/" + label)[:16]


def check_keys(c: Checker, v: dict):
    # Device fields are null in vectors where no device signs (registrar acts, owner queries).
    if v.get("device_signing_seed") is not None:
        c.eq("device_public_key from seed", ed25519_public(h(v, "device_signing_seed")), h(v, "device_public_key"))
    c.eq("backend_public_key from secret", x25519_public(h(v, "backend_secret_key")), h(v, "backend_public_key"))
    c.eq("backend_secret_key is serialized clamped", clamp(h(v, "backend_secret_key")), h(v, "backend_secret_key"))
    sk, pk = hpke_derive_key_pair(b"witness vectors backend key")
    c.eq("backend key = DeriveKeyPair(label)", (sk, pk), (h(v, "backend_secret_key"), h(v, "backend_public_key")))
    c.eq("domain = chain id || application || backend key", dom(v), h(v, "domain"))


def dom(v: dict) -> bytes:
    """The vector's deployment (section 3.5), from its parts."""
    return domain_bytes(v["chain_id"], h(v, "application"), h(v, "backend_public_key"))


def check_envelope_parts(c: Checker, v: dict, env: dict):
    """Offsets of section 6.4 inside `envelope` and `signed_message`."""
    data, sm = h(v, "envelope"), h(v, "signed_message")
    aad, enc, ct = h(v, "aad"), h(v, "enc"), h(v, "ciphertext")
    C = env["header"]["ciphertext_len"]
    c.eq("len(ciphertext) = header.ciphertext_len", len(ct), C)
    c.eq("envelope length = 129 + C", len(data), 129 + C)
    c.eq("envelope[0:33] = aad", data[0:33], aad)
    c.eq("envelope[33:65] = enc", data[33:65], enc)
    c.eq("envelope[65:65+C] = ciphertext", data[65 : 65 + C], ct)
    c.eq("envelope[65+C:] = signature", data[65 + C :], h(v, "signature"))
    c.eq("signed_message[0:19] = tag", sm[0:19], TAG_ENVELOPE)
    c.eq("signed_message[19:79] = domain", sm[19:79], dom(v))
    c.eq("signed_message[79:112] = aad", sm[79:112], aad)
    c.eq("signed_message[112:144] = enc", sm[112:144], enc)
    c.eq("signed_message[144:] = ciphertext", sm[144:], ct)
    c.eq("signed_message = tag || domain || envelope[:65+C]", sm, TAG_ENVELOPE + dom(v) + data[: 65 + C])
    c.eq("own signed_message", signed_bytes(TAG_ENVELOPE, dom(v), env["signed_body"]), sm)
    c.eq("hpke_info", h(v, "hpke_info"), HPKE_INFO)


def check_valid_envelope(c: Checker, v: dict):
    check_keys(c, v)
    data = h(v, "envelope")
    env = decode_envelope(data)
    hd = env["header"]
    check_envelope_parts(c, v, env)
    c.eq("header.device_id", hd["device_id"], h(v, "device_id"))
    c.eq("device id = generator label", hd["device_id"], vector_device_id(v["name"]))
    c.eq("device seed = generator label", h(v, "device_signing_seed"), vector_seed(v["name"]))
    want_readings = [reading_from_json(r) for r in v["readings"]]
    c.eq("header.reading_count", hd["reading_count"], len(want_readings))
    c.eq("header.timestamp = first reading time", hd["timestamp"], want_readings[0]["timestamp"])

    verify_strict(h(v, "device_public_key"), h(v, "signed_message"), h(v, "signature"))
    c.count += 1
    plaintext, ctx = hpke_open(h(v, "backend_secret_key"), h(v, "enc"), h(v, "hpke_info"), h(v, "aad"), h(v, "ciphertext"))
    c.eq("HPKE open = plaintext", plaintext, h(v, "plaintext"))
    c.eq("ciphertext_len = plaintext + 16", hd["ciphertext_len"], len(plaintext) + 16)
    c.eq("envelope = 145 + plaintext", len(data), 145 + len(plaintext))
    readings = unpack_readings(plaintext, hd["reading_count"], hd["timestamp"])
    c.eq("unpacked readings", readings, want_readings)
    c.eq("re-packed readings = plaintext", pack_readings(want_readings), plaintext)
    for r, j in zip(readings, v["readings"]):
        c.eq("fault text", [fault_text(f) for f in r["faults"]], j["faults"])

    key = ctx.export(EXPORTER_CONTEXT, 32)
    c.eq("commitment_key = Export(ctx, 32)", key, h(v, "commitment_key"))
    c.eq("number of commitments", len(v["commitments"]), len(readings))
    c.eq("number of openings", len(v["openings"]), len(readings))
    for i, r in enumerate(readings):
        counter = hd["counter"] + i
        b = blinding(key, counter)
        com = commitment(hd["device_id"], counter, b, r)
        c.eq(f"commitment[{i}]", com, bytes.fromhex(v["commitments"][i]))
        raw = bytes.fromhex(v["openings"][i])
        o = decode_opening(raw)
        c.eq(f"opening[{i}] length = 77 + 2n", len(raw), 77 + 2 * len(r["faults"]))
        c.eq(f"opening[{i}].device_id", o["device_id"], hd["device_id"])
        c.eq(f"opening[{i}].counter = counter + i", o["counter"], counter)
        c.eq(f"opening[{i}].blinding", o["blinding"], b)
        c.eq(f"opening[{i}].reading", o["reading"], r)
        c.eq(f"opening[{i}] re-encoded", hd["device_id"] + be(counter, 8) + b + encode_standalone(r), raw)
        c.eq(f"opening[{i}] verifies", commitment(o["device_id"], o["counter"], o["blinding"], o["reading"]), com)
        wrong = dict(r, odometer_m=r["odometer_m"] + 1)
        c.true(f"opening[{i}] with another odometer mismatches",
               commitment(o["device_id"], o["counter"], o["blinding"], wrong) != com)

    opened = open_envelope(env, h(v, "device_public_key"), dom(v), h(v, "backend_secret_key"))
    c.eq("full opener readings", opened["readings"], want_readings)
    c.eq("full opener commitments", [x.hex() for x in opened["commitments"]], v["commitments"])

    inp = h(v, "input")
    c.eq("input = 02 01 01 || envelope", inp, bytes([INPUT_VERSION, 1, KIND_ENVELOPE]) + data)
    msgs = decode_input(inp)
    c.eq("input messages", [(k, m["bytes"]) for k, m in msgs], [(KIND_ENVELOPE, data)])


def check_invalid_envelope(c: Checker, v: dict):
    check_keys(c, v)
    data = h(v, "envelope")
    if v.get("signed_message"):
        env = decode_envelope(data)
        check_envelope_parts(c, v, env)
        verify_strict(h(v, "device_public_key"), h(v, "signed_message"), h(v, "signature"))
        c.count += 1

    def pipeline():
        env = decode_envelope(data)
        open_envelope(env, h(v, "device_public_key"), dom(v), h(v, "backend_secret_key"))

    c.rejects("opener", v["expected_error"], pipeline)
    # Inside a rollup input the same bytes fail the same way (except trailing bytes, which then
    # belong to the input and are reported by it).
    if v["expected_error"] != "trailing_bytes":
        def in_input():
            for kind, m in decode_input(bytes([INPUT_VERSION, 1, KIND_ENVELOPE]) + data):
                open_envelope(m, h(v, "device_public_key"), dom(v), h(v, "backend_secret_key"))

        c.rejects("opener inside an input", v["expected_error"], in_input)


def check_statement_common(c: Checker, v: dict, tag: bytes, body: bytes, signature: bytes):
    check_keys(c, v)
    c.eq("signer_public_key from seed", ed25519_public(h(v, "signer_seed")), h(v, "signer_public_key"))
    c.eq("signature = last 64 bytes of message", signature, h(v, "signature"))
    c.eq("signed_message = tag || domain || body", h(v, "signed_message"),
         signed_bytes(tag, dom(v), body))
    verify_strict(h(v, "signer_public_key"), h(v, "signed_message"), h(v, "signature"))
    c.count += 1
    c.eq("re-signed (deterministic Ed25519)", ed25519_sign(h(v, "signer_seed"), h(v, "signed_message")), h(v, "signature"))
    for what, offset in (("chain", 7), ("application", 8), ("backend key", 28)):
        other = bytearray(h(v, "signed_message"))
        other[len(tag) + offset] ^= 1
        c.rejects(f"signature for another {what}", "bad_signature",
                  verify_strict, h(v, "signer_public_key"), bytes(other), h(v, "signature"))


REGISTRAR_EXPECTED = {
    "registrar_register_device": OP_REGISTER,
    "registrar_replace_unit": OP_REPLACE,
    "registrar_revoke_device": 2,
    "registrar_reinstate_device": OP_REINSTATE,
    "registrar_rotate_key": 3,
    "registrar_recover_owner": OP_RECOVER,
    "registrar_correct": OP_CORRECT,
    "registrar_add_registrar": 5,
    "registrar_remove_registrar": 6,
}


def check_registrar(c: Checker, v: dict):
    msg = h(v, "message")
    rd = Reader(msg)
    m = read_registrar(rd)
    rd.finish()
    c.count += 1
    check_statement_common(c, v, TAG_REGISTRAR, m["body"], m["signature"])
    c.eq("registrar key = signer", m["registrar"], h(v, "signer_public_key"))
    c.eq("signer seed = generator label", h(v, "signer_seed"), vector_seed("registrar"))
    c.eq("op", m["op"], REGISTRAR_EXPECTED[v["name"]])
    # Op fields: RegisterDevice 16 + 4 + 32 + 32 (189 bytes in all, 8.2); ReplaceUnit 32 + 16 +
    # 16 + 4 + 32 + 8 = 108, so 213 bytes in all (8.2's table says 221: see the report).
    fixed = {OP_REGISTER: 84, OP_REPLACE: 108, 3: 48, OP_RECOVER: 48, 5: 32, 6: 32}
    if m["op"] in fixed:
        c.eq("message length", len(msg), 105 + fixed[m["op"]])
    else:
        text = (m["reason"] if m["op"] in (2, OP_REINSTATE) else m["note"]).encode()
        base = 121 if m["op"] in (2, OP_REINSTATE) else 181
        c.eq("message length", len(msg), base + len(enc_varint(len(text))) + len(text))
    if "device_id" in m:
        c.eq("device_id = generator label", m["device_id"], vector_device_id("registered device"))
    second = ed25519_public(vector_seed("second registrar"))
    # The registered device's vehicle is VehicleIdentity::simulated of its label's seed (13).
    vehicle = vehicle_id(*simulated_vehicle(vector_seed("registered device")))
    if m["op"] == OP_REGISTER:
        c.eq("registered key", m["public_key"], ed25519_public(vector_seed("registered device")))
        c.eq("vehicle = simulated(\"registered device\")", m["vehicle"], vehicle)
        c.eq("op fields re-encoded", m["body"][41:],
             m["device_id"] + be(m["model"], 4) + m["public_key"] + m["vehicle"])
    if m["op"] == OP_REPLACE:
        # The registered device's unit replaced by the unit "replacement unit", from a baseline.
        c.eq("vehicle = the registered device's", m["vehicle"], vehicle)
        c.eq("old unit = the registered device", m["old_device"], vector_device_id("registered device"))
        c.eq("new unit = generator label", m["new_device"], vector_device_id("replacement unit"))
        c.eq("new unit's key = generator label", m["public_key"], ed25519_public(vector_seed("replacement unit")))
        c.true("old and new unit differ", m["old_device"] != m["new_device"])
        c.eq("op fields re-encoded", m["body"][41:],
             m["vehicle"] + m["old_device"] + m["new_device"] + be(m["model"], 4) + m["public_key"]
             + be(m["baseline_m"], 8))
        c.eq("model, baseline", (m["model"], m["baseline_m"]), (3, 152_300_000))
    if m["op"] == 3:
        c.eq("new key", m["new_key"], second)
    if m["op"] == OP_RECOVER:
        # 8.4.2: 105 + 16 + 32 = 153 bytes; the registered device to the key "recovered owner".
        c.eq("RecoverOwner message length", len(msg), 153)
        c.eq("recovered owner = generator label", m["owner"], ed25519_public(vector_seed("recovered owner")))
        c.eq("op fields re-encoded", m["body"][41:], m["device_id"] + m["owner"])
    if m["op"] in (5, 6):
        c.eq("registrar key field", m["key"], second)
    if m["op"] == 2:
        c.eq("reason", m["reason"], "stolen")
    if m["op"] == OP_REINSTATE:
        c.eq("reason", m["reason"], "found")
        c.eq("op fields re-encoded", m["body"][41:],
             m["device_id"] + enc_varint(len(b"found")) + b"found")
    if m["op"] == OP_CORRECT:
        c.eq("op fields = 8.2.1's 76 bytes + note", len(m["body"]), 41 + CORRECTION_FIXED_LEN
             + len(enc_varint(len(m["note"].encode()))) + len(m["note"].encode()))
        c.eq("correction re-encoded", m["body"][41:], encode_correction(m))
        # The generator's story: the cluster replaced after counter 41, the baseline moved to
        # 1,200 km, no reading value corrected.
        c.eq("correction fields",
             (m["counter"], m["odometer_m"], m["baseline_m"], m["reason"], m["evidence"]),
             (41, None, 1_200_000, "cluster_replaced", "workshop_record"))
        c.true("evidence digest names a document", m["evidence_digest"] != bytes(32))
    inp = h(v, "input")
    c.eq("input = 02 01 02 || message", inp, bytes([INPUT_VERSION, 1, KIND_REGISTRAR]) + msg)
    msgs = decode_input(inp)
    c.eq("input parses to the message", [(k, x["body"] + x["signature"]) for k, x in msgs], [(KIND_REGISTRAR, msg)])


def check_ownership(c: Checker, v: dict, all_vectors: dict):
    msg = h(v, "message")
    rd = Reader(msg)
    m = read_ownership(rd)
    rd.finish()
    c.count += 1
    # 8.4: the device signs the 56-byte body only (not the consent).
    check_statement_common(c, v, TAG_OWNERSHIP, m["body"], m["device_signature"])
    c.eq("body length", len(m["body"]), 56)
    c.eq("message length (121 first pairing, 189 release)", len(msg), 189 if m["release"] else 121)
    c.eq("signer (the device) seed = generator label", h(v, "signer_seed"), vector_seed("ownership"))
    c.eq("device_id = generator label", m["device_id"], vector_device_id("ownership"))
    c.eq("message = body || consent || [release] || device signature", msg,
         m["body"] + (b"\x01" + encode_release(m["release"]) if m["release"] else b"\x00") + m["device_signature"])
    release_fields = ("release_signer_seed", "released_sequence", "release_expires_at", "release_signed_message",
                      "release_signature", "transfer_code")
    if m["release"] is not None:
        r = m["release"]
        c.eq("consent byte", msg[56], 1)
        c.eq("release expires_at = message[57:61]", r["expires_at"], v["release_expires_at"])
        c.eq("release signature = message[61:125]", r["signature"], h(v, "release_signature"))
        pairing = decode_ownership_message(h(all_vectors["ownership_pairing"], "message"))
        # The release ends the binding it names: the seller's, made by the pairing statement.
        c.eq("released_sequence = the pairing's sequence (the leaf's ownership_sequence)",
             v["released_sequence"], pairing["sequence"])
        want = release_signed_message(dom(v), m["device_id"], pairing["sequence"], r["expires_at"])
        c.eq("release_signed_message = tag || domain || device_id || released_sequence || expires_at",
             h(v, "release_signed_message"), want)
        c.eq("release_signed_message length", len(want), len(TAG_OWNERSHIP_RELEASE) + 60 + 28)
        c.eq("release signer seed = generator label", h(v, "release_signer_seed"), vector_seed("seller"))
        seller = ed25519_public(h(v, "release_signer_seed"))
        verify_strict(seller, want, r["signature"])
        c.count += 1
        c.eq("release re-signed (deterministic Ed25519)", ed25519_sign(h(v, "release_signer_seed"), want), r["signature"])
        c.eq("release signer = previous owner (pairing vector)", seller, pairing["owner"])
        c.true("sequence increases over the pairing", m["sequence"] > pairing["sequence"])
        c.eq("new owner = buyer label", m["owner"], ed25519_public(vector_seed("buyer")))
        c.eq("same device as the pairing", m["device_id"], pairing["device_id"])
        # The release names the binding it ends, the device and the deployment, and nothing of the buyer.
        for what, other in (("another released sequence", release_signed_message(dom(v), m["device_id"], pairing["sequence"] + 1, r["expires_at"])),
                            ("another expiry", release_signed_message(dom(v), m["device_id"], pairing["sequence"], r["expires_at"] + 1)),
                            ("another device", release_signed_message(dom(v), vector_device_id("other"), pairing["sequence"], r["expires_at"])),
                            ("the ownership tag", signed_bytes(TAG_OWNERSHIP, dom(v), want[len(TAG_OWNERSHIP_RELEASE) + 60 :]))):
            c.rejects(f"release for {what}", "bad_signature", verify_strict, seller, other, r["signature"])
        # The transfer code (8.4.1): its text, built here from the statement's device and
        # release (the statement's bytes 57..125), and parsed back.
        text = transfer_code_text(m["device_id"], r)
        c.eq("release bytes = message[57:125]", encode_release(r), msg[57:125])
        c.eq("transfer_code text", v["transfer_code"], text)
        c.eq("transfer_code parses to the statement's device and release", parse_transfer_code(v["transfer_code"]), (m["device_id"], r))
        c.eq("transfer code text length", len(text), len(TRANSFER_PREFIX) + 2 * (16 + RELEASE_LEN))
        c.eq("transfer code text parses back", parse_transfer_code(text), (m["device_id"], r))
        c.eq("transfer code text, surrounding whitespace", parse_transfer_code(" \n" + text + "\n"), (m["device_id"], r))
        for what, bad, code_ in (("wrong prefix", "witness-transfer-2." + text[len(TRANSFER_PREFIX):], "unsupported_version"),
                                 ("no prefix", text[len(TRANSFER_PREFIX):], "unsupported_version"),
                                 ("non-hex", text[:-2] + "zz", "invalid_field"),
                                 ("odd length", text[:-1], "invalid_field"),
                                 ("a space inside", text[:30] + " " + text[30:], "invalid_field"),
                                 ("one byte short", text[:-2], "truncated"),
                                 ("only the device id", text[: len(TRANSFER_PREFIX) + 32], "truncated"),
                                 ("a byte more", text + "00", "trailing_bytes")):
            c.rejects(f"transfer code: {what}", code_, parse_transfer_code, bad)
    else:
        c.eq("consent byte", msg[56], 0)
        c.eq("owner = seller label", m["owner"], ed25519_public(vector_seed("seller")))
        c.eq("first pairing: no release fields", [f for f in release_fields if f in v], [])
    # Consent bytes other than 0 and 1 are refused; a first pairing with release bytes has trailing bytes.
    for consent in (2, 255):
        c.rejects(f"consent {consent}", "invalid_field", decode_ownership_message, msg[:56] + bytes([consent]) + msg[57:])
    c.rejects("cut after the consent byte", "truncated", decode_ownership_message, msg[:57])
    c.rejects("a byte more", "trailing_bytes", decode_ownership_message, msg + b"\x00")
    if m["release"] is None:
        c.rejects("consent 1 without a release", "truncated", decode_ownership_message, msg[:56] + b"\x01" + msg[57:])
    else:
        c.rejects("consent 0 with a release", "trailing_bytes", decode_ownership_message, msg[:56] + b"\x00" + msg[57:])
    inp = h(v, "input")
    c.eq("input = 02 01 04 || message", inp, bytes([INPUT_VERSION, 1, KIND_OWNERSHIP]) + msg)
    msgs = decode_input(inp)
    c.eq("input parses to one ownership message", [(k, x["body"]) for k, x in msgs], [(KIND_OWNERSHIP, m["body"])])


def check_objection(c: Checker, v: dict, all_vectors: dict):
    """8.4.2: the current owner objects to a pending recovery, named by its effective_at."""
    msg = h(v, "message")
    rd = Reader(msg)
    m = read_objection(rd)
    rd.finish()
    c.count += 1
    check_statement_common(c, v, TAG_OBJECTION, m["body"], m["signature"])
    c.eq("message length", len(msg), 120)
    c.eq("body length", len(m["body"]), 56)
    c.eq("message re-encoded", m["device_id"] + m["owner"] + be(m["effective_at"], 8) + m["signature"], msg)
    c.eq("owner = signer", m["owner"], h(v, "signer_public_key"))
    c.eq("signer seed = generator label (the seller, owner since the pairing)", h(v, "signer_seed"), vector_seed("seller"))
    pairing = decode_ownership_message(h(all_vectors["ownership_pairing"], "message"))
    c.eq("device = the ownership vectors'", m["device_id"], pairing["device_id"])
    c.eq("objector = the owner the pairing bound", m["owner"], pairing["owner"])
    # It names the recovery the history story starts: that input's block time + 7 days.
    started = all_vectors["history_recovery_started"]["fields"]
    c.eq("effective_at = recovery start + 604800", m["effective_at"], started["block_timestamp"] + RECOVERY_DELAY_S)
    c.eq("the started recovery's effective_at", m["effective_at"],
         next(e["effective_at"] for e in started["entries"] if e["type"] == "recovery_started"))
    other = signed_bytes(TAG_OBJECTION, dom(v), m["device_id"] + m["owner"] + be(m["effective_at"] + 1, 8))
    c.rejects("objection to another recovery", "bad_signature", verify_strict, m["owner"], other, m["signature"])
    c.rejects("a byte more", "trailing_bytes", decode_input, h(v, "input") + b"\x00")
    c.rejects("no signature", "truncated", decode_input, bytes([INPUT_VERSION, 1, KIND_OBJECTION]) + msg[:56])
    inp = h(v, "input")
    c.eq("input = 02 01 05 || message", inp, bytes([INPUT_VERSION, 1, KIND_OBJECTION]) + msg)
    msgs = decode_input(inp)
    c.eq("input parses to one objection", [(k, x["body"] + x["signature"]) for k, x in msgs], [(KIND_OBJECTION, msg)])


def decode_ownership_message(data: bytes) -> dict:
    rd = Reader(data)
    m = read_ownership(rd)
    rd.finish()
    return m


def check_possession(c: Checker, v: dict):
    msg = h(v, "message")
    m = decode_possession(msg)
    c.count += 1
    check_statement_common(c, v, TAG_POSSESSION, m["body"], m["signature"])
    c.eq("signer = device", h(v, "signer_public_key"), h(v, "device_public_key"))
    c.eq("version byte", msg[0], QUERY_VERSION)
    c.eq("device_id = generator label", m["device_id"], vector_device_id("possession_proof"))
    c.eq("nonce", m["nonce"], h(v, "nonce"))
    c.eq("reading", m["reading"], reading_from_json(v["readings"][0]))
    c.eq("message length = 142 + 2n", len(msg), 142 + 2 * len(m["reading"]["faults"]))
    c.rejects("trailing byte", "trailing_bytes", decode_possession, msg + b"\x00")
    c.rejects("version 1", "unsupported_version", decode_possession, b"\x01" + msg[1:])


def check_owner_query(c: Checker, v: dict):
    msg = h(v, "message")
    m = decode_owner_query(msg)
    c.count += 1
    check_statement_common(c, v, TAG_OWNER_QUERY, m["body"], m["signature"])
    c.eq("message length", len(msg), 150)
    c.eq("body length", len(m["body"]), 86)
    c.eq("owner = signer", m["owner"], h(v, "signer_public_key"))
    c.eq("owner seed = generator label", h(v, "signer_seed"), vector_seed("owner"))
    c.eq("device_id = generator label", m["device_id"], vector_device_id("possession_proof"))
    rsk, rpk = hpke_derive_key_pair(b"owner response key")
    c.eq("response key = DeriveKeyPair(label)", m["response_key"], rpk)
    c.eq("flags byte", msg[85], 0)
    flagged = bytearray(msg)
    flagged[85] = 1
    c.rejects("flags != 0", "invalid_field", decode_owner_query, bytes(flagged))
    c.rejects("trailing byte", "trailing_bytes", decode_owner_query, msg + b"\x00")
    # Sealed response (8.7): our sealer and opener agree, and the AAD binds the query.
    sealed = seal_response(m["response_key"], m["signature"], b"answer")
    c.eq("sealed response opens", open_response(rsk, m["signature"], sealed), b"answer")
    c.rejects("sealed response under another AAD", "decryption_failed", open_response, rsk, bytes(64), sealed)
    c.rejects("sealed response too short", "truncated", open_response, rsk, m["signature"], sealed[:31])


def check_batch_input(c: Checker, v: dict):
    check_keys(c, v)
    inp = h(v, "input")
    msgs = decode_input(inp)
    c.eq("kinds", [k for k, _ in msgs], [1, 1, 1, 3])
    for i in range(3):
        env = msgs[i][1]
        label = f"batch device {i}"
        c.eq(f"envelope {i} device id = label", env["header"]["device_id"], vector_device_id(label))
        c.eq(f"envelope {i} counter", env["header"]["counter"], 1)
        opened = open_envelope(env, ed25519_public(vector_seed(label)), dom(v), h(v, "backend_secret_key"))
        c.eq(f"envelope {i} readings", len(opened["readings"]), 2)
        c.eq(f"envelope {i} first odometer", opened["readings"][0]["odometer_m"], 10_000_000 * i)
    c.eq("gateway authorization", msgs[3][1], {"gateway": bytes([0x70] * 20), "authorized": True})
    c.eq("input header", inp[:2], bytes([INPUT_VERSION, 4]))


# --------------------------------------------------------------------------------------------
# Provable state (sections 16 and 17): device leaves, the device map, notices, verdicts.

TAG_LEAF = b"witness/v2/leaf"
TAG_MAP_NODE = b"witness/v2/map-node"
TAG_HISTORY = b"witness/v2/history"
TAG_GLOBALS = b"witness/v2/globals"
TAG_KEY_ODOMETER = b"witness/v2/history-key/odometer"
TAG_KEY_DETAIL = b"witness/v2/history-key/detail"
EMPTY = bytes(32)
LEAF_VERSION = 2
LEAF_LEN = 442
MAP_PROOF_VERSION = 1
KEY_BITS = 128
NOTICE_VERSION = 2
NOTICE_STATE, NOTICE_HISTORY = 4, 5
STATE_NOTICE_LEN = 98
MAX_HISTORY_ENTRIES = 65_216
MIN_HISTORY_ENTRY = 2  # kind 5 (revoked) with an empty reason
MAX_ENTRY_TEXT = 1_024
SECONDS_PER_DAY = 86_400


def sha256(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def read_opt(rd: Reader, read_value):
    """`present u8 (0/1) ‖ value`; an absent value MUST be all zeros (16.2, 16 intro)."""
    present = rd.boolean()
    start = rd.pos
    value = read_value()
    if not present:
        if any(rd.data[start : rd.pos]):
            raise ProtocolError("invalid_field", "absent optional field not zero")
        return None
    return value


def enc_opt(value, encode, width: int) -> bytes:
    return b"\x00" + bytes(width) if value is None else b"\x01" + encode(value)


# --- 16.2 device leaf (as a dict with the field names of the vectors' `fields`)


def read_attested(rd: Reader) -> dict:
    """An attested reading named in the leaf: counter u64 ‖ commitment 32 ‖ input index u64."""
    return {"counter": rd.u64(), "commitment": rd.take(32).hex(), "input_index": rd.u64()}


def read_leaf(rd: Reader) -> dict:
    if rd.u8() != LEAF_VERSION:
        raise ProtocolError("unsupported_version", "leaf version")
    leaf = {
        "device_id": rd.take(16).hex(),
        "model": rd.u32(),
        "public_key": rd.take(32).hex(),
        "revoked": rd.boolean(),
        # Version 2: the open rollbacks (u32) where version 1 had a flagged byte; the device
        # is flagged while this is not 0.
        "open_tampers": rd.u32(),
        "last_counter": read_opt(rd, rd.u64),
        "owner": read_opt(rd, lambda: rd.take(32).hex()),
        "ownership_sequence": read_opt(rd, rd.u64),
        "era": rd.u32(),
        "attested": rd.u64(),
        "highest": read_opt(rd, lambda: read_attested(rd)),
        # Offset 167 (shared-spec-cert.md A): the first reading ever attested, same shape.
        "first": read_opt(rd, lambda: read_attested(rd)),
        "tamper_events": rd.u32(),
        "latest_tamper": read_opt(rd, lambda: {"counter": rd.u64(), "reference_counter": rd.u64(), "input_index": rd.u64()}),
        "corrections": rd.u32(),
        "latest_correction": read_opt(rd, lambda: {"counter": rd.u64(), "input_index": rd.u64()}),
        # Offset 269: set by a correction that moves the baseline, cleared by the next attested reading.
        "corrected_baseline": read_opt(rd, lambda: {"odometer_m": rd.u64(), "input_index": rd.u64()}),
        # Offsets 286-351: the vehicle's commitment (section 4) and the unit's links (8.2.2).
        "vehicle": rd.take(32).hex(),
        "predecessor": read_opt(rd, lambda: rd.take(16).hex()),
        "successor": read_opt(rd, lambda: rd.take(16).hex()),
        # Offset 352 (8.4.2): a registrar's ownership recovery waiting for its time.
        "pending_recovery": read_opt(rd, lambda: {"owner": rd.take(32).hex(), "effective_at": rd.u64()}),
    }
    leaf["history"] = {"count": rd.u64(), "root": rd.take(32).hex(), "last_input": read_opt(rd, rd.u64)}
    return leaf


def decode_leaf(data: bytes) -> dict:
    rd = Reader(data)
    leaf = read_leaf(rd)
    rd.finish()
    return leaf


def encode_leaf(leaf: dict) -> bytes:
    u64 = lambda v: be(v, 8)  # noqa: E731
    out = bytes([LEAF_VERSION]) + bytes.fromhex(leaf["device_id"]) + be(leaf["model"], 4)
    out += bytes.fromhex(leaf["public_key"]) + bytes([leaf["revoked"]]) + be(leaf["open_tampers"], 4)
    out += enc_opt(leaf["last_counter"], u64, 8)
    out += enc_opt(leaf["owner"], bytes.fromhex, 32)
    out += enc_opt(leaf["ownership_sequence"], u64, 8)
    out += be(leaf["era"], 4) + be(leaf["attested"], 8)
    attested = lambda a: u64(a["counter"]) + bytes.fromhex(a["commitment"]) + u64(a["input_index"])  # noqa: E731
    out += enc_opt(leaf["highest"], attested, 48)
    out += enc_opt(leaf["first"], attested, 48)
    out += be(leaf["tamper_events"], 4)
    out += enc_opt(leaf["latest_tamper"], lambda t: u64(t["counter"]) + u64(t["reference_counter"]) + u64(t["input_index"]), 24)
    out += be(leaf["corrections"], 4)
    out += enc_opt(leaf["latest_correction"], lambda c: u64(c["counter"]) + u64(c["input_index"]), 16)
    out += enc_opt(leaf["corrected_baseline"], lambda b: u64(b["odometer_m"]) + u64(b["input_index"]), 16)
    out += bytes.fromhex(leaf["vehicle"])
    out += enc_opt(leaf["predecessor"], bytes.fromhex, 16)
    out += enc_opt(leaf["successor"], bytes.fromhex, 16)
    out += enc_opt(leaf["pending_recovery"], lambda p: bytes.fromhex(p["owner"]) + u64(p["effective_at"]), 40)
    hist = leaf["history"]
    out += u64(hist["count"]) + bytes.fromhex(hist["root"]) + enc_opt(hist["last_input"], u64, 8)
    assert len(out) == LEAF_LEN
    return out


def leaf_hash(encoded: bytes) -> bytes:
    return sha256(TAG_LEAF, encoded)


# --- 16.3 the device map


def key_bit(key: bytes, i: int) -> int:
    return (key[i // 8] >> (7 - i % 8)) & 1


def map_node(left: bytes, right: bytes) -> bytes:
    return sha256(TAG_MAP_NODE, left, right)


def subtree(leaves: list[bytes], depth: int) -> bytes:
    """`leaves`: encoded leaves whose ids share their first `depth` bits."""
    if not leaves:
        return EMPTY
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    left = [x for x in leaves if key_bit(x[1:17], depth) == 0]
    right = [x for x in leaves if key_bit(x[1:17], depth) == 1]
    return map_node(subtree(left, depth + 1), subtree(right, depth + 1))


def map_root(leaves: list[bytes]) -> bytes:
    return subtree(leaves, 0)


def make_map_proof(leaves: list[bytes], key: bytes) -> bytes:
    """The canonical proof for `key` (16.3), built by walking down from the root."""
    here, siblings, depth = list(leaves), [], 0
    while len(here) > 1:
        same = [x for x in here if key_bit(x[1:17], depth) == key_bit(key, depth)]
        other = [x for x in here if key_bit(x[1:17], depth) != key_bit(key, depth)]
        siblings.append(subtree(other, depth + 1))
        here, depth = same, depth + 1
    bitmap = 0
    for i, s in enumerate(siblings):
        if s != EMPTY:
            bitmap |= 1 << (127 - i)
    out = bytes([MAP_PROOF_VERSION, 1 if here else 0, len(siblings)]) + bitmap.to_bytes(16, "big")
    out += b"".join(s for s in siblings if s != EMPTY)
    return out + (here[0] if here else b"")


def decode_map_proof(data: bytes) -> dict:
    rd = Reader(data)
    if rd.u8() != MAP_PROOF_VERSION:
        raise ProtocolError("unsupported_version", "map proof version")
    terminal = rd.u8()
    if terminal not in (0, 1):
        raise ProtocolError("invalid_field", "terminal")
    depth = rd.u8()
    if depth > KEY_BITS:
        raise ProtocolError("oversize", f"depth {depth}")
    bitmap = int.from_bytes(rd.take(16), "big")
    if bitmap & ((1 << (KEY_BITS - depth)) - 1):
        raise ProtocolError("invalid_field", "bitmap bit at or beyond the depth")
    siblings = []
    for i in range(depth):
        if (bitmap >> (127 - i)) & 1:
            s = rd.take(32)
            if s == EMPTY:
                raise ProtocolError("invalid_field", "a sibling marked present is EMPTY")
            siblings.append(s)
        else:
            siblings.append(EMPTY)
    leaf = None
    if terminal == 1:
        raw = rd.take(LEAF_LEN)
        leaf = (raw, decode_leaf(raw))
    rd.finish()
    return {"siblings": siblings, "leaf": leaf}


def verify_map_proof(proof: dict, key: bytes, root: bytes):
    """Returns ("member", leaf bytes) or ("absent", None); raises wrong_prefix / root_mismatch."""
    d = len(proof["siblings"])
    if proof["leaf"] is None:
        h, outcome = EMPTY, ("absent", None)
    else:
        raw, leaf = proof["leaf"]
        other = bytes.fromhex(leaf["device_id"])
        if other == key:
            outcome = ("member", raw)
        else:
            if any(key_bit(other, i) != key_bit(key, i) for i in range(d)):
                raise ProtocolError("wrong_prefix")
            outcome = ("absent", None)
        h = leaf_hash(raw)
    for i in range(d - 1, -1, -1):
        s = proof["siblings"][i]
        h = map_node(h, s) if key_bit(key, i) == 0 else map_node(s, h)
    if h != root:
        raise ProtocolError("root_mismatch")
    return outcome


# --- 16.5 state notice


def decode_state_notice(data: bytes) -> dict:
    rd = Reader(data)
    if rd.u8() != NOTICE_VERSION:
        raise ProtocolError("unsupported_version", "notice version")
    if rd.u8() != NOTICE_STATE:
        raise ProtocolError("unknown_kind", "not a state notice")
    n = {
        "input_index": rd.u64(),
        "block_number": rd.u64(),
        "block_timestamp": rd.u64(),
        "devices": rd.u64(),
        "map_root": rd.take(32).hex(),
        "globals": rd.take(32).hex(),
    }
    rd.finish()
    return n


def globals_hash(g: dict) -> bytes:
    gateways = sorted(bytes.fromhex(x) for x in g["gateways"])
    registrars = sorted(g["registrars"], key=lambda r: bytes.fromhex(r["key"]))
    out = TAG_GLOBALS + bytes.fromhex(g["admin"]) + bytes.fromhex(g["backend_public_key"])
    out += be(len(gateways), 4) + b"".join(gateways) + be(len(registrars), 4)
    for r in registrars:
        out += bytes.fromhex(r["key"]) + bytes([r["root"], r["trusted"]])
        out += enc_opt(r["last_sequence"], lambda v: be(v, 8), 8)
    return sha256(out)


# --- 16.4 history notices


def read_history_entry(rd: Reader, range_: tuple[int, int] | None, with_commitment: bool = True) -> dict:
    """One entry (16.4). A reading entry carries no counter: it is the one its envelope's range
    owes next (`range_`: (next counter, readings owed)); outside a range it is invalid_field,
    reported after its own fields. `with_commitment` False: a reading entry of an opened
    certificate notice (form 1), whose commitment is left out (`commitment` None)."""
    kind = rd.u8()
    if kind == 1:
        return {"type": "registered", "model": rd.u32(), "registrar": rd.take(32).hex()}
    if kind == 2:
        e = {"type": "reading", "commitment": rd.take(32).hex() if with_commitment else None}
        # The reference counter is there only for a rollback.
        e["rollback_of"] = rd.u64() if rd.boolean() else None
        if range_ is None:
            raise ProtocolError("invalid_field", "a reading entry outside any envelope range")
        e["counter"] = range_[0]
        return e
    # Kind 3 (the draft's correction) is retired: it falls through to unknown_kind.
    if kind == 4:
        return {"type": "key_rotated", "new_key": rd.take(32).hex()}
    if kind == 5:
        return {"type": "revoked", "reason": rd.text(MAX_ENTRY_TEXT)}
    if kind == 6:
        return {"type": "owner_changed", "sequence": rd.u64(), "consented": rd.boolean(), "owner": rd.take(32).hex()}
    if kind == 7:
        return {"type": "envelope", "first_counter": rd.u64(), "count": rd.u8()}
    if kind == 8:
        # registrar key 32 ‖ cleared bool ‖ the correction's fields exactly as signed (8.2.1,
        # with its checks: flags 0/1, absent values zero, known reason and evidence codes, and
        # the note a text(256), not the text(1024) of the other entries).
        e = {"type": "corrected", "registrar": rd.take(32).hex(), "cleared": rd.boolean()}
        e.update(correction_json(read_correction(rd)))
        return e
    if kind == 9:
        # The unit was replaced (8.2.2): the new unit's id ‖ the registrar's key.
        return {"type": "replaced_by", "new_device": rd.take(16).hex(), "registrar": rd.take(32).hex()}
    if kind == 10:
        # The unit replaced another: the old unit's id ‖ the baseline it starts from ‖ the registrar.
        return {"type": "replaces", "old_device": rd.take(16).hex(), "baseline_m": rd.u64(), "registrar": rd.take(32).hex()}
    if kind == 11:
        # 8.4.2: a registrar started a recovery: registrar 32 ‖ owner 32 ‖ effective_at u64.
        return {"type": "recovery_started", "registrar": rd.take(32).hex(), "owner": rd.take(32).hex(),
                "effective_at": rd.u64()}
    if kind == 12:
        # The pending recovery ended without taking effect: outcome 1 objected, 2 superseded, 3 retired.
        outcome = rd.u8()
        if outcome not in RECOVERY_OUTCOMES:
            raise ProtocolError("invalid_field", f"recovery outcome {outcome}")
        return {"type": "recovery_ended", "outcome": RECOVERY_OUTCOMES[outcome]}
    if kind == 13:
        # The pending recovery took effect: the recovered owner's key (a new era follows).
        return {"type": "owner_recovered", "owner": rd.take(32).hex()}
    if kind == 14:
        # A revoked unit was reinstated: the reason, text(1024) like a revocation's.
        return {"type": "reinstated", "reason": rd.text(MAX_ENTRY_TEXT)}
    raise ProtocolError("unknown_kind", f"history entry kind {kind}")


RECOVERY_OUTCOMES = {1: "objected", 2: "superseded", 3: "retired"}


def encode_entry(e: dict) -> bytes:
    """A non-reading history entry (16.4) from its decoded form."""
    t = e["type"]
    if t == "registered":
        return b"\x01" + be(e["model"], 4) + bytes.fromhex(e["registrar"])
    if t == "key_rotated":
        return b"\x04" + bytes.fromhex(e["new_key"])
    if t == "revoked":
        r = e["reason"].encode()
        return b"\x05" + enc_varint(len(r)) + r
    if t == "owner_changed":
        return b"\x06" + be(e["sequence"], 8) + bytes([e["consented"]]) + bytes.fromhex(e["owner"])
    if t == "envelope":
        return b"\x07" + be(e["first_counter"], 8) + bytes([e["count"]])
    if t == "corrected":
        return encode_corrected_entry(e)
    if t == "replaced_by":
        return b"\x09" + bytes.fromhex(e["new_device"]) + bytes.fromhex(e["registrar"])
    if t == "replaces":
        return b"\x0a" + bytes.fromhex(e["old_device"]) + be(e["baseline_m"], 8) + bytes.fromhex(e["registrar"])
    if t == "recovery_started":
        return b"\x0b" + bytes.fromhex(e["registrar"]) + bytes.fromhex(e["owner"]) + be(e["effective_at"], 8)
    if t == "recovery_ended":
        return b"\x0c" + bytes([{v: k for k, v in RECOVERY_OUTCOMES.items()}[e["outcome"]]])
    if t == "owner_recovered":
        return b"\x0d" + bytes.fromhex(e["owner"])
    if t == "reinstated":
        r = e["reason"].encode()
        return b"\x0e" + enc_varint(len(r)) + r
    raise AssertionError(t)


def correction_json(m: dict) -> dict:
    """A correction's fields (read_correction) as the vectors write them: bytes in hex."""
    return dict(m, device_id=m["device_id"].hex(), evidence_digest=m["evidence_digest"].hex())


def correction_from_json(e: dict) -> dict:
    keys = ("device_id", "counter", "odometer_m", "baseline_m", "reason", "evidence", "evidence_digest", "note")
    m = {k: e[k] for k in keys}
    return dict(m, device_id=bytes.fromhex(m["device_id"]), evidence_digest=bytes.fromhex(m["evidence_digest"]))


def encode_corrected_entry(e: dict) -> bytes:
    """History entry kind 8 from its decoded form (the inverse of read_history_entry's)."""
    return b"\x08" + bytes.fromhex(e["registrar"]) + bytes([e["cleared"]]) + encode_correction(correction_from_json(e))


def check_entry_sequence(range_: tuple[int, int] | None, e: dict) -> tuple[int, int] | None:
    """16.4: an envelope entry opens the range of its `count` readings; exactly that many
    reading entries follow it, the k-th with counter first + k; a reading entry anywhere else
    (read_history_entry refuses it), or any other entry inside a range, is invalid_field.
    Returns the range still owed as (next counter, readings owed), after entry `e` (decoded)."""
    if range_ is not None:
        next_counter, owed = range_
        if e["type"] != "reading":
            raise ProtocolError("invalid_field", f"{e['type']} entry where reading {next_counter} is due")
        return (next_counter + 1, owed - 1) if owed > 1 else None
    if e["type"] == "envelope":
        if not 1 <= e["count"] <= MAX_READINGS or e["first_counter"] + e["count"] - 1 > U64_MAX:
            raise ProtocolError("invalid_field", "envelope entry count or range")
        return (e["first_counter"], e["count"])
    return None


def decode_history_notice(data: bytes) -> dict:
    rd = Reader(data)
    n = read_history_notice(rd, data, True)
    rd.finish()
    return n


def read_history_notice(rd: Reader, data: bytes, with_commitments: bool) -> dict:
    """16.4, up to the end of the detail ciphertext (`rd` reads `data` from its start). With
    `with_commitments` False the reading entries are those of a form 1 certificate notice
    (commitment left out); `reading_offsets` are then where each one's commitment belongs."""
    if rd.u8() != NOTICE_VERSION:
        raise ProtocolError("unsupported_version", "notice version")
    if rd.u8() != NOTICE_HISTORY:
        raise ProtocolError("unknown_kind", "not a history notice")
    n = {
        "device_id": rd.take(16).hex(),
        "input_index": rd.u64(),
        "block_timestamp": rd.u64(),
        "era": rd.u32(),
        "position": rd.u64(),
        "previous_input": read_opt(rd, rd.u64),
    }
    # The header: version byte to the end of the previous-input field, the detail part's AAD.
    header_end = rd.pos
    count = rd.count(MAX_HISTORY_ENTRIES, MIN_HISTORY_ENTRY)
    n["entries"] = []
    reading_offsets = []
    owed = None
    for _ in range(count):
        start = rd.pos
        e = read_history_entry(rd, owed, with_commitments)
        owed = check_entry_sequence(owed, e)
        n["entries"].append(e)
        if e["type"] == "reading":
            reading_offsets.append(start + 1)  # right after the kind byte
    if owed is not None:
        raise ProtocolError("invalid_field", "the entries end inside an envelope range")
    # The odometer part's AAD: header, entry count and entries.
    odometer_aad = data[: rd.pos]
    odometer = rd.take(rd.varint())
    detail = rd.take(rd.varint())
    return {"fields": n, "odometer_aad": odometer_aad, "detail_aad": data[:header_end],
            "odometer_ciphertext": odometer, "detail_ciphertext": detail,
            "reading_offsets": reading_offsets, "end": rd.pos}


def history_key(tag: bytes, backend_secret: bytes, device_id: bytes, era: int) -> bytes:
    """16.4; the backend secret key is its 32-byte (clamped) serialization (section 4)."""
    return sha256(tag, clamp(backend_secret), device_id, be(era, 4))


def history_nonce(input_index: int, part: int) -> bytes:
    return be(input_index, 8) + be(part, 4)


def chacha_open(key: bytes, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, aad)
    except Exception:  # InvalidTag, or a ciphertext shorter than the tag
        raise ProtocolError("decryption_failed") from None


def chacha_seal(key: bytes, nonce: bytes, aad: bytes, plaintext: bytes) -> bytes:
    return ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)


def open_history_values(notice: dict, odometer_key: bytes, detail_key: bytes | None,
                        keys_out: list | None = None) -> list[dict]:
    """16.4 "Opening the values": the readings' dated odometer values and, with the detail key,
    their blindings and readings, each checked against its entry's commitment (7.3). With
    `keys_out` (a list) and the detail key, each envelope's commitment key is appended to it."""
    f = notice["fields"]
    readings = [e for e in f["entries"] if e["type"] == "reading"]
    if not readings:
        if notice["odometer_ciphertext"] or notice["detail_ciphertext"]:
            raise ProtocolError("malformed_plaintext", "values without reading entries")
        return []
    odo = chacha_open(odometer_key, history_nonce(f["input_index"], 0), notice["odometer_aad"],
                      notice["odometer_ciphertext"])
    if len(odo) != 12 * len(readings):
        raise ProtocolError("malformed_plaintext", "odometer plaintext length")
    dated = [(int.from_bytes(odo[12 * k : 12 * k + 4], "big"), int.from_bytes(odo[12 * k + 4 : 12 * k + 12], "big"))
             for k in range(len(readings))]
    details = None
    if detail_key is not None:
        det = chacha_open(detail_key, history_nonce(f["input_index"], 1), notice["detail_aad"],
                          notice["detail_ciphertext"])
        # Per envelope entry: its commitment key (7.1), then per reading the standalone reading
        # (5.2) without its odometer, which comes from the odometer plaintext; each reading's
        # blinding is derived from its envelope's key (7.2).
        try:
            rd = Reader(det)
            details = []
            key = None
            for e in f["entries"]:
                if e["type"] == "envelope":
                    key = rd.take(32)
                    if keys_out is not None:
                        keys_out.append(key)
                elif e["type"] == "reading":
                    reading = {"timestamp": rd.u32(), "odometer_m": dated[len(details)][1],
                               "fuel_ml": rd.u32(), "engine_s": rd.u32()}
                    nf = rd.u8()
                    if nf > MAX_FAULTS:
                        raise ProtocolError("oversize", "fault count")
                    reading["faults"] = [rd.u16() for _ in range(nf)]
                    details.append((blinding(key, e["counter"]), reading))
            rd.finish()
        except ProtocolError as e:
            raise ProtocolError("malformed_plaintext", f"detail plaintext: {e}") from None
    out = []
    device_id = bytes.fromhex(f["device_id"])
    for k, entry in enumerate(readings):
        day, odometer_m = dated[k]
        value = {"counter": entry["counter"], "day": day, "odometer_m": odometer_m, "blinding": None, "reading": None}
        if details is not None:
            blind, reading = details[k]
            if commitment(device_id, entry["counter"], blind, reading).hex() != entry["commitment"]:
                raise ProtocolError("commitment_mismatch", f"reading entry {k}")
            if reading["timestamp"] // SECONDS_PER_DAY != day:
                raise ProtocolError("malformed_plaintext", f"the detail's day and the odometer part's differ at entry {k}")
            value["blinding"], value["reading"] = blind.hex(), reading
        out.append(value)
    return out


def fold(acc: tuple[int, bytes], notice: bytes) -> tuple[int, bytes]:
    count, root = acc
    return count + 1, sha256(TAG_HISTORY, root, sha256(notice))


def walk_history(notices: list[bytes], last_input: int) -> list[bytes]:
    """16.4: from the latest notice of `last_input` back through `previous notice's input index`
    to position 0; returns the notices oldest first. Raises Failed if the chain is broken."""
    decoded = [(raw, decode_history_notice(raw)["fields"]) for raw in notices]
    at_input = [x for x in decoded if x[1]["input_index"] == last_input]
    if not at_input:
        raise Failed(f"no notice of input {last_input}")
    current = max(at_input, key=lambda x: x[1]["position"])
    chain = [current]
    while current[1]["position"] > 0:
        prev_input = current[1]["previous_input"]
        if prev_input is None:
            raise Failed(f"position {current[1]['position']} has no previous input")
        want = current[1]["position"] - 1
        found = [x for x in decoded if x[1]["input_index"] == prev_input and x[1]["position"] == want]
        if len(found) != 1:
            raise Failed(f"no single notice of input {prev_input} at position {want}")
        current = found[0]
        chain.append(current)
    if current[1]["previous_input"] is not None:
        raise Failed("position 0 names a previous input")
    chain.reverse()
    for place, (_, f) in enumerate(chain):
        if f["position"] != place:
            raise Failed(f"position {f['position']} at place {place}")
    return [raw for raw, _ in chain]


# --- 6.2 / 15.1 the counter rule


MAX_COUNTER_GAP = 2**24


def counter_step(last: int | None, counter: int) -> str:
    """Section 6.2: fresh when above the last accepted counter and at most 2^24 above the next
    one (0 before any reading)."""
    if last is not None and counter <= last:
        return "stale_counter"
    following = 0 if last is None else last + 1
    return "counter_jump" if counter - following > MAX_COUNTER_GAP else "fresh"


def check_counter_steps(c: Checker, v: dict):
    c.eq("MAX_COUNTER_GAP", v["max_counter_gap"], MAX_COUNTER_GAP)
    for case in v["cases"]:
        c.eq(f"last {case['last']}, counter {case['counter']}", counter_step(case["last"], case["counter"]), case["step"])
    c.true("every outcome occurs", {x["step"] for x in v["cases"]} == {"fresh", "stale_counter", "counter_jump"})


# --- 17.3 verdict rules


def decide(device_id: bytes, leaf_bytes: bytes | None, proof_bytes: bytes, nonce: bytes,
           opening_bytes: bytes | None, domain: bytes, predecessors: list[bytes] = ()) -> tuple[str, list]:
    """(verdict, findings): the findings in order, the first one's code the verdict's. A finding
    is its code, or a tuple (code, …): ("tamper_on_record", unit), ("unit_replaced", unit,
    attested readings, tamper events, open rollbacks), ("corrections_on_record", unit, number,
    latest's counter, latest's input). `predecessors`: the earlier units' leaves, newest first."""
    if leaf_bytes is None:
        return "unknown_device", ["unknown_device"]
    leaf = decode_leaf(leaf_bytes)
    if leaf["revoked"]:
        return "revoked", ["revoked"]
    if leaf["successor"] is not None:  # 2: replaced; ask the vehicle's current unit
        return "revoked", ["replaced"]
    proof = decode_possession(proof_bytes)
    if proof["device_id"] != device_id or proof["nonce"] != nonce:
        return "cannot_confirm", ["proof_not_fresh"]
    try:
        verify_strict(bytes.fromhex(leaf["public_key"]), signed_bytes(TAG_POSSESSION, domain, proof["body"]), proof["signature"])
    except ProtocolError:
        return "cannot_confirm", ["device_signature"]
    # 5: the earlier units, each the previous one's predecessor, naming it as successor, of the
    # same vehicle; the vehicle is flagged when any unit has open rollbacks.
    units, linked = [leaf], True
    given = [decode_leaf(p) for p in predecessors]
    while units[-1]["predecessor"] is not None:
        k = len(units) - 1
        unit = given[k] if k < len(given) else None
        if (unit is None or unit["device_id"] != units[-1]["predecessor"]
                or unit["successor"] != units[-1]["device_id"] or unit["vehicle"] != leaf["vehicle"]):
            linked = False
            break
        units.append(unit)
    if linked and len(given) > len(units) - 1:
        linked = False  # a leaf given beyond the last predecessor is no earlier unit of this one
    if not linked:
        # 17.3: the earlier units are not proven, so nothing else is said about the vehicle.
        return "cannot_confirm", ["previous_unit"]
    flagged = [u["device_id"] for u in units if u["open_tampers"] != 0]
    verdict, findings = decide_from_rule_5(leaf, device_id, proof, opening_bytes, flagged)
    # From rule 5 on: one unit_replaced per earlier unit, then one corrections_on_record per unit
    # with a correction (the leaf first).
    for u in units[1:]:
        findings.append(("unit_replaced", u["device_id"], u["attested"], u["tamper_events"], u["open_tampers"]))
    for u in units:
        if u["corrections"] > 0:
            latest = u["latest_correction"] or {}
            findings.append(("corrections_on_record", u["device_id"], u["corrections"], latest.get("counter"),
                             latest.get("input_index")))
    # 8.4.2: last, a recovery pending on the asked unit (the owner may still object).
    if leaf["pending_recovery"] is not None:
        findings.append(("recovery_pending", leaf["pending_recovery"]["owner"], leaf["pending_recovery"]["effective_at"]))
    return verdict, findings


def decide_from_rule_5(leaf: dict, device_id: bytes, proof: dict, opening_bytes: bytes | None,
                       flagged_units: list[str]) -> tuple[str, list]:
    """Rules 5 (its second part) to 10; `flagged_units`: the vehicle's units with open rollbacks
    (the leaf's and the earlier units'), one tamper_on_record finding each."""
    flagged = bool(flagged_units)
    tampers = [("tamper_on_record", u) for u in flagged_units]
    highest, baseline = leaf["highest"], leaf["corrected_baseline"]
    # 5. Nothing to compare with: no highest attested reading and no corrected baseline.
    if highest is None and baseline is None:
        return ("flagged", tampers) if flagged else ("no_history", ["no_history"])
    # 6. The reference: the corrected baseline when set (public; the opening does not count
    # then), else the odometer of a valid opening of the highest.
    if baseline is not None:
        reference = baseline["odometer_m"]
    else:
        reference = None
        if opening_bytes is not None:
            try:
                o = decode_opening(opening_bytes)
            except ProtocolError:
                o = None
            if (o is not None and o["device_id"] == device_id and o["counter"] == highest["counter"]
                    and commitment(o["device_id"], o["counter"], o["blinding"], o["reading"]).hex() == highest["commitment"]):
                reference = o["reading"]["odometer_m"]
    if reference is not None and reference > proof["reading"]["odometer_m"]:
        return "rollback", ["rollback"] + tampers
    if flagged:  # 7
        return "flagged", tampers
    if reference is None:  # 8
        return "cannot_confirm", ["opening"]
    if leaf["last_counter"] is not None and proof["counter"] < leaf["last_counter"]:  # 9
        return "flagged", ["counter_behind"]
    return "consistent", ["consistent"]  # 10


# --- vector checks


def expect_outcome(c: Checker, v: dict, fn):
    """Runs `fn` (which returns a value for valid vectors); checks valid / expected_error."""
    if v["valid"]:
        return fn()
    c.rejects(v["name"], v["expected_error"], fn)
    return None


def check_leaf_vector(c: Checker, v: dict, all_vectors: dict):
    raw = h(v, "leaf")
    leaf = expect_outcome(c, v, lambda: decode_leaf(raw))
    if leaf is None:
        return
    c.eq("length", len(raw), LEAF_LEN)
    c.eq("fields", leaf, v["fields"])
    c.eq("re-encoded", encode_leaf(leaf), raw)
    c.eq("leaf_hash", leaf_hash(raw), h(v, "leaf_hash"))
    # The first attested reading is set by the first attested reading and kept; every later
    # attested reading becomes the highest (15.1), so both are named or neither, first not later.
    first, highest = leaf["first"], leaf["highest"]
    c.eq("first and highest both named or neither", first is None, highest is None)
    if first is not None:
        c.true("first attested not after the highest", first["counter"] <= highest["counter"]
               and first["input_index"] <= highest["input_index"])
    # 16.2 / 15.1: open rollbacks are rollbacks on record not cleared; a correction is counted
    # with its latest; a corrected baseline is set by a correction (the latest or an earlier one
    # of the same or a later input than the highest, which would otherwise have cleared it).
    c.true("open rollbacks at most the tamper events", leaf["open_tampers"] <= leaf["tamper_events"])
    c.eq("latest tamper named iff tamper events", leaf["latest_tamper"] is None, leaf["tamper_events"] == 0)
    c.eq("latest correction named iff corrections", leaf["latest_correction"] is None, leaf["corrections"] == 0)
    cb = leaf["corrected_baseline"]
    if cb is not None:
        # Set by a correction that moves the baseline (16.2) or by the replacement act (8.2.2, 15.1).
        c.true("a corrected baseline comes from a correction not after the latest, or a replacement",
               (leaf["latest_correction"] is not None and cb["input_index"] <= leaf["latest_correction"]["input_index"])
               or leaf["predecessor"] is not None)
        c.true("no attested reading of a later input", highest is None or highest["input_index"] <= cb["input_index"])
    # 8.2.2: a unit's links name other units.
    c.true("predecessor and successor are other units",
           leaf["device_id"] not in (leaf["predecessor"], leaf["successor"]))
    if leaf["device_id"] == vector_device_id("leaf fresh").hex():
        c.eq("public key = generator label", leaf["public_key"], ed25519_public(vector_seed("leaf fresh")).hex())
    # 8.4.2: a recovery is pending only on an owned, active unit, to another key.
    p = leaf["pending_recovery"]
    if p is not None:
        c.true("a pending recovery: the device has an owner", leaf["owner"] is not None)
        c.true("a pending recovery: to another key than the owner's", p["owner"] != leaf["owner"])
        c.true("a pending recovery: the unit is neither revoked nor replaced", not leaf["revoked"] and leaf["successor"] is None)
        c.eq("a pending recovery's owner = generator label", p["owner"], ed25519_public(vector_seed("recovered owner")).hex())
    if leaf["device_id"] == vector_device_id("state device").hex():
        # Section 13: vector vehicles are VehicleIdentity::simulated(seed of the label).
        c.eq("vehicle = simulated(\"state device\")", leaf["vehicle"],
             vehicle_id(*simulated_vehicle(vector_seed("state device"))).hex())
        # The story's leaves: their fields from the device's history (the accumulator vector's notices).
        if leaf["history"]["last_input"] is not None:
            story = all_vectors["history_accumulator_state_device"]
            check_leaf_against_history(c, leaf, [bytes.fromhex(x) for x in story["notices"]])


def check_map_vector(c: Checker, v: dict):
    leaves = [bytes.fromhex(x) for x in v["leaves"]]
    for raw in leaves:
        decode_leaf(raw)
    ids = [x[1:17] for x in leaves]
    c.eq("distinct ids", len(set(ids)), len(ids))
    c.eq("root (16.3, built here)", map_root(leaves), h(v, "root"))
    if v["name"] == "map_eight_devices":
        want = [vector_device_id(f"map device {i}") for i in range(6)]
        twin = vector_device_id("map twin")
        want += [twin, twin[:15] + bytes([twin[15] ^ 1])]
        c.eq("ids = generator labels", ids, want)
        # Every member's path, and the depths the map was built for.
        depths = sorted({len(decode_map_proof(make_map_proof(leaves, k))["siblings"]) for k in ids})
        c.true("paths of different depths, one of 128", len(depths) > 1 and depths[-1] == KEY_BITS)
    elif v["name"] == "map_empty":
        c.eq("empty map root", h(v, "root"), EMPTY)
    elif len(leaves) == 1:
        c.eq("one-device root = its leaf hash", h(v, "root"), leaf_hash(leaves[0]))


def check_map_proof_vector(c: Checker, v: dict, maps: dict):
    raw, key, root = h(v, "proof"), h(v, "key"), h(v, "root")

    def run():
        return verify_map_proof(decode_map_proof(raw), key, root)

    got = expect_outcome(c, v, run)
    if got is None:
        return
    outcome, leaf = got
    c.eq("outcome", outcome, v["outcome"])
    c.eq("member leaf", leaf.hex() if leaf else None, v["member_leaf"])
    leaves = [bytes.fromhex(x) for x in maps[v["map"]]["leaves"]]
    c.eq("root = the map's", root, map_root(leaves))
    c.eq("proof = the one built here from the map", make_map_proof(leaves, key), raw)
    # Tampering with any sibling or with the leaf breaks it.
    p = decode_map_proof(raw)
    for i, s in enumerate(p["siblings"]):
        if s != EMPTY:
            bad = dict(p, siblings=p["siblings"][:i] + [bytes([s[0] ^ 1]) + s[1:]] + p["siblings"][i + 1 :])
            c.rejects(f"sibling {i} altered", "root_mismatch", verify_map_proof, bad, key, root)


def check_state_notice_vector(c: Checker, v: dict):
    raw = h(v, "notice")
    n = expect_outcome(c, v, lambda: decode_state_notice(raw))
    if n is None:
        return
    c.eq("length", len(raw), STATE_NOTICE_LEN)
    c.eq("fields", n, v["fields"])
    c.eq("globals = H(globals_input)", globals_hash(v["globals_input"]).hex(), n["globals"])
    c.eq("globals_input backend key = the vectors'", v["globals_input"]["backend_public_key"],
         hpke_derive_key_pair(b"witness vectors backend key")[1].hex())
    if n["devices"] == 0:
        c.eq("empty map root", n["map_root"], EMPTY.hex())


def check_history_vector(c: Checker, v: dict):
    raw = h(v, "notice")
    backend_secret = h(v, "backend_secret_key")
    c.eq("backend key = DeriveKeyPair(label)", (backend_secret, h(v, "backend_public_key")),
         hpke_derive_key_pair(b"witness vectors backend key"))
    odometer_key = h(v, "odometer_key")
    detail_key = h(v, "detail_key") if v["detail_key"] else None

    def run():
        n = decode_history_notice(raw)
        return n, open_history_values(n, odometer_key, detail_key)

    got = expect_outcome(c, v, run)
    if got is None:
        return
    n, opened = got
    f = n["fields"]
    device_id = bytes.fromhex(f["device_id"])
    c.eq("fields", f, v["fields"])
    c.eq("device id = generator label", device_id, vector_device_id("state device"))
    c.eq("odometer aad", n["odometer_aad"], h(v, "odometer_aad"))
    c.eq("detail aad", n["detail_aad"], h(v, "detail_aad"))
    c.eq("detail aad = the 55 header bytes", n["detail_aad"], raw[:55])
    for e in f["entries"]:
        if e["type"] in ("registered", "corrected"):
            c.eq("registrar = generator label", e["registrar"], ed25519_public(vector_seed("registrar")).hex())
        if e["type"] == "corrected":
            # 16.4 kind 8: registrar ‖ cleared ‖ the correction exactly as signed (8.2.1), one
            # kind byte + 32 + 1 + 76 + the note; the correction is this device's.
            raw_entry = encode_corrected_entry(e)
            c.true("corrected entry re-encoded is in the entries", raw_entry in n["odometer_aad"][55:])
            note = e["note"].encode()
            c.eq("corrected entry length = 110 + var(note)", len(raw_entry), 110 + len(enc_varint(len(note))) + len(note))
            c.eq("the correction names the notice's device", e["device_id"], f["device_id"])
        if e["type"] == "owner_changed":
            # Kind 6: consented = by the owner's release (8.4.1), else the first pairing.
            c.eq("owner = generator label", e["owner"],
                 ed25519_public(vector_seed("buyer" if e["consented"] else "seller")).hex())
        if e["type"] == "recovery_started":
            c.eq("recovery registrar = generator label", e["registrar"], ed25519_public(vector_seed("registrar")).hex())
            c.eq("recovered owner = generator label", e["owner"], ed25519_public(vector_seed("recovered owner")).hex())
            c.eq("effective_at = block time + 7 days", e["effective_at"], f["block_timestamp"] + RECOVERY_DELAY_S)
        if e["type"] == "owner_recovered":
            c.eq("recovered owner = generator label", e["owner"], ed25519_public(vector_seed("recovered owner")).hex())
        sizes = {"recovery_started": 73, "recovery_ended": 2, "owner_recovered": 33}
        if e["type"] in sizes:
            c.eq(f"{e['type']} entry length", len(encode_entry(e)), sizes[e["type"]])
    # Every entry re-encoded: the odometer AAD after the header and the entry count.
    reencoded = b"".join(b"\x02" + bytes.fromhex(e["commitment"])
                         + (b"\x00" if e["rollback_of"] is None else b"\x01" + be(e["rollback_of"], 8))
                         if e["type"] == "reading" else encode_entry(e) for e in f["entries"])
    c.eq("entries re-encoded", n["odometer_aad"][55 + len(enc_varint(len(f["entries"]))) :], reencoded)
    c.eq("odometer key = K_odo(era)", odometer_key, history_key(TAG_KEY_ODOMETER, backend_secret, device_id, f["era"]))
    if detail_key is not None:
        c.eq("detail key = K_det(era)", detail_key, history_key(TAG_KEY_DETAIL, backend_secret, device_id, f["era"]))
    want = [dict(o, reading=reading_from_json(o["reading"]) if o["reading"] else None) for o in v["opened"]]
    c.eq("opened values", opened, want)
    c.eq("odometer ciphertext", n["odometer_ciphertext"], h(v, "odometer_ciphertext"))
    c.eq("detail ciphertext", n["detail_ciphertext"], h(v, "detail_ciphertext"))
    if not opened:
        c.eq("no values: empty ciphertexts", (n["odometer_ciphertext"], n["detail_ciphertext"]), (b"", b""))
        return
    c.eq("odometer nonce", history_nonce(f["input_index"], 0), h(v, "odometer_nonce"))
    c.eq("detail nonce", history_nonce(f["input_index"], 1), h(v, "detail_nonce"))
    odo_plain = b"".join(be(o["day"], 4) + be(o["odometer_m"], 8) for o in opened)
    c.eq("odometer plaintext", odo_plain, h(v, "odometer_plaintext"))
    c.eq("odometer ciphertext = seal(plaintext)",
         chacha_seal(odometer_key, h(v, "odometer_nonce"), n["odometer_aad"], odo_plain),
         n["odometer_ciphertext"])
    if detail_key is not None:
        # Rebuilt from the entries and the opened readings: per envelope entry its commitment
        # key (the generator's label, by first counter) and then its readings without odometer.
        by_counter = {o["counter"]: o for o in opened}
        det_plain = b""
        for e in f["entries"]:
            if e["type"] != "envelope":
                continue
            key = vector_seed(f"state device/commitment key/{e['first_counter']}")
            det_plain += key
            for counter in range(e["first_counter"], e["first_counter"] + e["count"]):
                o = by_counter[counter]
                c.eq(f"blinding of counter {counter} (7.2, its envelope's key)", bytes.fromhex(o["blinding"]), blinding(key, counter))
                r = o["reading"]
                c.eq(f"reading {counter}'s odometer = the odometer part's", r["odometer_m"], o["odometer_m"])
                det_plain += (be(r["timestamp"], 4) + be(r["fuel_ml"], 4) + be(r["engine_s"], 4)
                              + bytes([len(r["faults"])]) + b"".join(be(x, 2) for x in r["faults"]))
        c.eq("detail plaintext", det_plain, h(v, "detail_plaintext"))
        c.eq("detail ciphertext = seal(plaintext)",
             chacha_seal(detail_key, h(v, "detail_nonce"), n["detail_aad"], det_plain), n["detail_ciphertext"])
        # Not sealed under the odometer part's AAD (header and entries).
        c.true("detail AAD is not header and entries",
               chacha_seal(detail_key, h(v, "detail_nonce"), n["odometer_aad"], det_plain) != n["detail_ciphertext"])
        for o, e in zip(opened, [e for e in f["entries"] if e["type"] == "reading"]):
            c.eq(f"commitment of counter {o['counter']} (7.3)",
                 commitment(device_id, o["counter"], bytes.fromhex(o["blinding"]), o["reading"]).hex(), e["commitment"])
    # Another era's key does not open it (keys are per era).
    other = history_key(TAG_KEY_ODOMETER, backend_secret, device_id, f["era"] + 1)
    c.rejects("another era's odometer key", "decryption_failed", open_history_values, n, other, None)


def replay_ownership(c: Checker, notices: list[dict]) -> dict:
    """8.4-8.4.2 and 16.4 on a device's history (decoded notices, in order): who owns it, at which
    ownership sequence and era, and the recovery pending, as the entries say; checks on the way
    that each entry is one the rules allow where it is (a first pairing only without an owner,
    a release only with one, a recovery started only on an owned device with none pending, to
    another key, taking effect 7 days after its input; ended or completed only when pending,
    completed no earlier than its time; an ownership change ending a pending recovery first; a
    new era after a change of owner key)."""
    st = {"owner": None, "ownership_sequence": None, "era": None, "pending_recovery": None, "revoked": False}
    new_era = None  # the era the next notice must have, when an entry decided it
    for n in notices:
        f = n["fields"]
        where = f"input {f['input_index']}"
        if st["era"] is None:
            c.eq(f"{where}: the first notice is era 0", f["era"], 0)
        elif new_era is not None:
            # The vectors' story starts era 1 at the first pairing (new_era is a pair then).
            c.true(f"{where}: era after an owner change", f["era"] in new_era)
        else:
            c.eq(f"{where}: same era", f["era"], st["era"])
        st["era"], new_era = f["era"], None
        for e in f["entries"]:
            t = e["type"]
            if t == "owner_changed":
                c.true(f"{where}: no recovery pending at an ownership change (ended superseded first)",
                       st["pending_recovery"] is None)
                if e["consented"]:
                    c.true(f"{where}: a release needs an owner", st["owner"] is not None)
                else:
                    c.true(f"{where}: a first pairing needs no owner", st["owner"] is None)
                c.true(f"{where}: sequence above the last", st["ownership_sequence"] is None
                       or e["sequence"] > st["ownership_sequence"])
                if st["owner"] is not None and st["owner"] != e["owner"]:
                    new_era = (st["era"] + 1,)
                elif st["owner"] is None:
                    new_era = (st["era"], st["era"] + 1)
                st["owner"], st["ownership_sequence"] = e["owner"], e["sequence"]
            elif t == "recovery_started":
                c.true(f"{where}: a recovery needs an owner (not_owned)", st["owner"] is not None)
                c.true(f"{where}: one recovery at a time (recovery_pending)", st["pending_recovery"] is None)
                c.true(f"{where}: a recovery to another key (same_key)", e["owner"] != st["owner"])
                c.eq(f"{where}: effective_at = block time + 604800", e["effective_at"], f["block_timestamp"] + RECOVERY_DELAY_S)
                st["pending_recovery"] = {"owner": e["owner"], "effective_at": e["effective_at"]}
            elif t == "recovery_ended":
                c.true(f"{where}: a recovery ends only when pending", st["pending_recovery"] is not None)
                if e["outcome"] == "objected":
                    c.true(f"{where}: objected before its time", f["block_timestamp"] < st["pending_recovery"]["effective_at"])
                st["pending_recovery"] = None
            elif t == "owner_recovered":
                p = st["pending_recovery"]
                c.true(f"{where}: a recovery completes only when pending", p is not None)
                c.eq(f"{where}: the recovered owner = the pending one", e["owner"], p["owner"])
                c.true(f"{where}: completed at or after its time", f["block_timestamp"] >= p["effective_at"])
                c.eq(f"{where}: the recovery is the notice's first entry (before the input's messages)",
                     f["entries"][0], e)
                new_era = (st["era"] + 1,)
                st["owner"], st["pending_recovery"] = e["owner"], None
            elif t in ("revoked", "replaced_by"):
                c.true(f"{where}: a pending recovery ends (retired) before the unit is retired",
                       st["pending_recovery"] is None)
                st["revoked"] = st["revoked"] or t == "revoked"
            elif t == "reinstated":
                c.true(f"{where}: only a revoked unit is reinstated (not_revoked)", st["revoked"])
                st["revoked"] = False
    if new_era is not None:
        st["era"] = max(new_era)
    return st


def check_leaf_against_history(c: Checker, leaf: dict, notices: list[bytes]):
    """The leaf's history accumulator folds the notices up to its last input, and its owner,
    ownership sequence, era, pending recovery and revoked flag are what they say (replay_ownership)."""
    last = leaf["history"]["last_input"]
    decoded = [decode_history_notice(raw) for raw in notices]
    upto = [raw for raw, d in zip(notices, decoded) if last is not None and d["fields"]["input_index"] <= last]
    acc = (0, EMPTY)
    for raw in upto:
        acc = fold(acc, raw)
    c.eq("the leaf's accumulator = the fold of its notices", (acc[0], acc[1].hex()), (leaf["history"]["count"], leaf["history"]["root"]))
    st = replay_ownership(c, decoded[: len(upto)])
    c.eq("owner, ownership sequence, era, pending recovery, revoked (replayed from the history)",
         {k: leaf[k] for k in st}, st)


def check_accumulator_vector(c: Checker, v: dict):
    notices = [bytes.fromhex(x) for x in v["notices"]]
    acc = (0, EMPTY)
    for raw, want in zip(notices, v["folds"], strict=True):
        f = decode_history_notice(raw)["fields"]
        c.eq("device id", f["device_id"], v["device_id"])
        acc = fold(acc, raw)
        c.eq(f"fold after position {f['position']}", {"count": acc[0], "root": acc[1].hex(), "last_input": f["input_index"]}, want)
    leaf = decode_leaf(h(v, "leaf"))
    hist = leaf["history"]
    c.eq("the leaf's accumulator = the last fold", hist, v["folds"][-1])
    check_leaf_against_history(c, leaf, notices)
    # 18.4 step 7a on the device's whole history (15.1): the open rollbacks recomputed from the
    # notices are the leaf's; every rollback entry is a tamper event and every corrected entry a
    # correction, the last one the leaf's latest.
    decoded = [decode_history_notice(raw) for raw in notices]
    corrections = corrected_record(decoded, leaf["open_tampers"])
    c.count += 1
    entries = [(d["fields"]["input_index"], e) for d in decoded for e in d["fields"]["entries"]]
    rollbacks = [(i, e) for i, e in entries if e["type"] == "reading" and e["rollback_of"] is not None]
    c.eq("rollback entries = tamper events", len(rollbacks), leaf["tamper_events"])
    if rollbacks:
        i, e = rollbacks[-1]
        c.eq("the last rollback = the latest tamper", leaf["latest_tamper"],
             {"counter": e["counter"], "reference_counter": e["rollback_of"], "input_index": i})
    c.eq("corrected entries = corrections", len(corrections), leaf["corrections"])
    if corrections:
        c.true("the history holds a correction that cleared a rollback", any(x["cleared"] for x in corrections))
        last = corrections[-1]
        c.eq("the last corrected entry = the latest correction", leaf["latest_correction"],
             {"counter": last["correction"]["counter"], "input_index": last["input_index"]})
    # A reader given the notices in any order walks back from the leaf and refolds.
    chain = walk_history(list(reversed(notices)), hist["last_input"])
    c.eq("walk from last_input finds every notice in order", chain, notices)
    refold = (0, EMPTY)
    for raw in chain:
        refold = fold(refold, raw)
    c.eq("refold = the leaf's (count, root)", (refold[0], refold[1].hex()), (hist["count"], hist["root"]))
    # A missing or reordered notice changes the root.
    missing = (0, EMPTY)
    for raw in notices[:2] + notices[3:]:
        missing = fold(missing, raw)
    c.true("without one notice the root differs", missing[1].hex() != hist["root"])
    swapped = (0, EMPTY)
    for raw in [notices[1], notices[0]] + notices[2:]:
        swapped = fold(swapped, raw)
    c.true("two notices swapped: the root differs", swapped[1].hex() != hist["root"])


def finding_code(f) -> str:
    return f if isinstance(f, str) else f[0]


def check_verdict_vector(c: Checker, v: dict):
    c.eq("backend key = the vectors'", h(v, "backend_public_key"), hpke_derive_key_pair(b"witness vectors backend key")[1])
    device_id = h(v, "device_id")
    leaf = h(v, "leaf") if v["leaf"] else None
    predecessors = [bytes.fromhex(x) for x in v["predecessors"]]
    c.eq("device id = generator label", device_id, vector_device_id("verdict device"))
    if leaf is not None:
        c.eq("leaf is the device's", decode_leaf(leaf)["device_id"], v["device_id"])
        c.eq("leaf key = generator label", decode_leaf(leaf)["public_key"], ed25519_public(vector_seed("verdict device")).hex())
        # Section 13: vector vehicles are VehicleIdentity::simulated(seed of the label).
        c.eq("vehicle = simulated(\"verdict device\")", decode_leaf(leaf)["vehicle"],
             vehicle_id(*simulated_vehicle(vector_seed("verdict device"))).hex())
    for raw in predecessors:
        c.eq("predecessor leaf re-encoded", encode_leaf(decode_leaf(raw)), raw)
    verdict, findings = decide(device_id, leaf, h(v, "possession_proof"), h(v, "nonce"),
                               h(v, "opening") if v["opening"] else None, dom(v), predecessors)
    c.eq("verdict, finding", (verdict, finding_code(findings[0])), (v["expected_verdict"], v["expected_finding"]))
    c.eq("every finding, in order", [finding_code(f) for f in findings], v["expected_findings"])
    if leaf is None:
        return
    fields = decode_leaf(leaf)
    c.eq("leaf re-encoded", encode_leaf(fields), leaf)
    codes = [finding_code(f) for f in findings]
    past_rule_4 = codes[0] not in ("unknown_device", "revoked", "replaced", "proof_not_fresh", "device_signature")
    # Rule 5 with earlier units: the ones that link (all of them unless previous_unit).
    units = [fields] + ([] if codes[0] == "previous_unit" else [decode_leaf(p) for p in predecessors])
    if codes[0] != "previous_unit":
        c.eq("earlier units given = the leaf's predecessors walked", len(predecessors),
             0 if fields["predecessor"] is None else len(units) - 1)
    # From rule 5 on (17.3): unit_replaced per earlier unit, then corrections_on_record per
    # corrected unit (the leaf first), last; before rule 5 neither.
    corrected = [u for u in units if u["corrections"] > 0] if past_rule_4 else []
    tail = ([("unit_replaced", u["device_id"], u["attested"], u["tamper_events"], u["open_tampers"]) for u in units[1:]]
            if past_rule_4 else [])
    tail += [("corrections_on_record", u["device_id"], u["corrections"], u["latest_correction"]["counter"],
              u["latest_correction"]["input_index"]) for u in corrected]
    pending = fields["pending_recovery"]
    if past_rule_4 and pending is not None:
        tail.append(("recovery_pending", pending["owner"], pending["effective_at"]))
    c.eq("the trailing findings", findings[len(findings) - len(tail):] if tail else [], tail)
    c.eq("no other unit_replaced / corrections_on_record / recovery_pending",
         codes.count("unit_replaced") + codes.count("corrections_on_record") + codes.count("recovery_pending"), len(tail))
    if "recovery pending" in (v.get("description") or ""):
        c.true("the description's recovery_pending", "recovery_pending" in codes)
    if "corrections_on_record follows" in (v.get("description") or ""):
        c.true("the description's corrections_on_record", "corrections_on_record" in codes)
    if "unit_replaced follows" in (v.get("description") or ""):
        c.true("the description's unit_replaced", "unit_replaced" in codes)
    # A flagged vehicle: one tamper_on_record per unit with open rollbacks, no other.
    if codes[0] in ("rollback", "tamper_on_record") and past_rule_4:
        c.eq("tamper_on_record per flagged unit", [f[1] for f in findings if finding_code(f) == "tamper_on_record"],
             [u["device_id"] for u in units if u["open_tampers"] != 0])
    # Rule 2: a replaced unit is revoked (replaced) whatever the device answers.
    if fields["successor"] is not None and not fields["revoked"]:
        c.eq("replaced: no other finding", findings, ["replaced"])
    # Rule 6: with a corrected baseline the opening does not count (any opening, or none, gives
    # the same verdict); without one, the rules reached without an opening stay the same.
    if past_rule_4 and fields["corrected_baseline"] is not None:
        other = decide(device_id, leaf, h(v, "possession_proof"), h(v, "nonce"),
                       None if v["opening"] else bytes(77), dom(v), predecessors)
        c.eq("corrected baseline: the opening does not count", other, (verdict, findings))


def state_derived_cases(vectors: dict) -> list:
    """Rules of sections 16 and 17 applied to mutated vector bytes."""
    leaf = h(vectors["leaf_corrected"], "leaf")
    fresh = h(vectors["leaf_fresh"], "leaf")
    assert decode_leaf(fresh)["history"]["last_input"] is None
    proof = h(vectors["map_proof_member_device_3"], "proof")
    notice = h(vectors["history_three_readings_with_rollback"], "notice")
    registration = h(vectors["history_registration"], "notice")
    state = h(vectors["state_notice_eight_devices"], "notice")

    def envelope_entry(first: int, count: int) -> bytes:
        return b"\x07" + be(first, 8) + bytes([count])

    def with_entry(data: bytes, at: int | None, entry: bytes) -> bytes:
        """`entry` inserted at offset `at` (None: after the last entry), the count one more;
        the notices here have fewer than 127 entries (a one-byte count at offset 55)."""
        end = len(decode_history_notice(data)["odometer_aad"])
        at = end if at is None else at
        return data[:55] + bytes([data[55] + 1]) + data[56:at] + entry + data[at:]

    def at(data: bytes, offset: int, value: bytes) -> bytes:
        b = bytearray(data)
        b[offset : offset + len(value)] = value
        return bytes(b)

    cases = [
        ("leaf: latest correction present 2", "invalid_field", lambda: decode_leaf(at(leaf, 252, b"\x02"))),
        ("leaf: history input present 2", "invalid_field", lambda: decode_leaf(at(leaf, 433, b"\x02"))),
        ("leaf: absent history input, a value under it", "invalid_field", lambda: decode_leaf(at(fresh, 441, b"\x01"))),
        ("leaf: pending recovery present 2", "invalid_field", lambda: decode_leaf(at(leaf, 352, b"\x02"))),
        ("leaf: pending recovery present 255", "invalid_field", lambda: decode_leaf(at(leaf, 352, b"\xff"))),
        ("leaf: absent pending recovery, an owner under it (first byte)", "invalid_field",
         lambda: decode_leaf(at(leaf, 353, b"\x80"))),
        ("leaf: absent pending recovery, a time under it (last byte)", "invalid_field",
         lambda: decode_leaf(at(fresh, 392, b"\x01"))),
        ("leaf: cut inside the pending recovery", "truncated", lambda: decode_leaf(leaf[:370])),
        ("leaf: 401 bytes (the length before the pending recovery)", "truncated",
         lambda: decode_leaf(leaf[:401])),
        ("leaf: predecessor present 2", "invalid_field", lambda: decode_leaf(at(leaf, 318, b"\x02"))),
        ("leaf: predecessor present 255", "invalid_field", lambda: decode_leaf(at(leaf, 318, b"\xff"))),
        ("leaf: successor present 2", "invalid_field", lambda: decode_leaf(at(leaf, 335, b"\x02"))),
        ("leaf: absent predecessor, an id under it (last byte)", "invalid_field",
         lambda: decode_leaf(at(leaf, 334, b"\x01"))),
        ("leaf: absent predecessor, an id under it (first byte)", "invalid_field",
         lambda: decode_leaf(at(leaf, 319, b"\x80"))),
        ("leaf: absent successor, an id under it (last byte)", "invalid_field",
         lambda: decode_leaf(at(leaf, 351, b"\x01"))),
        ("leaf: version 2 at 335 bytes (before the vehicle)", "truncated", lambda: decode_leaf(leaf[:335])),
        ("leaf: cut inside the vehicle id", "truncated", lambda: decode_leaf(leaf[:300])),
        ("leaf: cut after the successor's present byte", "truncated", lambda: decode_leaf(leaf[:336])),
        ("leaf: first attested present 2", "invalid_field", lambda: decode_leaf(at(leaf, 170, b"\x02"))),
        ("leaf: corrected baseline present 2", "invalid_field", lambda: decode_leaf(at(leaf, 269, b"\x02"))),
        ("leaf: absent corrected baseline, an input index under it", "invalid_field",
         lambda: decode_leaf(at(leaf, 285, b"\x01"))),
        ("leaf: version 1 at its 315 bytes", "unsupported_version", lambda: decode_leaf(b"\x01" + leaf[1:315])),
        ("leaf: version 3", "unsupported_version", lambda: decode_leaf(at(leaf, 0, b"\x03"))),
        ("leaf: 441 bytes", "truncated", lambda: decode_leaf(leaf[:441])),
        ("leaf: 443 bytes", "trailing_bytes", lambda: decode_leaf(leaf + b"\x00")),
        ("leaf: version 1 at 442 bytes", "unsupported_version", lambda: decode_leaf(at(leaf, 0, b"\x01"))),
        ("map proof: empty", "truncated", lambda: decode_map_proof(b"")),
        ("map proof: depth 255", "oversize", lambda: decode_map_proof(at(proof, 2, b"\xff"))),
        ("state notice: 2 bytes", "truncated", lambda: decode_state_notice(state[:2])),
        ("history notice: kind 6", "unknown_kind", lambda: decode_history_notice(at(notice, 1, b"\x06"))),
        ("history notice: odometer ciphertext length beyond the end", "truncated",
         lambda: decode_history_notice(notice[: len(notice) - 60])),
        ("history: ciphertext shorter than the tag", "decryption_failed",
         lambda: chacha_open(bytes(32), bytes(12), b"", bytes(15))),
        ("history notice: an envelope entry after the last entry (its range unfinished)", "invalid_field",
         lambda: decode_history_notice(with_entry(notice, None, envelope_entry(5, 1)))),
        ("history notice: an envelope entry right after the first (inside its range)", "invalid_field",
         lambda: decode_history_notice(with_entry(notice, 56 + 10, envelope_entry(2, 2)))),
        ("history notice: a reading entry after the registration (no envelope entry before it)", "invalid_field",
         lambda: decode_history_notice(with_entry(registration, None, b"\x02" + bytes(32) + b"\x00"))),
        ("history notice: a reading entry after the last range", "invalid_field",
         lambda: decode_history_notice(with_entry(notice, None, b"\x02" + bytes(32) + b"\x00"))),
        ("history notice: a truncated reading entry outside a range is truncated first", "truncated",
         lambda: decode_history_notice(registration[:55] + b"\x01\x02" + bytes(20))),
    ]
    return [(name, lambda c, n=name, code=code, fn=fn: c.rejects(n, code, fn)) for name, code, fn in cases]


# --------------------------------------------------------------------------------------------
# The backend's ownership rules (8.4, 8.4.1, 8.4.2) on a device record, written from the spec:
# each returns the history entries recorded or raises ProtocolError with the rejection code.


def new_device(key: bytes) -> dict:
    return {"key": key, "revoked": False, "successor": None, "owner": None, "ownership_sequence": None,
            "era": 0, "pending_recovery": None}


def model_active(dev: dict | None):
    if dev is None:
        raise ProtocolError("unknown_device")
    if dev["revoked"]:
        raise ProtocolError("revoked_device")
    if dev["successor"] is not None:
        raise ProtocolError("replaced_device")


def model_bind(dev: dict, owner: bytes, entry: dict) -> list:
    if dev["owner"] is not None and dev["owner"] != owner:
        dev["era"] += 1
    dev["owner"] = owner
    return [entry]


def model_end_recovery(dev: dict, outcome: str) -> list:
    if dev["pending_recovery"] is None:
        return []
    dev["pending_recovery"] = None
    return [{"type": "recovery_ended", "outcome": outcome}]


def model_ownership(dev: dict | None, m: dict, domain: bytes, now: int) -> list:
    model_active(dev)
    verify_strict(dev["key"], signed_bytes(TAG_OWNERSHIP, domain, m["body"]), m["device_signature"])
    if dev["ownership_sequence"] is not None and m["sequence"] <= dev["ownership_sequence"]:
        raise ProtocolError("stale_sequence")
    release = m["release"]
    if release is None:
        if dev["owner"] is not None:
            raise ProtocolError("release_required")
    else:
        if dev["owner"] is None:
            raise ProtocolError("bad_release_signature", "no owner to release")
        signed = release_signed_message(domain, m["device_id"], dev["ownership_sequence"] or 0, release["expires_at"])
        try:
            verify_strict(dev["owner"], signed, release["signature"])
        except ProtocolError:
            raise ProtocolError("bad_release_signature") from None
        if release["expires_at"] < now:
            raise ProtocolError("release_expired")
    entries = model_end_recovery(dev, "superseded")
    entries += model_bind(dev, m["owner"], {"type": "owner_changed", "sequence": m["sequence"],
                                            "consented": release is not None, "owner": m["owner"].hex()})
    dev["ownership_sequence"] = m["sequence"]
    return entries


def model_recover(dev: dict | None, m: dict, now: int) -> list:
    model_active(dev)
    if dev["owner"] is None:
        raise ProtocolError("not_owned")
    if dev["pending_recovery"] is not None:
        raise ProtocolError("recovery_pending")
    if m["owner"] == dev["owner"]:
        raise ProtocolError("same_key")
    dev["pending_recovery"] = {"owner": m["owner"], "effective_at": now + RECOVERY_DELAY_S}
    return [{"type": "recovery_started", "registrar": m["registrar"].hex(), "owner": m["owner"].hex(),
             "effective_at": now + RECOVERY_DELAY_S}]


def model_objection(dev: dict | None, m: dict, domain: bytes) -> list:
    if dev is None:
        raise ProtocolError("unknown_device")
    if dev["pending_recovery"] is None or dev["pending_recovery"]["effective_at"] != m["effective_at"]:
        raise ProtocolError("no_pending_recovery")
    if m["owner"] != dev["owner"]:
        raise ProtocolError("not_owner")
    verify_strict(m["owner"], signed_bytes(TAG_OBJECTION, domain, m["body"]), m["signature"])
    return model_end_recovery(dev, "objected")


def model_revoke(dev: dict | None) -> list:
    model_active(dev)
    entries = model_end_recovery(dev, "retired")
    dev["revoked"] = True
    return entries + [{"type": "revoked"}]


def model_complete(devices: dict, now: int) -> list:
    """At the start of an accepted input: the recoveries whose time has come, in (effective_at,
    device) order: (device id, entries)."""
    due = sorted((d["pending_recovery"]["effective_at"], i) for i, d in devices.items()
                 if d["pending_recovery"] is not None and d["pending_recovery"]["effective_at"] <= now)
    out = []
    for _, i in due:
        dev = devices[i]
        owner = dev["pending_recovery"]["owner"]
        dev["pending_recovery"] = None
        out.append((i, model_bind(dev, owner, {"type": "owner_recovered", "owner": owner.hex()})))
    return out


def ownership_rule_cases(vectors: dict) -> list:
    """The ownership vectors through the rules above, and the story's entries they must give."""
    pv, sv, ov = vectors["ownership_pairing"], vectors["ownership_sale_released"], vectors["ownership_objection"]
    domain = dom(pv)
    pairing = decode_ownership_message(h(pv, "message"))
    sale = decode_ownership_message(h(sv, "message"))
    rd = Reader(h(ov, "message"))
    objection = read_objection(rd)
    rd.finish()
    rd = Reader(h(vectors["registrar_recover_owner"], "message"))
    recover = read_registrar(rd)
    device_seed = h(pv, "device_signing_seed")
    device_key = h(pv, "device_public_key")
    seller_seed, buyer_seed = vector_seed("seller"), vector_seed("buyer")
    seller, buyer = ed25519_public(seller_seed), ed25519_public(buyer_seed)
    expires = sale["release"]["expires_at"]
    t0 = 1_790_000_000
    # The state device's story, by input: its block time and every entry of its notices.
    story = {}
    for v in vectors.values():
        if v["kind"] == "history_notice" and v["valid"] and v["fields"]["device_id"] == vector_device_id("state device").hex():
            f = v["fields"]
            x = story.setdefault(f["input_index"], {"block_timestamp": f["block_timestamp"], "entries": [], "positions": set()})
            if f["position"] not in x["positions"]:  # the odometer-key-only twin repeats a notice
                x["positions"].add(f["position"])
                x["entries"] += f["entries"]

    def statement(owner_seed: bytes, sequence: int, release: dict | None) -> dict:
        body = pairing["device_id"] + ed25519_public(owner_seed) + be(sequence, 8)
        sig = ed25519_sign(device_seed, signed_bytes(TAG_OWNERSHIP, domain, body))
        raw = body + (b"\x01" + encode_release(release) if release else b"\x00") + sig
        return decode_ownership_message(raw)

    def release_by(seed: bytes, released_sequence: int, expires_at: int) -> dict:
        sig = ed25519_sign(seed, release_signed_message(domain, pairing["device_id"], released_sequence, expires_at))
        return {"expires_at": expires_at, "signature": sig}

    def owned() -> dict:
        dev = new_device(device_key)
        model_ownership(dev, pairing, domain, t0)
        return dev

    checks = []

    def rejects(name, code, fn):
        checks.append((f"ownership rules: {name}", lambda c, n=name, code=code, fn=fn: c.rejects(n, code, fn)))

    def pairing_then_sale(c):
        dev = new_device(device_key)
        got = model_ownership(dev, pairing, domain, t0)
        # The story's owner changes (state device, inputs 5 and 12) are the same statements.
        want = [e for e in story[5]["entries"] if e["type"] == "owner_changed"]
        c.eq("first pairing: the story's owner_changed (not consented)", got, want)
        c.eq("first pairing: era 0 kept (era 0 is the first owner's)", (dev["era"], dev["owner"], dev["ownership_sequence"]), (0, seller, 1))
        got = model_ownership(dev, sale, domain, expires)  # at its expiry still valid
        want = [e for e in story[12]["entries"] if e["type"] == "owner_changed"]
        c.eq("sale released: the story's owner_changed (consented)", got, want)
        c.eq("sale: a new era, the buyer bound", (dev["era"], dev["owner"], dev["ownership_sequence"]), (1, buyer, 2))
        c.eq("an entry 6 of 42 bytes", len(encode_entry(got[0])), 42)
        # The buyer releases in turn: the release names the buyer's binding, sequence 2.
        third = statement(seller_seed, 3, release_by(buyer_seed, 2, expires))
        c.eq("sold back with the buyer's release of binding 2", model_ownership(dev, third, domain, t0)[0]["consented"], True)
        c.eq("era 2", dev["era"], 2)
    checks.append(("ownership rules: pairing, sale with the release, sale back", pairing_then_sale))

    rejects("unknown device", "unknown_device", lambda: model_ownership(None, pairing, domain, t0))
    rejects("revoked device", "revoked_device", lambda: model_ownership(dict(new_device(device_key), revoked=True), pairing, domain, t0))
    rejects("replaced device", "replaced_device",
            lambda: model_ownership(dict(new_device(device_key), successor=bytes(16)), pairing, domain, t0))
    rejects("device signature under another key", "bad_signature",
            lambda: model_ownership(new_device(ed25519_public(seller_seed)), pairing, domain, t0))
    rejects("device signature for another deployment", "bad_signature",
            lambda: model_ownership(new_device(device_key), pairing, domain_bytes(1, bytes(20), h(pv, "backend_public_key")), t0))
    rejects("the pairing replayed", "stale_sequence", lambda: model_ownership(owned(), pairing, domain, t0))
    rejects("a second first pairing (higher sequence)", "release_required",
            lambda: model_ownership(owned(), statement(buyer_seed, 5, None), domain, t0))
    rejects("a release of an unowned device", "bad_release_signature",
            lambda: model_ownership(new_device(device_key), sale, domain, t0))
    rejects("the release one second after its expiry", "release_expired",
            lambda: model_ownership(owned(), sale, domain, expires + 1))
    rejects("a release by another key than the owner's", "bad_release_signature",
            lambda: model_ownership(owned(), statement(buyer_seed, 2, release_by(buyer_seed, 1, expires)), domain, t0))
    rejects("a release of another binding (released_sequence 0)", "bad_release_signature",
            lambda: model_ownership(owned(), statement(buyer_seed, 2, release_by(seller_seed, 0, expires)), domain, t0))
    rejects("the sale's release on a later binding (leaf sequence 1 → 2)", "bad_release_signature",
            lambda: model_ownership(dict(owned(), ownership_sequence=2), statement(buyer_seed, 3, sale["release"]), domain, t0))
    rejects("the release with a later expiry than signed", "bad_release_signature",
            lambda: model_ownership(owned(), statement(buyer_seed, 2, dict(sale["release"], expires_at=expires + 1)), domain, t0))

    def recovery(c):
        dev = owned()
        now = story[14]["block_timestamp"]
        got = model_recover(dev, recover, now)
        c.eq("recovery started: the story's entry (input 14)", got, story[14]["entries"])
        c.eq("recovery started: 73 bytes", len(encode_entry(got[0])), 73)
        c.eq("pending", dev["pending_recovery"], {"owner": recover["owner"], "effective_at": now + RECOVERY_DELAY_S})
        c.eq("the objection names it", objection["effective_at"], dev["pending_recovery"]["effective_at"])
        c.rejects("a second recovery", "recovery_pending", model_recover, dev, recover, now)
        c.rejects("an objection by the recovered key", "not_owner", model_objection, dev,
                  dict(objection, owner=recover["owner"]), domain)
        c.rejects("an objection with the signature altered", "bad_signature", model_objection, dev,
                  dict(objection, signature=objection["signature"][:-1] + bytes([objection["signature"][-1] ^ 1])), domain)
        c.rejects("an objection naming another time", "no_pending_recovery", model_objection, dev,
                  dict(objection, effective_at=objection["effective_at"] - 1), domain)
        c.eq("nothing completes before its time", model_complete({b"d": dev}, objection["effective_at"] - 1), [])
        got = model_objection(dev, objection, domain)
        c.eq("objected: the story's entry (input 15)", got, story[15]["entries"])
        c.eq("recovery_ended: 2 bytes", len(encode_entry(got[0])), 2)
        c.eq("no recovery pending, the owner kept", (dev["pending_recovery"], dev["owner"]), (None, seller))
        c.rejects("the objection again", "no_pending_recovery", model_objection, dev, objection, domain)
        # Started again (input 16), completed at the start of a later input (17), a new era.
        now = story[16]["block_timestamp"]
        c.eq("started again: the story's entry (input 16)", model_recover(dev, recover, now), story[16]["entries"])
        later = story[17]["block_timestamp"]
        c.true("input 17 is at or after the time", later >= now + RECOVERY_DELAY_S)
        got = model_complete({b"d": dev}, later)
        c.eq("completed: the story's entry (input 17)", [e for _, es in got for e in es], story[17]["entries"])
        c.eq("owner_recovered: 33 bytes", len(encode_entry(story[17]["entries"][0])), 33)
        c.eq("the recovered owner, a new era, the sequence kept", (dev["owner"], dev["era"], dev["ownership_sequence"]),
             (recover["owner"], 1, 1))
        c.rejects("recovering to the owner's own key", "same_key", model_recover, dev, recover, later)
        c.rejects("an objection after the recovery took effect", "no_pending_recovery", model_objection, dev, objection, domain)
    checks.append(("ownership rules: recovery started, objected, started again, completed (the story's inputs 14-17)", recovery))

    def recovery_ends(c):
        # The owner's sale ends a pending recovery (superseded), before its owner change.
        dev = owned()
        model_recover(dev, recover, t0)
        got = model_ownership(dev, sale, domain, t0)
        c.eq("superseded, then the owner change", [e["type"] for e in got], ["recovery_ended", "owner_changed"])
        c.eq("superseded", got[0]["outcome"], "superseded")
        c.eq("nothing to complete", model_complete({b"d": dev}, t0 + RECOVERY_DELAY_S), [])
        # Revoking the unit ends it (retired).
        dev = owned()
        model_recover(dev, recover, t0)
        c.eq("retired, then revoked", model_revoke(dev), [{"type": "recovery_ended", "outcome": "retired"}, {"type": "revoked"}])
        c.rejects("a recovery of a revoked unit", "revoked_device", model_recover, dev, recover, t0)
        c.rejects("an objection once retired", "no_pending_recovery", model_objection, dev, objection, domain)
        # An objection at the recovery's time is too late: the input completes it first.
        dev = owned()
        model_recover(dev, recover, t0)
        model_complete({b"d": dev}, t0 + RECOVERY_DELAY_S)
        c.rejects("an objection in the input that completes it", "no_pending_recovery", model_objection, dev, objection, domain)
        # Several due: by time, then device id.
        a, b, z = owned(), owned(), owned()
        model_recover(a, recover, t0 + 5)
        model_recover(b, recover, t0)
        model_recover(z, recover, t0)
        got = model_complete({b"\x02": a, b"\x09": b, b"\x01": z}, t0 + 5 + RECOVERY_DELAY_S)
        c.eq("completion order: (effective_at, device)", [i for i, _ in got], [b"\x01", b"\x09", b"\x02"])
        c.rejects("a recovery of an unowned device", "not_owned", model_recover, new_device(device_key), recover, t0)
        c.rejects("a recovery of an unknown device", "unknown_device", model_recover, None, recover, t0)
        c.rejects("an objection for an unknown device", "unknown_device", model_objection, None, objection, domain)
        c.rejects("an objection, nothing pending", "no_pending_recovery", model_objection, owned(), objection, domain)
    checks.append(("ownership rules: superseded, retired, too late, completion order, not owned", recovery_ends))

    # Wire rules of the new messages (op 10, kind 5, entries 11-13), on mutated vector bytes.
    rmsg, omsg = h(vectors["registrar_recover_owner"], "message"), h(ov, "message")

    def registrar_bytes(data: bytes):
        def run():
            rd = Reader(data)
            read_registrar(rd)
            rd.finish()
        return run

    rejects("RecoverOwner with a small-order owner key", "invalid_public_key",
            registrar_bytes(rmsg[:57] + bytes(32) + rmsg[89:]))
    rejects("RecoverOwner cut inside the owner key", "truncated", registrar_bytes(rmsg[:70]))
    rejects("RecoverOwner a byte more", "trailing_bytes", registrar_bytes(rmsg + b"\x00"))
    rejects("objection with a small-order owner key", "invalid_public_key",
            lambda: decode_input(bytes([INPUT_VERSION, 1, KIND_OBJECTION]) + omsg[:16] + bytes(32) + omsg[48:]))
    rejects("input kind 6", "unknown_kind", lambda: decode_input(bytes([INPUT_VERSION, 1, 6]) + omsg))
    notice = h(vectors["history_recovery_objected"], "notice")
    E = 56
    assert notice[E] == 12
    for outcome in (0, 4, 255):
        rejects(f"recovery_ended outcome {outcome}", "invalid_field",
                lambda o=outcome: decode_history_notice(notice[: E + 1] + bytes([o]) + notice[E + 2 :]))
    started = h(vectors["history_recovery_started"], "notice")
    rejects("recovery_started cut inside effective_at", "truncated", lambda: decode_history_notice(started[: E + 70]))
    recovered = h(vectors["history_owner_recovered"], "notice")
    rejects("owner_recovered cut inside the owner", "truncated", lambda: decode_history_notice(recovered[: E + 20]))
    for k in (11, 12, 13):
        # Inside an envelope's range an entry 11-13 is where a reading is due.
        entry = {11: started, 12: notice, 13: recovered}[k][E:-2]
        bad = notice[:55] + b"\x02" + b"\x07" + be(1, 8) + b"\x01" + entry + b"\x00\x00"
        rejects(f"entry {k} where a reading of the range is due", "invalid_field", lambda b=bad: decode_history_notice(b))

    def outcomes(c):
        for code, name in RECOVERY_OUTCOMES.items():
            n = decode_history_notice(notice[: E + 1] + bytes([code]) + notice[E + 2 :])
            c.eq(f"outcome {code}", n["fields"]["entries"], [{"type": "recovery_ended", "outcome": name}])
            c.eq(f"outcome {code} re-encoded", encode_entry(n["fields"]["entries"][0]), bytes([12, code]))
    checks.append(("recovery_ended outcomes 1-3", outcomes))
    return checks


# --------------------------------------------------------------------------------------------
# Derived cases: rules of PROTOCOL.md sections 2, 6.2, 9 and 10 applied to mutated vector bytes.


def derived_cases(vectors: dict) -> list:
    base = vectors["single_reading"]
    data = h(base, "envelope")
    dev, bsk = h(base, "device_public_key"), h(base, "backend_secret_key")

    def mutated(offset: int, value: bytes) -> bytes:
        b = bytearray(data)
        b[offset : offset + len(value)] = value
        return bytes(b)

    def decode(b):
        return lambda: decode_envelope(b)

    def resigned(b: bytes, seed: bytes) -> bytes:
        body = b[:-64]
        return body + ed25519_sign(seed, signed_bytes(TAG_ENVELOPE, dom(base), body))

    seed = h(base, "device_signing_seed")
    cases = [
        ("envelope version 1 (signed without the chain and application)", "unsupported_version",
         decode(mutated(0, b"\x01"))),
        ("envelope version 3", "unsupported_version", decode(mutated(0, b"\x03"))),
        ("envelope suite 9", "unsupported_suite", decode(mutated(1, b"\x09"))),
        ("envelope reading_count 0", "invalid_field", decode(mutated(30, b"\x00"))),
        ("envelope reading_count 65", "oversize", decode(mutated(30, b"\x41"))),
        ("envelope ciphertext_len 16", "invalid_field", decode(mutated(31, be(16, 2))[:33])),
        ("envelope counter overflow", "invalid_field", decode(mutated(18, be(U64_MAX, 8) + data[26:30] + b"\x02"))),
        ("envelope header truncated", "truncated", decode(data[:32])),
        ("envelope empty", "truncated", decode(b"")),
        # Same device re-signs its ciphertext under a new counter: signature fine, AAD differs.
        ("counter moved and re-signed", "decryption_failed",
         lambda: open_envelope(decode_envelope(resigned(mutated(18, be(100, 8)), seed)), dev, dom(base), bsk)),
        ("wrong backend key", "decryption_failed",
         lambda: open_envelope(decode_envelope(data), dev, dom(base), hpke_derive_key_pair(b"other")[0])),
        ("signed for another chain", "bad_signature",
         lambda: open_envelope(decode_envelope(data), dev, domain_bytes(base["chain_id"] + 1, h(base, "application"), h(base, "backend_public_key")), bsk)),
        ("signed for another application", "bad_signature",
         lambda: open_envelope(decode_envelope(data), dev, domain_bytes(base["chain_id"], bytes(20), h(base, "backend_public_key")), bsk)),
        ("signature with S + L", "bad_signature",
         lambda: verify_strict(dev, h(base, "signed_message"),
                               data[-64:-32] + (int.from_bytes(data[-32:], "little") + L).to_bytes(32, "little"))),
        ("small-order device key", "invalid_public_key", lambda: parse_ed25519_key(bytes(32))),
        ("non-canonical device key", "invalid_public_key",
         lambda: parse_ed25519_key(bytes.fromhex("f0" + "ff" * 30 + "7f"))),
        ("input version 1", "unsupported_version", lambda: decode_input(b"\x01\x01\x01" + data)),
        ("input version 3", "unsupported_version", lambda: decode_input(b"\x03\x01\x01" + data)),
        ("input count 0", "invalid_field", lambda: decode_input(b"\x02\x00")),
        ("input count overlong", "non_canonical_varint", lambda: decode_input(b"\x02\x81\x00\x01" + data)),
        ("input count 4097", "oversize", lambda: decode_input(b"\x02" + enc_varint(4097))),
        ("input count beyond remaining", "truncated", lambda: decode_input(b"\x02\x02\x01" + data)),
        ("input unknown kind", "unknown_kind", lambda: decode_input(b"\x02\x01\x09" + data)),
        ("input trailing", "trailing_bytes", lambda: decode_input(b"\x02\x01\x01" + data + b"\x00")),
        ("input too long", "oversize", lambda: decode_input(b"\x02" + bytes(MAX_INPUT_LEN))),
        ("gateway authorization bool 2", "invalid_field", lambda: decode_input(b"\x02\x01\x03" + bytes(20) + b"\x02")),
        ("varint 10th byte > 1", "non_canonical_varint", lambda: Reader(b"\xff" * 9 + b"\x02").varint()),
        ("varint 11 bytes", "non_canonical_varint", lambda: Reader(b"\xff" * 10).varint()),
        ("varint ends early", "truncated", lambda: Reader(b"\x80").varint()),
        ("packed: trailing byte", "malformed_plaintext",
         lambda: unpack_readings(h(base, "plaintext") + b"\x00", 1, 0)),
        ("packed: count above header", "malformed_plaintext", lambda: unpack_readings(h(base, "plaintext"), 2, 0)),
        ("packed: format 2", "malformed_plaintext", lambda: unpack_readings(b"\x02" + h(base, "plaintext")[1:], 1, 0)),
        ("packed: engine above u32", "malformed_plaintext",
         lambda: unpack_readings(b"\x01\x00" + enc_varint(2**32) + b"\x00\x00", 1, 0)),
        ("packed: 33 faults", "malformed_plaintext",
         lambda: unpack_readings(b"\x01\x00\x00\x00\x21" + bytes(66), 1, 0)),
        ("registrar reason too long", "oversize",
         lambda: Reader(enc_varint(257) + b"a" * 257).text(MAX_REASON)),
        ("registrar reason not UTF-8", "invalid_text", lambda: Reader(b"\x02\xc3\x28").text(MAX_REASON)),
    ]
    checks = [(name, lambda c, n=name, code=code, fn=fn: c.rejects(n, code, fn)) for name, code, fn in cases]
    for value, encoded in [(0, "00"), (127, "7f"), (128, "8001"), (300, "ac02"), (U64_MAX, "ffffffffffffffffff01")]:
        def roundtrip(c, value=value, encoded=encoded):
            c.eq("encode", enc_varint(value).hex(), encoded)
            c.eq("decode", Reader(bytes.fromhex(encoded)).varint(), value)
        checks.append((f"varint {value} = {encoded}", roundtrip))
    for value, encoded in [(0, "00"), (-1, "01"), (1, "02"), (-2, "03"), (-(2**63), "ffffffffffffffffff01")]:
        def zz(c, value=value, encoded=encoded):
            c.eq("encode", enc_zigzag(value).hex(), encoded)
            c.eq("decode", Reader(bytes.fromhex(encoded)).zigzag(), value)
        checks.append((f"zigzag {value} = {encoded}", zz))
    return checks


def verdict_baseline_cases(vectors: dict) -> list:
    """17.3 rules 5-8 with a corrected baseline, on the leaf of
    `verdict_consistent_above_corrected_baseline` (the device shows 1,250,000 m) changed."""
    v = vectors["verdict_consistent_above_corrected_baseline"]
    leaf = decode_leaf(h(v, "leaf"))
    assert leaf["corrected_baseline"] is not None and leaf["corrections"] > 0
    shown = decode_possession(h(v, "possession_proof"))["reading"]["odometer_m"]

    def verdict(changes: dict, nonce: bytes | None = None):
        got, findings = decide(h(v, "device_id"), encode_leaf(dict(leaf, **changes)), h(v, "possession_proof"),
                               nonce or h(v, "nonce"), None, dom(v))
        return got, [f if isinstance(f, str) else f[0] for f in findings]

    cb = leaf["corrected_baseline"]
    above = dict(cb, odometer_m=shown + 1)
    pending = {"owner": ed25519_public(vector_seed("recovered owner")).hex(), "effective_at": 1_791_000_000}
    cases = [
        # Rule 5 needs no highest *and* no corrected baseline: with the baseline alone, rule 6 compares.
        ("no highest, a corrected baseline below the device: rule 10", dict(highest=None, first=None),
         ("consistent", ["consistent", "corrections_on_record"])),
        ("no highest, a corrected baseline above the device: rule 6", dict(highest=None, first=None, corrected_baseline=above),
         ("rollback", ["rollback", "corrections_on_record"])),
        ("no highest, no baseline, corrected: rule 5 with corrections_on_record",
         dict(highest=None, first=None, corrected_baseline=None), ("no_history", ["no_history", "corrections_on_record"])),
        ("baseline above the device, flagged", dict(corrected_baseline=above, open_tampers=1),
         ("rollback", ["rollback", "tamper_on_record", "corrections_on_record"])),
        ("baseline equal to the device (rule 6 needs exceeds)", dict(corrected_baseline=dict(cb, odometer_m=shown)),
         ("consistent", ["consistent", "corrections_on_record"])),
        ("baseline below the device, flagged: rule 7", dict(open_tampers=2),
         ("flagged", ["tamper_on_record", "corrections_on_record"])),
        ("baseline below the device, counter behind: rule 9", dict(last_counter=2**64 - 1),
         ("flagged", ["counter_behind", "corrections_on_record"])),
        ("the baseline cleared, no opening: rule 8", dict(corrected_baseline=None),
         ("cannot_confirm", ["opening", "corrections_on_record"])),
        # 8.4.2: a pending recovery closes every verdict from rule 5 on, and none before.
        ("a recovery pending, consistent", dict(pending_recovery=pending),
         ("consistent", ["consistent", "corrections_on_record", "recovery_pending"])),
        ("a recovery pending, rollback and flagged", dict(pending_recovery=pending, corrected_baseline=above, open_tampers=1),
         ("rollback", ["rollback", "tamper_on_record", "corrections_on_record", "recovery_pending"])),
        ("a recovery pending, no history", dict(pending_recovery=pending, highest=None, first=None, corrected_baseline=None),
         ("no_history", ["no_history", "corrections_on_record", "recovery_pending"])),
        ("a recovery pending, no correction", dict(pending_recovery=pending, corrections=0, latest_correction=None),
         ("consistent", ["consistent", "recovery_pending"])),
        ("a recovery pending on a revoked unit (rule 1)", dict(pending_recovery=pending, revoked=True), ("revoked", ["revoked"])),
        ("a recovery pending, the proof for another nonce (rule 3)", dict(pending_recovery=pending),
         ("cannot_confirm", ["proof_not_fresh"]), bytes(32)),
    ]
    return [(f"verdict: {what}", lambda c, w=what, ch=ch, want=want, nonce=rest: c.eq(w, verdict(ch, *nonce), want))
            for what, ch, want, *rest in cases]


def correction_cases(vectors: dict) -> list:
    """8.2.1 and 16.4 kind 8 applied to mutated bytes of `registrar_correct` and of the history
    notice with a correction."""
    msg = h(vectors["registrar_correct"], "message")
    notice = h(vectors["history_correction_and_key_rotation"], "notice")

    def at(data: bytes, offset: int, value: bytes) -> bytes:
        b = bytearray(data)
        b[offset : offset + len(value)] = value
        return bytes(b)

    def registrar(data: bytes):
        def run():
            rd = Reader(data)
            m = read_registrar(rd)
            rd.finish()
            return m
        return run

    # Offsets in the registrar message: op 40, then the correction from 41 (8.2.1).
    OP, CORR = 40, 41
    HAS_ODO, ODO, HAS_BL, BL, REASON, EVIDENCE, NOTE = (CORR + 24, CORR + 25, CORR + 33, CORR + 34,
                                                        CORR + 42, CORR + 43, CORR + 76)
    assert msg[OP] == OP_CORRECT and msg[HAS_ODO] == 0 and msg[HAS_BL] == 1
    body_end = len(msg) - 64
    long_note = enc_varint(257) + b"a" * 257
    cases = [
        ("registrar op 4 (retired CorrectReading)", "unknown_kind", registrar(at(msg, OP, b"\x04"))),
        ("registrar op 12", "unknown_kind", registrar(at(msg, OP, b"\x0c"))),
        ("registrar op 0", "unknown_kind", registrar(at(msg, OP, b"\x00"))),
        ("registrar op 255", "unknown_kind", registrar(at(msg, OP, b"\xff"))),
        ("registrar op 4 inside an input", "unknown_kind",
         lambda: decode_input(bytes([INPUT_VERSION, 1, KIND_REGISTRAR]) + at(msg, OP, b"\x04"))),
        ("correction: has_odometer 2", "invalid_field", registrar(at(msg, HAS_ODO, b"\x02"))),
        ("correction: odometer absent, value not zero", "invalid_field", registrar(at(msg, ODO + 7, b"\x01"))),
        ("correction: has_baseline 0 with its value", "invalid_field", registrar(at(msg, HAS_BL, b"\x00"))),
        ("correction: has_baseline 255", "invalid_field", registrar(at(msg, HAS_BL, b"\xff"))),
        ("correction: reason 0", "invalid_field", registrar(at(msg, REASON, b"\x00"))),
        ("correction: reason 4", "invalid_field", registrar(at(msg, REASON, b"\x04"))),
        ("correction: evidence 0", "invalid_field", registrar(at(msg, EVIDENCE, b"\x00"))),
        ("correction: evidence 5", "invalid_field", registrar(at(msg, EVIDENCE, b"\x05"))),
        ("correction: note of 257 bytes", "oversize", registrar(msg[:NOTE] + long_note + msg[body_end:])),
        ("correction: note not UTF-8", "invalid_text", registrar(at(msg, NOTE + 1, b"\xc3\x28"))),
        ("correction: cut inside the digest", "truncated", registrar(msg[: EVIDENCE + 10])),
        ("correction: no signature", "truncated", registrar(msg[:body_end])),
        ("correction: a byte after the signature", "trailing_bytes", registrar(msg + b"\x00")),
    ]

    # The history notice: its header (55), a one-byte entry count, then the kind 8 entry.
    E = 56
    assert notice[E] == 8
    H_CLEARED, H_CORR = E + 33, E + 34
    H_HAS_ODO, H_HAS_BL, H_BL, H_REASON, H_EVIDENCE, H_NOTE = (H_CORR + 24, H_CORR + 33, H_CORR + 34,
                                                              H_CORR + 42, H_CORR + 43, H_CORR + 76)
    assert notice[H_HAS_ODO] == 1 and notice[H_HAS_BL] == 0 and notice[H_CLEARED] == 1
    note_len = notice[H_NOTE]
    assert note_len < 128
    after_note = H_NOTE + 1 + note_len

    def with_note(raw: bytes) -> bytes:
        return notice[:H_NOTE] + enc_varint(len(raw)) + raw + notice[after_note:]

    def history(data: bytes):
        return lambda: decode_history_notice(data)

    cases += [
        ("history kind 3 (retired correction) with the kind 8 fields", "unknown_kind", history(at(notice, E, b"\x03"))),
        ("history kind 8: cleared 2", "invalid_field", history(at(notice, H_CLEARED, b"\x02"))),
        ("history kind 8: has_odometer 2", "invalid_field", history(at(notice, H_HAS_ODO, b"\x02"))),
        ("history kind 8: baseline absent, value not zero", "invalid_field", history(at(notice, H_BL + 7, b"\x01"))),
        ("history kind 8: has_odometer 0 with its value", "invalid_field", history(at(notice, H_HAS_ODO, b"\x00"))),
        ("history kind 8: reason 9", "invalid_field", history(at(notice, H_REASON, b"\x09"))),
        ("history kind 8: evidence 0", "invalid_field", history(at(notice, H_EVIDENCE, b"\x00"))),
        ("history kind 8: a note of 257 bytes (text(256), not text(1024))", "oversize",
         history(with_note(b"a" * 257))),
        ("history kind 8: cut inside the digest", "truncated", history(notice[: H_EVIDENCE + 10])),
    ]
    checks = [(name, lambda c, n=name, code=code, fn=fn: c.rejects(n, code, fn)) for name, code, fn in cases]

    def accepted(c):
        # The boundaries that decode: a note of exactly 256 bytes; a value given and a baseline moved.
        n = decode_history_notice(with_note(b"b" * 256))
        c.eq("a 256-byte note", n["fields"]["entries"][0]["note"], "b" * 256)
        m = registrar(at(at(msg, HAS_ODO, b"\x01"), ODO, be(1_234, 8)))()
        c.eq("odometer given, baseline moved", (m["odometer_m"], m["baseline_m"]), (1_234, 1_200_000))
        m = registrar(at(at(msg, HAS_BL, b"\x00"), BL, bytes(8)))()
        c.eq("nothing but the counter (a clearing correction) decodes", (m["odometer_m"], m["baseline_m"]), (None, None))
        for code, name in list(CORRECTION_REASONS.items()):
            c.eq(f"reason {code}", registrar(at(msg, REASON, bytes([code])))()["reason"], name)
        for code, name in list(CORRECTION_EVIDENCE.items()):
            c.eq(f"evidence {code}", registrar(at(msg, EVIDENCE, bytes([code])))()["evidence"], name)
        e = decode_history_notice(notice)["fields"]["entries"][0]
        c.eq("the kind 8 entry re-encoded", encode_corrected_entry(e), notice[E:after_note])
    checks.append(("correction boundaries that decode", accepted))
    return checks


# --------------------------------------------------------------------------------------------
# Mileage certificates (section 18)

CERT_MAGIC = b"WTNC"
CERT_VERSION = 1
OUTPUTS_HEIGHT = 63
NOTICE_SELECTOR = bytes.fromhex("c258d6e5")
CANNOT_KNOW = ["outputs_root_accepted", "later_claims"]


def keccak256(*parts: bytes) -> bytes:
    k = keccak.new(digest_bits=256)
    for p in parts:
        k.update(p)
    return k.digest()


def zero_hashes() -> list[bytes]:
    z = [bytes(32)]
    for _ in range(OUTPUTS_HEIGHT - 1):
        z.append(keccak256(z[-1], z[-1]))
    return z


ZERO_HASHES = zero_hashes()


def notice_output(payload: bytes) -> bytes:
    padded = payload + bytes(-len(payload) % 32)
    return NOTICE_SELECTOR + be(32, 32) + be(len(payload), 32) + padded


FORM_SEALED, FORM_OPENED = 0, 1  # certificate notice forms (shared-spec-cert.md B)
ODOMETER_KEY_ITEM = 36  # era u32 ‖ K_odo 32
MIN_CERT_NOTICE = 4  # form u8 ‖ a length byte ‖ the 2-byte notice version and kind
MAX_CERT_NOTICE = 2 * 1024 * 1024  # a notice's length above this is oversize
MAX_OPENING = 141  # 7.4 with 32 faults
MAX_EARLIER_UNITS = 16  # 18.2; 17.2 V7a proves at most 16 earlier units too
TEXT_BEGIN = "-----BEGIN WITNESS CERTIFICATE-----"
TEXT_END = "-----END WITNESS CERTIFICATE-----"


def decode_certificate(data: bytes) -> dict:
    rd = Reader(data)
    magic = rd.take(min(4, len(data)))
    if magic != CERT_MAGIC:
        raise ProtocolError("truncated" if CERT_MAGIC.startswith(magic) else "not_a_certificate")
    if rd.u8() != CERT_VERSION:
        raise ProtocolError("unsupported_version", "certificate version")
    level = rd.u8()
    if level not in (1, 2):
        raise ProtocolError("invalid_field", "level")
    cert = {"level": "summary" if level == 1 else "full"}
    cert["anchors"] = {"chain_id": rd.u64(), "application": rd.take(20).hex(), "consensus": rd.take(20).hex()}
    cert["device_id"] = rd.take(16)
    cert["last_processed_block"] = rd.u64()
    cert["claim_block"] = rd.u64()
    present = rd.boolean()
    root = rd.take(32)
    if not present and root != bytes(32):
        raise ProtocolError("invalid_field", "absent outputs root not zero")
    cert["outputs_root"] = root if present else None
    cert["state_raw"] = rd.take(STATE_NOTICE_LEN)
    cert["state"] = decode_state_notice(cert["state_raw"])
    index = rd.u64()
    if index >> OUTPUTS_HEIGHT:
        raise ProtocolError("invalid_field", "output index")
    bitmap = rd.u64()
    if bitmap >> OUTPUTS_HEIGHT:
        raise ProtocolError("invalid_field", "bitmap bit 63")
    siblings = []
    for k in range(OUTPUTS_HEIGHT):
        if (bitmap >> k) & 1:
            s = rd.take(32)
            if s == ZERO_HASHES[k]:
                raise ProtocolError("invalid_field", "a sibling marked present is the empty subtree")
            siblings.append(s)
        else:
            siblings.append(ZERO_HASHES[k])
    cert["output_index"], cert["output_siblings"] = index, siblings

    def var(maximum: int | None = None) -> bytes:
        n = rd.varint()
        if maximum is not None and n > maximum:
            raise ProtocolError("oversize", f"length {n} > {maximum}")
        return rd.take(n)

    def opening() -> tuple[bytes | None, dict | None]:
        """`present u8 ‖ var opening (7.4)`."""
        if not rd.boolean():
            return None, None
        raw = var(MAX_OPENING)
        return raw, decode_opening(raw)

    cert["map_proof_raw"] = var(19 + 32 * KEY_BITS + LEAF_LEN)
    cert["map_proof"] = decode_map_proof(cert["map_proof_raw"])
    cert["highest_raw"], cert["highest"] = opening()
    cert["first_raw"], cert["first"] = opening()
    # The vehicle: present ‖ VIN 17 (UTF-8, else invalid_text; ISO 3779, else invalid_field, as
    # section 4 says of any VIN) ‖ salt 32.
    cert["vehicle"] = None
    if rd.boolean():
        raw_vin = rd.take(VIN_LEN)
        try:
            vin = raw_vin.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise ProtocolError("invalid_text", "VIN") from None
        check_vin(vin)
        cert["vehicle"] = (vin, rd.take(32))
    # The earlier units: at most 16 map proofs, newest first.
    cert["earlier_raw"], cert["earlier"] = [], []
    for _ in range(rd.count(MAX_EARLIER_UNITS, 2)):
        raw = var(19 + 32 * KEY_BITS + LEAF_LEN)
        cert["earlier_raw"].append(raw)
        cert["earlier"].append(decode_map_proof(raw))
    # Full only: the odometer keys (era ascending) and the notices, each sealed or opened.
    # Step 1 decodes every notice too (form 0 as a history notice, 16.4; form 1 in the opened
    # form, rebuilt), before the anchors are compared: a malformed notice is refused with its
    # decoding code whatever the anchors.
    cert["odometer_keys"], cert["notices"], cert["decoded_notices"] = [], [], []
    if level == 2:
        for _ in range(rd.count(U64_MAX, ODOMETER_KEY_ITEM)):
            era = rd.u32()
            if cert["odometer_keys"] and era <= cert["odometer_keys"][-1][0]:
                raise ProtocolError("invalid_field", "odometer key eras not strictly ascending")
            cert["odometer_keys"].append((era, rd.take(32)))
        for _ in range(rd.count(U64_MAX, MIN_CERT_NOTICE)):
            form = rd.u8()  # checked before the length is read
            if form not in (FORM_SEALED, FORM_OPENED):
                raise ProtocolError("invalid_field", f"notice form {form}")
            body = var(MAX_CERT_NOTICE)
            if form == FORM_SEALED:
                payload, values = body, None
            else:
                payload, values = rebuild_opened_notice(body)
            cert["notices"].append((form, body))
            cert["decoded_notices"].append((form, payload, decode_history_notice(payload), values))
    rd.finish()
    return cert


def encode_certificate(cert: dict) -> bytes:
    """The inverse of decode_certificate (for round trips and derived cases)."""
    def var(b: bytes) -> bytes:
        return enc_varint(len(b)) + b

    def opt_opening(raw: bytes | None) -> bytes:
        return b"\x00" if raw is None else b"\x01" + var(raw)

    a = cert["anchors"]
    out = CERT_MAGIC + bytes([CERT_VERSION, 1 if cert["level"] == "summary" else 2])
    out += be(a["chain_id"], 8) + bytes.fromhex(a["application"]) + bytes.fromhex(a["consensus"])
    out += cert["device_id"] + be(cert["last_processed_block"], 8) + be(cert["claim_block"], 8)
    out += enc_opt(cert["outputs_root"], lambda r: r, 32) + cert["state_raw"]
    bitmap = sum(1 << k for k, s in enumerate(cert["output_siblings"]) if s != ZERO_HASHES[k])
    out += be(cert["output_index"], 8) + be(bitmap, 8)
    out += b"".join(s for k, s in enumerate(cert["output_siblings"]) if s != ZERO_HASHES[k])
    out += var(cert["map_proof_raw"]) + opt_opening(cert["highest_raw"]) + opt_opening(cert["first_raw"])
    out += b"\x00" if cert["vehicle"] is None else b"\x01" + cert["vehicle"][0].encode() + cert["vehicle"][1]
    out += enc_varint(len(cert["earlier_raw"])) + b"".join(var(raw) for raw in cert["earlier_raw"])
    if cert["level"] == "full":
        out += enc_varint(len(cert["odometer_keys"]))
        out += b"".join(be(era, 4) + key for era, key in cert["odometer_keys"])
        out += enc_varint(len(cert["notices"]))
        out += b"".join(bytes([form]) + var(body) for form, body in cert["notices"])
    return out


def rebuild_opened_notice(data: bytes) -> tuple[bytes, list[dict]]:
    """A form 1 notice: a history notice payload (16.4) whose reading entries lack their
    commitment, then per envelope entry its commitment key and per reading entry of it the
    standalone reading (5.2). Returns the rebuilt payload (each commitment recomputed, 7.2-7.3,
    and put back in its entry; the values removed) and the readings, in entry order."""
    rd = Reader(data)
    n = read_history_notice(rd, data, False)
    device_id = bytes.fromhex(n["fields"]["device_id"])
    key, commitments, readings = None, [], []
    for e in n["fields"]["entries"]:
        if e["type"] == "envelope":
            key = rd.take(32)
        elif e["type"] == "reading":
            r = decode_standalone(rd)
            commitments.append(commitment(device_id, e["counter"], blinding(key, e["counter"]), r))
            readings.append({"counter": e["counter"], "reading": r, "rollback": e["rollback_of"] is not None})
    rd.finish()
    payload, done = b"", 0
    for offset, com in zip(n["reading_offsets"], commitments, strict=True):
        payload += data[done:offset] + com
        done = offset
    payload += data[done : n["end"]]
    return payload, readings


def build_opened_notice(payload: bytes, keys: list[bytes], readings: list[dict]) -> bytes:
    """The form 1 bytes of a decoded payload, given each envelope's commitment key and each
    reading entry's reading (the inverse of rebuild_opened_notice)."""
    n = decode_history_notice(payload)
    out, done = b"", 0
    for offset in n["reading_offsets"]:
        out += payload[done:offset]
        done = offset + 32
    out += payload[done:]
    it = iter(readings)
    keys = iter(keys)
    for e in n["fields"]["entries"]:
        if e["type"] == "envelope":
            out += next(keys)
        elif e["type"] == "reading":
            out += encode_standalone(next(it))
    return out


def check_cert_opening(o: dict, device_id: bytes, counter: int, commit: bytes):
    if o["device_id"] != device_id or o["counter"] != counter:
        raise ProtocolError("wrong_commitment")
    if commitment(o["device_id"], o["counter"], o["blinding"], o["reading"]) != commit:
        raise ProtocolError("commitment_mismatch")


def proven_reading(named: dict | None, opening: dict | None, device_id: bytes) -> dict | None:
    """18.4 steps 6 and 6b: the opening of a reading the leaf names (highest, first)."""
    if named is None:
        if opening is not None:
            raise ProtocolError("wrong_commitment", "the leaf names no such reading")
        return None
    if opening is None:
        raise ProtocolError("opening_missing")
    check_cert_opening(opening, device_id, named["counter"], bytes.fromhex(named["commitment"]))
    return {"counter": named["counter"], "rollback": False, "reading": opening["reading"]}


def verify_certificate(data: bytes, pinned: dict | None) -> dict:
    cert = decode_certificate(data)
    if pinned is not None:
        for field, code in (("chain_id", "chain_mismatch"), ("application", "application_mismatch"),
                            ("consensus", "consensus_mismatch")):
            if cert["anchors"][field] != pinned[field]:
                raise ProtocolError(code)
    state = cert["state"]
    if not state["block_number"] <= cert["last_processed_block"] <= cert["claim_block"]:
        raise ProtocolError("claim_mismatch")
    node = keccak256(notice_output(cert["state_raw"]))
    for k, s in enumerate(cert["output_siblings"]):
        node = keccak256(s, node) if (cert["output_index"] >> k) & 1 else keccak256(node, s)
    if cert["outputs_root"] is not None and cert["outputs_root"] != node:
        raise ProtocolError("outputs_root_mismatch")
    try:
        outcome, raw = verify_map_proof(cert["map_proof"], cert["device_id"], bytes.fromhex(state["map_root"]))
    except ProtocolError as e:
        raise ProtocolError("wrong_device" if e.code == "wrong_prefix" else e.code) from None
    if outcome != "member":
        raise ProtocolError("wrong_device")
    leaf = decode_leaf(raw)
    device = cert["device_id"]
    # Step 5a: the disclosed VIN and salt open the leaf's vehicle commitment.
    vin = None
    if cert["vehicle"] is not None:
        vin, salt = cert["vehicle"]
        if vehicle_id(vin, salt).hex() != leaf["vehicle"]:
            raise ProtocolError("vehicle_mismatch")
    # Step 5b: the earlier units, walked from the leaf's predecessor, each against the same root.
    earlier = earlier_units(leaf, cert["earlier"], bytes.fromhex(state["map_root"]))
    highest = proven_reading(leaf["highest"], cert["highest"], device)  # step 6
    first = proven_reading(leaf["first"], cert["first"], device)  # step 6b
    disclosed, odometer_only, undisclosed, corrections = [], [], [], []
    if cert["level"] == "full":
        # Step 7: decode (and rebuild form 1), same device, fold, compare with the leaf.
        acc, last, notices = (0, EMPTY), None, []
        for form, payload, n, values in cert["decoded_notices"]:  # decoded in step 1
            if n["fields"]["device_id"] != device.hex():
                raise ProtocolError("wrong_device", "a notice of another device")
            acc, last = fold(acc, payload), n["fields"]["input_index"]
            notices.append((form, n, values))
        hist = leaf["history"]
        if (acc[0], acc[1].hex(), last) != (hist["count"], hist["root"], hist["last_input"]):
            raise ProtocolError("history_mismatch")
        # Step 7a: the corrected record, recomputed from the history.
        corrections = corrected_record([n for _, n, _ in notices], leaf["open_tampers"])
        # Step 8: sealed notices with reading entries, of an era with an odometer key, are
        # opened with it; an AEAD failure (a short ciphertext too) is history_key_mismatch.
        keys = dict(cert["odometer_keys"])
        for form, n, values in notices:
            entries = [e for e in n["fields"]["entries"] if e["type"] == "reading"]
            era = n["fields"]["era"]
            if form == FORM_OPENED:
                disclosed += values
            elif entries and era in keys:
                try:
                    opened = open_history_values(n, keys[era], None)
                except ProtocolError as e:
                    if e.code == "decryption_failed":
                        raise ProtocolError("history_key_mismatch", f"era {era}") from None
                    raise
                odometer_only += [{"counter": e["counter"], "day": o["day"], "odometer_m": o["odometer_m"],
                                   "rollback": e["rollback_of"] is not None} for e, o in zip(entries, opened)]
            else:
                undisclosed += [e["counter"] for e in entries]
        # The three lists are by counter, ascending.
        disclosed.sort(key=lambda d: d["counter"])
        odometer_only.sort(key=lambda o: o["counter"])
        undisclosed.sort()
    return {
        "level": cert["level"], "device_id": device.hex(), "as_of_block": cert["last_processed_block"],
        "claim_block": cert["claim_block"], "input_index": state["input_index"],
        "block_timestamp": state["block_timestamp"], "outputs_root": node.hex(),
        "output_index": cert["output_index"], "leaf": raw.hex(), "highest": highest, "first": first,
        "disclosed": disclosed, "odometer_only": odometer_only, "undisclosed": undisclosed,
        "notices": len(cert["notices"]), "corrections": corrections, "vin": vin,
        "earlier_units": [x.hex() for x in earlier], "cannot_know": CANNOT_KNOW,
    }


def earlier_units(leaf: dict, proofs: list[dict], root: bytes) -> list[bytes]:
    """18.4 step 5b. The k-th proof verifies (16.3) for the k-th predecessor's id against `root`
    (root_mismatch); absence, or another device's leaf (wrong_prefix too), is previous_unit; its
    leaf names the unit after it as successor and has the leaf's vehicle (previous_unit); a
    predecessor without a proof, or a proof beyond the last predecessor, is previous_unit.
    Returns the earlier units' leaves, newest first."""
    out, after = [], leaf
    while after["predecessor"] is not None:
        k = len(out)
        if k >= len(proofs):
            raise ProtocolError("previous_unit", f"no proof for earlier unit {k}")
        try:
            outcome, raw = verify_map_proof(proofs[k], bytes.fromhex(after["predecessor"]), root)
        except ProtocolError as e:
            if e.code == "wrong_prefix":
                raise ProtocolError("previous_unit", f"earlier unit {k}: another device's leaf") from None
            raise
        if outcome != "member":
            raise ProtocolError("previous_unit", f"earlier unit {k} proven absent")
        unit = decode_leaf(raw)
        if unit["successor"] != after["device_id"] or unit["vehicle"] != leaf["vehicle"]:
            raise ProtocolError("previous_unit", f"earlier unit {k} does not link")
        out.append(raw)
        after = unit
    if len(proofs) > len(out):
        raise ProtocolError("previous_unit", "a proof beyond the last predecessor")
    return out


def corrected_record(notices: list[dict], open_tampers: int) -> list[dict]:
    """18.4 step 7a. Walks the entries of the decoded notices in order with the set of open
    rollbacks: a reading entry with rollback = 1 adds its counter, a corrected entry with
    cleared = 1 removes its correction's counter, which must be there; at the end the set's size
    must be the leaf's open rollbacks. Returns the corrections, oldest first (input index,
    registrar, cleared, the correction as signed)."""
    open_rollbacks, corrections = set(), []
    for n in notices:
        for e in n["fields"]["entries"]:
            if e["type"] == "reading" and e["rollback_of"] is not None:
                open_rollbacks.add(e["counter"])
            elif e["type"] == "corrected":
                if e["cleared"]:
                    if e["counter"] not in open_rollbacks:
                        raise ProtocolError("history_mismatch", f"a correction clears {e['counter']}, no open rollback")
                    open_rollbacks.remove(e["counter"])
                elif e["counter"] in open_rollbacks:
                    # The backend would have cleared it.
                    raise ProtocolError("history_mismatch", f"a correction of open rollback {e['counter']} clears nothing")
                corrections.append({"input_index": n["fields"]["input_index"], "registrar": e["registrar"],
                                    "cleared": e["cleared"],
                                    "correction": {k: v for k, v in e.items() if k not in ("type", "registrar", "cleared")}})
    if len(open_rollbacks) != open_tampers:
        raise ProtocolError("history_mismatch", f"{len(open_rollbacks)} open rollbacks, the leaf says {open_tampers}")
    return corrections


def certificate_text(data: bytes) -> str:
    """18.6: standard base64 with padding, 64 characters a line, between the two lines."""
    b64 = base64.b64encode(data).decode()
    return "\n".join([TEXT_BEGIN] + [b64[i : i + 64] for i in range(0, len(b64), 64)] + [TEXT_END]) + "\n"


def read_certificate_text(given: bytes) -> bytes:
    """18.6: the binary file (starts with the magic), the two lines anywhere in a text (whitespace
    ignored; BEGIN without END is truncated), bare base64, or hex; anything else not_a_certificate."""
    if given.startswith(CERT_MAGIC):
        return given
    try:
        text = given.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("not_a_certificate", "not text") from None
    body = "".join(text.split())
    begin, end = TEXT_BEGIN.replace(" ", ""), TEXT_END.replace(" ", "")
    if begin in body:
        # Whitespace is ignored, so the lines are compared without their spaces.
        body = body[body.index(begin) + len(begin) :]
        if end not in body:
            raise ProtocolError("truncated", "no end line")
        body = body[: body.index(end)]
    elif body.lower().startswith(CERT_MAGIC.hex()):
        try:
            return bytes.fromhex(body)
        except ValueError:
            raise ProtocolError("not_a_certificate", "not hex") from None
    try:
        return base64.b64decode(body, validate=True)
    except ValueError:
        raise ProtocolError("not_a_certificate", "not base64") from None


def cert_readings_from_json(findings: dict) -> dict:
    want = dict(findings)
    for key in ("highest", "first"):
        if want.get(key) is not None:
            want[key] = dict(want[key], reading=reading_from_json(want[key]["reading"]))
    if "disclosed" in want:
        want["disclosed"] = [dict(d, reading=reading_from_json(d["reading"])) for d in want["disclosed"]]
    return want


def vectors_backend_secret() -> bytes:
    return hpke_derive_key_pair(b"witness vectors backend key")[0]


def check_certificate_vector(c: Checker, v: dict):
    data = h(v, "certificate")
    pinned = v["pinned"]
    if not v["valid"]:
        c.rejects(v["name"], v["expected_error"], verify_certificate, data, pinned)
        vin, salt = simulated_vehicle(vector_seed("certificate-car"))
        if v["expected_error"] == "vehicle_mismatch":
            # The story's VIN with another salt (its description): 5a fails, and with the right
            # salt it would open the leaf's vehicle id.
            x = decode_certificate(data)
            leaf = decode_leaf(x["map_proof"]["leaf"][0])
            c.eq("the disclosed VIN is the car's", x["vehicle"][0], vin)
            c.true("under another salt", x["vehicle"][1] != salt)
            c.eq("the right salt opens the leaf's vehicle id", vehicle_id(vin, salt).hex(), leaf["vehicle"])
        if v["expected_error"] == "previous_unit" and "no unit" in (v.get("description") or ""):
            x = decode_certificate(data)
            leaf = decode_leaf(x["map_proof"]["leaf"][0])
            c.eq("the leaf replaced no unit", leaf["predecessor"], None)
            c.true("and an earlier unit's proof is given", len(x["earlier"]) > 0)
            c.eq("without it the certificate verifies", verify_certificate(encode_certificate(dict(x, earlier_raw=[])), pinned)["earlier_units"], [])
        return
    got = verify_certificate(data, pinned)
    want = cert_readings_from_json(v["findings"])
    # 18.4's findings carry the corrections (7a); the vectors carry their number (section 13).
    got = dict(got, corrections=len(got["corrections"]))
    for key in want:
        c.eq(f"findings.{key}", got.get(key), want[key])
    c.eq("no other findings", sorted(got), sorted(want))
    cert = decode_certificate(data)
    leaf = decode_leaf(bytes.fromhex(got["leaf"]))
    # Step 5a and section 13: the summary discloses the vehicle of "certificate-car",
    # VehicleIdentity::simulated of its label's seed, which opens the leaf's vehicle id.
    vin_salt = simulated_vehicle(vector_seed("certificate-car"))
    c.eq("leaf vehicle = simulated(\"certificate-car\")", leaf["vehicle"], vehicle_id(*vin_salt).hex())
    if cert["vehicle"] is not None:
        c.eq("disclosed VIN and salt = simulated(\"certificate-car\")", cert["vehicle"], vin_salt)
        c.eq("findings.vin = the disclosed VIN", got["vin"], vin_salt[0])
    else:
        c.eq("no VIN disclosed: findings.vin null", got["vin"], None)
    if cert["level"] == "summary":
        c.true("the summary discloses the vehicle (section 13)", cert["vehicle"] is not None)
    c.eq("earlier units: one per predecessor", len(got["earlier_units"]), len(cert["earlier"]))
    c.eq("re-encoded", encode_certificate(cert), data)
    text = certificate_text(data)
    c.true("text lines of at most 64", all(len(x) <= 64 for x in text.splitlines()[1:-1]))
    c.eq("text form read back", read_certificate_text(text.encode()), data)
    c.eq("bare base64 read back", read_certificate_text(base64.b64encode(data)), data)
    c.eq("hex read back (as the vectors write it)", read_certificate_text(v["certificate"].encode()), data)
    c.eq("the text form inside an e-mail", read_certificate_text(("Hello,\n\n" + text + "\nRegards\n").encode()), data)
    c.rejects("BEGIN without END", "truncated", read_certificate_text, text.split(TEXT_END)[0].encode())
    c.rejects("neither base64 nor hex", "not_a_certificate", read_certificate_text, b"not a certificate!")
    for key in ("text", "certificate_text"):
        if v.get(key) is not None:
            c.eq(f"{key} = 18.6 text form", v[key].strip(), text.strip())
            c.eq(f"{key} read back", read_certificate_text(v[key].encode()), data)
    # Odometer keys are K_odo of their era (16.4), for the vectors' backend key.
    for era, key in cert["odometer_keys"]:
        c.eq(f"odometer key of era {era} = K_odo(era)", key,
             history_key(TAG_KEY_ODOMETER, vectors_backend_secret(), cert["device_id"], era))
    # Every opened (form 1) notice is exactly its rebuilt payload's form 1 encoding, with the
    # envelopes' commitment keys and readings the era's detail key opens.
    for i, (form, body) in enumerate(cert["notices"]):
        if form != FORM_OPENED:
            continue
        payload, readings = rebuild_opened_notice(body)
        n = decode_history_notice(payload)
        era = n["fields"]["era"]
        keys: list[bytes] = []
        opened = open_history_values(n, history_key(TAG_KEY_ODOMETER, vectors_backend_secret(), cert["device_id"], era),
                                     history_key(TAG_KEY_DETAIL, vectors_backend_secret(), cert["device_id"], era), keys)
        c.eq(f"notice {i}: readings = the detail key's", [r["reading"] for r in readings], [o["reading"] for o in opened])
        c.eq(f"notice {i}: form 1 = rebuilt from the payload", build_opened_notice(payload, keys, [o["reading"] for o in opened]), body)


def reanchor_certificate(x: dict, notices: list, **leaf_changes) -> dict:
    """A decoded certificate with other notices (and leaf fields): the leaf gets their
    accumulator, the map proof the leaf, the state notice the new map root; the outputs root is
    left out (step 4 then has nothing to compare)."""
    proof = decode_map_proof(x["map_proof_raw"])
    raw, leaf = proof["leaf"]
    acc, last = (0, EMPTY), None
    for form, body in notices:
        payload = body if form == FORM_SEALED else rebuild_opened_notice(body)[0]
        acc, last = fold(acc, payload), decode_history_notice(payload)["fields"]["input_index"]
    leaf = dict(leaf, **leaf_changes, history={"count": acc[0], "root": acc[1].hex(), "last_input": last})
    new_leaf = encode_leaf(leaf)
    node = leaf_hash(new_leaf)
    key = x["device_id"]
    for d in range(len(proof["siblings"]) - 1, -1, -1):
        s = proof["siblings"][d]
        node = map_node(node, s) if key_bit(key, d) == 0 else map_node(s, node)
    state_raw = x["state_raw"][:34] + node + x["state_raw"][66:]
    return dict(x, notices=list(notices), map_proof_raw=x["map_proof_raw"][:-LEAF_LEN] + new_leaf,
                state_raw=state_raw, outputs_root=None)


def build_history_notice(device_id: bytes, input_index: int, block_timestamp: int, era: int, position: int,
                         previous_input: int | None, items: list, secret: bytes) -> bytes:
    """A history notice (16.4) sealed under the era's keys of the backend secret `secret`.
    `items`: ("envelope", first counter, commitment key, [(reading, reference counter or None)])
    or ("corrected", registrar key hex, cleared, correction (read_correction's form)) or
    ("entry", a decoded non-reading entry, encoded by encode_entry)."""
    header = bytes([NOTICE_VERSION, NOTICE_HISTORY]) + device_id + be(input_index, 8) + be(block_timestamp, 8)
    header += be(era, 4) + be(position, 8) + enc_opt(previous_input, lambda v: be(v, 8), 8)
    entries, count, odo_plain, det_plain = b"", 0, b"", b""
    for item in items:
        if item[0] == "envelope":
            _, first, key, readings = item
            entries += b"\x07" + be(first, 8) + bytes([len(readings)])
            det_plain += key
            count += 1 + len(readings)
            for k, (r, reference) in enumerate(readings):
                com = commitment(device_id, first + k, blinding(key, first + k), r)
                entries += b"\x02" + com + (b"\x00" if reference is None else b"\x01" + be(reference, 8))
                odo_plain += be(r["timestamp"] // SECONDS_PER_DAY, 4) + be(r["odometer_m"], 8)
                det_plain += (be(r["timestamp"], 4) + be(r["fuel_ml"], 4) + be(r["engine_s"], 4)
                              + bytes([len(r["faults"])]) + b"".join(be(f, 2) for f in r["faults"]))
        elif item[0] == "entry":
            entries += encode_entry(item[1])
            count += 1
        else:
            _, registrar, cleared, m = item
            entries += b"\x08" + bytes.fromhex(registrar) + bytes([cleared]) + encode_correction(m)
            count += 1
    aad = header + enc_varint(count) + entries
    if not odo_plain:
        return aad + b"\x00\x00"
    odo = chacha_seal(history_key(TAG_KEY_ODOMETER, secret, device_id, era), history_nonce(input_index, 0), aad, odo_plain)
    det = chacha_seal(history_key(TAG_KEY_DETAIL, secret, device_id, era), history_nonce(input_index, 1), header, det_plain)
    return aad + enc_varint(len(odo)) + odo + enc_varint(len(det)) + det


def cert_correction_cases(vectors: dict) -> list:
    """18.4 step 7a on the valid full certificates, their history extended by notices with
    rollbacks and corrections (the leaf, map proof and state notice rebuilt for them)."""
    cases = []
    secret = vectors_backend_secret()
    registrar = ed25519_public(vector_seed("registrar")).hex()
    for base in vectors.values():
        if base["kind"] != "certificate" or not base["valid"]:
            continue
        cert = decode_certificate(h(base, "certificate"))
        if cert["level"] != "full":
            continue
        _, leaf = decode_map_proof(cert["map_proof_raw"])["leaf"]
        device = cert["device_id"]
        last = decode_history_notice(payload_of_notice(*cert["notices"][-1]))["fields"]
        top = leaf["highest"]["counter"]  # the highest attested counter: the rollbacks fall below it

        def reading(k, odometer_m):
            return {"timestamp": last["block_timestamp"] + 600 * k, "odometer_m": odometer_m,
                    "fuel_ml": 40_000, "engine_s": 3_600 * k, "faults": []}

        def correction(counter, cleared_hint=""):
            return {"device_id": device, "counter": counter, "odometer_m": None, "baseline_m": None,
                    "reason": "sensor_fault", "evidence": "diagnostic_log",
                    "evidence_digest": sha256(b"workshop report " + be(counter, 8)), "note": f"counter {counter}{cleared_hint}"}

        def notices_of(groups):
            """One notice per group of items, each one input after the last."""
            out, previous, position = [], last["input_index"], len(cert["notices"])
            for k, items in enumerate(groups):
                index = previous + 1
                out.append((FORM_SEALED, build_history_notice(device, index, last["block_timestamp"] + 3_600 * (k + 1),
                                                              last["era"], position, previous, items, secret)))
                previous, position = index, position + 1
            return out

        def rollbacks(*counters):
            """An envelope of readings at `counters` (consecutive, after the last consumed), each below the highest."""
            key = vector_seed(f"correction case/commitment key/{counters[0]}")
            return ("envelope", counters[0], key, [(reading(k + 1, 1_000 + k), top) for k, _ in enumerate(counters)])

        def fixed(c, r):
            return ("corrected", registrar, True, correction(c, r))

        c1, c2 = leaf["last_counter"] + 1, leaf["last_counter"] + 2
        scenarios = [
            # (what, notice groups, the leaf's open rollbacks, expected error or the cleared flags of the corrections)
            ("no rollback in the history, the leaf says 1 open", [], 1, "history_mismatch"),
            ("a rollback, the leaf says 0 open", [[rollbacks(c1)]], 0, "history_mismatch"),
            ("a rollback, the leaf says 1 open", [[rollbacks(c1)]], 1, []),
            ("a rollback and a correction clearing it", [[rollbacks(c1)], [fixed(c1, "")]], 0, [True]),
            ("a rollback and its correction in one notice", [[rollbacks(c1), fixed(c1, "")]], 0, [True]),
            ("a rollback and a correction clearing it, the leaf says 1 open", [[rollbacks(c1)], [fixed(c1, "")]], 1,
             "history_mismatch"),
            ("a correction clearing an attested reading (no rollback there)", [[fixed(top, "")]], 0, "history_mismatch"),
            ("a correction clearing a rollback of a later notice", [[fixed(c1, "")], [rollbacks(c1)]], 0,
             "history_mismatch"),
            ("a rollback cleared twice", [[rollbacks(c1)], [fixed(c1, "")], [fixed(c1, " again")]], 0,
             "history_mismatch"),
            ("two rollbacks, one cleared: 1 open", [[rollbacks(c1, c2)], [fixed(c2, "")]], 1, [True]),
            ("two rollbacks, one cleared, the leaf says 0 open", [[rollbacks(c1, c2)], [fixed(c2, "")]], 0,
             "history_mismatch"),
            # 7a: a correction with cleared 0 that names an open rollback (the backend would have cleared it).
            ("a correction of the open rollback that says it cleared nothing",
             [[rollbacks(c1)], [("corrected", registrar, False, correction(c1))]], 1, "history_mismatch"),
            ("the same, the leaf says 0 open", [[rollbacks(c1)], [("corrected", registrar, False, correction(c1))]], 0,
             "history_mismatch"),
            ("a correction with cleared 0 of a rollback cleared before (no longer open)",
             [[rollbacks(c1)], [fixed(c1, "")], [("corrected", registrar, False, dict(correction(c1, " value"), odometer_m=5))]],
             0, [True, False]),
            ("a correction that clears nothing (cleared 0) next to an open rollback",
             [[rollbacks(c1)], [("corrected", registrar, False, dict(correction(top), baseline_m=900))]], 1, [False]),
        ]
        for what, groups, open_tampers, expect in scenarios:
            def run(c, base=base, groups=groups, open_tampers=open_tampers, expect=expect):
                x = decode_certificate(h(base, "certificate"))
                extra = notices_of(groups)
                y = encode_certificate(reanchor_certificate(x, x["notices"] + extra, open_tampers=open_tampers))
                if isinstance(expect, str):
                    c.rejects("step 7a", expect, verify_certificate, y, base["pinned"])
                    return
                got = verify_certificate(y, base["pinned"])
                items = [(FORM_SEALED, i) for grp in groups for i in grp if i[0] == "corrected"]
                want, k = [], 0
                for (_, body), grp in zip(extra, groups):
                    index = decode_history_notice(body)["fields"]["input_index"]
                    for item in grp:
                        if item[0] == "corrected":
                            want.append({"input_index": index, "registrar": item[1], "cleared": item[2],
                                         "correction": correction_json(item[3])})
                c.eq("findings.corrections (oldest first, as signed)", got["corrections"], want)
                c.eq("cleared flags", [x["cleared"] for x in got["corrections"]], expect)
                c.eq("every correction item found", len(items), len(want))
                # The new readings are in the findings, as rollbacks where the keys reach them.
                seen = {d["counter"]: d["rollback"] for d in got["disclosed"] + got["odometer_only"]}
                for grp in groups:
                    for item in grp:
                        if item[0] == "envelope":
                            for k in range(len(item[3])):
                                counter = item[1] + k
                                if counter in seen:
                                    c.true(f"counter {counter} a rollback", seen[counter])
                                else:
                                    c.true(f"counter {counter} undisclosed", counter in got["undisclosed"])
            cases.append((f"{base['name']}: step 7a: {what}", run))

        # 7a comes before step 8: a wrong odometer key and a wrong open-rollback count is history_mismatch.
        if cert["odometer_keys"]:
            def before_8(c, base=base):
                x = decode_certificate(h(base, "certificate"))
                keys = [(era, bytes([k[0] ^ 1]) + k[1:]) for era, k in x["odometer_keys"]]
                y = dict(reanchor_certificate(x, x["notices"], open_tampers=1), odometer_keys=keys)
                c.rejects("7a before 8", "history_mismatch", verify_certificate, encode_certificate(y), base["pinned"])
                y = dict(reanchor_certificate(x, x["notices"]), odometer_keys=keys)
                c.rejects("then step 8", "history_key_mismatch", verify_certificate, encode_certificate(y), base["pinned"])
            cases.append((f"{base['name']}: step 7a before step 8 (a wrong odometer key too)", before_8))
    return cases


def payload_of_notice(form: int, body: bytes) -> bytes:
    return body if form == FORM_SEALED else rebuild_opened_notice(body)[0]


def cert_derived_cases(vectors: dict) -> list:
    """Rules of shared-spec-cert.md B (18.2, 18.4) applied to mutated valid certificates."""
    def decodes(v):
        try:
            decode_certificate(h(v, "certificate"))
            return True
        except ProtocolError:
            return False  # the vector's own check reports it

    valid = [v for v in vectors.values() if v["kind"] == "certificate" and v["valid"] and decodes(v)]
    full = [v for v in valid if decode_certificate(h(v, "certificate"))["level"] == "full"]
    secret = vectors_backend_secret()
    cases = []

    def case(name, fn):
        cases.append((name, fn))

    def rejects(name, code, cert_fn, base, pinned=True):
        def run(c):
            cert = cert_fn(decode_certificate(h(base, "certificate")))
            c.rejects(name, code, verify_certificate, encode_certificate(cert), base["pinned"] if pinned else None)
        case(f"{base['name']}: {name}", run)

    def k_odo(cert, era):
        return history_key(TAG_KEY_ODOMETER, secret, cert["device_id"], era)

    def k_det(cert, era):
        return history_key(TAG_KEY_DETAIL, secret, cert["device_id"], era)

    def payload_of(form, body):
        return body if form == FORM_SEALED else rebuild_opened_notice(body)[0]

    def reading_notices(cert, form):
        out = []
        for i, (f, body) in enumerate(cert["notices"]):
            n = decode_history_notice(payload_of(f, body))
            if f == form and any(e["type"] == "reading" for e in n["fields"]["entries"]):
                out.append((i, n))
        return out

    def replace(cert, i, form, body):
        notices = list(cert["notices"])
        notices[i] = (form, body)
        return dict(cert, notices=notices)

    def to_opened(cert, i):
        payload = payload_of(*cert["notices"][i])
        n = decode_history_notice(payload)
        era = n["fields"]["era"]
        keys: list[bytes] = []
        opened = open_history_values(n, k_odo(cert, era), k_det(cert, era), keys)
        return replace(cert, i, FORM_OPENED, build_opened_notice(payload, keys, [o["reading"] for o in opened]))

    for base in valid:
        cert = decode_certificate(h(base, "certificate"))
        leaf = decode_leaf(decode_map_proof(cert["map_proof_raw"])["leaf"][0])
        if leaf["first"] is not None:
            rejects("first opening left out", "opening_missing", lambda x: dict(x, first_raw=None), base)
            if cert["highest"] is not None and cert["highest"]["counter"] != leaf["first"]["counter"]:
                rejects("the highest's opening given as the first", "wrong_commitment",
                        lambda x: dict(x, first_raw=x["highest_raw"]), base)
            if cert["first"] is not None:
                def altered_first(x):
                    o = decode_opening(x["first_raw"])
                    r = dict(o["reading"], odometer_m=o["reading"]["odometer_m"] + 1)
                    return dict(x, first_raw=o["device_id"] + be(o["counter"], 8) + o["blinding"] + encode_standalone(r))
                rejects("first opening's odometer + 1 m", "commitment_mismatch", altered_first, base)
        elif cert["highest_raw"] is not None:
            rejects("an opening given for a first reading the leaf does not name", "wrong_commitment",
                    lambda x: dict(x, first_raw=x["highest_raw"]), base)

    for base in full:
        cert = decode_certificate(h(base, "certificate"))
        if cert["notices"]:
            rejects("notice form 2", "invalid_field", lambda x: replace(x, 0, 2, x["notices"][0][1]), base)
        if cert["odometer_keys"]:
            rejects("an odometer key's era twice", "invalid_field",
                    lambda x: dict(x, odometer_keys=[x["odometer_keys"][0]] + x["odometer_keys"]), base)
        sealed = reading_notices(cert, FORM_SEALED)
        opened = reading_notices(cert, FORM_OPENED)
        if sealed:
            i, n = sealed[0]
            era = n["fields"]["era"]
            wrong = k_odo(cert, era + 1)

            def wrong_key(x, era=era, wrong=wrong):
                keys = dict(x["odometer_keys"])
                keys[era] = wrong
                return dict(x, odometer_keys=sorted(keys.items()))
            rejects(f"another era's key for era {era}", "history_key_mismatch", wrong_key, base)

            def opened_ok(c, base=base, i=i):
                x = decode_certificate(h(base, "certificate"))
                want = verify_certificate(h(base, "certificate"), base["pinned"])
                got = verify_certificate(encode_certificate(to_opened(x, i)), base["pinned"])
                n = decode_history_notice(x["notices"][i][1])
                counters = [e["counter"] for e in n["fields"]["entries"] if e["type"] == "reading"]
                c.true("the notice's readings are disclosed",
                       set(counters) <= {d["counter"] for d in got["disclosed"]})
                c.true("and no longer undisclosed or odometer only",
                       not set(counters) & (set(got["undisclosed"]) | {o["counter"] for o in got["odometer_only"]}))
                c.eq("the rest unchanged", dict(got, disclosed=[], undisclosed=[], odometer_only=[]),
                     dict(want, disclosed=[], undisclosed=[], odometer_only=[]))
                # With the era's odometer key, sealed, the same readings are dated odometer values.
                y = dict(x, odometer_keys=sorted({**dict(x["odometer_keys"]), n["fields"]["era"]: k_odo(x, n["fields"]["era"])}.items()))
                got = verify_certificate(encode_certificate(y), base["pinned"])
                c.true("with the odometer key: odometer only",
                       set(counters) <= {o["counter"] for o in got["odometer_only"]})
                by = {d["counter"]: d for d in verify_certificate(encode_certificate(to_opened(x, i)), None)["disclosed"]}
                for o in got["odometer_only"]:
                    if o["counter"] in by:
                        r = by[o["counter"]]["reading"]
                        c.eq(f"odometer of {o['counter']}", o["odometer_m"], r["odometer_m"])
                        c.eq(f"day of {o['counter']}", o["day"], r["timestamp"] // SECONDS_PER_DAY)
            case(f"{base['name']}: sealed notice {i} opened (form 1) and with its odometer key", opened_ok)
        if opened:
            i, n = opened[0]
            rejects(f"notice {i}: a trailing byte after the values", "trailing_bytes",
                    lambda x, i=i: replace(x, i, FORM_OPENED, x["notices"][i][1] + b"\x00"), base)
            rejects(f"notice {i}: the last value cut short", "truncated",
                    lambda x, i=i: replace(x, i, FORM_OPENED, x["notices"][i][1][:-1]), base)

            def altered(x, i=i):
                body = x["notices"][i][1]
                _, readings = rebuild_opened_notice(body)
                # The last reading is the last value: its odometer is at 4 bytes into it.
                r = readings[-1]["reading"]
                at = len(body) - len(encode_standalone(r)) + 4
                return replace(x, i, FORM_OPENED, body[:at] + be(r["odometer_m"] + 1, 8) + body[at + 8 :])
            rejects(f"notice {i}: a disclosed odometer + 1 m", "history_mismatch", altered, base)

            def sealed_ok(c, base=base, i=i):
                x = decode_certificate(h(base, "certificate"))
                payload, readings = rebuild_opened_notice(x["notices"][i][1])
                got = verify_certificate(encode_certificate(replace(x, i, FORM_SEALED, payload)), base["pinned"])
                counters = {r["counter"] for r in readings}
                c.true("its readings are no longer disclosed", not counters & {d["counter"] for d in got["disclosed"]})
                c.true("but undisclosed or odometer only",
                       counters <= set(got["undisclosed"]) | {o["counter"] for o in got["odometer_only"]})
            case(f"{base['name']}: opened notice {i} given sealed (its rebuilt payload)", sealed_ok)

    # The decisions on shared-spec-cert.md B (session 4 review): decoding order and bounds of
    # the notices (step 1), step 8's scope and codes, and the findings' order.
    for base in full:
        cert = decode_certificate(h(base, "certificate"))
        name = base["name"]
        prefix = encode_certificate(dict(cert, notices=[]))
        assert prefix.endswith(b"\x00")  # the notice count, 0, is the last byte
        prefix = prefix[:-1]

        def raw_rejects(what, code, tail, base=base, prefix=prefix):
            case(f"{base['name']}: {what}",
                 lambda c: c.rejects(what, code, verify_certificate, prefix + tail, base["pinned"]))
        raw_rejects("2 notices in 7 bytes (each at least 4)", "truncated", enc_varint(2) + b"\x02" + bytes(6))
        raw_rejects("1 notice of form 2 in 4 bytes", "invalid_field", enc_varint(1) + b"\x02" + bytes(3))
        raw_rejects("form 5, then a length cut short", "invalid_field", enc_varint(1) + b"\x05\x80\x80\x80")
        for form in (FORM_SEALED, FORM_OPENED):
            raw_rejects(f"form {form} notice of length 2 MiB + 1", "oversize",
                        enc_varint(1) + bytes([form]) + enc_varint(MAX_CERT_NOTICE + 1) + b"\x02\x05")
            raw_rejects(f"form {form} notice of length 2 MiB, cut short", "truncated",
                        enc_varint(1) + bytes([form]) + enc_varint(MAX_CERT_NOTICE) + b"\x02\x05")

        # A malformed notice is refused with its decoding code, whatever the anchors.
        other_chain = lambda x: dict(x, anchors=dict(x["anchors"], chain_id=x["anchors"]["chain_id"] + 1))  # noqa: E731
        for i, (form, body) in enumerate(cert["notices"]):
            rejects(f"notice {i} (form {form}): a trailing byte, another chain", "trailing_bytes",
                    lambda x, i=i, form=form: other_chain(replace(x, i, form, x["notices"][i][1] + b"\x00")), base)
            rejects(f"notice {i} (form {form}): its last byte cut, another chain", "truncated",
                    lambda x, i=i, form=form: other_chain(replace(x, i, form, x["notices"][i][1][:-1])), base)
            rejects(f"notice {i} (form {form}): version 3, another application", "unsupported_version",
                    lambda x, i=i, form=form: dict(replace(x, i, form, b"\x03" + x["notices"][i][1][1:]),
                                                   anchors=dict(x["anchors"], application="00" * 20)), base)

        # Cases that change the notices need a leaf whose accumulator holds them: the leaf,
        # map proof and state notice are rebuilt, and the outputs root left out (step 4 then
        # has nothing to compare).
        def reanchored(x, notices):
            return reanchor_certificate(x, notices)

        def with_odometer(notice, odometer_ct):
            """`notice` (decoded, sealed) with another odometer ciphertext."""
            return notice["odometer_aad"] + enc_varint(len(odometer_ct)) + odometer_ct + \
                enc_varint(len(notice["detail_ciphertext"])) + notice["detail_ciphertext"]

        def with_key(x, era):
            return dict(x, odometer_keys=sorted({**dict(x["odometer_keys"]), era: k_odo(x, era)}.items()))

        def still_valid(c, base=base):
            x = decode_certificate(h(base, "certificate"))
            got = verify_certificate(encode_certificate(reanchored(x, x["notices"])), base["pinned"])
            want = verify_certificate(h(base, "certificate"), base["pinned"])
            for key in ("highest", "first", "disclosed", "odometer_only", "undisclosed", "notices", "corrections"):
                c.eq(f"rebuilt leaf: {key}", got[key], want[key])
        case(f"{name}: the same notices under a rebuilt leaf", still_valid)

        for i, n in reading_notices(cert, FORM_SEALED):
            era = n["fields"]["era"]
            for what, code, ct in (
                ("an odometer ciphertext shorter than the tag", "history_key_mismatch", n["odometer_ciphertext"][:15]),
                ("an empty odometer ciphertext", "history_key_mismatch", b""),
                ("one reading too many sealed with the right key", "malformed_plaintext",
                 chacha_seal(k_odo(cert, era), history_nonce(n["fields"]["input_index"], 0), n["odometer_aad"],
                             chacha_open(k_odo(cert, era), history_nonce(n["fields"]["input_index"], 0),
                                         n["odometer_aad"], n["odometer_ciphertext"]) + bytes(12))),
            ):
                rejects(f"notice {i}: {what}, with the era's key", code,
                        lambda x, i=i, n=n, era=era, ct=ct: with_key(reanchored(x, [
                            (f, with_odometer(n, ct) if j == i else b) for j, (f, b) in enumerate(x["notices"])]), era),
                        base)

        # Step 8 leaves sealed notices without reading entries alone, whatever their ciphertexts.
        for i, (form, body) in enumerate(cert["notices"]):
            n = decode_history_notice(payload_of(form, body))
            if form != FORM_SEALED or any(e["type"] == "reading" for e in n["fields"]["entries"]):
                continue

            def no_readings(c, base=base, i=i, n=n):
                x = decode_certificate(h(base, "certificate"))
                notices = [(f, with_odometer(n, b"\x01" * 20) if j == i else b) for j, (f, b) in enumerate(x["notices"])]
                y = with_key(reanchored(x, notices), n["fields"]["era"])
                want = verify_certificate(encode_certificate(with_key(reanchored(x, x["notices"]), n["fields"]["era"])),
                                          base["pinned"])
                got = verify_certificate(encode_certificate(y), base["pinned"])
                for key in ("disclosed", "odometer_only", "undisclosed", "notices"):
                    c.eq(f"findings.{key}", got[key], want[key])
            case(f"{name}: notice {i} (no reading entries) with an odometer ciphertext, and its era's key",
                 no_readings)
            break

        # Findings by counter: a copy of a reading notice, its counters + 100, put first.
        for i, (form, body) in enumerate(cert["notices"]):
            n = decode_history_notice(payload_of(form, body))
            if not any(e["type"] == "reading" for e in n["fields"]["entries"]):
                continue

            def shifted(x, form=form, body=body):
                rd = Reader(body)
                m = read_history_notice(rd, body, form == FORM_SEALED)
                out = bytearray(body)
                # Each envelope entry is right before its first reading entry.
                offsets = iter(m["reading_offsets"])
                for e in m["fields"]["entries"]:
                    if e["type"] == "envelope":
                        at = next(offsets) - 1 - 10  # kind 7 ‖ first counter u64 ‖ count u8
                        assert out[at] == 7
                        out[at + 1 : at + 9] = be(e["first_counter"] + 100, 8)
                        for _ in range(e["count"] - 1):
                            next(offsets)
                out = bytes(out)
                if form == FORM_OPENED:
                    return out
                # Sealed: the odometer part's AAD changed, so it is sealed again (same plaintext).
                new = decode_history_notice(out)
                nonce = history_nonce(m["fields"]["input_index"], 0)
                plain = chacha_open(k_odo(x, m["fields"]["era"]), nonce, m["odometer_aad"], m["odometer_ciphertext"])
                return with_odometer(new, chacha_seal(k_odo(x, m["fields"]["era"]), nonce, new["odometer_aad"], plain))

            def ordered(c, base=base, i=i, form=form, shifted=shifted):
                x = decode_certificate(h(base, "certificate"))
                want = verify_certificate(h(base, "certificate"), base["pinned"])
                y = reanchored(x, [(form, shifted(x))] + x["notices"])
                got = verify_certificate(encode_certificate(y), base["pinned"])
                for key, count in (("disclosed", lambda d: d["counter"]), ("odometer_only", lambda d: d["counter"]),
                                   ("undisclosed", lambda d: d)):
                    counters = [count(d) for d in got[key]]
                    mine = [count(d) for d in want[key]]
                    c.eq(f"{key}: the original's and the copy's, by counter", counters,
                         sorted(mine + [k + 100 for k in mine]))
            case(f"{name}: a copy of notice {i} (counters + 100) put first; findings by counter", ordered)
            break
    return cases


# --------------------------------------------------------------------------------------------
# Vehicles and replacement units (sections 4, 8.2, 8.2.2, 16.2, 16.4 kinds 9-10, 17.3, 18.4 5a-5b)


def vehicle_cases(vectors: dict) -> list:
    """Section 4's VIN rule, registrar ops 1/8/9, history entries 9 and 10, and the verdict rules
    for the vehicle applied to mutated vector bytes."""
    checks = []

    def at(data: bytes, offset: int, value: bytes) -> bytes:
        b = bytearray(data)
        b[offset : offset + len(value)] = value
        return bytes(b)

    def rejects(name, code, fn):
        checks.append((name, lambda c, n=name, code=code, fn=fn: c.rejects(n, code, fn)))

    # --- section 4: the VIN and its commitment
    vin, salt = simulated_vehicle(vector_seed("certificate-car"))
    for what, bad in (("lower case", vin[:-1] + vin[-1].lower() if vin[-1].isalpha() else vin[:3].lower() + vin[3:]),
                      ("an I", vin[:-1] + "I"), ("an O", vin[:-1] + "O"), ("a Q", vin[:-1] + "Q"),
                      ("16 characters", vin[:-1]), ("18 characters", vin + "A"), ("a space", vin[:-1] + " "),
                      ("a non-ASCII letter", vin[:-1] + "É"), ("a hyphen", vin[:-1] + "-")):
        rejects(f"VIN with {what}", "invalid_field", lambda bad=bad: vehicle_id(bad, salt))

    def vin_ok(c):
        for label in ("certificate-car", "state device", "verdict device", "registered device"):
            v, s = simulated_vehicle(vector_seed(label))
            c.eq(f"simulated({label}) is 17 characters from WTN", (len(v), v[:3]), (17, "WTN"))
            c.eq(f"simulated({label}) passes ISO 3779", check_vin(v), v.encode())
            c.eq(f"simulated({label}) commitment", vehicle_id(v, s), sha256(TAG_VEHICLE, s, v.encode()))
        c.true("another salt, another commitment", vehicle_id(vin, salt) != vehicle_id(vin, bytes(32)))
        c.true("another VIN, another commitment", vehicle_id(vin, salt) != vehicle_id(vin[:-1] + ("A" if vin[-1] != "A" else "B"), salt))
        c.eq("every alphabet character is accepted", check_vin("0123456789ABCDEFG"), b"0123456789ABCDEFG")
        c.eq("and the rest", check_vin("HJKLMNPRSTUVWXYZ0"), b"HJKLMNPRSTUVWXYZ0")
    checks.append(("VIN: the simulated vehicles, the alphabet", vin_ok))

    # --- 8.2: op 1 retired, op 8 RegisterDevice with a vehicle, op 9 ReplaceUnit
    reg = h(vectors["registrar_register_device"], "message")
    rep = h(vectors["registrar_replace_unit"], "message")
    OP = 40

    def registrar(data: bytes):
        def run():
            rd = Reader(data)
            m = read_registrar(rd)
            rd.finish()
            return m
        return run

    sig_reg, sig_rep = len(reg) - 64, len(rep) - 64
    rejects("registrar op 1 (retired RegisterDevice) with the op 8 fields", "unknown_kind", registrar(at(reg, OP, b"\x01")))
    rejects("registrar op 1 in its old 157-byte layout", "unknown_kind",
            registrar(at(reg[: 41 + 52], OP, b"\x01") + reg[sig_reg:]))
    rejects("registrar op 1 inside an input", "unknown_kind",
            lambda: decode_input(bytes([INPUT_VERSION, 1, KIND_REGISTRAR]) + at(reg, OP, b"\x01")))
    rejects("registrar op 8 without its vehicle (the old 157 bytes)", "truncated", registrar(reg[: 41 + 52] + reg[sig_reg:]))
    rejects("registrar op 8: a byte after the signature", "trailing_bytes", registrar(reg + b"\x00"))
    rejects("registrar op 8: a small-order device key", "invalid_public_key", registrar(at(reg, 41 + 20, bytes(32))))
    rejects("registrar op 8: cut inside the vehicle", "truncated", registrar(reg[: 41 + 60]))
    rejects("registrar op 9: a small-order new key", "invalid_public_key", registrar(at(rep, 41 + 68, bytes(32))))
    rejects("registrar op 9: a non-canonical new key", "invalid_public_key",
            registrar(at(rep, 41 + 68, bytes.fromhex("f0" + "ff" * 30 + "7f"))))
    rejects("registrar op 9 at 8.2's 221 bytes (8 more before the signature)", "trailing_bytes",
            registrar(rep[:sig_rep] + bytes(8) + rep[sig_rep:]))
    rejects("registrar op 9 without its baseline", "truncated", registrar(rep[: sig_rep - 8] + rep[sig_rep:]))
    rejects("registrar op 9: no signature", "truncated", registrar(rep[:sig_rep]))
    rejects("registrar op 9: a byte after the signature", "trailing_bytes", registrar(rep + b"\x00"))
    rejects("registrar op 9's fields under op 8", "trailing_bytes", registrar(at(rep, OP, b"\x08")))

    def ops_ok(c):
        m = registrar(reg)()
        c.eq("op 8 fields at their offsets", (m["device_id"], m["model"], m["public_key"], m["vehicle"]),
             (reg[41:57], int.from_bytes(reg[57:61], "big"), reg[61:93], reg[93:125]))
        m = registrar(rep)()
        c.eq("op 9 fields at their offsets",
             (m["vehicle"], m["old_device"], m["new_device"], m["model"], m["public_key"], m["baseline_m"]),
             (rep[41:73], rep[73:89], rep[89:105], int.from_bytes(rep[105:109], "big"), rep[109:141],
              int.from_bytes(rep[141:149], "big")))
        # The vehicle is not parsed as a key or checked against an alphabet: any 32 bytes.
        c.eq("op 8: any 32 bytes are a vehicle id", registrar(at(reg, 93, bytes(32)))()["vehicle"], bytes(32))
        c.eq("op 9 with the same old and new unit decodes (the backend refuses it)",
             registrar(at(rep, 89, rep[73:89]))()["new_device"], rep[73:89])
        msgs = decode_input(bytes([INPUT_VERSION, 2, KIND_REGISTRAR]) + reg + bytes([KIND_REGISTRAR]) + rep)
        c.eq("ops 8 and 9 in one input", [x["op"] for _, x in msgs], [OP_REGISTER, OP_REPLACE])
        # The signatures cover the op fields: any byte of them changed breaks it.
        for name, msg, v in (("op 8", reg, vectors["registrar_register_device"]), ("op 9", rep, vectors["registrar_replace_unit"])):
            for off in (41, len(msg) - 65):
                x = registrar(at(msg, off, bytes([msg[off] ^ 1])))()
                c.rejects(f"{name}: byte {off} changed after signing", "bad_signature", verify_strict,
                          x["registrar"], signed_bytes(TAG_REGISTRAR, dom(v), x["body"]), x["signature"])
    checks.append(("registrar ops 8 and 9: fields, signatures, an input of both", ops_ok))

    # --- 16.4: entries 9 (replaced by) and 10 (replaces)
    secret = vectors_backend_secret()
    registrar_key = ed25519_public(vector_seed("registrar")).hex()
    old_unit, new_unit = vector_device_id("registered device"), vector_device_id("replacement unit")
    replaced_by = {"type": "replaced_by", "new_device": new_unit.hex(), "registrar": registrar_key}
    replaces = {"type": "replaces", "old_device": old_unit.hex(), "baseline_m": 152_300_000, "registrar": registrar_key}
    registered = {"type": "registered", "model": 3, "registrar": registrar_key}
    r1 = {"timestamp": 1_790_000_000, "odometer_m": 152_400_000, "fuel_ml": 1_000, "engine_s": 10, "faults": []}
    key1 = vector_seed("vehicle case/commitment key/1")
    old_notice = build_history_notice(old_unit, 20, 1_790_000_100, 0, 4, 18, [("entry", replaced_by)], secret)
    new_notice = build_history_notice(new_unit, 20, 1_790_000_100, 0, 0, None,
                                      [("entry", registered), ("entry", replaces)], secret)
    later = build_history_notice(new_unit, 21, 1_790_000_200, 0, 1, 20,
                                 [("envelope", 1, key1, [(r1, None)]), ("entry", replaces)], secret)

    def entries_ok(c):
        n = decode_history_notice(old_notice)
        c.eq("the old unit's notice: replaced_by", n["fields"]["entries"], [replaced_by])
        c.eq("replaced_by is 49 bytes", len(encode_entry(replaced_by)), 49)
        c.eq("notice = header, count 1, the entry, two empty ciphertexts", len(old_notice), 55 + 1 + 49 + 2)
        c.eq("no readings: nothing to open", open_history_values(n, bytes(32), None), [])
        n = decode_history_notice(new_notice)
        c.eq("the new unit's notice: registered then replaces", n["fields"]["entries"], [registered, replaces])
        c.eq("replaces is 57 bytes", len(encode_entry(replaces)), 57)
        c.eq("entries re-encoded", n["odometer_aad"][56:], encode_entry(registered) + encode_entry(replaces))
        n = decode_history_notice(later)
        c.eq("an entry 10 after a complete envelope range", [e["type"] for e in n["fields"]["entries"]],
             ["envelope", "reading", "replaces"])
        opened = open_history_values(n, history_key(TAG_KEY_ODOMETER, secret, new_unit, 0),
                                     history_key(TAG_KEY_DETAIL, secret, new_unit, 0))
        c.eq("its reading opens", [o["reading"] for o in opened], [r1])
        acc = fold(fold((0, EMPTY), new_notice), later)
        c.eq("the new unit's notices fold", acc[0], 2)
    checks.append(("history entries 9 and 10: decode, sizes, re-encoding, with a range", entries_ok))
    E = 56
    rejects("history entry 9 cut inside the new unit's id", "truncated",
            lambda: decode_history_notice(old_notice[: E + 10]))
    rejects("history entry 9 cut inside the registrar key", "truncated",
            lambda: decode_history_notice(old_notice[: E + 40]))
    rejects("history entry 10 cut inside the baseline", "truncated",
            lambda: decode_history_notice(new_notice[: E + 38 + 20]))
    rejects("history entry 9 without the ciphertext lengths", "truncated",
            lambda: decode_history_notice(old_notice[:-2]))
    rejects("history entry 9: a byte after the ciphertexts", "trailing_bytes",
            lambda: decode_history_notice(old_notice + b"\x00"))
    rejects("history entry kind 15", "unknown_kind", lambda: decode_history_notice(at(old_notice, E, b"\x0f")))
    rejects("history entry kind 0", "unknown_kind", lambda: decode_history_notice(at(old_notice, E, b"\x00")))
    in_range = build_history_notice(new_unit, 21, 1_790_000_200, 0, 1, 20,
                                    [("envelope", 1, key1, [(r1, None), (r1, None)])], secret)
    n = decode_history_notice(in_range)
    second = n["reading_offsets"][1] - 1  # the second reading entry's kind byte
    assert second + 34 == len(n["odometer_aad"])  # the second reading entry is the last entry
    rejects("history entry 9 where a reading of the range is due", "invalid_field",
            lambda: decode_history_notice(in_range[:second] + encode_entry(replaced_by) + in_range[second + 34 :]))
    rejects("history entry 10 where a reading of the range is due", "invalid_field",
            lambda: decode_history_notice(in_range[:second] + encode_entry(replaces) + in_range[second + 34 :]))
    rejects("a reading entry after entry 9 (no range)", "invalid_field",
            lambda: decode_history_notice(old_notice[:55] + b"\x02" + old_notice[56:-2] + b"\x02" + bytes(32) + b"\x00" + b"\x00\x00"))

    # --- 17.3 rules 2 and 5 on the vehicle's leaves
    base = vectors["verdict_consistent_after_replacement"]
    leaf = decode_leaf(h(base, "leaf"))
    pred = decode_leaf(bytes.fromhex(base["predecessors"][0]))
    assert leaf["predecessor"] == pred["device_id"] and pred["successor"] == leaf["device_id"]
    older_id = vector_device_id("vehicle case/older unit").hex()
    older = dict(pred, device_id=older_id, successor=pred["device_id"], predecessor=None)
    pred2 = dict(pred, predecessor=older_id)
    correction = {"counter": 7, "input_index": 30}

    def verdict(leaf_changes: dict, predecessors: list[dict], **kw):
        got, findings = decide(h(base, "device_id"), encode_leaf(dict(leaf, **leaf_changes)),
                               kw.get("proof", h(base, "possession_proof")), kw.get("nonce", h(base, "nonce")),
                               None, dom(base), [encode_leaf(p) for p in predecessors])
        return got, [finding_code(f) for f in findings], findings

    shown = decode_possession(h(base, "possession_proof"))["reading"]["odometer_m"]
    flagged = dict(pred, open_tampers=1, tamper_events=1,
                   latest_tamper={"counter": 5, "reference_counter": 4, "input_index": 9})
    cases = [
        ("the earlier unit given", {}, [pred], ("consistent", ["consistent", "unit_replaced"])),
        ("no earlier unit given", {}, [], ("cannot_confirm", ["previous_unit"])),
        ("the earlier unit of another vehicle", {}, [dict(pred, vehicle="11" * 32)], ("cannot_confirm", ["previous_unit"])),
        ("the earlier unit naming no successor", {}, [dict(pred, successor=None)], ("cannot_confirm", ["previous_unit"])),
        ("another device's leaf as the earlier unit", {}, [dict(pred, device_id=older_id)], ("cannot_confirm", ["previous_unit"])),
        # A leaf given beyond the last predecessor links to nothing (17.3 rule 5: each MUST be the
        # previous leaf's predecessor); the units that do link are still reported (from rule 5 on).
        ("the earlier unit given twice", {}, [pred, pred], ("cannot_confirm", ["previous_unit"])),
        ("a leaf given beyond the last predecessor", {}, [pred, older], ("cannot_confirm", ["previous_unit"])),
        ("an earlier unit given for a leaf that replaced none", dict(predecessor=None), [pred],
         ("cannot_confirm", ["previous_unit"])),
        ("two earlier units", {}, [pred2, older], ("consistent", ["consistent", "unit_replaced", "unit_replaced"])),
        ("two earlier units in the wrong order", {}, [older, pred2], ("cannot_confirm", ["previous_unit"])),
        ("the second earlier unit missing", {}, [pred2], ("cannot_confirm", ["previous_unit"])),
        ("the oldest unit flagged: the vehicle is", {}, [pred2, dict(older, open_tampers=2, tamper_events=2)],
         ("flagged", ["tamper_on_record", "unit_replaced", "unit_replaced"])),
        ("the earlier unit and the leaf flagged: one tamper_on_record each", dict(open_tampers=1), [flagged],
         ("flagged", ["tamper_on_record", "tamper_on_record", "unit_replaced"])),
        ("below the baseline, the earlier unit flagged", dict(corrected_baseline=dict(leaf["corrected_baseline"], odometer_m=shown + 1)),
         [flagged], ("rollback", ["rollback", "tamper_on_record", "unit_replaced"])),
        ("no highest and no baseline, the earlier unit flagged (rule 5)", dict(corrected_baseline=None, highest=None, first=None),
         [flagged], ("flagged", ["tamper_on_record", "unit_replaced"])),
        ("no highest and no baseline, the earlier unit clean (rule 5)", dict(corrected_baseline=None, highest=None, first=None),
         [pred], ("no_history", ["no_history", "unit_replaced"])),
        ("tamper events on record in the earlier unit, none open", {}, [dict(flagged, open_tampers=0)],
         ("consistent", ["consistent", "unit_replaced"])),
        ("the baseline equal to the device's odometer", dict(corrected_baseline=dict(leaf["corrected_baseline"], odometer_m=shown)),
         [pred], ("consistent", ["consistent", "unit_replaced"])),
        ("the baseline cleared by an attested reading, no opening: rule 8",
         dict(corrected_baseline=None, highest=pred["highest"], first=pred["highest"], attested=1), [pred],
         ("cannot_confirm", ["opening", "unit_replaced"])),
        ("corrections in both units: the leaf's first, after unit_replaced",
         dict(corrections=1, latest_correction=correction), [dict(pred, corrections=2, latest_correction=correction)],
         ("consistent", ["consistent", "unit_replaced", "corrections_on_record", "corrections_on_record"])),
        ("a correction in the earlier unit only", {}, [dict(pred, corrections=1, latest_correction=correction)],
         ("consistent", ["consistent", "unit_replaced", "corrections_on_record"])),
        # Rule 2 before rules 3 to 5.
        ("the leaf replaced too (a successor): rule 2 first", dict(successor=older_id), [],
         ("revoked", ["replaced"])),
        ("revoked and replaced: revoked first", dict(successor=older_id, revoked=True), [], ("revoked", ["revoked"])),
    ]
    for what, ch, preds, want in cases:
        checks.append((f"verdict: {what}", lambda c, w=what, ch=ch, preds=preds, want=want: c.eq(w, verdict(ch, preds)[:2], want)))

    def details(c):
        _, _, f = verdict({}, [pred2, dict(older, open_tampers=2, tamper_events=3, attested=4)])
        c.eq("tamper_on_record names the flagged unit", f[0], ("tamper_on_record", older_id))
        c.eq("unit_replaced per earlier unit, newest first (attested, tamper events, open)",
             [x for x in f if finding_code(x) == "unit_replaced"],
             [("unit_replaced", pred2["device_id"], pred2["attested"], pred2["tamper_events"], pred2["open_tampers"]),
              ("unit_replaced", older_id, 4, 3, 2)])
        _, _, f = verdict(dict(corrections=1, latest_correction=correction),
                          [dict(pred, corrections=2, latest_correction=dict(correction, counter=3))])
        c.eq("corrections_on_record: the leaf's, then the earlier unit's", f[-2:],
             [("corrections_on_record", leaf["device_id"], 1, 7, 30), ("corrections_on_record", pred["device_id"], 2, 3, 30)])
        # Rules 3 and 4 come before rule 5: a stale or forged proof is that, whatever the units.
        got = verdict({}, [], nonce=bytes(32))[:2]
        c.eq("another nonce, no earlier unit given: rule 3", got, ("cannot_confirm", ["proof_not_fresh"]))
        proof = h(base, "possession_proof")
        got = verdict({}, [], proof=proof[:-1] + bytes([proof[-1] ^ 1]))[:2]
        c.eq("a forged proof, no earlier unit given: rule 4", got, ("cannot_confirm", ["device_signature"]))
    checks.append(("verdict: the vehicle's findings in detail, rules 3-4 before 5", details))
    return checks


def cert_vehicle_cases(vectors: dict) -> list:
    """18.2's vehicle and earlier units, 18.4 steps 5a and 5b, on the valid certificates, whose
    map is rebuilt with earlier units of the certificate's unit (the state notice gets the new map
    root; the outputs root is left out, so step 4 has nothing to compare)."""
    cases = []
    for base in vectors.values():
        if base["kind"] == "certificate" and base["valid"]:
            cases += cert_vehicle_cases_of(base)
    return cases


def cert_vehicle_cases_of(base: dict) -> list:
    cases = []
    cert0 = decode_certificate(h(base, "certificate"))
    _, leaf0 = cert0["map_proof"]["leaf"]
    device = cert0["device_id"]
    name = base["name"]
    vin, salt = simulated_vehicle(vector_seed("certificate-car"))
    p1_id = vector_device_id("vehicle case/earlier unit 1").hex()
    p2_id = vector_device_id("vehicle case/earlier unit 2").hex()
    stranger_id = vector_device_id("vehicle case/stranger").hex()
    empty = {"count": 0, "root": EMPTY.hex(), "last_input": None}

    def unit(uid, succ, pred=None, **kw):
        return dict(leaf0, device_id=uid, successor=succ, predecessor=pred, public_key=ed25519_public(vector_seed(uid)).hex(),
                    history=empty, **kw)

    p1 = unit(p1_id, leaf0["device_id"], p2_id)
    p2 = unit(p2_id, p1_id)
    stranger = unit(stranger_id, None, vehicle="22" * 32)

    def build(x, leaf_changes, units, proofs_for=None, extra_leaves=(), vehicle="keep"):
        """The certificate `x` with its leaf changed, a map of the leaf, `units` and a stranger,
        and earlier-unit proofs for the ids `proofs_for` (default: the units')."""
        leaf = dict(leaf0, **leaf_changes)
        leaves = [encode_leaf(leaf)] + [encode_leaf(u) for u in units] + [encode_leaf(stranger)] + list(extra_leaves)
        root = map_root(leaves)
        state_raw = x["state_raw"][:26] + be(len(leaves), 8) + root + x["state_raw"][66:]
        ids = [u["device_id"] for u in units] if proofs_for is None else proofs_for
        earlier = [make_map_proof(leaves, bytes.fromhex(i)) for i in ids]
        y = dict(x, map_proof_raw=make_map_proof(leaves, device), state_raw=state_raw, outputs_root=None,
                 earlier_raw=earlier)
        if vehicle != "keep":
            y["vehicle"] = vehicle
        return encode_certificate(y)

    def accepted(what, leaf_changes, units, want_units, **kw):
        def run(c):
            x = decode_certificate(h(base, "certificate"))
            want = verify_certificate(h(base, "certificate"), base["pinned"])
            got = verify_certificate(build(x, leaf_changes, units, **kw), base["pinned"])
            c.eq("findings.earlier_units", got["earlier_units"], [encode_leaf(u).hex() for u in want_units])
            keep = ("highest", "first", "disclosed", "odometer_only", "undisclosed", "notices", "corrections", "vin",
                    "device_id", "level", "as_of_block", "claim_block", "input_index", "block_timestamp")
            c.eq("the other findings", {k: got[k] for k in keep if k != "vin" or "vehicle" not in kw},
                 {k: want[k] for k in keep if k != "vin" or "vehicle" not in kw})
            c.eq("findings.leaf", decode_leaf(bytes.fromhex(got["leaf"])), dict(leaf0, **leaf_changes))
            if "vehicle" in kw:
                c.eq("findings.vin", got["vin"], None if kw["vehicle"] is None else kw["vehicle"][0])
        cases.append((f"{name}: {what}", run))

    def refused(what, code, leaf_changes, units, pinned=True, **kw):
        def run(c):
            x = decode_certificate(h(base, "certificate"))
            c.rejects(what, code, verify_certificate, build(x, leaf_changes, units, **kw),
                      base["pinned"] if pinned else None)
        cases.append((f"{name}: {what}", run))

    two = dict(predecessor=p1_id)
    accepted("the same map rebuilt, no earlier unit", {}, [], [])
    accepted("one earlier unit", two, [dict(p1, predecessor=None)], [dict(p1, predecessor=None)])
    accepted("two earlier units, newest first", two, [p1, p2], [p1, p2])
    accepted("two earlier units, the VIN not disclosed", two, [p1, p2], [p1, p2], vehicle=None)
    if cert0["vehicle"] is not None:
        accepted("the VIN disclosed", {}, [], [], vehicle=(vin, salt))
    refused("no proof for the earlier unit", "previous_unit", two, [dict(p1, predecessor=None)], proofs_for=[])
    refused("no proof for the second earlier unit", "previous_unit", two, [p1, p2], proofs_for=[p1_id])
    refused("the two earlier units' proofs swapped", "previous_unit", two, [p1, p2], proofs_for=[p2_id, p1_id])
    refused("a proof beyond the last predecessor", "previous_unit", two, [dict(p1, predecessor=None), p2],
            proofs_for=[p1_id, p2_id])
    refused("the earlier unit's proof given twice", "previous_unit", two, [dict(p1, predecessor=None)],
            proofs_for=[p1_id, p1_id])
    refused("the earlier unit names another successor", "previous_unit", two,
            [dict(p1, predecessor=None, successor=stranger_id)])
    refused("the earlier unit names no successor", "previous_unit", two, [dict(p1, predecessor=None, successor=None)])
    refused("the earlier unit of another vehicle", "previous_unit", two, [dict(p1, predecessor=None, vehicle="33" * 32)])
    refused("the oldest unit of another vehicle", "previous_unit", two, [p1, dict(p2, vehicle="33" * 32)])
    refused("the earlier unit not in the map (a proof of absence)", "previous_unit", two, [], proofs_for=[p1_id])
    refused("a stranger's path for the earlier unit (wrong prefix or absent)", "previous_unit", two, [],
            proofs_for=[stranger_id])
    def other_root(c):
        x = decode_certificate(h(base, "certificate"))
        y = decode_certificate(build(x, two, [dict(p1, predecessor=None)]))
        # The earlier unit's path taken from a map with one more device.
        leaves = [encode_leaf(dict(leaf0, **two)), encode_leaf(dict(p1, predecessor=None)), encode_leaf(stranger),
                  encode_leaf(unit(vector_device_id("vehicle case/extra").hex(), None))]
        y["earlier_raw"] = [make_map_proof(leaves, bytes.fromhex(p1_id))]
        c.rejects("root_mismatch", "root_mismatch", verify_certificate, encode_certificate(y), base["pinned"])
    cases.append((f"{name}: the earlier unit's path in another map (root_mismatch)", other_root))
    # 18.2: the vehicle field and the bounds of the earlier units.
    refused("a VIN with a lower-case letter", "invalid_field", {}, [], vehicle=(vin[:3].lower() + vin[3:], salt))
    refused("a VIN with an O", "invalid_field", {}, [], vehicle=(vin[:-1] + "O", salt))
    refused("another VIN (valid), the same salt", "vehicle_mismatch", {}, [],
            vehicle=(vin[:-1] + ("A" if vin[-1] != "A" else "B"), salt))
    refused("the VIN with another salt", "vehicle_mismatch", {}, [], vehicle=(vin, bytes([salt[0] ^ 1]) + salt[1:]))
    refused("a VIN and salt of another vehicle", "vehicle_mismatch", {}, [],
            vehicle=simulated_vehicle(vector_seed("state device")))
    # Steps in order: 5 before 5a, 5a before 5b, 5b before 6; decoding before the anchors.
    refused("a wrong VIN and no proof for the earlier unit: 5a first", "vehicle_mismatch", two, [], proofs_for=[],
            vehicle=(vin, bytes(32)))
    if leaf0["highest"] is not None:
        def later(c):
            x = decode_certificate(h(base, "certificate"))
            y = dict(decode_certificate(build(x, two, [dict(p1, predecessor=None)], proofs_for=[])), highest_raw=None)
            c.rejects("5b before 6", "previous_unit", verify_certificate, encode_certificate(y), base["pinned"])
        cases.append((f"{name}: no proof for the earlier unit and no highest opening: 5b first", later))

    def raw_cases(c):
        x = decode_certificate(h(base, "certificate"))
        y = dict(x, vehicle=None, earlier_raw=[])
        data = encode_certificate(y)
        # Where the vehicle field starts: after the first opening.
        head = encode_certificate(dict(y, notices=[], odometer_keys=[], level="summary"))
        at = len(head) - 2  # vehicle present byte 0, earlier count 0
        assert data[at : at + 2] == b"\x00\x00"
        pin = base["pinned"]
        other = dict(pin or {"chain_id": 0, "application": "00" * 20, "consensus": "00" * 20},
                     chain_id=(pin or {"chain_id": 0})["chain_id"] + 1)

        def put(tail_from, middle):
            return data[:at] + middle + data[tail_from:]
        c.rejects("vehicle present 2", "invalid_field", verify_certificate, put(at + 1, b"\x02"), pin)
        c.rejects("vehicle present 2, another chain pinned (decoding first)", "invalid_field", verify_certificate,
                  put(at + 1, b"\x02"), other)
        # Section 4's alphabet is checked as the VIN is decoded (step 1), before the anchors.
        c.rejects("a lower-case VIN, another chain pinned (decoding first)", "invalid_field", verify_certificate,
                  put(at + 1, b"\x01" + vin.lower().encode() + salt), other)
        c.rejects("a VIN not UTF-8, another chain pinned", "invalid_text", verify_certificate,
                  put(at + 1, b"\x01" + b"\xc3\x28" + vin.encode()[2:] + salt), other)
        c.rejects("a VIN not UTF-8", "invalid_text", verify_certificate,
                  put(at + 1, b"\x01" + b"\xc3\x28" + vin.encode()[2:] + salt), pin)
        c.rejects("a VIN of UTF-8 but not ASCII", "invalid_field", verify_certificate,
                  put(at + 1, b"\x01" + "É".encode() + vin.encode()[2:] + salt), pin)
        c.rejects("a VIN cut short", "truncated", verify_certificate, data[:at] + b"\x01" + vin.encode()[:10], pin)
        c.rejects("a salt cut short", "truncated", verify_certificate, data[:at] + b"\x01" + vin.encode() + salt[:5], pin)
        proof = make_map_proof([encode_leaf(p1)], bytes.fromhex(p1_id))
        c.rejects("17 earlier units", "oversize", verify_certificate,
                  put(at + 2, b"\x00" + enc_varint(17) + (enc_varint(len(proof)) + proof) * 17), pin)
        c.rejects("16 earlier units in 31 bytes", "truncated", verify_certificate,
                  data[:at] + b"\x00" + enc_varint(16) + bytes(31), pin)
        c.rejects("an earlier unit's proof over the bound", "oversize", verify_certificate,
                  put(at + 2, b"\x00\x01" + enc_varint(19 + 32 * KEY_BITS + LEAF_LEN + 1) + proof), pin)
        bad = proof[:-LEAF_LEN + 53] + b"\x02" + proof[-LEAF_LEN + 54 :]
        assert len(bad) == len(proof)
        c.rejects("an earlier unit's leaf with revoked 2, another chain pinned", "invalid_field", verify_certificate,
                  put(at + 2, b"\x00\x01" + enc_varint(len(bad)) + bad), other)
        c.rejects("an earlier unit's proof with a trailing byte", "trailing_bytes", verify_certificate,
                  put(at + 2, b"\x00\x01" + enc_varint(len(proof) + 1) + proof + b"\x00"), pin)
        # 16 proofs decode (the bound is 16): for a leaf with no predecessor, previous_unit.
        c.rejects("16 earlier units for a leaf with no predecessor", "previous_unit", verify_certificate,
                  put(at + 2, b"\x00" + enc_varint(16) + (enc_varint(len(proof)) + proof) * 16), None)
    cases.append((f"{name}: the vehicle field and the earlier units' bounds (18.2)", raw_cases))

    def sixteen(c):
        # A chain of 16 earlier units verifies; a 17th predecessor cannot be proven (at most 16).
        x = decode_certificate(h(base, "certificate"))
        ids = [vector_device_id(f"vehicle case/chain {k}").hex() for k in range(17)]
        chain = [unit(ids[k], ids[k - 1] if k else leaf0["device_id"], ids[k + 1] if k + 1 < 17 else None)
                 for k in range(17)]
        data = build(x, dict(predecessor=ids[0]), chain[:15] + [dict(chain[15], predecessor=None)])
        got = verify_certificate(data, base["pinned"])
        c.eq("16 earlier units", len(got["earlier_units"]), 16)
        data = build(x, dict(predecessor=ids[0]), chain, proofs_for=ids[:16])
        c.rejects("a 17th predecessor without a proof", "previous_unit", verify_certificate, data, base["pinned"])
    cases.append((f"{name}: sixteen earlier units, and a seventeenth", sixteen))
    return cases


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs/protocol-vectors.json"
    vectors = json.loads(path.read_text())["vectors"]
    by_name = {v["name"]: v for v in vectors}
    assert len(by_name) == len(vectors), "duplicate vector names"
    passed = failed = 0

    def run(name: str, fn):
        nonlocal passed, failed
        c = Checker()
        try:
            fn(c)
        except (Failed, ProtocolError) as e:
            failed += 1
            print(f"FAIL {name}: {e}")
            return
        except Exception:
            failed += 1
            print(f"FAIL {name}: crashed\n{traceback.format_exc()}")
            return
        passed += 1
        print(f"PASS {name} ({c.count} checks)")

    for v in vectors:
        kind, valid = v["kind"], v["valid"]
        if kind == "envelope" and valid:
            run(v["name"], lambda c, v=v: check_valid_envelope(c, v))
        elif kind == "envelope":
            run(v["name"], lambda c, v=v: check_invalid_envelope(c, v))
        elif kind == "registrar":
            run(v["name"], lambda c, v=v: check_registrar(c, v))
        elif kind == "ownership":
            run(v["name"], lambda c, v=v: check_ownership(c, v, by_name))
        elif kind == "objection":
            run(v["name"], lambda c, v=v: check_objection(c, v, by_name))
        elif kind == "possession_proof":
            run(v["name"], lambda c, v=v: check_possession(c, v))
        elif kind == "owner_query":
            run(v["name"], lambda c, v=v: check_owner_query(c, v))
        elif kind == "input":
            run(v["name"], lambda c, v=v: check_batch_input(c, v))
        elif kind == "leaf":
            run(v["name"], lambda c, v=v: check_leaf_vector(c, v, by_name))
        elif kind == "map":
            run(v["name"], lambda c, v=v: check_map_vector(c, v))
        elif kind == "map_proof":
            run(v["name"], lambda c, v=v: check_map_proof_vector(c, v, by_name))
        elif kind == "state_notice":
            run(v["name"], lambda c, v=v: check_state_notice_vector(c, v))
        elif kind == "history_notice":
            run(v["name"], lambda c, v=v: check_history_vector(c, v))
        elif kind == "history_accumulator":
            run(v["name"], lambda c, v=v: check_accumulator_vector(c, v))
        elif kind == "verdict":
            run(v["name"], lambda c, v=v: check_verdict_vector(c, v))
        elif kind == "certificate":
            run(v["name"], lambda c, v=v: check_certificate_vector(c, v))
        elif kind == "counter_step":
            run(v["name"], lambda c, v=v: check_counter_steps(c, v))
        else:
            failed += 1
            print(f"FAIL {v['name']}: unknown vector kind {kind!r}")

    derived = (derived_cases(by_name) + correction_cases(by_name) + verdict_baseline_cases(by_name)
               + state_derived_cases(by_name)
               + ownership_rule_cases(by_name)
               + cert_derived_cases(by_name) + cert_correction_cases(by_name)
               + vehicle_cases(by_name) + cert_vehicle_cases(by_name))
    for name, fn in derived:
        run(f"derived: {name}", fn)

    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
