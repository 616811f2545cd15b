//! Signed statements other than readings: registrar acts, gateway authorization, ownership
//! statements and releases, objections, possession proofs and owner queries. Every signature covers a distinct
//! tag and the deployment's [`Domain`] (chain, application, backend key), so a statement
//! cannot be replayed as another kind of statement or against another deployment.

use alloc::string::String;
use alloc::vec::Vec;

use crate::codec::{Reader, Writer};
use crate::error::{Error, Result};
use crate::keys::{DeviceId, Domain, ModelId, PublicKey, Signature, SigningKey, VehicleId};
use crate::reading::Reading;

/// Tag of registrar messages.
pub const REGISTRAR_TAG: &[u8] = b"witness/v2/registrar";
/// Tag of the device's signature on an ownership statement.
pub const OWNERSHIP_TAG: &[u8] = b"witness/v2/ownership";
/// Tag of the current owner's release of a device (a transfer code).
pub const OWNERSHIP_RELEASE_TAG: &[u8] = b"witness/v2/ownership-release";
/// Tag of the current owner's objection to a pending ownership recovery.
pub const OBJECTION_TAG: &[u8] = b"witness/v2/objection";
/// How long a registrar-mediated ownership recovery waits for the owner's objection, in
/// seconds of block time (PROTOCOL.md 8.4.2): seven days.
pub const RECOVERY_DELAY_S: u64 = 7 * 86_400;
/// Tag of possession proofs.
pub const POSSESSION_TAG: &[u8] = b"witness/v2/possession";
/// Tag of owner queries.
pub const OWNER_QUERY_TAG: &[u8] = b"witness/v2/owner-query";
/// Longest reason text in a registrar message, in bytes.
pub const MAX_REASON_LEN: usize = 256;
/// Version byte of possession proofs and owner queries.
pub const QUERY_VERSION: u8 = 2;

/// `tag ‖ domain (60) ‖ body`: the bytes every non-envelope signature covers (PROTOCOL.md 8.1).
pub fn signed_bytes(tag: &[u8], domain: &Domain, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(tag.len() + Domain::LEN + body.len());
    message.extend_from_slice(tag);
    message.extend_from_slice(&domain.to_bytes());
    message.extend_from_slice(body);
    message
}

fn read_key(r: &mut Reader<'_>) -> Result<PublicKey> {
    PublicKey::from_bytes(&r.array()?)
}

fn read_signature(r: &mut Reader<'_>) -> Result<Signature> {
    Ok(Signature(r.array()?))
}

fn read_reason(r: &mut Reader<'_>) -> Result<String> {
    let bytes = r.var_bytes(MAX_REASON_LEN)?;
    core::str::from_utf8(bytes)
        .map(String::from)
        .map_err(|_| Error::InvalidText)
}

fn write_reason(w: &mut Writer, reason: &str) -> Result<()> {
    if reason.len() > MAX_REASON_LEN {
        return Err(Error::Oversize);
    }
    w.var_bytes(reason.as_bytes());
    Ok(())
}

/// Why a correction was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CorrectionReason {
    /// 1: the instrument cluster (or the odometer sensor) was replaced, so the readings
    /// after it start from another value.
    ClusterReplaced,
    /// 2: the sensor reported a wrong value that the car never showed.
    SensorFault,
    /// 3: a value was entered or transcribed wrongly.
    DataEntryError,
}

/// What the correction rests on: the kind of document the registrar keeps (its SHA-256 is
/// in the correction, the document itself is not public).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EvidenceType {
    /// 1: a workshop's record of the repair.
    WorkshopRecord,
    /// 2: an inspection station's report.
    InspectionReport,
    /// 3: the manufacturer's diagnostic log of the unit.
    DiagnosticLog,
    /// 4: a registry's record (a vehicle register, an insurer).
    RegistryRecord,
}

macro_rules! code_enum {
    ($ty:ident { $($variant:ident = $byte:literal, $code:literal;)* }) => {
        impl $ty {
            /// The byte on the wire.
            pub const fn byte(self) -> u8 {
                match self { $(Self::$variant => $byte,)* }
            }

            /// The value of a byte on the wire.
            pub fn from_byte(byte: u8) -> Result<Self> {
                match byte { $($byte => Ok(Self::$variant),)* _ => Err(Error::InvalidField) }
            }

            /// Stable name.
            pub const fn code(self) -> &'static str {
                match self { $(Self::$variant => $code,)* }
            }

            /// Every value, in byte order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];
        }
    };
}

code_enum!(CorrectionReason {
    ClusterReplaced = 1, "cluster_replaced";
    SensorFault = 2, "sensor_fault";
    DataEntryError = 3, "data_entry_error";
});

code_enum!(EvidenceType {
    WorkshopRecord = 1, "workshop_record";
    InspectionReport = 2, "inspection_report";
    DiagnosticLog = 3, "diagnostic_log";
    RegistryRecord = 4, "registry_record";
});

/// A registrar's correction of one device's record (op 7, section 8.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// The device.
    pub device_id: DeviceId,
    /// The consumed counter whose reading (or the rollback recorded at it) this corrects.
    pub counter: u64,
    /// The reading's right value, when its value was wrong; the original stays on record.
    pub odometer_m: Option<u64>,
    /// The new baseline later readings are compared with, when the correction moves it
    /// (a replaced cluster starts lower); `None` leaves the baseline where it is.
    pub baseline_m: Option<u64>,
    /// Why.
    pub reason: CorrectionReason,
    /// On what.
    pub evidence: EvidenceType,
    /// SHA-256 of the evidence document (zero when there is none to name).
    pub evidence_digest: [u8; 32],
    /// Free text for people, at most [`MAX_REASON_LEN`] bytes.
    pub note: String,
}

fn put_opt(w: &mut Writer, value: Option<u64>) {
    w.u8(u8::from(value.is_some())).u64(value.unwrap_or(0));
}

/// `present u8 | value u64`, an absent value all zeros (one encoding each).
fn read_opt(r: &mut Reader<'_>) -> Result<Option<u64>> {
    let present = r.bool()?;
    match (present, r.u64()?) {
        (true, value) => Ok(Some(value)),
        (false, 0) => Ok(None),
        (false, _) => Err(Error::InvalidField),
    }
}

impl Correction {
    /// `device_id 16 | counter u64 | has_odometer u8 | odometer u64 | has_baseline u8 |
    /// baseline u64 | reason u8 | evidence u8 | evidence_digest 32 | note text(256)`.
    pub(crate) fn encode(&self, w: &mut Writer) -> Result<()> {
        w.bytes(&self.device_id.0).u64(self.counter);
        put_opt(w, self.odometer_m);
        put_opt(w, self.baseline_m);
        w.u8(self.reason.byte())
            .u8(self.evidence.byte())
            .bytes(&self.evidence_digest);
        write_reason(w, &self.note)
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            device_id: DeviceId(r.array()?),
            counter: r.u64()?,
            odometer_m: read_opt(r)?,
            baseline_m: read_opt(r)?,
            reason: CorrectionReason::from_byte(r.u8()?)?,
            evidence: EvidenceType::from_byte(r.u8()?)?,
            evidence_digest: r.array()?,
            note: read_reason(r)?,
        })
    }
}

/// What a registrar (manufacturer, fleet operator) may say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrarAction {
    /// Op 8: a new unit with its model and public key, the unit of `vehicle`, which must have
    /// none yet. Op 1 (the draft's registration, without a vehicle) is retired and refused.
    RegisterDevice {
        device_id: DeviceId,
        model: ModelId,
        public_key: PublicKey,
        vehicle: VehicleId,
    },
    /// Op 9: `new_device` (a new unit: its own key and counter space) replaces `old_device`
    /// as the unit of `vehicle` (PROTOCOL.md 8.2.2). The old unit takes no more readings; the
    /// new one starts from `baseline_m`, which may not be below the old unit's record.
    ReplaceUnit {
        vehicle: VehicleId,
        old_device: DeviceId,
        new_device: DeviceId,
        model: ModelId,
        public_key: PublicKey,
        baseline_m: u64,
    },
    /// Op 2: the device is retired; its readings are refused from now on.
    RevokeDevice { device_id: DeviceId, reason: String },
    /// Op 11: a revoked device is active again (a revocation made in error, a stolen car
    /// found); its history and counter continue. A key suspected compromised is rotated as
    /// well (op 3).
    ReinstateDevice { device_id: DeviceId, reason: String },
    /// Op 3: the device continues its history under a new key.
    RotateKey {
        device_id: DeviceId,
        new_key: PublicKey,
    },
    /// Op 7: a correction of the record at `counter` (section 8.2.1). It names what it
    /// corrects, says why and on what evidence, keeps the original on record, clears only
    /// the rollback at `counter` (if that reading is one), and moves the baseline only when
    /// it says so. Op 4 (the version 2 draft's correction, which cleared every flag) is
    /// retired and refused.
    Correct(Correction),
    /// Op 10: the owner lost their key; after an identity check the registrar starts a
    /// recovery to `owner`, which takes effect [`RECOVERY_DELAY_S`] later unless the current
    /// owner objects (PROTOCOL.md 8.4.2).
    RecoverOwner {
        device_id: DeviceId,
        owner: PublicKey,
    },
    /// Op 5: trust another registrar.
    AddRegistrar { key: PublicKey },
    /// Op 6: stop trusting a registrar.
    RemoveRegistrar { key: PublicKey },
}

impl RegistrarAction {
    /// The op byte.
    pub fn op(&self) -> u8 {
        match self {
            Self::RegisterDevice { .. } => 8,
            Self::ReplaceUnit { .. } => 9,
            Self::RevokeDevice { .. } => 2,
            Self::ReinstateDevice { .. } => 11,
            Self::RotateKey { .. } => 3,
            Self::RecoverOwner { .. } => 10,
            Self::AddRegistrar { .. } => 5,
            Self::RemoveRegistrar { .. } => 6,
            Self::Correct(_) => 7,
        }
    }

    /// The device the action concerns, if any.
    pub fn device_id(&self) -> Option<DeviceId> {
        match self {
            Self::RegisterDevice { device_id, .. }
            | Self::RevokeDevice { device_id, .. }
            | Self::ReinstateDevice { device_id, .. }
            | Self::RotateKey { device_id, .. }
            | Self::RecoverOwner { device_id, .. }
            | Self::Correct(Correction { device_id, .. }) => Some(*device_id),
            // The new unit: the act registers it.
            Self::ReplaceUnit { new_device, .. } => Some(*new_device),
            Self::AddRegistrar { .. } | Self::RemoveRegistrar { .. } => None,
        }
    }

    /// Every device the act touches: [`Self::device_id`] and, for a replacement, the old
    /// unit.
    pub fn devices(&self) -> impl Iterator<Item = DeviceId> {
        let old = match self {
            Self::ReplaceUnit { old_device, .. } => Some(*old_device),
            _ => None,
        };
        self.device_id().into_iter().chain(old)
    }

    fn encode(&self, w: &mut Writer) -> Result<()> {
        w.u8(self.op());
        match self {
            Self::RegisterDevice {
                device_id,
                model,
                public_key,
                vehicle,
            } => {
                w.bytes(&device_id.0)
                    .u32(model.0)
                    .bytes(&public_key.to_bytes())
                    .bytes(&vehicle.0);
            }
            Self::ReplaceUnit {
                vehicle,
                old_device,
                new_device,
                model,
                public_key,
                baseline_m,
            } => {
                w.bytes(&vehicle.0)
                    .bytes(&old_device.0)
                    .bytes(&new_device.0)
                    .u32(model.0)
                    .bytes(&public_key.to_bytes())
                    .u64(*baseline_m);
            }
            Self::RevokeDevice { device_id, reason }
            | Self::ReinstateDevice { device_id, reason } => {
                w.bytes(&device_id.0);
                write_reason(w, reason)?;
            }
            Self::RotateKey {
                device_id,
                new_key: key,
            }
            | Self::RecoverOwner {
                device_id,
                owner: key,
            } => {
                w.bytes(&device_id.0).bytes(&key.to_bytes());
            }
            Self::Correct(correction) => correction.encode(w)?,
            Self::AddRegistrar { key } | Self::RemoveRegistrar { key } => {
                w.bytes(&key.to_bytes());
            }
        }
        Ok(())
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(match r.u8()? {
            8 => Self::RegisterDevice {
                device_id: DeviceId(r.array()?),
                model: ModelId(r.u32()?),
                public_key: read_key(r)?,
                vehicle: VehicleId(r.array()?),
            },
            9 => Self::ReplaceUnit {
                vehicle: VehicleId(r.array()?),
                old_device: DeviceId(r.array()?),
                new_device: DeviceId(r.array()?),
                model: ModelId(r.u32()?),
                public_key: read_key(r)?,
                baseline_m: r.u64()?,
            },
            2 => Self::RevokeDevice {
                device_id: DeviceId(r.array()?),
                reason: read_reason(r)?,
            },
            11 => Self::ReinstateDevice {
                device_id: DeviceId(r.array()?),
                reason: read_reason(r)?,
            },
            3 => Self::RotateKey {
                device_id: DeviceId(r.array()?),
                new_key: read_key(r)?,
            },
            10 => Self::RecoverOwner {
                device_id: DeviceId(r.array()?),
                owner: read_key(r)?,
            },
            5 => Self::AddRegistrar { key: read_key(r)? },
            6 => Self::RemoveRegistrar { key: read_key(r)? },
            7 => Self::Correct(Correction::decode(r)?),
            _ => return Err(Error::UnknownKind),
        })
    }
}

/// A registrar's signed act. `sequence` strictly increases per registrar, so a relayed
/// message cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarMessage {
    /// The signing registrar.
    pub registrar: PublicKey,
    /// Per-registrar sequence number.
    pub sequence: u64,
    /// What is said.
    pub action: RegistrarAction,
    /// Signature over [`Self::signed_message`].
    pub signature: Signature,
}

impl RegistrarMessage {
    /// Signs `action` as registrar `key`.
    pub fn sign(
        key: &SigningKey,
        domain: &Domain,
        sequence: u64,
        action: RegistrarAction,
    ) -> Result<Self> {
        let mut message = Self {
            registrar: key.public_key(),
            sequence,
            action,
            signature: Signature([0; 64]),
        };
        message.signature = key.sign(&message.signed_message(domain)?);
        Ok(message)
    }

    fn body(&self) -> Result<Vec<u8>> {
        let mut w = Writer::with_capacity(128);
        w.bytes(&self.registrar.to_bytes()).u64(self.sequence);
        self.action.encode(&mut w)?;
        Ok(w.finish())
    }

    /// Exactly the signed bytes: `REGISTRAR_TAG ‖ domain ‖ body`.
    pub fn signed_message(&self, domain: &Domain) -> Result<Vec<u8>> {
        Ok(signed_bytes(REGISTRAR_TAG, domain, &self.body()?))
    }

    /// Checks the signature under the embedded registrar key (whether that registrar is
    /// trusted is the backend's decision).
    pub fn verify(&self, domain: &Domain) -> Result<()> {
        self.registrar
            .verify(&self.signed_message(domain)?, &self.signature)
    }

    /// `registrar 32 | sequence u64 | op u8 | op fields | signature 64`.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut bytes = self.body()?;
        bytes.extend_from_slice(&self.signature.0);
        Ok(bytes)
    }

    /// Reads one message from the front of `r`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            registrar: read_key(r)?,
            sequence: r.u64()?,
            action: RegistrarAction::decode(r)?,
            signature: read_signature(r)?,
        })
    }
}

/// The application admin (on-chain `msg_sender`) authorizes or deauthorizes a gateway
/// account to submit readings. Not signed: the chain authenticated the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayAuthorization {
    /// The gateway's Ethereum address.
    pub gateway: [u8; 20],
    /// Whether it may submit readings from now on.
    pub authorized: bool,
}

impl GatewayAuthorization {
    /// `gateway 20 | authorized u8 (0 or 1)`.
    pub fn encode(&self, w: &mut Writer) {
        w.bytes(&self.gateway).u8(u8::from(self.authorized));
    }

    /// Reads one authorization from the front of `r`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            gateway: r.array()?,
            authorized: r.bool()?,
        })
    }
}

/// The current owner's release of a device to whoever holds it next (PROTOCOL.md 8.4.1): a
/// one-time transfer code, bound to the owner's binding it ends, valid until `expires_at`.
/// It names no buyer: the buyer's key comes from the device, which signs it only after a
/// physical confirmation, so a release alone takes no car and a car alone takes no release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// Expiry, seconds since the Unix epoch, compared with the input's block time.
    pub expires_at: u32,
    /// The current owner's signature over [`Release::signed_message`].
    pub signature: Signature,
}

impl Release {
    /// `OWNERSHIP_RELEASE_TAG ‖ domain ‖ device_id 16 ‖ released_sequence u64 ‖ expires_at
    /// u32`, where `released_sequence` is the ownership sequence of the binding the release
    /// ends (the leaf's, 0 if none).
    pub fn signed_message(
        domain: &Domain,
        device_id: DeviceId,
        released_sequence: u64,
        expires_at: u32,
    ) -> Vec<u8> {
        let mut body = [0u8; 28];
        body[..16].copy_from_slice(&device_id.0);
        body[16..24].copy_from_slice(&released_sequence.to_be_bytes());
        body[24..].copy_from_slice(&expires_at.to_be_bytes());
        signed_bytes(OWNERSHIP_RELEASE_TAG, domain, &body)
    }

    /// The owner releases the device's binding `released_sequence` until `expires_at`.
    pub fn sign(
        owner_key: &SigningKey,
        domain: &Domain,
        device_id: DeviceId,
        released_sequence: u64,
        expires_at: u32,
    ) -> Self {
        let message = Self::signed_message(domain, device_id, released_sequence, expires_at);
        Self {
            expires_at,
            signature: owner_key.sign(&message),
        }
    }

    /// Checks the release under the current owner's key.
    pub fn verify(
        &self,
        owner: &PublicKey,
        domain: &Domain,
        device_id: DeviceId,
        released_sequence: u64,
    ) -> Result<()> {
        let message = Self::signed_message(domain, device_id, released_sequence, self.expires_at);
        owner.verify(&message, &self.signature)
    }

    /// `expires_at u32 | signature 64`.
    pub const LEN: usize = 68;

    /// `expires_at u32 | signature 64`: the transfer code's bytes.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut bytes = [0u8; Self::LEN];
        bytes[..4].copy_from_slice(&self.expires_at.to_be_bytes());
        bytes[4..].copy_from_slice(&self.signature.0);
        bytes
    }

    /// Reads a release from the front of `r`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            expires_at: r.u32()?,
            signature: read_signature(r)?,
        })
    }

    /// Decodes exactly one release (a transfer code's bytes).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let release = Self::read(&mut r)?;
        r.finish()?;
        Ok(release)
    }
}

/// What a seller hands the buyer (PROTOCOL.md 8.4.1): the device and the release, as text
/// `witness-transfer-1.` followed by the hex of `device_id 16 ‖ expires_at u32 ‖ release 64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferCode {
    /// The device released.
    pub device_id: DeviceId,
    /// The owner's release.
    pub release: Release,
}

impl TransferCode {
    /// The text form's prefix.
    pub const PREFIX: &'static str = "witness-transfer-1.";

    /// `witness-transfer-1.<hex>`.
    pub fn to_text(&self) -> String {
        let mut bytes = Vec::with_capacity(16 + Release::LEN);
        bytes.extend_from_slice(&self.device_id.0);
        bytes.extend_from_slice(&self.release.to_bytes());
        let mut text = String::from(Self::PREFIX);
        text.push_str(&hex::encode(bytes));
        text
    }

    /// Parses the text form (surrounding whitespace ignored).
    pub fn from_text(text: &str) -> Result<Self> {
        let hex = text
            .trim()
            .strip_prefix(Self::PREFIX)
            .ok_or(Error::UnsupportedVersion)?;
        let bytes = hex::decode(hex).map_err(|_| Error::InvalidField)?;
        let mut r = Reader::new(&bytes);
        let device_id = DeviceId(r.array()?);
        let release = Release::read(&mut r)?;
        r.finish()?;
        Ok(Self { device_id, release })
    }
}

/// On what an ownership statement binds its owner (PROTOCOL.md 8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// 0: the device's first owner; refused while it has one (`release_required`).
    FirstPairing,
    /// 1: the current owner released the device ([`Release`]).
    Release(Release),
}

/// The device binds an owner key. The device signs only after a physical confirmation (a
/// button press on the unit, PROTOCOL.md 8.4); a device that has an owner passes to another
/// only with that owner's [`Release`] or by a registrar's recovery (8.4.2). `sequence`
/// strictly increases per device, so an old statement cannot be replayed to take the device
/// back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnershipStatement {
    /// The device.
    pub device_id: DeviceId,
    /// The new owner's Ed25519 key.
    pub owner: PublicKey,
    /// Per-device ownership sequence number.
    pub sequence: u64,
    /// Why the owner may change.
    pub consent: Consent,
    /// The device's signature.
    pub device_signature: Signature,
}

impl OwnershipStatement {
    fn body(device_id: DeviceId, owner: &PublicKey, sequence: u64) -> [u8; 56] {
        let mut body = [0u8; 56];
        body[..16].copy_from_slice(&device_id.0);
        body[16..48].copy_from_slice(&owner.to_bytes());
        body[48..].copy_from_slice(&sequence.to_be_bytes());
        body
    }

    /// The device signs a statement binding `owner`.
    pub fn sign(
        device_key: &SigningKey,
        domain: &Domain,
        device_id: DeviceId,
        owner: PublicKey,
        sequence: u64,
        consent: Consent,
    ) -> Self {
        let body = Self::body(device_id, &owner, sequence);
        let device_signature = device_key.sign(&signed_bytes(OWNERSHIP_TAG, domain, &body));
        Self {
            device_id,
            owner,
            sequence,
            consent,
            device_signature,
        }
    }

    /// Bytes the device signs: `OWNERSHIP_TAG ‖ domain ‖ device_id ‖ owner ‖ sequence`.
    pub fn signed_message(&self, domain: &Domain) -> Vec<u8> {
        signed_bytes(
            OWNERSHIP_TAG,
            domain,
            &Self::body(self.device_id, &self.owner, self.sequence),
        )
    }

    /// Checks the device's signature.
    pub fn verify_device(&self, device_key: &PublicKey, domain: &Domain) -> Result<()> {
        device_key.verify(&self.signed_message(domain), &self.device_signature)
    }

    /// `device_id 16 | owner 32 | sequence u64 | consent u8 | [expires_at u32 | release 64
    /// when consent is 1] | device signature 64`.
    pub fn encode(&self, w: &mut Writer) {
        w.bytes(&Self::body(self.device_id, &self.owner, self.sequence));
        match &self.consent {
            Consent::FirstPairing => w.u8(0),
            Consent::Release(release) => w.u8(1).bytes(&release.to_bytes()),
        };
        w.bytes(&self.device_signature.0);
    }

    /// Reads one statement from the front of `r`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let device_id = DeviceId(r.array()?);
        let owner = read_key(r)?;
        let sequence = r.u64()?;
        let consent = match r.u8()? {
            0 => Consent::FirstPairing,
            1 => Consent::Release(Release::read(r)?),
            _ => return Err(Error::InvalidField),
        };
        Ok(Self {
            device_id,
            owner,
            sequence,
            consent,
            device_signature: read_signature(r)?,
        })
    }
}

/// The current owner objects to a pending ownership recovery (PROTOCOL.md 8.4.2): it names
/// the recovery by the time it would take effect, so it cannot be replayed against a later
/// one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerObjection {
    /// The device.
    pub device_id: DeviceId,
    /// The current owner's key.
    pub owner: PublicKey,
    /// When the recovery objected to would take effect.
    pub effective_at: u64,
    /// The owner's signature.
    pub signature: Signature,
}

impl OwnerObjection {
    fn body(&self) -> [u8; 56] {
        let mut body = [0u8; 56];
        body[..16].copy_from_slice(&self.device_id.0);
        body[16..48].copy_from_slice(&self.owner.to_bytes());
        body[48..].copy_from_slice(&self.effective_at.to_be_bytes());
        body
    }

    /// The owner objects to the recovery that would take effect at `effective_at`.
    pub fn sign(
        owner_key: &SigningKey,
        domain: &Domain,
        device_id: DeviceId,
        effective_at: u64,
    ) -> Self {
        let mut objection = Self {
            device_id,
            owner: owner_key.public_key(),
            effective_at,
            signature: Signature([0; 64]),
        };
        objection.signature = owner_key.sign(&objection.signed_message(domain));
        objection
    }

    /// `OBJECTION_TAG ‖ domain ‖ device_id ‖ owner ‖ effective_at`.
    pub fn signed_message(&self, domain: &Domain) -> Vec<u8> {
        signed_bytes(OBJECTION_TAG, domain, &self.body())
    }

    /// Checks the signature under the embedded owner key (whether that key owns the device
    /// is the backend's decision).
    pub fn verify(&self, domain: &Domain) -> Result<()> {
        self.owner
            .verify(&self.signed_message(domain), &self.signature)
    }

    /// `device_id 16 | owner 32 | effective_at u64 | signature 64`: 120 bytes.
    pub fn encode(&self, w: &mut Writer) {
        w.bytes(&self.body()).bytes(&self.signature.0);
    }

    /// Reads one objection from the front of `r`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            device_id: DeviceId(r.array()?),
            owner: read_key(r)?,
            effective_at: r.u64()?,
            signature: read_signature(r)?,
        })
    }
}

/// The device's answer to a verifier: its current reading and counter signed together with
/// the verifier's fresh nonce, so a recorded answer cannot be passed off as a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PossessionProof {
    /// The device.
    pub device_id: DeviceId,
    /// The verifier's fresh random nonce.
    pub nonce: [u8; 32],
    /// The device's latest counter.
    pub counter: u64,
    /// The reading the device shows now.
    pub reading: Reading,
    /// The device's signature.
    pub signature: Signature,
}

impl PossessionProof {
    fn body(&self) -> Result<Vec<u8>> {
        let mut w = Writer::with_capacity(96);
        w.u8(QUERY_VERSION)
            .bytes(&self.device_id.0)
            .bytes(&self.nonce)
            .u64(self.counter);
        self.reading.encode_standalone(&mut w)?;
        Ok(w.finish())
    }

    /// The device answers `nonce`.
    pub fn sign(
        device_key: &SigningKey,
        domain: &Domain,
        device_id: DeviceId,
        nonce: [u8; 32],
        counter: u64,
        reading: Reading,
    ) -> Result<Self> {
        let mut proof = Self {
            device_id,
            nonce,
            counter,
            reading,
            signature: Signature([0; 64]),
        };
        proof.signature = device_key.sign(&proof.signed_message(domain)?);
        Ok(proof)
    }

    /// `POSSESSION_TAG ‖ domain ‖ body`.
    pub fn signed_message(&self, domain: &Domain) -> Result<Vec<u8>> {
        Ok(signed_bytes(POSSESSION_TAG, domain, &self.body()?))
    }

    /// Checks the device's signature.
    pub fn verify(&self, device_key: &PublicKey, domain: &Domain) -> Result<()> {
        device_key.verify(&self.signed_message(domain)?, &self.signature)
    }

    /// `version u8 | device_id 16 | nonce 32 | counter u64 | standalone reading | sig 64`.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut bytes = self.body()?;
        bytes.extend_from_slice(&self.signature.0);
        Ok(bytes)
    }

    /// Reads one proof from the front of `r`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        if r.u8()? != QUERY_VERSION {
            return Err(Error::UnsupportedVersion);
        }
        Ok(Self {
            device_id: DeviceId(r.array()?),
            nonce: r.array()?,
            counter: r.u64()?,
            reading: Reading::decode_standalone(r)?,
            signature: read_signature(r)?,
        })
    }

    /// Decodes exactly one proof.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let proof = Self::read(&mut r)?;
        r.finish()?;
        Ok(proof)
    }
}

/// The owner's request to see a device's readings, valid until `expires_at`. The backend
/// seals its answer to `response_key` (X25519), so whoever relays the query learns nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerQuery {
    /// The device.
    pub device_id: DeviceId,
    /// The owner key bound to the device.
    pub owner: PublicKey,
    /// X25519 key the answer is sealed to.
    pub response_key: [u8; 32],
    /// Expiry, seconds since the Unix epoch, compared with the latest block time.
    pub expires_at: u32,
    /// The owner's signature.
    pub signature: Signature,
}

impl OwnerQuery {
    fn body(&self) -> [u8; 86] {
        let mut body = [0u8; 86];
        body[0] = QUERY_VERSION;
        body[1..17].copy_from_slice(&self.device_id.0);
        body[17..49].copy_from_slice(&self.owner.to_bytes());
        body[49..81].copy_from_slice(&self.response_key);
        body[81..85].copy_from_slice(&self.expires_at.to_be_bytes());
        // Reserved flags byte, zero in version 2.
        body
    }

    /// The owner signs a query.
    pub fn sign(
        owner_key: &SigningKey,
        domain: &Domain,
        device_id: DeviceId,
        response_key: [u8; 32],
        expires_at: u32,
    ) -> Self {
        let mut query = Self {
            device_id,
            owner: owner_key.public_key(),
            response_key,
            expires_at,
            signature: Signature([0; 64]),
        };
        query.signature = owner_key.sign(&query.signed_message(domain));
        query
    }

    /// `OWNER_QUERY_TAG ‖ domain ‖ body`.
    pub fn signed_message(&self, domain: &Domain) -> Vec<u8> {
        signed_bytes(OWNER_QUERY_TAG, domain, &self.body())
    }

    /// Checks the owner's signature under the embedded owner key (whether that key is bound
    /// to the device is the backend's decision).
    pub fn verify(&self, domain: &Domain) -> Result<()> {
        self.owner
            .verify(&self.signed_message(domain), &self.signature)
    }

    /// `version u8 | device_id 16 | owner 32 | response_key 32 | expires_at u32 | flags u8 (0) |
    /// signature 64`.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = self.body().to_vec();
        bytes.extend_from_slice(&self.signature.0);
        bytes
    }

    /// Reads one query from the front of `r`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        if r.u8()? != QUERY_VERSION {
            return Err(Error::UnsupportedVersion);
        }
        let query = Self {
            device_id: DeviceId(r.array()?),
            owner: read_key(r)?,
            response_key: r.array()?,
            expires_at: r.u32()?,
            signature: Signature([0; 64]),
        };
        if r.u8()? != 0 {
            return Err(Error::InvalidField);
        }
        Ok(Self {
            signature: read_signature(r)?,
            ..query
        })
    }

    /// Decodes exactly one query.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let query = Self::read(&mut r)?;
        r.finish()?;
        Ok(query)
    }
}
