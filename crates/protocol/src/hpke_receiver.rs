//! RFC 9180 Base-mode receiver for the one suite envelopes use: DHKEM(X25519, HKDF-SHA256),
//! HKDF-SHA256, ChaCha20-Poly1305; the first message (sequence number 0) and the exporter.
//!
//! Why not `hpke::setup_receiver`: it derives the recipient's public key from the secret on
//! every call, an X25519 base-point multiplication that was 16 % of the backend's instructions
//! per reading, and cannot be handed the key the backend already holds. Opening envelopes and
//! owner answers ([`crate::open_response`]) uses this receiver; sealing both still uses the
//! `hpke` crate. The tests check this receiver against the RFC 9180 test vector (A.2.1) and
//! against `hpke` on random keys and messages.

use alloc::vec::Vec;

use chacha20poly1305::{AeadInOut as _, ChaCha20Poly1305, KeyInit as _};
use curve25519_dalek::montgomery::MontgomeryPoint;
use hkdf::{Hkdf, HkdfExtract};
use sha2::Sha256;
use zeroize::Zeroizing;

/// `"KEM" ‖ I2OSP(0x0020, 2)`: DHKEM(X25519, HKDF-SHA256).
const KEM_SUITE_ID: &[u8] = b"KEM\x00\x20";
/// `"HPKE" ‖ kem_id ‖ kdf_id (HKDF-SHA256 = 1) ‖ aead_id (ChaCha20Poly1305 = 3)`.
const HPKE_SUITE_ID: &[u8] = b"HPKE\x00\x20\x00\x01\x00\x03";
const MODE_BASE: u8 = 0;
const TAG_LEN: usize = 16;

/// Any failure: low-order `enc`, or a ciphertext that does not authenticate. Callers map it to
/// their own error; which of the two happened is not worth telling an attacker.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OpenError;

/// The receiver's context after `SetupBaseR`, able to open message 0 and to export.
pub(crate) struct Receiver {
    key: Zeroizing<[u8; 32]>,
    base_nonce: [u8; 12],
    exporter_secret: Zeroizing<[u8; 32]>,
}

/// `LabeledExtract(salt, label, ikm)` of RFC 9180 section 4: the PRK, and the PRK ready to
/// expand.
fn labeled_extract(
    suite_id: &[u8],
    salt: &[u8],
    label: &[u8],
    ikm: &[u8],
) -> ([u8; 32], Hkdf<Sha256>) {
    let mut extract = HkdfExtract::<Sha256>::new(Some(salt));
    for part in [b"HPKE-v1".as_slice(), suite_id, label, ikm] {
        extract.input_ikm(part);
    }
    let (prk, expander) = extract.finalize();
    (prk.into(), expander)
}

/// `LabeledExpand(prk, label, info, L)`.
fn labeled_expand(
    prk: &Hkdf<Sha256>,
    suite_id: &[u8],
    label: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), OpenError> {
    let length = u16::try_from(out.len())
        .map_err(|_| OpenError)?
        .to_be_bytes();
    prk.expand_multi_info(&[&length, b"HPKE-v1", suite_id, label, info], out)
        .map_err(|_| OpenError)
}

impl Receiver {
    /// `SetupBaseR(enc, skR, info)`, given the recipient's public key `pk_r` rather than
    /// deriving it. `secret` is the clamped X25519 scalar; `pk_r` must be its public key.
    pub(crate) fn setup_base(
        secret: &[u8; 32],
        pk_r: &[u8; 32],
        enc: &[u8; 32],
        info: &[u8],
    ) -> Result<Self, OpenError> {
        // Decap: dh = DH(skR, pkE); the all-zero output (a low-order pkE) must be refused.
        let dh = Zeroizing::new(MontgomeryPoint(*enc).mul_clamped(*secret).to_bytes());
        if dh.iter().fold(0u8, |acc, byte| acc | byte) == 0 {
            return Err(OpenError);
        }
        let (_, eae_prk) = labeled_extract(KEM_SUITE_ID, b"", b"eae_prk", dh.as_ref());
        let mut kem_context = [0u8; 64];
        kem_context[..32].copy_from_slice(enc);
        kem_context[32..].copy_from_slice(pk_r);
        let mut shared_secret = Zeroizing::new([0u8; 32]);
        labeled_expand(
            &eae_prk,
            KEM_SUITE_ID,
            b"shared_secret",
            &kem_context,
            shared_secret.as_mut(),
        )?;

        // KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "").
        let (psk_id_hash, _) = labeled_extract(HPKE_SUITE_ID, b"", b"psk_id_hash", b"");
        let (info_hash, _) = labeled_extract(HPKE_SUITE_ID, b"", b"info_hash", info);
        let mut context = [0u8; 65];
        context[0] = MODE_BASE;
        context[1..33].copy_from_slice(&psk_id_hash);
        context[33..].copy_from_slice(&info_hash);
        let (_, secret) = labeled_extract(HPKE_SUITE_ID, shared_secret.as_ref(), b"secret", b"");
        let mut key = Zeroizing::new([0u8; 32]);
        let mut base_nonce = [0u8; 12];
        let mut exporter_secret = Zeroizing::new([0u8; 32]);
        labeled_expand(&secret, HPKE_SUITE_ID, b"key", &context, key.as_mut())?;
        labeled_expand(
            &secret,
            HPKE_SUITE_ID,
            b"base_nonce",
            &context,
            &mut base_nonce,
        )?;
        labeled_expand(
            &secret,
            HPKE_SUITE_ID,
            b"exp",
            &context,
            exporter_secret.as_mut(),
        )?;
        Ok(Self {
            key,
            base_nonce,
            exporter_secret,
        })
    }

    /// `Open(aad, ct)` for sequence number 0, whose nonce is the base nonce itself.
    pub(crate) fn open_first(
        &self,
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let body_len = ciphertext.len().checked_sub(TAG_LEN).ok_or(OpenError)?;
        let (body, tag) = ciphertext.split_at(body_len);
        let mut plaintext = Zeroizing::new(body.to_vec());
        let tag = chacha20poly1305::Tag::try_from(tag).map_err(|_| OpenError)?;
        ChaCha20Poly1305::new((&*self.key).into())
            .decrypt_inout_detached(
                &self.base_nonce.into(),
                aad,
                plaintext.as_mut_slice().into(),
                &tag,
            )
            .map_err(|_| OpenError)?;
        Ok(plaintext)
    }

    /// `Export(exporter_context, L)`.
    pub(crate) fn export(&self, exporter_context: &[u8], out: &mut [u8]) -> Result<(), OpenError> {
        let prk = Hkdf::<Sha256>::from_prk(self.exporter_secret.as_ref()).map_err(|_| OpenError)?;
        labeled_expand(&prk, HPKE_SUITE_ID, b"sec", exporter_context, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng as _;

    type Kem = hpke::kem::X25519HkdfSha256;
    type Kdf = hpke::kdf::HkdfSha256;
    type Aead = hpke::aead::ChaCha20Poly1305;

    fn bytes<const N: usize>(text: &str) -> [u8; N] {
        hex::decode(text).expect("hex").try_into().expect("length")
    }

    /// RFC 9180 appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, Base.
    #[test]
    fn rfc9180_a_2_1() {
        let sk_r: [u8; 32] =
            bytes("8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb");
        let pk_r = bytes("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a");
        let enc = bytes("1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a");
        let info = hex::decode("4f6465206f6e2061204772656369616e2055726e").expect("hex");
        let receiver = Receiver::setup_base(&sk_r, &pk_r, &enc, &info).expect("setup");
        assert_eq!(
            *receiver.key,
            bytes::<32>("ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91")
        );
        assert_eq!(receiver.base_nonce, bytes::<12>("5c4d98150661b848853b547f"));
        assert_eq!(
            *receiver.exporter_secret,
            bytes::<32>("a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922")
        );
        let ciphertext = hex::decode(
            "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28",
        )
        .expect("hex");
        let plaintext = receiver.open_first(b"Count-0", &ciphertext).expect("opens");
        assert_eq!(plaintext.as_slice(), b"Beauty is truth, truth beauty");
        for (context, expected) in [
            (
                &b""[..],
                "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e",
            ),
            (
                &[0u8][..],
                "8c1df14732580e5501b00f82b10a1647b40713191b7c1240ac80e2b68808ba69",
            ),
        ] {
            let mut out = [0u8; 32];
            receiver.export(context, &mut out).expect("export");
            assert_eq!(out, bytes::<32>(expected));
        }
        assert_eq!(
            receiver.open_first(b"Count-1", &ciphertext),
            Err(OpenError),
            "wrong aad"
        );
    }

    #[test]
    fn low_order_enc_is_refused() {
        let secret = [7u8; 32];
        let public = MontgomeryPoint::mul_base_clamped(secret).to_bytes();
        // 0 and 1 are points of small order: DH with them is all zeros.
        for enc in [[0u8; 32], {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }] {
            assert!(Receiver::setup_base(&secret, &public, &enc, b"info").is_err());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever `hpke` seals, this receiver opens to the same plaintext and exports the same
        /// secrets; a flipped bit anywhere in enc or ciphertext is refused by both.
        #[test]
        fn agrees_with_the_hpke_crate(
            seed in any::<u64>(),
            info in proptest::collection::vec(any::<u8>(), 0..40),
            aad in proptest::collection::vec(any::<u8>(), 0..40),
            message in proptest::collection::vec(any::<u8>(), 0..300),
            context in proptest::collection::vec(any::<u8>(), 0..40),
            flip in any::<usize>(),
        ) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let mut ikm = [0u8; 32];
            rand_core::Rng::fill_bytes(&mut rng, &mut ikm);
            let (sk, pk) = <Kem as hpke::Kem>::derive_keypair(&ikm);
            let (enc, mut sender) = hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(
                &OpModeS::Base, &pk, &info, &mut rng,
            ).expect("setup sender");
            let ciphertext = sender.seal(&message, &aad).expect("seal");
            let mut expected = [0u8; 48];
            sender.export(&context, &mut expected).expect("export");

            let secret: [u8; 32] = sk.to_bytes().into();
            let public: [u8; 32] = pk.to_bytes().into();
            let enc_bytes: [u8; 32] = enc.to_bytes().into();
            let receiver = Receiver::setup_base(&secret, &public, &enc_bytes, &info).expect("setup");
            let opened = receiver.open_first(&aad, &ciphertext).expect("open");
            prop_assert_eq!(opened.as_slice(), &message[..]);
            let mut exported = [0u8; 48];
            receiver.export(&context, &mut exported).expect("export");
            prop_assert_eq!(exported, expected);

            let mut tampered = [enc_bytes.as_slice(), &ciphertext].concat();
            let bit = flip % (tampered.len() * 8);
            tampered[bit / 8] ^= 1 << (bit % 8);
            let (bad_enc, bad_ciphertext) = tampered.split_at(32);
            let bad_enc: [u8; 32] = bad_enc.try_into().expect("32");
            let ours = Receiver::setup_base(&secret, &public, &bad_enc, &info)
                .and_then(|r| r.open_first(&aad, bad_ciphertext));
            prop_assert!(ours.is_err());
            let theirs = <Kem as hpke::Kem>::EncappedKey::from_bytes(&bad_enc)
                .ok()
                .and_then(|e| hpke::setup_receiver::<Aead, Kdf, Kem>(&OpModeR::Base, &sk, &e, &info).ok())
                .and_then(|mut ctx| ctx.open(bad_ciphertext, &aad).ok());
            prop_assert!(theirs.is_none());
        }
    }
}
