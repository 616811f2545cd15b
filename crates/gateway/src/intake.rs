//! Intake of sealed envelopes: decode, authenticate (batch signature verification), then
//! durable group commit.
//!
//! A request is checked entirely before anything is stored: every envelope must decode, name
//! a registered, active device and carry that device's valid signature. Verified requests
//! go to the [`Committer`], a single task that drains whatever requests are waiting and
//! commits them in one database transaction (group commit: one fsync for many requests). In
//! that transaction each request is decided all or nothing against the device rows (counter
//! freshness, idempotent repeats); the HTTP answer is sent only after the commit returned.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio::sync::{mpsc, oneshot};
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
        };
        if let Ok(mut devices) = self.devices.write() {
            devices.insert(id, device);
        }
        Ok(Some(device))
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
