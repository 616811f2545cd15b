//! Intake of sealed envelopes: decode, authenticate (batch signature verification), then
//! durable group commit.
//!
//! A request is checked entirely before anything is stored: every envelope must decode, name
//! a registered, active device and carry that device's valid signature. Verified requests
//! go to the [`Committer`], a single task that drains whatever requests are waiting and
//! commits them in one database transaction (group commit: one fsync for many requests). In
//! that transaction each request is decided all or nothing against the device rows (counter
//! freshness, idempotent repeats); the HTTP answer is sent only after the commit returned.
//!
//! # Counters seeded from the rollup
//!
//! The gateway's replay check knows the counters it accepted itself. A device it has no
//! counter for may still have a history on the rollup (registered here after its readings
//! went through another gateway, or a fresh gateway database), and anyone can copy that
//! device's old envelopes from calldata: validly signed, fresh to this gateway, refused by the
//! backend as `stale_counter` after the gateway paid for them. So before the first envelope
//! of such a device is committed, [`CounterSeeds`] asks the node for the device's leaf and
//! stores its `last_counter` ([`Store::seed_rollup_counter`]); the replay check then refuses
//! (409) every counter up to the higher of the gateway's and the rollup's.
//!
//! When: at intake, for a device without a counter at this gateway, after its signatures
//! verified (so only a registered device's valid envelope costs a node query). Not at start
//! (one inspect per device at every start does not scale, and inspects are expensive on a
//! Cartesi node, each runs the machine), not at registration (the registration's own input
//! is not processed yet, and devices registered before this check existed are covered too):
//! the first envelope is exactly when the counter starts to matter, and once the gateway has
//! accepted one its own counter is at least the rollup's. A device the rollup has no counter
//! for is asked again at most every [`SEED_TTL`]. The node never blocks intake: each question
//! waits at most [`SEED_TIMEOUT`], after a failure nobody asks for [`SEED_BACKOFF`], and
//! meanwhile the gateway falls back to its own counter (the backend still refuses a replay,
//! at the gateway's cost). A node that lies can only make the gateway refuse envelopes it
//! would have relayed (availability, which the gateway never guarantees), never accept one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::{OnceCell, mpsc, oneshot};
use tokio::time::Instant;
use witness_node_client::NodeClient;
use witness_protocol::api::{InspectAnswer, InspectQuery};
use witness_protocol::codec::Reader;
use witness_protocol::{DeviceId, Domain, Envelope, PublicKey, verify_envelopes};

use crate::error::{GatewayError, Result};
use crate::metrics::Metrics;
use crate::store::{IntakeEnvelope, IntakeJob, JobOutcome, Store};

/// Most envelopes one request may carry.
pub const MAX_ENVELOPES_PER_REQUEST: usize = 8192;
/// Most requests one group commit carries.
const MAX_GROUP_JOBS: usize = 512;
/// Most envelopes one group commit carries.
const MAX_GROUP_ENVELOPES: usize = 32_768;

/// Splits a body of concatenated envelopes (they are self-delimiting).
pub fn parse_concatenated(body: &[u8]) -> Result<Vec<Envelope>> {
    let mut reader = Reader::new(body);
    let mut envelopes = Vec::new();
    while reader.remaining() > 0 {
        if envelopes.len() == MAX_ENVELOPES_PER_REQUEST {
            return Err(too_many());
        }
        let envelope = Envelope::read(&mut reader).map_err(|e| GatewayError::Malformed {
            index: envelopes.len(),
            reason: e.code(),
        })?;
        envelopes.push(envelope);
    }
    Ok(envelopes)
}

/// Decodes hex-encoded envelopes (each exactly one envelope).
pub fn parse_hex_list(items: &[String]) -> Result<Vec<Envelope>> {
    if items.len() > MAX_ENVELOPES_PER_REQUEST {
        return Err(too_many());
    }
    items
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let bytes = decode_hex(text, index)?;
            Envelope::decode(&bytes).map_err(|e| GatewayError::Malformed {
                index,
                reason: e.code(),
            })
        })
        .collect()
}

fn too_many() -> GatewayError {
    GatewayError::PayloadTooLarge(format!(
        "at most {MAX_ENVELOPES_PER_REQUEST} envelopes per request"
    ))
}

/// A device as intake needs it.
#[derive(Debug, Clone, Copy)]
struct CachedDevice {
    key: PublicKey,
    active: bool,
    /// The gateway has a counter for it (its own or seeded from the rollup): no need to ask
    /// the node. Once true it stays true (counters are never forgotten).
    counted: bool,
}

/// Device keys by id, filled from the database on first use. The committer re-checks key
/// and status in its transaction, so a stale entry can only cause a refusal, never an
/// acceptance; entries are dropped when a registrar message or a refusal concerns them.
#[derive(Debug, Default)]
pub struct DeviceCache {
    devices: RwLock<HashMap<DeviceId, CachedDevice>>,
}

impl DeviceCache {
    /// Forgets a device (after a registration, rotation, revocation or refusal).
    pub fn invalidate(&self, id: &DeviceId) {
        if let Ok(mut devices) = self.devices.write() {
            devices.remove(id);
        }
    }

    fn get(&self, id: &DeviceId) -> Option<CachedDevice> {
        self.devices.read().ok().and_then(|d| d.get(id).copied())
    }

    /// Notes that the gateway now has a counter for the device.
    fn mark_counted(&self, id: &DeviceId) {
        if let Ok(mut devices) = self.devices.write()
            && let Some(device) = devices.get_mut(id)
        {
            device.counted = true;
        }
    }

    async fn load(&self, store: &Store, id: DeviceId) -> Result<Option<CachedDevice>> {
        if let Some(device) = self.get(&id) {
            return Ok(Some(device));
        }
        let Some(row) = store.device(id).await? else {
            return Ok(None);
        };
        let key = PublicKey::from_bytes(&row.public_key)
            .map_err(|e| GatewayError::Database(format!("stored key of {id}: {e}")))?;
        let device = CachedDevice {
            key,
            active: row.active,
            counted: row.last_counter.is_some() || row.rollup_counter.is_some(),
        };
        if let Ok(mut devices) = self.devices.write() {
            devices.insert(id, device);
        }
        Ok(Some(device))
    }
}

/// How long intake waits for the node's answer on a device's counter.
pub const SEED_TIMEOUT: Duration = Duration::from_secs(2);
/// How long after a failed question nobody asks the node.
pub const SEED_BACKOFF: Duration = Duration::from_secs(10);
/// How often a device the rollup has no counter for is asked about again.
pub const SEED_TTL: Duration = Duration::from_secs(30);

/// One question to the node about one device, shared by the requests that need it meanwhile.
type Question = Arc<OnceCell<()>>;

/// Seeds the replay check of devices the gateway has no counter for from the rollup's (see
/// the module documentation).
#[derive(Debug)]
pub struct CounterSeeds {
    node: Option<NodeClient>,
    /// Devices asked about recently, by when; requests that need an answer being fetched
    /// wait for it.
    asked: Mutex<HashMap<DeviceId, (Instant, Question)>>,
    /// No question before this (the node failed).
    quiet_until: Mutex<Option<Instant>>,
}

impl CounterSeeds {
    /// Seeds from `node`; without one, nothing is seeded.
    pub fn new(node: Option<NodeClient>) -> Self {
        Self {
            node,
            asked: Mutex::new(HashMap::new()),
            quiet_until: Mutex::new(None),
        }
    }

    /// Makes sure every device of `job` without a counter at this gateway had its counter
    /// asked of the node (recently, or now: at most [`SEED_TIMEOUT`] per device).
    pub async fn seed(&self, store: &Store, cache: &DeviceCache, job: &IntakeJob) {
        if self.node.is_none() {
            return;
        }
        let mut ids: Vec<DeviceId> = job
            .device_ids()
            .filter(|id| cache.get(id).is_some_and(|d| !d.counted))
            .collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            let question = self.question(id);
            question.get_or_init(|| self.ask(store, cache, id)).await;
        }
    }

    /// The question about `id`: the recent one, or a new one.
    fn question(&self, id: DeviceId) -> Question {
        let now = Instant::now();
        let mut asked = self.asked.lock().unwrap_or_else(|p| p.into_inner());
        if asked.len() > 100_000 {
            asked.retain(|_, (at, _)| now.duration_since(*at) < SEED_TTL);
        }
        match asked.get(&id) {
            Some((at, question)) if now.duration_since(*at) < SEED_TTL => question.clone(),
            _ => {
                let question = Question::default();
                asked.insert(id, (now, question.clone()));
                question
            }
        }
    }

    async fn ask(&self, store: &Store, cache: &DeviceCache, id: DeviceId) {
        let Some(node) = &self.node else { return };
        let now = Instant::now();
        {
            let quiet = self.quiet_until.lock().unwrap_or_else(|p| p.into_inner());
            if quiet.is_some_and(|until| now < until) {
                return;
            }
        }
        let query = InspectQuery::Device {
            device_id: id.to_hex(),
        };
        let counter = match tokio::time::timeout(SEED_TIMEOUT, node.inspect(&query)).await {
            Ok(Ok(inspected)) => match inspected.answer {
                InspectAnswer::Device(device) => device.leaf.and_then(|leaf| leaf.last_counter),
                other => {
                    tracing::debug!(device = %id, answer = ?other, "the node answered a device query with something else");
                    None
                }
            },
            failed => {
                let error = match failed {
                    Ok(Err(error)) => error.to_string(),
                    _ => format!("no answer within {SEED_TIMEOUT:?}"),
                };
                tracing::warn!(device = %id, %error, "cannot ask the node for the device's counter; replays of its old envelopes are not caught before they are paid for");
                *self.quiet_until.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(Instant::now() + SEED_BACKOFF);
                return;
            }
        };
        let Some(counter) = counter else { return };
        match store.seed_rollup_counter(id, counter).await {
            Ok(_) => {
                tracing::debug!(device = %id, counter, "counter seeded from the rollup");
                cache.mark_counted(&id);
            }
            Err(error) => tracing::warn!(device = %id, %error, "cannot store the rollup's counter"),
        }
    }
}

/// Checks a request's envelopes: devices known and active, signatures valid. Returns the
/// job to commit, or the error of the first offending envelope.
pub async fn verify(
    store: &Store,
    cache: &DeviceCache,
    metrics: &Arc<Metrics>,
    domain: &Domain,
    envelopes: Vec<Envelope>,
) -> Result<IntakeJob> {
    if envelopes.is_empty() {
        return Err(GatewayError::InvalidRequest(
            "the request carries no envelope".into(),
        ));
    }
    let mut devices: HashMap<DeviceId, CachedDevice> = HashMap::new();
    let mut device_error = None;
    for (index, envelope) in envelopes.iter().enumerate() {
        let id = envelope.header().device_id;
        if devices.contains_key(&id) {
            continue;
        }
        match cache.load(store, id).await? {
            None => {
                device_error = Some(GatewayError::UnknownDevice {
                    index,
                    device_id: id.to_hex(),
                });
            }
            Some(device) if !device.active => {
                device_error = Some(GatewayError::DeviceRevoked {
                    index,
                    device_id: id.to_hex(),
                });
            }
            Some(device) => {
                devices.insert(id, device);
                continue;
            }
        }
        break;
    }
    // Signature checks are CPU work: keep them off the async workers. Envelopes before a
    // device error are checked too, so that the first offending envelope is reported.
    let metrics = metrics.clone();
    let domain = domain.clone();
    // At most one verification per core at a time: more threads only thrash.
    let _permit = verifier_permits()
        .acquire()
        .await
        .map_err(|_| GatewayError::Internal("verifier semaphore closed".into()))?;
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let known = device_error
            .as_ref()
            .and_then(GatewayError::index)
            .unwrap_or(envelopes.len());
        let job = check_signatures(&envelopes[..known], &devices, &domain);
        metrics
            .verify_seconds
            .inc_by(started.elapsed().as_secs_f64());
        let job = job?;
        match device_error {
            Some(error) => Err(error),
            None => Ok(job),
        }
    })
    .await?
}

/// Verifies the envelopes' signatures (one batch; one by one to find a culprit) and builds
/// the job. Batch verification accepts exactly the signatures single verification accepts,
/// except crafted non-canonical ones that the backend's strict check then refuses: a
/// device can only hurt its own readings that way.
fn check_signatures(
    envelopes: &[Envelope],
    devices: &HashMap<DeviceId, CachedDevice>,
    domain: &Domain,
) -> Result<IntakeJob> {
    let keyed: Vec<(&Envelope, PublicKey)> = envelopes
        .iter()
        .map(|e| {
            let id = e.header().device_id;
            devices
                .get(&id)
                .map(|d| (e, d.key))
                .ok_or_else(|| GatewayError::Internal(format!("device {id} not loaded")))
        })
        .collect::<Result<_>>()?;
    let items: Vec<(&Envelope, &PublicKey)> = keyed.iter().map(|(e, k)| (*e, k)).collect();
    let batch_ok = match items.as_slice() {
        [] => true,
        [(envelope, key)] => envelope.verify_signature(key, domain).is_ok(),
        _ => verify_envelopes(&items, domain).is_ok(),
    };
    if !batch_ok {
        for (index, (envelope, key)) in items.iter().enumerate() {
            if envelope.verify_signature(key, domain).is_err() {
                return Err(GatewayError::BadSignature {
                    index,
                    signer: "device",
                });
            }
        }
    }
    let envelopes = keyed
        .iter()
        .map(|(envelope, key)| {
            let header = envelope.header();
            let mut body = Vec::with_capacity(1 + envelope.as_bytes().len());
            body.push(witness_protocol::kind::ENVELOPE);
            body.extend_from_slice(envelope.as_bytes());
            Ok(IntakeEnvelope {
                hash: envelope.hash(),
                device_id: header.device_id,
                key: key.to_bytes(),
                counter: header.counter,
                last_counter: header
                    .last_counter()
                    .ok_or_else(|| GatewayError::Internal("counter overflow".into()))?,
                readings: u32::from(header.reading_count),
                body,
            })
        })
        .collect::<Result<_>>()?;
    Ok(IntakeJob { envelopes })
}

fn verifier_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
        )
    })
}

type Reply = oneshot::Sender<Result<JobOutcome>>;

/// Handle to the group-commit task.
#[derive(Debug, Clone)]
pub struct Committer {
    sender: mpsc::Sender<(IntakeJob, Reply)>,
}

impl Committer {
    /// Starts the task; it ends when every handle is dropped.
    pub fn spawn(store: Store, cache: Arc<DeviceCache>, metrics: Arc<Metrics>) -> Self {
        let (sender, receiver) = mpsc::channel(4096);
        tokio::spawn(run(store, cache, metrics, receiver));
        Self { sender }
    }

    /// Commits a job durably (with whatever other jobs are waiting) and returns its outcome.
    pub async fn commit(&self, job: IntakeJob) -> Result<JobOutcome> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send((job, reply))
            .await
            .map_err(|_| GatewayError::Unavailable("the gateway is shutting down".into()))?;
        answer
            .await
            .map_err(|_| GatewayError::Internal("the intake committer stopped".into()))?
    }
}

async fn run(
    store: Store,
    cache: Arc<DeviceCache>,
    metrics: Arc<Metrics>,
    mut receiver: mpsc::Receiver<(IntakeJob, Reply)>,
) {
    while let Some(first) = receiver.recv().await {
        let mut envelopes = first.0.envelopes.len();
        let mut group = vec![first];
        while group.len() < MAX_GROUP_JOBS && envelopes < MAX_GROUP_ENVELOPES {
            match receiver.try_recv() {
                Ok(next) => {
                    envelopes += next.0.envelopes.len();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        let (jobs, replies): (Vec<IntakeJob>, Vec<Reply>) = group.into_iter().unzip();
        let devices: Vec<Vec<DeviceId>> = jobs.iter().map(|j| j.device_ids().collect()).collect();
        metrics.group_commits.inc();
        metrics.group_commit_jobs.inc_by(jobs.len() as u64);
        let started = std::time::Instant::now();
        let committed = store.commit_intake(jobs).await;
        metrics
            .commit_seconds
            .inc_by(started.elapsed().as_secs_f64());
        match committed {
            Ok(results) => {
                for ((result, reply), ids) in results.into_iter().zip(replies).zip(devices) {
                    // Every envelope of a committed job was fresh (its counter is now the
                    // device's) or a repeat (the device had a counter already).
                    if result.is_ok() {
                        for id in &ids {
                            cache.mark_counted(id);
                        }
                    }
                    if matches!(
                        result,
                        Err(GatewayError::BadSignature { .. }
                            | GatewayError::DeviceRevoked { .. }
                            | GatewayError::UnknownDevice { .. })
                    ) {
                        for id in &ids {
                            cache.invalidate(id);
                        }
                    }
                    let _ = reply.send(result);
                }
            }
            Err(error) => {
                tracing::error!(%error, "intake group commit failed");
                for reply in replies {
                    let _ = reply.send(Err(GatewayError::Database(error.to_string())));
                }
            }
        }
    }
}

/// Hex with or without one `0x` prefix; item `index` of a request otherwise.
pub(crate) fn decode_hex(text: &str, index: usize) -> Result<Vec<u8>> {
    use witness_protocol::codec::parse_hex;
    parse_hex(text.trim()).ok_or(GatewayError::Malformed {
        index,
        reason: "not_hex",
    })
}
