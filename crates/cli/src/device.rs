//! `witness device …`: one hand-driven device against any gateway: make its keys, have the
//! registrar enrol it, seal and send readings. State lives in a directory: `key` (the
//! Ed25519 seed, mode 0600) and `device.json` (id, model, next counter, reserved before use).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use witness_protocol::{
    DeviceId, Envelope, FaultCode, ModelId, Reading, RegistrarAction, SigningKey, VehicleId,
    VehicleIdentity,
};

use crate::CliResult;
use crate::keys::{new_key_file, random_bytes, read_key_file};
use crate::system::SystemInfo;

#[derive(Debug, Args)]
pub(crate) struct DeviceArgs {
    #[command(subcommand)]
    command: DeviceCommand,
}

#[derive(Debug, Args)]
struct Target {
    /// The device's directory.
    #[arg(long)]
    dir: PathBuf,
    /// The data directory of `witness up` (gateway URL, backend key, registrar key).
    #[arg(long, default_value = ".witness")]
    data_dir: PathBuf,
    /// Gateway URL (default: the one in the data directory).
    #[arg(long)]
    gateway: Option<String>,
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// Create a device: a new key and id.
    Keys {
        #[arg(long)]
        dir: PathBuf,
        /// Model id (see the backend's catalogue).
        #[arg(long, default_value_t = 1)]
        model: u32,
        /// The vehicle's VIN (17 characters of ISO 3779); default: a made-up one.
        #[arg(long)]
        vin: Option<String>,
    },
    /// The registrar signs the device's enrolment; the gateway relays it to the rollup.
    Register {
        #[command(flatten)]
        target: Target,
        /// Registrar account on the gateway.
        #[arg(long, default_value = "registrar")]
        user: String,
        /// Its password (default: the demo password of `witness up`).
        #[arg(long)]
        password: Option<String>,
        /// Registrar sequence number; it must grow with every act of this registrar (default:
        /// the time in milliseconds, as for `witness registrar`).
        #[arg(long)]
        sequence: Option<u64>,
    },
    /// Seal one reading and send it to the gateway.
    Send {
        #[command(flatten)]
        target: Target,
        /// Odometer in km.
        #[arg(long)]
        odometer_km: f64,
        /// Fuel used since the last reading, in litres.
        #[arg(long, default_value_t = 0.0)]
        fuel_l: f64,
        /// Engine running time in hours.
        #[arg(long, default_value_t = 0.0)]
        engine_h: f64,
        /// Active fault codes, e.g. --fault P0301.
        #[arg(long = "fault")]
        faults: Vec<String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct DeviceFile {
    id: String,
    model: u32,
    public_key: String,
    next_counter: u64,
    /// The vehicle this unit belongs to (its VIN commitment, PROTOCOL.md 4).
    vehicle: String,
    /// The vehicle's VIN and the commitment's salt, when this unit was made for it: the
    /// owner's to give a buyer, never public. A replacement unit joins a vehicle by its
    /// commitment only.
    vin: Option<String>,
    vehicle_salt: Option<String>,
}

/// A hand-driven device's directory, as other commands use it.
pub(crate) struct DeviceDir {
    dir: PathBuf,
    file: DeviceFile,
}

impl DeviceDir {
    pub(crate) fn open(dir: &Path) -> Result<Self, String> {
        let (file, _) = load(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            file,
        })
    }

    pub(crate) fn id(&self) -> Result<DeviceId, String> {
        DeviceId::from_hex(&self.file.id).map_err(|_| "device.json: id is not 32 hex digits".into())
    }

    pub(crate) fn model(&self) -> ModelId {
        ModelId(self.file.model)
    }

    pub(crate) fn public_key(&self) -> Result<witness_protocol::PublicKey, String> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(&self.file.public_key, &mut key)
            .map_err(|_| "device.json: public_key is not 32 bytes of hex")?;
        witness_protocol::PublicKey::from_bytes(&key).map_err(|e| e.to_string())
    }

    fn vehicle(&self) -> Result<VehicleId, String> {
        VehicleId::from_hex(&self.file.vehicle)
            .map_err(|_| "device.json: vehicle is not 64 hex digits".into())
    }

    /// A new key for the device, kept beside the current one until [`Self::use_new_key`]:
    /// `key.new` (mode 0600). Its public key is what a rotation names.
    pub(crate) fn new_key(&self) -> Result<witness_protocol::PublicKey, String> {
        let path = self.dir.join("key.new");
        // A key.new left by a rotation that did not go through is replaced.
        let _ = std::fs::remove_file(&path);
        Ok(new_key_file(&path)?.public_key())
    }

    /// The rotation went through: the new key signs from now on, the old one is kept as
    /// `key.old`.
    pub(crate) fn use_new_key(mut self, key: witness_protocol::PublicKey) -> Result<(), String> {
        let io = |e: std::io::Error| e.to_string();
        let _ = std::fs::remove_file(self.dir.join("key.old"));
        std::fs::rename(self.dir.join("key"), self.dir.join("key.old")).map_err(io)?;
        std::fs::rename(self.dir.join("key.new"), self.dir.join("key")).map_err(io)?;
        self.file.public_key = hex::encode(key.to_bytes());
        save(&self.dir, &self.file)
    }

    /// The unit now belongs to `vehicle` (it replaced the vehicle's unit).
    pub(crate) fn join_vehicle(mut self, vehicle: VehicleId) -> Result<(), String> {
        self.file.vehicle = vehicle.to_hex();
        self.file.vin = None;
        self.file.vehicle_salt = None;
        save(&self.dir, &self.file)
    }
}

fn load(dir: &Path) -> Result<(DeviceFile, SigningKey), String> {
    let text = std::fs::read_to_string(dir.join("device.json"))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let file: DeviceFile = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok((file, read_key_file(&dir.join("key"))?))
}

fn save(dir: &Path, file: &DeviceFile) -> Result<(), String> {
    let temporary = dir.join("device.json.tmp");
    let text = serde_json::to_string_pretty(file).map_err(|e| e.to_string())?;
    std::fs::write(&temporary, text).map_err(|e| e.to_string())?;
    std::fs::File::open(&temporary)
        .and_then(|f| f.sync_all())
        .map_err(|e| e.to_string())?;
    std::fs::rename(&temporary, dir.join("device.json")).map_err(|e| e.to_string())
}

fn gateway_url(target: &Target, system: Option<&SystemInfo>) -> Result<String, String> {
    target
        .gateway
        .clone()
        .or_else(|| system.map(|s| s.gateway_url.clone()))
        .ok_or_else(|| "no --gateway and no system.json in the data directory".into())
}

pub(crate) async fn run(args: DeviceArgs) -> CliResult {
    match args.command {
        DeviceCommand::Keys { dir, model, vin } => keys(&dir, model, vin),
        DeviceCommand::Register {
            target,
            user,
            password,
            sequence,
        } => register(&target, &user, password, sequence).await,
        DeviceCommand::Send {
            target,
            odometer_km,
            fuel_l,
            engine_h,
            faults,
        } => send(&target, odometer_km, fuel_l, engine_h, &faults).await,
    }
}

fn keys(dir: &Path, model: u32, vin: Option<String>) -> CliResult {
    if dir.join("device.json").exists() {
        return Err(format!("{} already holds a device", dir.display()).into());
    }
    let mut id = [0u8; 16];
    let salt = random_bytes()?;
    getrandom::fill(&mut id).map_err(|e| e.to_string())?;
    let vin = vin.unwrap_or_else(|| VehicleIdentity::simulated(&id).vin);
    let vehicle = VehicleIdentity { vin, salt };
    vehicle.id().map_err(|_| {
        format!(
            "{:?} is not a VIN: 17 of 0-9 and A-Z without I, O, Q",
            vehicle.vin
        )
    })?;
    std::fs::create_dir_all(dir)?;
    let key = new_key_file(&dir.join("key"))?;
    let file = DeviceFile {
        id: hex::encode(id),
        model,
        public_key: hex::encode(key.public_key().to_bytes()),
        next_counter: 1,
        vehicle: vehicle.id()?.to_hex(),
        vin: Some(vehicle.vin.clone()),
        vehicle_salt: Some(hex::encode(vehicle.salt)),
    };
    save(dir, &file)?;
    println!(
        "device      {}\nmodel       {model}\npublic key  {}",
        file.id, file.public_key
    );
    Ok(())
}

async fn register(
    target: &Target,
    user: &str,
    password: Option<String>,
    sequence: Option<u64>,
) -> CliResult {
    let device = DeviceDir::open(&target.dir)?;
    let system = SystemInfo::load(&target.data_dir).ok();
    let gateway = gateway_url(target, system.as_ref())?;
    let domain = system
        .as_ref()
        .ok_or("registering needs the deployment `witness up` describes in system.json")?
        .domain()?;
    let action = RegistrarAction::RegisterDevice {
        device_id: device.id()?,
        model: device.model(),
        public_key: device.public_key()?,
        vehicle: device.vehicle()?,
    };
    let act = crate::registrar::Act {
        data_dir: &target.data_dir,
        gateway: &gateway,
        user,
        password,
        sequence,
        domain,
    };
    let answer = crate::registrar::submit(act, action).await?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}

async fn send(
    target: &Target,
    odometer_km: f64,
    fuel_l: f64,
    engine_h: f64,
    faults: &[String],
) -> CliResult {
    let (mut file, key) = load(&target.dir)?;
    let system = SystemInfo::load(&target.data_dir)?;
    let gateway = gateway_url(target, Some(&system))?;
    let domain = system.domain()?;
    let reading = Reading {
        timestamp: u32::try_from(crate::up::unix_now()).unwrap_or(u32::MAX),
        odometer_m: (odometer_km * 1000.0).round() as u64,
        fuel_ml: (fuel_l * 1000.0).round() as u32,
        engine_s: (engine_h * 3600.0).round() as u32,
        faults: faults
            .iter()
            .map(|f| FaultCode::parse(f))
            .collect::<Result<_, _>>()?,
    };
    // The counter is reserved on disk before it is used, so it is never reused.
    let counter = file.next_counter;
    file.next_counter += 1;
    save(&target.dir, &file)?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| e.to_string())?;
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::from_seed(seed);
    let sealed = Envelope::seal(
        &key,
        &domain,
        DeviceId::from_hex(&file.id)?,
        counter,
        &[reading],
        &mut rng,
    )?;
    let response = reqwest::Client::new()
        .post(format!("{gateway}/v1/readings"))
        .header("content-type", "application/octet-stream")
        .body(sealed.envelope.as_bytes().to_vec())
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        println!(
            "counter {counter}: {status}\n{}",
            serde_json::to_string_pretty(&answer)?
        );
        Ok(())
    } else {
        Err(
            format!("the gateway refused the reading of counter {counter} ({status}): {answer}")
                .into(),
        )
    }
}
