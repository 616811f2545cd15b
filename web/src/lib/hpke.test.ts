import { describe, expect, it } from 'vitest';
import { CipherSuite, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { fromHex, toHex, utf8 } from './hex';
import { RESPONSE_INFO, deriveKeyPair, generateKeyPair, openSealed, seal } from './hpke';
import { decodeOwnerQuery } from './protocol';
import rust from '../test/sealed-response-vector.json';
import { vector } from '../test/vectors';

const suite = () => new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });
const buf = (b: Uint8Array) => b.slice().buffer as ArrayBuffer;

describe('sealed responses (PROTOCOL.md 8.7)', () => {
  it('DeriveKeyPair("owner response key") is the response key of the owner_query vector', () => {
    const pair = deriveKeyPair(utf8('owner response key'));
    const q = decodeOwnerQuery(fromHex(vector('owner_query').message ?? ''));
    expect(toHex(pair.publicKey)).toBe(toHex(q.responseKey));
    expect(toHex(pair.publicKey)).toBe(rust.response_public_key);
  });

  it('opens an answer sealed by the Rust implementation (witness_protocol::seal_response)', () => {
    const pair = deriveKeyPair(utf8('owner response key'));
    const opened = openSealed(pair, fromHex(rust.sealed), fromHex(rust.aad));
    expect(toHex(opened)).toBe(rust.plaintext);
    const body = JSON.parse(new TextDecoder().decode(opened)) as { entries: { reading: { odometer_m: number } }[] };
    expect(body.entries[0]?.reading.odometer_m).toBe(88000000);
  });

  it('refuses a wrong AAD, a wrong key, an altered byte, a truncated answer', () => {
    const pair = deriveKeyPair(utf8('owner response key'));
    const sealed = fromHex(rust.sealed);
    const aad = fromHex(rust.aad);
    const otherAad = aad.slice();
    otherAad[0] = (otherAad[0] ?? 0) ^ 1;
    expect(() => openSealed(pair, sealed, otherAad)).toThrow(/does not open/);
    expect(() => openSealed(generateKeyPair(), sealed, aad)).toThrow(/does not open/);
    const altered = sealed.slice();
    altered[40] = (altered[40] ?? 0) ^ 1;
    expect(() => openSealed(pair, altered, aad)).toThrow(/does not open/);
    expect(() => openSealed(pair, sealed.slice(0, 40), aad)).toThrow(/truncated/);
  });

  it('interoperates with @hpke/core in both directions', async () => {
    const s = suite();
    const recipient = generateKeyPair();
    const aad = utf8('aad bytes');
    const pt = utf8('{"hello":"world"}');
    // @hpke/core seals, we open.
    const pkR = await s.kem.deserializePublicKey(buf(recipient.publicKey));
    const sender = await s.createSenderContext({ recipientPublicKey: pkR, info: buf(RESPONSE_INFO) });
    const ct = new Uint8Array(await sender.seal(buf(pt), buf(aad)));
    const sealed = new Uint8Array([...new Uint8Array(sender.enc), ...ct]);
    expect(toHex(openSealed(recipient, sealed, aad))).toBe(toHex(pt));
    // We seal, @hpke/core opens.
    const mine = seal(recipient.publicKey, pt, aad);
    const skR = await s.kem.deserializePrivateKey(buf(recipient.secretKey));
    const receiver = await s.createRecipientContext({ recipientKey: skR, enc: buf(mine.slice(0, 32)), info: buf(RESPONSE_INFO) });
    expect(toHex(new Uint8Array(await receiver.open(buf(mine.slice(32)), buf(aad))))).toBe(toHex(pt));
  });

  it('derives the same key pair as @hpke/core', async () => {
    const ikm = utf8('owner response key');
    const theirs = await suite().kem.deriveKeyPair(buf(ikm));
    const pub = new Uint8Array(await suite().kem.serializePublicKey(theirs.publicKey));
    expect(toHex(pub)).toBe(toHex(deriveKeyPair(ikm).publicKey));
  });
});
