//! Answers sealed to a requester's one-time X25519 key (HPKE base mode, suite 1), so that
//! whoever relays an inspect answer (the gateway, a proxy) cannot read it.

use alloc::vec::Vec;

use hpke::{OpModeS, Serializable as _};
use rand_core::CryptoRng;

use crate::envelope::ENC_LEN;
use crate::error::{Error, Result};
use crate::keys::{BackendPublicKey, BackendSecretKey, Kem};

/// HPKE `info` for sealed answers.
pub const RESPONSE_HPKE_INFO: &[u8] = b"witness/v1/response";

type Aead = hpke::aead::ChaCha20Poly1305;
type Kdf = hpke::kdf::HkdfSha256;

/// Seals `plaintext` to `recipient` with `aad` (the query's signature): `enc 32 | ciphertext`.
pub fn seal_response(
    recipient: &BackendPublicKey,
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut impl CryptoRng,
) -> Result<Vec<u8>> {
    let (enc, mut ctx) = hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(
        &OpModeS::Base,
        recipient.inner(),
        RESPONSE_HPKE_INFO,
        rng,
    )
    .map_err(|_| Error::EncryptionFailed)?;
    let ciphertext = ctx
        .seal(plaintext, aad)
        .map_err(|_| Error::EncryptionFailed)?;
    let mut out = enc.to_bytes().to_vec();
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Opens an answer sealed with [`seal_response`].
pub fn open_response(recipient: &BackendSecretKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    if sealed.len() < ENC_LEN {
        return Err(Error::Truncated);
    }
    let (enc, ciphertext) = sealed.split_at(ENC_LEN);
    let mut plaintext = recipient
        .receiver(enc, RESPONSE_HPKE_INFO)?
        .open_first(aad, ciphertext)
        .map_err(|_| Error::DecryptionFailed)?;
    Ok(core::mem::take(&mut *plaintext))
}
