//! The fleet: creating and loading devices, registering them, and driving them all against
//! the gateway over simulated time.
//!
//! Layout of the fleet directory:
//! ```text
//! fleet.json                  seed, backend key, start time, buffer settings, device order
//! devices/<id>/               one directory per device (see `device.rs`)
//! devices/<id>/clone/         the second box of a `clone` scenario, once it exists
//! ```

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use witness_protocol::codec::strip_hex_prefix;
use witness_protocol::{
    BackendPublicKey, DeviceId, Domain, RegistrarAction, RegistrarMessage, SigningKey,
    VehicleIdentity,
};

use crate::clock::{SimClock, unix_now};
use crate::device::{BufferSettings, Device, DeviceEvent, DeviceFile, DeviceStats, Unit};
use crate::error::{Error, Result};
use crate::json;
use crate::random::{Dice, derive, os_seed};
use crate::sim::{Profile, VehicleParams, VehicleState, draw_model};
use crate::store;
use crate::tamper::{Scenario, TamperAssignment};
use crate::transport::{GatewayClient, MAX_ENVELOPES_PER_POST, RetryPolicy};

/// Version of `fleet.json`.
const FLEET_FILE_VERSION: u32 = 2;
/// First counter of every device (0 is "none yet" in [`Device::counter`]).
const FIRST_COUNTER: u64 = 1;

/// What to create.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    /// Number of cars.
    pub count: usize,
    /// Makes everything reproducible (ids, keys, cars, trips); `None` draws keys and ids
    /// from the operating system.
    pub seed: Option<u64>,
    /// The deployment the devices sign for (chain, application) and seal to (backend key).
    pub domain: Domain,
    /// Tamper scenarios, by device index.
    pub tampers: Vec<TamperAssignment>,
    /// Simulated time at which the devices are installed (default: now).
    pub start_time: Option<u64>,
    /// Profiles by device index, cycled; empty: drawn (45% commuter, 15% taxi, 25% weekend,
    /// 15% delivery van).
    pub profiles: Vec<Profile>,
    /// Buffering and batching.
    pub buffer: BufferSettings,
    /// Whether devices lose coverage now and then (5-15% of days, 30 minutes to 30 hours).
    pub coverage_gaps: bool,
}

impl FleetSpec {
    /// `count` cars of the deployment `domain`, everything else default.
    pub fn new(count: usize, domain: Domain) -> Self {
        Self {
            count,
            seed: None,
            domain,
            tampers: Vec::new(),
            start_time: None,
            profiles: Vec::new(),
            buffer: BufferSettings::default(),
            coverage_gaps: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FleetFile {
    version: u32,
    seed: Option<u64>,
    #[serde(with = "json::hex_bytes")]
    backend_public_key: [u8; 32],
    chain_id: u64,
    #[serde(with = "json::hex_bytes")]
    application: [u8; 20],
    start_time: u64,
    buffer: BufferSettings,
    created_at: u64,
    devices: Vec<String>,
}

/// One unit as listed by [`Fleet::devices`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    /// The device id.
    pub id: DeviceId,
    /// The local link's name for the unit.
    pub handle: String,
    /// Original or clone.
    pub unit: Unit,
    /// Model id.
    pub model: u32,
    /// Model name.
    pub model_name: &'static str,
    /// Driving profile.
    pub profile: Profile,
    /// Tamper scenario (simulation ground truth).
    pub scenario: Option<Scenario>,
}

/// Totals over all units, reported after every step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Progress {
    /// Simulated time reached.
    pub sim_time: u64,
    /// Steps taken in this run.
    pub steps: u64,
    /// Units (originals and clones).
    pub units: usize,
    /// Units in coverage at `sim_time`.
    pub online: usize,
    /// Readings waiting in buffers.
    pub buffered: usize,
    /// Sum of every unit's statistics.
    pub totals: DeviceStats,
}

/// How to run the fleet.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The gateway (`http://127.0.0.1:8080`).
    pub gateway_url: String,
    /// Simulated time.
    pub clock: SimClock,
    /// Stop when the clock reaches this simulated time (`None`: until stopped).
    pub until: Option<u64>,
    /// Real time between steps.
    pub tick: Duration,
    /// Retries of each post.
    pub retry: RetryPolicy,
    /// Units posting at once.
    pub concurrency: usize,
}

impl RunOptions {
    /// Runs until stopped, one step a second.
    pub fn new(gateway_url: impl Into<String>, clock: SimClock) -> Self {
        Self {
            gateway_url: gateway_url.into(),
            clock,
            until: None,
            tick: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            concurrency: 16,
        }
    }

    /// Stops after `simulated` time has passed on the clock from now.
    pub fn run_for(mut self, simulated: Duration) -> Self {
        self.until = Some(self.clock.now().saturating_add(simulated.as_secs()));
        self
    }
}

type Shared = Arc<Mutex<Device>>;

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    file: FleetFile,
    domain: Domain,
    units: RwLock<Vec<Shared>>,
    clock: Mutex<SimClock>,
}

/// A fleet of simulated devices. Cheap to clone (shared); safe to use from the runner and the
/// local link at once.
#[derive(Debug, Clone)]
pub struct Fleet {
    inner: Arc<Inner>,
}

fn lock(unit: &Shared) -> MutexGuard<'_, Device> {
    unit.lock().unwrap_or_else(PoisonError::into_inner)
}

fn device_dir(dir: &Path, id: &str) -> PathBuf {
    dir.join("devices").join(id)
}

impl Fleet {
    /// Creates a fleet in `dir` (which must not hold one).
    pub fn create(dir: impl AsRef<Path>, spec: FleetSpec) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let fleet_path = dir.join("fleet.json");
        if fleet_path.exists() {
            return Err(Error::AlreadyExists(dir));
        }
        if spec.count == 0 {
            return Err(Error::invalid("fleet spec", "count must be at least 1"));
        }
        for t in &spec.tampers {
            if t.device >= spec.count {
                return Err(Error::invalid(
                    "fleet spec",
                    format!(
                        "tamper for device {} of a fleet of {}",
                        t.device, spec.count
                    ),
                ));
            }
        }
        store::create_private_dir(&dir.join("devices"))?;
        let master = match spec.seed {
            Some(seed) => derive("fleet", &[&seed.to_be_bytes()]),
            None => os_seed()?,
        };
        let start = spec.start_time.unwrap_or_else(unix_now);
        let mut units = Vec::with_capacity(spec.count);
        let mut ids = Vec::with_capacity(spec.count);
        for index in 0..spec.count {
            let device_seed = derive("device", &[&master, &(index as u64).to_be_bytes()]);
            let mut id = [0u8; 16];
            id.copy_from_slice(&derive("id", &[&device_seed])[..16]);
            let key = SigningKey::from_seed(&derive("key", &[&device_seed]));
            let sim_seed = derive("sim", &[&device_seed]);
            let mut dice = Dice::new(derive("traits", &[&sim_seed]));
            let profile = match spec.profiles.get(index % spec.profiles.len().max(1)) {
                Some(profile) => *profile,
                None => draw_profile(&mut dice),
            };
            let model_id = draw_model(profile, &mut dice);
            let model = crate::catalogue::model(model_id)
                .ok_or_else(|| Error::invalid("model", format!("unknown model {}", model_id.0)))?;
            let mut params = VehicleParams::draw(profile, model, &mut dice);
            if !spec.coverage_gaps {
                params.offline_per_day = 0.0;
            }
            let odometer = VehicleParams::initial_odometer_m(profile, &mut dice);
            let tamper = spec
                .tampers
                .iter()
                .rev()
                .find(|t| t.device == index)
                .map(|t| t.plan);
            let file = DeviceFile {
                version: 1,
                id,
                index,
                unit: Unit::Original,
                model: model_id.0,
                profile,
                registered_key: key.public_key().to_bytes(),
                sim_seed,
                params,
                tamper,
                buffer: spec.buffer,
                deterministic: spec.seed.is_some(),
                created_at: start,
                swapped: false,
            };
            let vehicle = VehicleState::for_profile(profile, odometer, start);
            let id_hex = hex::encode(id);
            let device = Device::create(
                device_dir(&dir, &id_hex),
                file,
                &key,
                Device::new_state(vehicle, start),
                FIRST_COUNTER,
                spec.domain.clone(),
            )?;
            ids.push(id_hex);
            units.push(Arc::new(Mutex::new(device)));
        }
        let file = FleetFile {
            version: FLEET_FILE_VERSION,
            seed: spec.seed,
            backend_public_key: spec.domain.backend_key.to_bytes(),
            chain_id: spec.domain.chain_id,
            application: spec.domain.application,
            start_time: start,
            buffer: spec.buffer,
            created_at: unix_now(),
            devices: ids,
        };
        store::write_json(&fleet_path, &file)?;
        Ok(Self::from_parts(dir, file, spec.domain, units))
    }

    /// Loads the fleet in `dir`, with its clones.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let fleet_path = dir.join("fleet.json");
        let file: FleetFile = store::read_json(&fleet_path)?;
        if file.version != FLEET_FILE_VERSION {
            return Err(Error::corrupt(
                &fleet_path,
                format!(
                    "unsupported version {} (version 2 binds the chain and application \
                     into every signature: create the fleet again)",
                    file.version
                ),
            ));
        }
        let domain = Domain {
            chain_id: file.chain_id,
            application: file.application,
            backend_key: BackendPublicKey::from_bytes(&file.backend_public_key)
                .map_err(|e| Error::corrupt(&fleet_path, e))?,
        };
        let mut units = Vec::new();
        let mut clones = Vec::new();
        for id in &file.devices {
            let path = device_dir(&dir, id);
            units.push(Arc::new(Mutex::new(Device::load(
                path.clone(),
                domain.clone(),
            )?)));
            let clone_dir = path.join("clone");
            if clone_dir.join("device.json").exists() {
                clones.push(Arc::new(Mutex::new(Device::load(
                    clone_dir,
                    domain.clone(),
                )?)));
            }
        }
        units.extend(clones);
        Ok(Self::from_parts(dir, file, domain, units))
    }

    fn from_parts(dir: PathBuf, file: FleetFile, domain: Domain, units: Vec<Shared>) -> Self {
        Self {
            inner: Arc::new(Inner {
                dir,
                file,
                domain,
                units: RwLock::new(units),
                clock: Mutex::new(SimClock::real_time()),
            }),
        }
    }

    fn units(&self) -> Vec<Shared> {
        self.inner
            .units
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The fleet directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The seed, if the fleet is reproducible.
    pub fn seed(&self) -> Option<u64> {
        self.inner.file.seed
    }

    /// When the devices were installed (simulated time).
    pub fn start_time(&self) -> u64 {
        self.inner.file.start_time
    }

    /// The deployment the devices sign for and seal to.
    pub fn domain(&self) -> &Domain {
        &self.inner.domain
    }

    /// The ids of the enrolled devices, in fleet order.
    pub fn device_ids(&self) -> Vec<DeviceId> {
        self.units()
            .iter()
            .map(|u| lock(u))
            .filter(|d| d.unit() == Unit::Original)
            .map(|d| d.id())
            .collect()
    }

    /// Every unit (originals in fleet order, then clones).
    pub fn devices(&self) -> Vec<DeviceSummary> {
        self.units()
            .iter()
            .map(|u| {
                let d = lock(u);
                DeviceSummary {
                    id: d.id(),
                    handle: d.handle(),
                    unit: d.unit(),
                    model: d.model().id.0,
                    model_name: d.model().name,
                    profile: d.profile(),
                    scenario: d.tamper().map(|t| t.scenario),
                }
            })
            .collect()
    }

    fn find(&self, handle: &str) -> Result<Shared> {
        let wanted = strip_hex_prefix(handle.trim()).to_ascii_lowercase();
        self.units()
            .into_iter()
            .find(|u| lock(u).handle() == wanted)
            .ok_or_else(|| Error::UnknownDevice(handle.to_string()))
    }

    /// Runs `f` on the unit named `handle` (device id in hex, `<id>-clone` for a clone).
    pub fn with_device<R>(&self, handle: &str, f: impl FnOnce(&mut Device) -> R) -> Result<R> {
        let unit = self.find(handle)?;
        let mut device = lock(&unit);
        Ok(f(&mut device))
    }

    /// Forces a unit out of coverage, or lets it back.
    pub fn set_online(&self, handle: &str, online: bool) -> Result<()> {
        self.with_device(handle, |d| d.set_forced_offline(!online))
    }

    /// The clock of the current run (the wall clock when not running).
    pub fn clock(&self) -> SimClock {
        *self
            .inner
            .clock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the clock the local link stamps current readings with.
    pub fn set_clock(&self, clock: SimClock) {
        *self
            .inner
            .clock
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = clock;
    }

    /// One `RegisterDevice` message per enrolled device (with its registered key, even if a
    /// swap replaced it since), with sequences from `start_sequence`.
    pub fn registration_messages(
        &self,
        registrar_key: &SigningKey,
        domain: &Domain,
        start_sequence: u64,
    ) -> Result<Vec<RegistrarMessage>> {
        let mut out = Vec::new();
        for unit in self.units() {
            let (id, model, key) = {
                let d = lock(&unit);
                if d.unit() != Unit::Original {
                    continue;
                }
                (d.id(), d.model().id, d.registered_key()?)
            };
            let sequence = start_sequence + out.len() as u64;
            out.push(RegistrarMessage::sign(
                registrar_key,
                domain,
                sequence,
                RegistrarAction::RegisterDevice {
                    device_id: id,
                    model,
                    public_key: key,
                    // The simulated car's VIN and salt are drawn from its first unit's id.
                    vehicle: VehicleIdentity::simulated(&id.0).id()?,
                },
            )?);
        }
        Ok(out)
    }

    /// Totals at `sim_time`.
    pub fn progress(&self, sim_time: u64) -> Progress {
        let mut p = Progress {
            sim_time,
            ..Progress::default()
        };
        for unit in self.units() {
            let d = lock(&unit);
            p.units += 1;
            p.online += usize::from(d.is_online(sim_time));
            p.buffered += d.buffered();
            add_stats(&mut p.totals, d.stats());
        }
        p
    }

    /// Advances every unit to `now`, seals what it has and delivers it through `gateway`
    /// (with the attackers' extra traffic). Deterministic given the sequence of `now`s and
    /// the gateway's answers.
    pub async fn step(&self, gateway: &GatewayClient, now: u64) -> Result<Progress> {
        self.step_with(gateway, now, 16).await
    }

    async fn step_with(
        &self,
        gateway: &GatewayClient,
        now: u64,
        concurrency: usize,
    ) -> Result<Progress> {
        let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for unit in self.units() {
            let gateway = gateway.clone();
            let permits = Arc::clone(&permits);
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                step_unit(&unit, &gateway, now)
                    .await
                    .map(|events| (unit, events))
            });
        }
        let mut first_error = None;
        let mut spawned = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok((unit, events))) => {
                    for event in events {
                        let DeviceEvent::SpawnClone(snapshot) = event;
                        let device = lock(&unit);
                        if device.dir().join("clone").join("device.json").exists() {
                            continue;
                        }
                        match device.create_clone(snapshot, now) {
                            Ok(clone) => spawned.push(Arc::new(Mutex::new(clone))),
                            Err(e) => {
                                first_error.get_or_insert(e);
                            }
                        }
                    }
                }
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(Error::invalid("device task", e));
                }
            }
        }
        if !spawned.is_empty() {
            self.inner
                .units
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(spawned);
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(self.progress(now)),
        }
    }

    /// Runs the fleet: steps every `options.tick` of real time to the clock's simulated time,
    /// until `options.until` or until `stop` completes; calls `progress` after each step.
    pub async fn run(
        &self,
        options: RunOptions,
        stop: impl Future<Output = ()>,
        mut progress: impl FnMut(&Progress),
    ) -> Result<Progress> {
        self.set_clock(options.clock);
        let gateway = GatewayClient::new(&options.gateway_url, options.retry)?;
        let mut stop = std::pin::pin!(stop);
        let mut steps = 0;
        loop {
            let mut now = options.clock.now();
            let last = options.until.is_some_and(|until| now >= until);
            if let Some(until) = options.until {
                now = now.min(until);
            }
            let mut report = self.step_with(&gateway, now, options.concurrency).await?;
            steps += 1;
            report.steps = steps;
            progress(&report);
            if last {
                return Ok(report);
            }
            tokio::select! {
                () = &mut stop => return Ok(report),
                () = tokio::time::sleep(options.tick) => {}
            }
        }
    }
}

fn draw_profile(dice: &mut Dice) -> Profile {
    let x = dice.unit();
    if x < 0.45 {
        Profile::Commuter
    } else if x < 0.60 {
        Profile::Taxi
    } else if x < 0.85 {
        Profile::Weekend
    } else {
        Profile::DeliveryVan
    }
}

fn add_stats(total: &mut DeviceStats, s: &DeviceStats) {
    total.readings_produced += s.readings_produced;
    total.envelopes_sealed += s.envelopes_sealed;
    total.envelopes_accepted += s.envelopes_accepted;
    total.readings_accepted += s.readings_accepted;
    total.replay_drops += s.replay_drops;
    total.rejected_drops += s.rejected_drops;
    total.buffer_drops += s.buffer_drops;
    total.deferred += s.deferred;
    total.attack_envelopes += s.attack_envelopes;
    total.attack_refused += s.attack_refused;
    total.attack_accepted += s.attack_accepted;
}

/// Runs `f` on the unit on the blocking pool: device work writes and syncs files, which must
/// not stall the runtime's workers (and many units can sync at once).
async fn blocking<T: Send + 'static>(
    unit: &Shared,
    f: impl FnOnce(&mut Device) -> Result<T> + Send + 'static,
) -> Result<T> {
    let unit = Arc::clone(unit);
    tokio::task::spawn_blocking(move || f(&mut lock(&unit)))
        .await
        .map_err(|e| Error::Task(e.to_string()))?
}

/// Advances one unit, then (when it has coverage) delivers its outbox and new envelopes
/// until nothing is left or the gateway defers, then posts the attacker's extra traffic.
async fn step_unit(unit: &Shared, gateway: &GatewayClient, now: u64) -> Result<Vec<DeviceEvent>> {
    let (events, online) = blocking(unit, move |device| {
        let events = device.advance(now)?;
        let online = device.is_online(now);
        if !online {
            device.flush()?;
        }
        Ok((events, online))
    })
    .await?;
    if !online {
        return Ok(events);
    }
    loop {
        let batch = blocking(unit, move |device| {
            if device.outbox_len() == 0 {
                device.seal_pending(MAX_ENVELOPES_PER_POST, now)?;
            }
            device.flush()?;
            let mut outbox = device.outbox()?;
            outbox.truncate(MAX_ENVELOPES_PER_POST);
            Ok(outbox)
        })
        .await?;
        if batch.is_empty() {
            break;
        }
        let deliveries = gateway.deliver(&batch).await;
        let deferred = blocking(unit, move |device| {
            device.apply_deliveries(&batch, &deliveries)
        })
        .await?;
        if deferred {
            break;
        }
    }
    let attacks = blocking(unit, move |device| device.attack_traffic(now)).await?;
    for attack in attacks {
        let delivery = gateway
            .deliver(std::slice::from_ref(&attack.envelope))
            .await
            .pop();
        if let Some(delivery) = delivery {
            tracing::info!(scenario = %attack.kind, ?delivery, "attack envelope posted");
            blocking(unit, move |device| device.record_attack(&delivery)).await?;
        }
    }
    Ok(events)
}
