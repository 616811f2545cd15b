#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/), one file per seed,
named by its SHA-256; scripts/fuzz.sh starts every run from these seeds. Run after the vectors
(docs/protocol-vectors.json), the node's OpenRPC document or a target's input format change.

- decode: every encoded object the vectors carry.
- node_rpc: JSON-RPC bodies as witness-node-client sends them, the OpenRPC document's
  examples, the other forms the node accepts, and malformed ones.
- backend_advance: sequences of steps in the framing of fuzz_targets/backend_advance.rs,
  built from the vectors: the admin authorizing a gateway, registrars registering devices,
  envelopes and ownership statements from the gateway (a first pairing, a sale with the
  owner's release), a registrar's ownership recovery, the owner's objection, a recovery
  that takes effect, inspect queries.
"""
import hashlib
import json
import pathlib
import re
import shutil
import struct

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


def decode_seeds(vectors):
    return list(encodings(vectors))


# ---- node_rpc ----

APP = "witness"  # the application the target's node serves


def rpc(method, params=None, id=1, application=None):
    """A request as witness_node_rpc::Request::to_value encodes it (serde_json: sorted keys)."""
    request = {"jsonrpc": "2.0", "method": method, "params": dict(params or {})}
    if id is not None:
        request["id"] = id
    if application is not None:
        request["params"]["application"] = application
    return request


def compact(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def node_rpc_seeds():
    doc = json.loads((ROOT / "crates/node/openrpc.json").read_text())
    calls = []
    # witness-node-client's calls.
    calls.append(rpc("cartesi_getProcessedInputCount"))
    calls.append(rpc("cartesi_getOutput", {"output_index": "0x1a"}))
    calls.append(rpc("cartesi_listOutputs", {"input_index": "0x3", "limit": 1000, "offset": 2000}))
    calls.append(rpc("cartesi_listReports", {"input_index": "0x3", "limit": 10000, "offset": 0}))
    # Every documented method, bare, naming the application, and with its examples.
    for method in doc["methods"]:
        name = method["name"]
        calls.append(rpc(name))
        calls.append(rpc(name, application=APP))
        for example in method.get("examples", []):
            params = {p["name"]: p["value"] for p in example["params"]}
            calls.append(rpc(name, params, application=APP))
    # Every filter, the page at its bounds.
    calls.append(rpc("cartesi_listInputs", {
        "limit": 1, "offset": 18446744073709551615, "epoch_index": "0xffffffffffffffff",
        "sender": "0x" + "ab" * 20, "status": "ACCEPTED", "decode": True,
    }))
    calls.append(rpc("cartesi_listOutputs", {
        "limit": 10000, "epoch_index": "0x0", "input_index": "0x1",
        "output_type": "0x237a816f", "voucher_address": "0X" + "Cd" * 20,
    }))
    calls.append(rpc("cartesi_listEpochs", {"status": "CLAIM_ACCEPTED"}, application=APP))
    calls.append(rpc("cartesi_getEpoch", {"epoch_index": "0x2"}))
    calls.append(rpc("cartesi_getReport", {"report_index": "0x4"}, id="report"))
    calls.append(rpc("cartesi_getChainId", id=None))  # a notification
    seeds = [compact(c) for c in calls]
    # The other forms the node accepts: positional, a batch, pretty-printed, no params.
    seeds.append(compact({"jsonrpc": "2.0", "id": 1, "method": "cartesi_listInputs",
                          "params": [APP]}))
    seeds.append(compact({"jsonrpc": "2.0", "id": 1, "method": "cartesi_getInput",
                          "params": [{"input_index": "0x0"}]}))
    seeds.append(compact({"jsonrpc": "2.0", "id": 1, "method": "cartesi_listReports",
                          "params": [APP, 2, 1, None, "0x1"]}))
    seeds.append(compact({"jsonrpc": "2.0", "id": None, "method": "cartesi_getChainId"}))
    seeds.append(compact([calls[0], calls[1], calls[-1], rpc("cartesi_nope", id=9)]))
    seeds.append(json.dumps(calls[2], indent=2).encode())
    # Malformed: what the node's tests send, and more.
    bad = [
        rpc("cartesi_getInput", {"input_index": 5}),
        rpc("cartesi_getInput", {"input_index": "5"}),
        rpc("cartesi_getInput", {"inputIndex": "0x5"}),
        rpc("cartesi_getInput", {"input_index": "0xzz"}),
        rpc("cartesi_getInput", {"input_index": "0x10000000000000000"}),
        rpc("cartesi_getInput"),
        rpc("cartesi_listInputs", {"limit": 0}),
        rpc("cartesi_listInputs", {"limit": 2.5}),
        rpc("cartesi_listInputs", {"sender": "0x01"}),
        rpc("cartesi_listOutputs", {"output_type": "0x237a81"}),
        rpc("cartesi_listOutputs", {"output_type": "0x237g816f"}),
        rpc("cartesi_listOutputs", {"output_type": "237a816f"}),
        rpc("cartesi_listInputs", application="0x0000000000000000000000000000000000000001"),
        rpc("cartesi_getOutput", {"output_index": "0xffff"}, application="someone-else"),
        rpc("cartesi_noSuchMethod"),
        {"id": 1, "method": "cartesi_getChainId"},
        {"jsonrpc": "1.0", "id": 1, "method": "cartesi_getChainId"},
        {"jsonrpc": "2.0", "id": 1, "method": 7},
        {"jsonrpc": "2.0", "id": 1, "method": "cartesi_getChainId", "params": 5},
    ]
    seeds += [compact(b) for b in bad]
    seeds += [b"{", b"[]", b"[1, \"x\", null]", b"null", b"\"cartesi_getChainId\""]
    return seeds


# ---- backend_advance ----

ADMIN, GATEWAY, STRANGER = 1, 2, 3  # the senders of the target: [n; 20]
SIGN = 0x80  # the target signs the fuzz registrar's messages of the step
BLOCK_TIME = 1_790_100_000  # after every reading of the vectors, within their maximum age
RECOVERY_DELAY_S = 7 * 86_400  # PROTOCOL.md 8.4.2


def step(sender, payload=b"", inspect=b"", timestamp=BLOCK_TIME):
    return (struct.pack(">BQH", sender, timestamp, len(payload)) + payload
            + struct.pack(">H", len(inspect)) + inspect)


INPUT_VERSION = 2  # PROTOCOL.md 9


def rollup_input(*messages):
    assert 0 < len(messages) < 128  # a one-byte varint count
    return bytes([INPUT_VERSION, len(messages)]) + b"".join(messages)


def authorize(gateway, authorized=True):
    return bytes([3]) + bytes([gateway]) * 20 + bytes([int(authorized)])


def inspect(query):
    return compact(query)


def backend_advance_seeds(vectors):
    by_name = {v["name"]: v for v in vectors}
    hexb = bytes.fromhex
    registrar = hexb(by_name["registrar_register_device"]["signer_public_key"])

    def register(device_id, public_key, sequence, model=3):
        """A RegisterDevice (op 8, PROTOCOL.md 8.2) of the fuzz registrar, unsigned: the
        target signs it (SIGN). Each device its own vehicle (one active unit per vehicle)."""
        vehicle = hashlib.sha256(b"fuzz seed vehicle/" + hexb(device_id)).digest()
        body = (registrar + struct.pack(">Q", sequence) + bytes([8]) + hexb(device_id)
                + struct.pack(">I", model) + hexb(public_key) + vehicle)
        return bytes([2]) + body + bytes(64)

    def recover(device_id, owner, sequence):
        """A RecoverOwner (op 10, 8.4.2) of the fuzz registrar, unsigned (SIGN)."""
        body = registrar + struct.pack(">Q", sequence) + bytes([10]) + hexb(device_id) + owner
        return bytes([2]) + body + bytes(64)

    envelopes = [v for v in vectors if v["kind"] == "envelope"]
    good = [v for v in envelopes if v["valid"]]
    bad = [v for v in envelopes if not v["valid"]]
    registrars = [v for v in vectors if v["kind"] == "registrar"]
    ownership = [by_name["ownership_pairing"], by_name["ownership_sale_released"]]
    objection = by_name["ownership_objection"]
    # The key the vectors' recovery binds: RecoverOwner's owner field (after device_id).
    recovered_owner = hexb(by_name["registrar_recover_owner"]["message"])[57:89]
    owner_query = by_name["owner_query"]
    proof = by_name["possession_proof"]
    batch = by_name["input_batch_of_three_envelopes_and_gateway_authorization"]
    possession_device = proof["message"][2:34]
    ownership_device = ownership[0]["message"][:32]
    queries = [
        {"type": "config"}, {"type": "stats"}, {"type": "state"},
    ]

    def about(device_id):
        return [
            {"type": "device", "device_id": device_id},
            {"type": "device_proof", "device_id": device_id},
            {"type": "device_proof", "device_id": device_id, "input_index": 2},
        ]

    sequences = {}
    # The registrar's own acts, as the vectors sign them, after a gateway's authorization.
    registered = registrars[0]["message"][82:114]
    sequences["registrar"] = [step(ADMIN, rollup_input(authorize(GATEWAY)))] + [
        step(STRANGER, hexb(v["input"]), inspect(about(registered)[i % 3]))
        for i, v in enumerate(registrars)
    ]
    # Readings: the devices of the envelope vectors registered, then their envelopes.
    registrations = [register(v["device_id"], v["device_public_key"], i + 1)
                     for i, v in enumerate(good)]
    readings = [step(ADMIN, rollup_input(authorize(GATEWAY)), inspect(queries[0])),
                step(SIGN | STRANGER, rollup_input(*registrations), inspect(queries[1]))]
    for i, v in enumerate(good):
        readings.append(step(GATEWAY, hexb(v["input"]), inspect(about(v["device_id"])[i % 3]),
                             BLOCK_TIME + 12 * i))
    readings.append(step(GATEWAY, hexb(good[0]["input"]), inspect(queries[1])))  # a replay
    readings += [step(GATEWAY, rollup_input(bytes([1]) + hexb(v["envelope"])), inspect(q))
                 for v, q in zip(bad, queries * 3)]
    sequences["readings"] = readings
    # Ownership and the history keys: pairing, sale, an owner query, a possession proof.
    devices = rollup_input(register(ownership_device, ownership[0]["device_public_key"], 1),
                           register(possession_device, proof["device_public_key"], 2))
    # The objection names the recovery started at this block time (its effective_at - 7 days);
    # the sale's release is valid until its expiry, after that.
    first_recovery = struct.unpack(">Q", hexb(objection["message"])[48:56])[0] - RECOVERY_DELAY_S
    second_recovery = first_recovery + 100_000
    assert ownership[1]["release_expires_at"] > first_recovery + 2_000
    owner = [step(ADMIN, rollup_input(authorize(GATEWAY))),
             step(SIGN, devices),
             # The first pairing; a registrar's recovery, the owner's objection (anyone sends it).
             step(GATEWAY, hexb(ownership[0]["input"]), inspect(about(ownership_device)[0])),
             step(SIGN | STRANGER, rollup_input(recover(ownership_device, recovered_owner, 3)),
                  inspect(about(ownership_device)[1]), first_recovery),
             step(STRANGER, hexb(objection["input"]), inspect(about(ownership_device)[0]),
                  first_recovery + 1_000),
             # The sale with the seller's release; a second recovery, which takes effect at
             # the start of the first input 7 days later.
             step(GATEWAY, hexb(ownership[1]["input"]), inspect(about(ownership_device)[0]),
                  first_recovery + 2_000),
             step(SIGN | STRANGER, rollup_input(recover(ownership_device, recovered_owner, 4)),
                  b"", second_recovery),
             step(ADMIN, rollup_input(authorize(GATEWAY)), inspect(about(ownership_device)[1]),
                  second_recovery + RECOVERY_DELAY_S + 60)]
    owner.append(step(STRANGER, b"", inspect({
        "type": "history_keys", "owner_query": owner_query["message"] + owner_query["signature"],
    })))
    owner.append(step(STRANGER, b"", inspect({
        "type": "history_keys", "proof": proof["message"] + proof["signature"],
        "response_key": proof["backend_public_key"],
    })))
    sequences["ownership"] = owner
    # Who may do what: envelopes before any authorization and from a stranger, the admin
    # sending envelopes (refused, then as an authorized gateway), a deauthorization.
    sequences["senders"] = [
        step(GATEWAY, hexb(good[0]["input"])),
        step(STRANGER, rollup_input(authorize(STRANGER))),
        step(ADMIN, hexb(batch["input"])),
        step(ADMIN, rollup_input(authorize(ADMIN))),
        step(ADMIN, hexb(batch["input"]), inspect(queries[2])),
        step(ADMIN, rollup_input(authorize(ADMIN, False), authorize(GATEWAY))),
        step(GATEWAY, hexb(good[1]["input"]), b"not json", 0),
        step(0, b"\x02garbage"),
    ]
    seeds = [b"".join(s) for s in sequences.values()]
    # Each vector input alone, from the gateway once authorized.
    inputs = [hexb(v["input"]) for v in vectors if v.get("input")]
    seeds += [step(ADMIN, rollup_input(authorize(GATEWAY))) + step(GATEWAY, i) for i in inputs]
    return seeds


def write(target, seeds):
    out = ROOT / "fuzz/corpus" / target
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    named = {hashlib.sha256(b).hexdigest()[:16]: b for b in seeds if b}
    for name, data in sorted(named.items()):
        (out / name).write_bytes(data)
    print(f"{len(named)} seeds in {out.relative_to(ROOT)}")


def main():
    vectors = json.loads((ROOT / "docs/protocol-vectors.json").read_text())
    write("decode", decode_seeds(vectors))
    write("node_rpc", node_rpc_seeds())
    write("backend_advance", backend_advance_seeds(vectors["vectors"]))


if __name__ == "__main__":
    main()
