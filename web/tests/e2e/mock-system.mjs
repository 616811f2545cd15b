// A stand-in for the whole system (gateway, rollup node, chain, device local link) speaking
// the same HTTP shapes as the real parts, with real signatures, HPKE-sealed answers, notices
// and commitments. For exercising the dashboard's happy paths where `witness up` is not
// available; the full e2e runs against the real system.
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join, extname } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { CipherSuite, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';

const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (h) => new Uint8Array(Buffer.from(h.replace(/^0x/, ''), 'hex'));
const cat = (...p) => new Uint8Array(Buffer.concat(p.map((x) => Buffer.from(x))));
const u8 = (v) => new Uint8Array([v]);
const u16 = (v) => new Uint8Array([(v >> 8) & 255, v & 255]);
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return new Uint8Array(b); };
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); return new Uint8Array(b); };
const utf8 = (s) => new TextEncoder().encode(s);
const seeded = (label) => sha256(utf8(`witness mock/${label}`));
const fault = (t) => ((['P', 'C', 'B', 'U'].indexOf(t[0]) << 14) | parseInt(t.slice(1), 16));
const readingBytes = (r) => cat(u32(r.timestamp), u64(r.odometer_m), u32(r.fuel_ml), u32(r.engine_s), u8(r.faults.length), ...r.faults.map((f) => u16(fault(f))));
const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });
const ab = (u) => u.slice().buffer;

const GET_NUMBER_OF_INPUTS = '0x' + hex(keccak_256(utf8('getNumberOfInputs(address)')).slice(0, 4));
const APP = '0x1f2e3d4c5b6a79880796a5b4c3d2e1f00f1e2d3c';
const CHAIN_ID = 31337;
const K = 5;
const NOW = Math.floor(Date.now() / 1000);
const MODELS = [{ model: 1, name: 'Aurora Compact', fuel: 'petrol' }, { model: 2, name: 'Borealis Van', fuel: 'diesel' }];

export async function startMockSystem({ webDist, ports }) {
  const backendPair = await suite.kem.deriveKeyPair(ab(utf8('mock backend key')));
  const backendPub = new Uint8Array(await suite.kem.serializePublicKey(backendPair.publicKey));
  const tag = (t) => utf8(`witness/v1/${t}`);
  const signed = (t, body) => cat(tag(t), backendPub, body);

  // ---- the fleet and what the rollup attested ----
  const outputs = [];
  const devices = [];
  let inputIndex = 0;
  const mk = (i, model, scenario, count) => {
    const seed = seeded(`device ${i}`);
    const d = { id: hex(seeded(`id ${i}`).slice(0, 16)), seed, pub: ed25519.getPublicKey(seed), model, scenario, handle: `car-${i + 1}`, history: [], owner: null, ownerSeq: 0, counter: 0, flagged: false, tamper: 0, readings: new Map() };
    let odo = 40_000_000 + i * 7_321_000;
    for (let c = 1; c <= count; c++) {
      const t = NOW - (count - c) * 86400 * 2 - 3600;
      odo += 35_000 + ((i * 7919 + c * 104729) % 60_000);
      const r = { timestamp: t, odometer_m: odo, fuel_ml: 2400 + (c % 7) * 150, engine_s: 3600 * c, faults: c % 11 === 0 ? ['P0420'] : [] };
      attest(d, c, r, false);
    }
    if (scenario === 'rollback') {
      const c = count + 1;
      const r = { timestamp: NOW - 1800, odometer_m: odo - 20_000_000, fuel_ml: 1200, engine_s: 3600 * c, faults: [] };
      attest(d, c, r, true);
    }
    devices.push(d);
  };
  function attest(d, counter, reading, rollback) {
    const blinding = sha256(cat(utf8('blinding'), d.seed, u64(counter)));
    const commitment = sha256(cat(utf8('witness/v1/commit'), unhex(d.id), u64(counter), blinding, readingBytes(reading)));
    const envelopeHash = sha256(cat(unhex(d.id), u64(counter), utf8('envelope')));
    const idx = inputIndex++;
    const bt = reading.timestamp + 30;
    let payload;
    if (rollback) {
      const ref = d.history.filter((e) => e.event === 'reading').at(-1);
      payload = cat(u8(1), u8(2), unhex(d.id), u64(counter), u64(ref.counter), u64(idx), commitment);
      d.flagged = true;
      d.tamper++;
    } else {
      payload = cat(u8(1), u8(1), u64(idx), u64(bt), u32(1), unhex(d.id), u64(counter), commitment, envelopeHash);
    }
    const padded = new Uint8Array(Math.ceil(payload.length / 32) * 32);
    padded.set(payload);
    const raw = cat(unhex('c258d6e5'), new Uint8Array(31), u8(32), new Uint8Array(28), u32(payload.length), padded);
    outputs.push({ raw, input_index: idx, epoch: Math.floor(idx / 8) });
    const notice_index = outputs.length - 1;
    d.readings.set(counter, { reading, blinding, commitment });
    d.counter = counter;
    d.history.push({
      event: rollback ? 'rollback' : 'reading', input_index: idx, block_timestamp: bt, notice_index, counter, reading,
      commitment: hex(commitment), envelope_hash: hex(envelopeHash), reference_counter: rollback ? counter - 1 : null,
    });
  }
  mk(0, 1, null, 30);
  mk(1, 1, 'rollback', 24);
  for (let i = 2; i < 6; i++) mk(i, 1, null, 12 + i);
  mk(6, 2, null, 8);
  mk(7, 2, null, 9);
  const byId = (id) => devices.find((d) => d.id === id);
  const lastAttested = (d) => d.history.filter((e) => e.event === 'reading').at(-1);
  const highest = (d) => d.history.filter((e) => e.event === 'reading').reduce((a, e) => (!a || e.reading.odometer_m > a.reading.odometer_m ? e : a), null);
  const attestedJson = (e) => e && { counter: e.counter, reading: e.reading, commitment: e.commitment, input_index: e.input_index, block_timestamp: e.block_timestamp, notice_index: e.notice_index };

  // ---- the backend's inspect answers ----
  async function inspect(q) {
    switch (q.type) {
      case 'config':
        return { type: 'config', protocol_version: 1, backend_public_key: hex(backendPub), k_anonymity: K, proof_freshness_s: 86400, models: MODELS };
      case 'device': {
        const d = byId(q.device_id);
        if (!d) return { type: 'device', device_id: q.device_id, exists: false };
        const last = lastAttested(d);
        return {
          type: 'device', device_id: d.id, exists: true, model: d.model, status: d.flagged ? 'flagged' : 'active', flagged: d.flagged, revocation_reason: null,
          public_key: hex(d.pub), owner: d.owner, last_counter: d.counter, readings: d.history.length, tamper_events: d.tamper,
          last_attested: last && { counter: last.counter, input_index: last.input_index, block_timestamp: last.block_timestamp, notice_index: last.notice_index, commitment: last.commitment },
        };
      }
      case 'verify': {
        const b = unhex(q.proof);
        const d = byId(hex(b.slice(1, 17)));
        if (!d) return { type: 'verify', verdict: 'unknown_device', device_id: hex(b.slice(1, 17)), reasons: ['no device with this id is registered'] };
        const body = b.slice(0, b.length - 64);
        if (!ed25519.verify(b.slice(b.length - 64), signed('possession', body), d.pub)) return { type: 'error', error: 'invalid_proof', detail: "the proof's signature does not verify under the device's current key" };
        const odo = Number(Buffer.from(b.slice(61, 69)).readBigUInt64BE());
        const hi = highest(d);
        const last = lastAttested(d);
        const verdict = hi && odo < hi.reading.odometer_m ? 'rollback' : d.flagged ? 'flagged' : 'consistent';
        const reasons = verdict === 'rollback' ? [`the device shows ${odo} m, below the ${hi.reading.odometer_m} m attested at counter ${hi.counter}`] : [`the device shows ${odo} m, at or above the attested ${last.reading.odometer_m} m`];
        return { type: 'verify', verdict, reasons, device_id: d.id, nonce: hex(b.slice(17, 49)), device_reading: d.current, device_counter: d.counter, last_attested: attestedJson(last), highest_attested: attestedJson(hi), tamper_events: d.tamper };
      }
      case 'history': {
        const b = unhex(q.owner_query ?? '');
        const d = byId(hex(b.slice(1, 17)));
        if (!d) return { type: 'error', error: 'unknown_device', detail: 'no device with this id' };
        const owner = b.slice(17, 49);
        const sig = b.slice(86, 150);
        if (!ed25519.verify(sig, signed('owner-query', b.slice(0, 86)), owner)) return { type: 'error', error: 'invalid_owner_query', detail: 'signature does not verify' };
        if (d.owner !== hex(owner)) return { type: 'error', error: 'not_owner', detail: "the key is not the device's current owner" };
        const offset = q.offset ?? 0;
        const limit = Math.min(q.limit ?? 100, 500);
        const body = { device_id: d.id, total: d.history.length, offset, entries: d.history.slice(offset, offset + limit) };
        const pk = await suite.kem.deserializePublicKey(ab(b.slice(49, 81)));
        const sender = await suite.createSenderContext({ recipientPublicKey: pk, info: ab(utf8('witness/v1/response')) });
        const ct = new Uint8Array(await sender.seal(ab(utf8(JSON.stringify(body))), ab(sig)));
        return { type: 'history', sealed: hex(cat(new Uint8Array(sender.enc), ct)), total: d.history.length };
      }
      case 'stats': {
        const group = (model, name, ds) => {
          if (ds.length < K) return { model, name, published: false, devices: null, readings: null, total_km: null, km_per_year_histogram: null, km_per_year_median: null, faults_per_10000_km: null, consumption_l_per_100km: null, co2_g_per_km: null };
          const hist = [0, 0, 0, 0, 0, 0, 0];
          const rates = ds.map((d) => { const a = d.history.find((e) => e.event === 'reading'); const z = lastAttested(d); return ((z.reading.odometer_m - a.reading.odometer_m) / 1000) * 31557600 / Math.max(86400, z.reading.timestamp - a.reading.timestamp); });
          for (const r of rates) hist[[5000, 10000, 15000, 20000, 30000, 50000].findIndex((x) => r < x) === -1 ? 6 : [5000, 10000, 15000, 20000, 30000, 50000].findIndex((x) => r < x)]++;
          const km = ds.reduce((s, d) => { const a = d.history.find((e) => e.event === 'reading'); return s + (lastAttested(d).reading.odometer_m - a.reading.odometer_m) / 1000; }, 0);
          return { model, name, published: true, devices: ds.length, readings: ds.reduce((s, d) => s + d.history.length, 0), total_km: Math.round(km * 10) / 10, km_per_year_histogram: hist, km_per_year_median: Math.round(rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)]), faults_per_10000_km: 3.17, consumption_l_per_100km: 6.42, co2_g_per_km: 153.6 };
        };
        const models = MODELS.map((m) => group(m.model, m.name, devices.filter((d) => d.model === m.model)));
        return { type: 'stats', k_anonymity: K, km_per_year_buckets: [5000, 10000, 15000, 20000, 30000, 50000], models, fleet: group(null, 'All models', devices.filter((d) => d.model === 1)) };
      }
      default:
        return { type: 'error', error: 'bad_query', detail: `unknown type ${q.type}` };
    }
  }

  // ---- HTTP plumbing ----
  const cors = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': 'content-type', 'Access-Control-Allow-Methods': 'GET, POST, OPTIONS' };
  const body = (req) => new Promise((res) => { const c = []; req.on('data', (x) => c.push(x)); req.on('end', () => res(Buffer.concat(c).toString('utf8'))); });
  const send = (res, status, data, headers = {}) => { res.writeHead(status, { 'Content-Type': 'application/json', ...headers }); res.end(data === undefined ? '' : JSON.stringify(data)); };
  const serve = (port, handler, withCors) => new Promise((resolve) => {
    const server = createServer(async (req, res) => {
      try {
        if (withCors && req.method === 'OPTIONS') return send(res, 204, undefined, cors);
        await handler(req, res, withCors ? cors : {});
      } catch (e) {
        send(res, 500, { error: 'internal', message: String(e?.message ?? e) }, withCors ? cors : {});
      }
    });
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

  const url = (p) => `http://127.0.0.1:${p}`;
  const sessions = new Map();
  const accounts = new Map();
  const claims = new Map();

  const node = await serve(ports.node, async (req, res, h) => {
    if (req.method === 'POST' && req.url.startsWith('/inspect/')) {
      const report = await inspect(JSON.parse(await body(req)));
      return send(res, 200, { status: report.type === 'error' ? 'Rejected' : 'Accepted', exception_payload: null, reports: [{ payload: '0x' + hex(utf8(JSON.stringify(report))) }], processed_input_count: inputIndex }, h);
    }
    if (req.method === 'POST' && req.url === '/rpc') {
      const call = JSON.parse(await body(req));
      const p = call.params ?? {};
      const ok = (result) => send(res, 200, { jsonrpc: '2.0', id: call.id, result }, h);
      const q = (n) => '0x' + n.toString(16);
      switch (call.method) {
        case 'cartesi_getOutput': {
          const i = parseInt(p.output_index, 16);
          const o = outputs[i];
          if (!o) return send(res, 200, { jsonrpc: '2.0', id: call.id, error: { code: -32602, message: `output ${i} not found` } }, h);
          const claimed = o.epoch < Math.floor((inputIndex - 1) / 8);
          return ok({ data: { epoch_index: q(o.epoch), input_index: q(o.input_index), index: q(i), raw_data: '0x' + hex(o.raw), hash: '0x' + hex(keccak_256(o.raw)), output_hashes_siblings: claimed ? Array.from({ length: 63 }, () => '0x' + '00'.repeat(32)) : null, execution_transaction_hash: null } });
        }
        case 'cartesi_getApplication':
        case 'cartesi_listApplications': {
          const a = { name: 'witness', iapplication_address: APP, iinputbox_address: '0x1b51e2992a2755ba4d6f7094032df91991a0cfac', epoch_length: '0x8', state: 'ENABLED', reason: null, processed_inputs: q(inputIndex) };
          return ok(call.method === 'cartesi_getApplication' ? { data: a } : { data: [a], pagination: { total_count: 1, limit: 1, offset: 0 } });
        }
        case 'cartesi_listReports': {
          const reports = [{ input_index: '0x3', index: '0x0', raw_data: '0x' + hex(utf8(JSON.stringify({ type: 'message_rejected', input_index: 3, message_index: 1, reason: 'stale_counter', device_id: devices[1].id, counter: 4 }))) }];
          return ok({ data: reports.slice(p.offset ?? 0), pagination: { total_count: reports.length, limit: p.limit ?? 50, offset: p.offset ?? 0 } });
        }
        case 'cartesi_getProcessedInputCount':
          return ok({ data: q(inputIndex) });
        default:
          return send(res, 200, { jsonrpc: '2.0', id: call.id, error: { code: -32601, message: `method ${call.method} not found` } }, h);
      }
    }
    send(res, 404, { error: 'not_found' }, h);
  }, true);

  const chain = await serve(ports.chain, async (req, res, h) => {
    const call = JSON.parse(await body(req));
    const one = (c) => {
      const r = (result) => ({ jsonrpc: '2.0', id: c.id, result });
      switch (c.method) {
        case 'eth_chainId': return r('0x' + CHAIN_ID.toString(16));
        case 'eth_blockNumber': return r('0x' + (120 + inputIndex).toString(16));
        case 'eth_getBlockByNumber': return r({ number: '0x' + (120 + inputIndex).toString(16), timestamp: '0x' + (Math.floor(Date.now() / 1000) - 4).toString(16), hash: '0x' + '11'.repeat(32), parentHash: '0x' + '22'.repeat(32), transactions: [], gasLimit: '0x1c9c380', gasUsed: '0x0', baseFeePerGas: '0x1', difficulty: '0x0', extraData: '0x', logsBloom: '0x' + '00'.repeat(256), miner: '0x' + '00'.repeat(20), mixHash: '0x' + '00'.repeat(32), nonce: '0x0000000000000000', receiptsRoot: '0x' + '00'.repeat(32), sha3Uncles: '0x' + '00'.repeat(32), size: '0x1', stateRoot: '0x' + '00'.repeat(32), totalDifficulty: '0x0', transactionsRoot: '0x' + '00'.repeat(32), uncles: [] });
        case 'eth_call': {
          const data = c.params[0].data ?? c.params[0].input;
          if (data.startsWith(GET_NUMBER_OF_INPUTS)) return r('0x' + inputIndex.toString(16).padStart(64, '0'));
          return r('0x');
        }
        default: return { jsonrpc: '2.0', id: c.id, error: { code: -32601, message: 'unsupported' } };
      }
    };
    send(res, 200, Array.isArray(call) ? call.map(one) : one(call), h);
  }, true);

  const link = await serve(ports.link, async (req, res, h) => {
    const m = /^\/devices(?:\/([0-9a-f]{32}))?(?:\/(proof|pair|history)(?:\/(\d+))?)?$/.exec(req.url);
    if (!m) return send(res, 404, { error: 'not_found', message: 'no such path' }, h);
    const d = m[1] && byId(m[1]);
    if (m[1] && !d) return send(res, 404, { error: 'unknown_device', message: 'no such device' }, h);
    if (!m[1]) return send(res, 200, { devices: devices.map((x) => ({ id: x.id, handle: x.handle, unit: 'a', model: x.model, model_name: MODELS.find((mm) => mm.model === x.model).name, profile: 'commuter', scenario: x.scenario })) }, h);
    if (m[2] === 'proof') {
      const { nonce } = JSON.parse(await body(req));
      const last = d.history.at(-1).reading;
      const reading = { ...last, timestamp: Math.floor(Date.now() / 1000) - 5, odometer_m: last.odometer_m + 1200 };
      d.current = reading;
      const bodyBytes = cat(u8(1), unhex(d.id), unhex(nonce), u64(d.counter), readingBytes(reading));
      const sig = ed25519.sign(signed('possession', bodyBytes), d.seed);
      return send(res, 200, { proof: hex(cat(bodyBytes, sig)), reading, counter: d.counter }, h);
    }
    if (m[2] === 'history' && m[3]) {
      const c = Number(m[3]);
      const r = d.readings.get(c);
      if (!r) return send(res, 404, { error: 'unknown_counter', message: 'no such reading' }, h);
      return send(res, 200, { opening: hex(cat(unhex(d.id), u64(c), r.blinding, readingBytes(r.reading))), reading: r.reading }, h);
    }
    if (m[2] === 'pair') {
      const { owner_public_key } = JSON.parse(await body(req));
      const seq = d.ownerSeq + 1;
      const b = cat(unhex(d.id), unhex(owner_public_key), u64(seq));
      const sig = ed25519.sign(signed('ownership', b), d.seed);
      return send(res, 200, { statement: hex(cat(b, u8(0), sig)), sequence: seq }, h);
    }
    send(res, 200, { id: d.id }, h);
  }, true);

  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };
  const gateway = await serve(ports.gateway, async (req, res) => {
    const cookie = /witness_session=([a-z0-9]+)/.exec(req.headers.cookie ?? '')?.[1];
    const user = cookie && sessions.get(cookie);
    const path = req.url.split('?')[0];
    const need = () => { if (!user) { send(res, 401, { error: 'unauthenticated', message: 'log in first' }); return false; } return true; };
    const receipt = (hash, extra = {}) => ({ envelope_hash: hash, status: 'attested', kind: 'envelope', received_at: Date.now() - 60000, tx_hash: '0x' + hex(sha256(utf8(hash))), input_index: 3, block_number: 40, message_index: 0, ...extra });
    if (path === '/v1/config') return send(res, 200, { node_inspect_url: `${url(ports.node)}/inspect/${APP}`, rpc_url: url(ports.chain), node_rpc_url: `${url(ports.node)}/rpc`, application: APP, chain_id: CHAIN_ID, local_link_url: url(ports.link), backend_public_key: hex(backendPub) });
    if (path === '/v1/auth/signup' || path === '/v1/auth/login') {
      const { username, password } = JSON.parse(await body(req));
      if (path.endsWith('signup')) {
        if (accounts.has(username)) return send(res, 409, { error: 'username_taken', message: 'this user name is taken' });
        accounts.set(username, password);
      } else if (accounts.get(username) !== password) return send(res, 401, { error: 'invalid_credentials', message: 'wrong user name or password' });
      const token = hex(sha256(utf8(username + Math.random())));
      sessions.set(token, { username, id: 1 });
      return send(res, path.endsWith('signup') ? 201 : 200, { account: { id: 1, username, role: 'owner', created_at: Date.now() }, token, expires_at: Date.now() + 3600e3 }, { 'Set-Cookie': `witness_session=${token}; HttpOnly; SameSite=Strict; Path=/` });
    }
    if (path === '/v1/auth/logout') { if (cookie) sessions.delete(cookie); res.writeHead(204, { 'Set-Cookie': 'witness_session=; Max-Age=0; Path=/' }); return res.end(); }
    if (path === '/v1/auth/me') return need() && send(res, 200, { id: 1, username: user.username, role: 'owner', created_at: 0 });
    if (path === '/v1/stats') return send(res, 200, await inspect({ type: 'stats' }));
    if (path === '/v1/system') return need() && send(res, 403, { error: 'forbidden', message: 'system status is for registrars and admins' });
    let m = /^\/v1\/receipts\/([0-9a-f]{64})$/.exec(path);
    if (m) return send(res, 200, receipt(m[1]));
    if (path === '/v1/devices') {
      if (!need()) return;
      return send(res, 200, devices.filter((d) => claims.get(d.id) === user.username).map((d) => ({ device_id: d.id, model: d.model, status: 'active', public_key: hex(d.pub), owner_key: d.owner, owned_by_you: true, registered_at: Date.now() - 86400e3 })));
    }
    m = /^\/v1\/devices\/([0-9a-f]{32})(?:\/(claim|history))?$/.exec(path);
    if (m) {
      if (!need()) return;
      const d = byId(m[1]);
      if (!d) return send(res, 404, { error: 'not_found', message: `device ${m[1]} is not registered here` });
      if (m[2] === 'claim') {
        const { statement } = JSON.parse(await body(req));
        const s = unhex(statement);
        if (!ed25519.verify(s.slice(s.length - 64), signed('ownership', s.slice(0, 56)), d.pub)) return send(res, 422, { error: 'bad_signature', message: 'the device signature does not verify' });
        claims.set(d.id, user.username);
        const hash = hex(sha256(cat(u8(4), s)));
        setTimeout(() => { d.owner = hex(s.slice(16, 48)); d.ownerSeq = Number(Buffer.from(s.slice(48, 56)).readBigUInt64BE()); }, 2500);
        return send(res, 202, { receipt: receipt(hash, { status: 'pending', kind: 'ownership', tx_hash: undefined }) });
      }
      if (claims.get(d.id) !== user.username) return send(res, 403, { error: 'forbidden', message: `device ${d.id} is not yours` });
      if (m[2] === 'history') {
        const q = JSON.parse(await body(req));
        const report = await inspect({ type: 'history', ...q });
        if (report.type === 'error') return send(res, 422, { error: report.error, message: `the backend refused: ${report.detail}` });
        return send(res, 200, report);
      }
      return send(res, 200, { device: { device_id: d.id, model: d.model, status: 'active', public_key: hex(d.pub), owner_key: d.owner, owned_by_you: true, registered_at: 0 }, submission: { accepted: d.counter + 2, pending: 1, submitted: 1, included: 0, attested: d.counter, rejected: 0, last_counter: d.counter + 2, last_received_at: Date.now() - 20000 }, rollup: await inspect({ type: 'device', device_id: d.id }) });
    }
    if (path.startsWith('/v1/')) return send(res, 404, { error: 'not_found', message: 'no such endpoint' });
    const file = join(webDist, path === '/' ? 'index.html' : path);
    if (!file.startsWith(webDist) || !existsSync(file)) { res.writeHead(404); return res.end('not found'); }
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  }, false);

  const honest = devices[0].id;
  const rolledBack = devices[1].id;
  return {
    gatewayUrl: url(ports.gateway),
    honest,
    rolledBack,
    async stop() {
      await Promise.all([node, chain, link, gateway].map((s) => new Promise((r) => { s.closeAllConnections?.(); s.close(() => r()); })));
    },
  };
}
