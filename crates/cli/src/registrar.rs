//! `witness registrar …`: a registrar's signed acts on devices, relayed by a gateway to the
//! rollup: replace a vehicle's unit, rotate a device's key, revoke or reinstate a unit, correct
//! a record, recover a car's ownership (PROTOCOL.md 8.2, 8.4.2). The
//! registrar key is the one of the data directory (`keys.json` of `witness up`); what the
//! rollup decided shows in `witness verify` and the device's receipts.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use witness_protocol::{
    Correction, CorrectionReason, DeviceId, EvidenceType, PublicKey, RegistrarAction,
    RegistrarMessage, VehicleId,
};

use crate::CliResult;
use crate::device::DeviceDir;
use crate::keys::LocalKeys;
use crate::relay::{Account, call, device_id, leaf_of, login};
use crate::system::SystemInfo;

#[derive(Debug, Args)]
pub(crate) struct RegistrarArgs {
    #[command(flatten)]
    target: Relay,
    #[command(subcommand)]
    command: RegistrarCommand,
}

/// Where the act goes and who signs it.
#[derive(Debug, Args)]
struct Relay {
    #[command(flatten)]
    account: Account,
    /// Registrar sequence number; it must grow with every act of this registrar (default:
    /// the time in milliseconds, which does for a person at a keyboard).
    #[arg(long, global = true)]
    sequence: Option<u64>,
}

#[derive(Debug, Subcommand)]
enum RegistrarCommand {
    /// A new unit replaces the vehicle's current one (PROTOCOL.md 8.2.2): the new unit's
    /// directory (from `witness device keys`) joins the old unit's vehicle, and starts from
    /// the odometer the workshop read off the car.
    Replace {
        /// The vehicle's current unit (device id).
        #[arg(long)]
        old_device: String,
        /// The new unit's directory.
        #[arg(long)]
        new_dir: PathBuf,
        /// The car's odometer when the unit was replaced, in km.
        #[arg(long)]
        baseline_km: f64,
    },
    /// The device continues under a new key (a new secure element, a key suspected
    /// compromised): a new key is made in the device's directory, named in the act, and
    /// used once the gateway took the act.
    Rotate {
        /// The device's directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Undo a revocation (a revocation made in error, a stolen car found): the unit's readings
    /// are accepted again and its history continues. Rotate its key as well if the key may
    /// have been copied.
    Reinstate {
        #[arg(long)]
        device: String,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
    },
    /// Start an ownership recovery (PROTOCOL.md 8.4.2): the key given becomes the owner's a
    /// week after the rollup takes the act, unless the current owner objects before (`witness
    /// owner object`). For an owner who lost the key or the car's transfer code, once the
    /// registrar checked the papers.
    Recover {
        #[arg(long)]
        device: String,
        /// The new owner's public key, hex (`witness owner keys`).
        #[arg(long)]
        owner: String,
    },
    /// Retire a unit: its readings are refused from now on.
    Revoke {
        #[arg(long)]
        device: String,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
    },
    /// Correct the record at one counter (PROTOCOL.md 8.2.1): clears the rollback recorded
    /// there, if there is one, gives the reading's right value and/or moves the baseline.
    Correct {
        #[arg(long)]
        device: String,
        /// The counter of the reading (or rollback) corrected.
        #[arg(long)]
        counter: u64,
        /// The reading's right value, in km.
        #[arg(long)]
        odometer_km: Option<f64>,
        /// The new baseline later readings are compared with, in km.
        #[arg(long)]
        baseline_km: Option<f64>,
        #[arg(long, value_enum)]
        reason: ReasonArg,
        #[arg(long, value_enum)]
        evidence: EvidenceArg,
        /// The evidence document: its SHA-256 goes into the correction (the file does not).
        #[arg(long)]
        evidence_file: Option<PathBuf>,
        /// Free text for people (at most 256 bytes).
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReasonArg {
    ClusterReplaced,
    SensorFault,
    DataEntryError,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum EvidenceArg {
    WorkshopRecord,
    InspectionReport,
    DiagnosticLog,
    RegistryRecord,
}

fn metres(km: f64, what: &str) -> Result<u64, String> {
    if km.is_finite() && km >= 0.0 {
        Ok((km * 1000.0).round() as u64)
    } else {
        Err(format!("{what}: {km} is not a distance in km"))
    }
}

pub(crate) async fn run(args: RegistrarArgs) -> CliResult {
    let relay = &args.target;
    let system = SystemInfo::load(&relay.account.data_dir)?;
    let action = match &args.command {
        RegistrarCommand::Replace {
            old_device,
            new_dir,
            baseline_km,
        } => {
            let old_device = device_id(old_device)?;
            let vehicle = vehicle_of(&system, &old_device).await?;
            let new = DeviceDir::open(new_dir)?;
            RegistrarAction::ReplaceUnit {
                vehicle,
                old_device,
                new_device: new.id()?,
                model: new.model(),
                public_key: new.public_key()?,
                baseline_m: metres(*baseline_km, "--baseline-km")?,
            }
        }
        RegistrarCommand::Rotate { dir } => {
            let device = DeviceDir::open(dir)?;
            RegistrarAction::RotateKey {
                device_id: device.id()?,
                new_key: device.new_key()?,
            }
        }
        RegistrarCommand::Recover { device, owner } => RegistrarAction::RecoverOwner {
            device_id: device_id(device)?,
            owner: public_key(owner)?,
        },
        RegistrarCommand::Revoke { device, reason } => RegistrarAction::RevokeDevice {
            device_id: device_id(device)?,
            reason: reason.clone(),
        },
        RegistrarCommand::Reinstate { device, reason } => RegistrarAction::ReinstateDevice {
            device_id: device_id(device)?,
            reason: reason.clone(),
        },
        RegistrarCommand::Correct {
            device,
            counter,
            odometer_km,
            baseline_km,
            reason,
            evidence,
            evidence_file,
            note,
        } => RegistrarAction::Correct(Correction {
            device_id: device_id(device)?,
            counter: *counter,
            odometer_m: odometer_km
                .map(|km| metres(km, "--odometer-km"))
                .transpose()?,
            baseline_m: baseline_km
                .map(|km| metres(km, "--baseline-km"))
                .transpose()?,
            reason: match *reason {
                ReasonArg::ClusterReplaced => CorrectionReason::ClusterReplaced,
                ReasonArg::SensorFault => CorrectionReason::SensorFault,
                ReasonArg::DataEntryError => CorrectionReason::DataEntryError,
            },
            evidence: match *evidence {
                EvidenceArg::WorkshopRecord => EvidenceType::WorkshopRecord,
                EvidenceArg::InspectionReport => EvidenceType::InspectionReport,
                EvidenceArg::DiagnosticLog => EvidenceType::DiagnosticLog,
                EvidenceArg::RegistryRecord => EvidenceType::RegistryRecord,
            },
            evidence_digest: match evidence_file {
                Some(path) => digest_of(path)?,
                None => [0; 32],
            },
            note: note.clone(),
        }),
    };
    let after = action.clone();
    let act = Act {
        data_dir: &relay.account.data_dir,
        gateway: &system.gateway_url,
        user: relay
            .account
            .user
            .as_deref()
            .unwrap_or(&system.registrar_user),
        password: relay.account.password.clone(),
        sequence: relay.sequence,
        domain: system.domain()?,
    };
    let answer = submit(act, action).await?;
    // What the act changes in a device's directory, once the gateway took it.
    match (after, &args.command) {
        (
            RegistrarAction::ReplaceUnit { vehicle, .. },
            RegistrarCommand::Replace { new_dir, .. },
        ) => {
            DeviceDir::open(new_dir)?.join_vehicle(vehicle)?;
        }
        (RegistrarAction::RotateKey { new_key, .. }, RegistrarCommand::Rotate { dir }) => {
            DeviceDir::open(dir)?.use_new_key(new_key)?;
        }
        _ => {}
    }
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}

fn public_key(text: &str) -> Result<PublicKey, String> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text, &mut bytes)
        .ok()
        .and_then(|()| PublicKey::from_bytes(&bytes).ok())
        .ok_or_else(|| format!("--owner: {text:?} is not an Ed25519 public key (64 hex digits)"))
}

fn digest_of(path: &Path) -> Result<[u8; 32], String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Sha256::digest(&bytes).into())
}

/// The vehicle of `device` as the rollup records it (its leaf, from the node: a registrar
/// acting on a wrong vehicle is refused by the rollup, `wrong_vehicle`, so the node's word is
/// enough here).
async fn vehicle_of(system: &SystemInfo, device: &DeviceId) -> Result<VehicleId, String> {
    let leaf = leaf_of(system, device).await?;
    VehicleId::from_hex(&leaf.vehicle).map_err(|_| "the node's vehicle id is not hex".into())
}

/// Who signs an act and where it goes.
pub(crate) struct Act<'a> {
    /// The data directory holding the registrar key.
    pub(crate) data_dir: &'a Path,
    /// The gateway's URL.
    pub(crate) gateway: &'a str,
    /// Registrar account and password on the gateway.
    pub(crate) user: &'a str,
    pub(crate) password: Option<String>,
    /// Registrar sequence (default: the time in milliseconds).
    pub(crate) sequence: Option<u64>,
    /// The deployment the signature is for.
    pub(crate) domain: witness_protocol::Domain,
}

/// Signs `action` with the data directory's registrar key and posts it to the gateway.
pub(crate) async fn submit(act: Act<'_>, action: RegistrarAction) -> Result<Value, String> {
    let local = LocalKeys::load_or_create(act.data_dir)?;
    let sequence = act
        .sequence
        .unwrap_or_else(|| crate::up::unix_now().saturating_mul(1000));
    let message = RegistrarMessage::sign(&local.registrar, &act.domain, sequence, action)
        .map_err(|e| format!("the act does not encode: {e}"))?;
    let gateway = act.gateway;
    let password = act.password.unwrap_or(local.demo_password);
    let token = login(gateway, act.user, &password).await?;
    let encoded = message.encode().map_err(|e| e.to_string())?;
    let request = reqwest::Client::new()
        .post(format!("{gateway}/v1/registrar/messages"))
        .bearer_auth(token)
        .json(&json!({"messages": [hex::encode(encoded)]}));
    call(request)
        .await
        .map_err(|e| format!("the gateway refused the act ({e})"))
}
