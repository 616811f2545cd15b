//! `witness bench latency`: device → attested and queryable, through `witness up` (1 s blocks),
//! stage by stage as observers polling the chain, the node and the gateway see it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::{Value, json};
use witness_node_client::{NodeClient, NodeEndpoints, quantity};
use witness_protocol::api::{InspectAnswer, InspectQuery};
use witness_protocol::{
    DeviceId, Envelope, ModelId, Reading, RegistrarAction, RegistrarMessage, SigningKey,
};

use super::machine::{load_average, load_line};
use super::report::{bar, mean, percentile, sorted};
use super::rig::UpProcess;
use super::{Common, metric, rpc, unix_now_u32};
use crate::CliResult;
use crate::keys::LocalKeys;
use crate::system::SystemInfo;

/// How often observers poll in the latency run.
const POLL: Duration = Duration::from_millis(20);

#[derive(Debug, Args)]
pub(super) struct LatencyArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Readings to send (one envelope each).
    #[arg(long, default_value_t = 100)]
    readings: usize,
    /// Milliseconds between readings.
    #[arg(long, default_value_t = 500)]
    interval_ms: u64,
    /// Seconds between blocks.
    #[arg(long, default_value_t = 1.0)]
    block_time: f64,
}

/// The client of the node `witness up` runs.
fn system_node(system: &SystemInfo) -> NodeClient {
    NodeClient::new(NodeEndpoints {
        inspect_url: system.node_inspect_url.clone(),
        rpc_url: system.node_rpc_url.clone(),
    })
}

/// The last consumed counter of a device as the node reports it (`None`: unknown device or
/// no counter yet).
async fn device_counter(node: &NodeClient, query: &InspectQuery) -> CliResult<Option<u64>> {
    match node.inspect(query).await?.answer {
        InspectAnswer::Device(device) => Ok(device.leaf.and_then(|leaf| leaf.last_counter)),
        other => Err(format!("device query answered {other:?}").into()),
    }
}

/// What the observers saw of one reading, in seconds since the start.
#[derive(Debug, Default, Clone)]
struct Track {
    counter: u64,
    hash: String,
    posted: Option<f64>,
    acked: Option<f64>,
    submitted: Option<f64>,
    input_index: Option<u64>,
    block: Option<u64>,
    visible: Option<f64>,
}

#[derive(Debug, Default)]
struct Seen {
    tracks: Vec<Track>,
    /// Block number → when the head poller first saw it.
    blocks: HashMap<u64, f64>,
    /// `processed[i]`: when the node's processed count first exceeded `i`.
    processed: Vec<f64>,
    stop: bool,
}

type Shared = Arc<Mutex<Seen>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Seen> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(super) async fn latency(args: LatencyArgs, dir: &Path) -> CliResult<Value> {
    println!(
        "latency: `witness up` (1 car of its own, no history, {} s blocks) + one device driven here: {} readings, one every {} ms",
        args.block_time, args.readings, args.interval_ms
    );
    let up = UpProcess::start(
        dir,
        &args.common,
        &[
            "--devices".into(),
            "1".into(),
            "--history-days".into(),
            "0".into(),
            "--block-time".into(),
            args.block_time.to_string(),
            // The pipeline's latency: nothing held for cost.
            "--prompt".into(),
        ],
    )
    .await?;
    let system = up.system.clone();
    let keys = LocalKeys::load_or_create(&up.data)?;
    let http = reqwest::Client::new();

    // Our device, enrolled by the registrar through the gateway (sequence after the fleet's).
    let mut rng = ChaCha20Rng::seed_from_u64(unix_now_u32().into());
    let device_key = SigningKey::generate(&mut rng);
    let device_id = DeviceId::random(&mut rng);
    let domain = system.domain()?;
    let message = RegistrarMessage::sign(
        &keys.registrar,
        &domain,
        system.devices as u64 + 1,
        RegistrarAction::RegisterDevice {
            device_id,
            model: ModelId(1),
            public_key: device_key.public_key(),
            vehicle: witness_protocol::VehicleIdentity::simulated(&device_id.0).id()?,
        },
    )?;
    let gateway = system.gateway_url.clone();
    let login: Value = http
        .post(format!("{gateway}/v1/auth/login"))
        .json(&json!({"username": system.registrar_user, "password": system.demo_password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["token"].as_str().ok_or("registrar login failed")?;
    http.post(format!("{gateway}/v1/registrar/messages"))
        .bearer_auth(token)
        .json(&json!({"messages": [hex::encode(message.encode()?)]}))
        .send()
        .await?
        .error_for_status()?;
    let node = system_node(&system);
    let device_query = InspectQuery::Device {
        device_id: device_id.to_hex(),
    };
    let enrolled = Instant::now();
    loop {
        if let Ok(inspected) = node.inspect(&device_query).await
            && matches!(inspected.answer, InspectAnswer::Device(ref d) if d.exists)
        {
            break;
        }
        if enrolled.elapsed() > Duration::from_secs(60) {
            return Err("the device was not registered within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "device {} registered ({:.1} s after the request)",
        device_id.to_hex(),
        enrolled.elapsed().as_secs_f64()
    );
    let node_metrics = system.node_rpc_url.replace("/rpc", "/metrics");
    let backend_before = (
        metric(&http, &node_metrics, "witness_node_backend_seconds_sum").await,
        metric(&http, &node_metrics, "witness_node_backend_seconds_count").await,
    );

    let t0 = Instant::now();
    let since = move || t0.elapsed().as_secs_f64();
    let shared: Shared = Arc::new(Mutex::new(Seen::default()));
    let mut observers = Vec::new();
    // Chain head.
    observers.push(tokio::spawn({
        let (shared, http, url) = (shared.clone(), http.clone(), system.chain_rpc_url.clone());
        async move {
            let mut last = None::<u64>;
            while !lock(&shared).stop {
                if let Ok(head) = rpc(&http, &url, "eth_blockNumber", json!([])).await
                    && let Some(head) = quantity(&head)
                {
                    let now = since();
                    let mut seen = lock(&shared);
                    for block in last.map_or(head, |l| l + 1)..=head {
                        seen.blocks.entry(block).or_insert(now);
                    }
                    last = Some(head);
                }
                tokio::time::sleep(POLL).await;
            }
        }
    }));
    // Node processed count.
    observers.push(tokio::spawn({
        let (shared, node) = (shared.clone(), node.clone());
        async move {
            while !lock(&shared).stop {
                if let Ok(count) = node.processed_input_count().await {
                    let now = since();
                    let mut seen = lock(&shared);
                    while (seen.processed.len() as u64) < count {
                        seen.processed.push(now);
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        }
    }));
    // Gateway receipts.
    observers.push(tokio::spawn({
        let (shared, http, gateway) = (shared.clone(), http.clone(), gateway.clone());
        async move {
            while !lock(&shared).stop {
                let open: Vec<(usize, String)> = lock(&shared)
                    .tracks
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.acked.is_some() && t.block.is_none())
                    .map(|(i, t)| (i, t.hash.clone()))
                    .collect();
                for (i, hash) in open {
                    let Ok(response) = http
                        .get(format!("{gateway}/v1/receipts/{hash}"))
                        .send()
                        .await
                    else {
                        continue;
                    };
                    let Ok(receipt) = response.json::<Value>().await else {
                        continue;
                    };
                    let now = since();
                    let mut seen = lock(&shared);
                    let Some(track) = seen.tracks.get_mut(i) else {
                        continue;
                    };
                    match receipt["status"].as_str() {
                        Some("submitted") => {
                            track.submitted.get_or_insert(now);
                        }
                        Some("included" | "attested") => {
                            track.input_index = receipt["input_index"].as_u64();
                            track.block = receipt["block_number"].as_u64();
                        }
                        _ => {}
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        }
    }));
    // The device's state in the rollup.
    observers.push(tokio::spawn({
        let (shared, node) = (shared.clone(), node.clone());
        let query = device_query.clone();
        async move {
            while !lock(&shared).stop {
                if let Ok(Some(last)) = device_counter(&node, &query).await {
                    let now = since();
                    for track in &mut lock(&shared).tracks {
                        if track.counter <= last && track.posted.is_some() {
                            track.visible.get_or_insert(now);
                        }
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        }
    }));

    let progress = bar(args.readings as u64, "readings");
    let mut odometer = 42_000_000u64;
    let mut engine = 0u32;
    let mut next = tokio::time::interval(Duration::from_millis(args.interval_ms));
    next.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for i in 0..args.readings {
        next.tick().await;
        odometer += 700 + u64::from(rng.next_u32() % 300);
        engine += 30;
        let counter = i as u64 + 1;
        let reading = Reading {
            timestamp: unix_now_u32(),
            odometer_m: odometer,
            fuel_ml: 50,
            engine_s: engine,
            faults: vec![],
        };
        let sealed = Envelope::seal(
            &device_key,
            &domain,
            device_id,
            counter,
            &[reading],
            &mut rng,
        )?;
        lock(&shared).tracks.push(Track {
            counter,
            posted: Some(since()),
            ..Track::default()
        });
        let response = http
            .post(format!("{gateway}/v1/readings"))
            .header("content-type", "application/octet-stream")
            .body(sealed.envelope.as_bytes().to_vec())
            .send()
            .await?
            .error_for_status()?;
        let acked = since();
        let answer: Value = response.json().await?;
        let hash = answer["receipts"][0]["envelope_hash"]
            .as_str()
            .ok_or("no receipt")?
            .to_owned();
        if let Some(track) = lock(&shared).tracks.get_mut(i) {
            track.acked = Some(acked);
            track.hash = hash;
        }
        progress.inc(1);
    }
    progress.set_message("waiting for the last ones");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        {
            let seen = lock(&shared);
            if seen
                .tracks
                .iter()
                .all(|t| t.visible.is_some() && t.block.is_some())
            {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    lock(&shared).stop = true;
    for observer in observers {
        let _ = observer.await;
    }
    progress.finish_and_clear();
    let backend_after = (
        metric(&http, &node_metrics, "witness_node_backend_seconds_sum").await,
        metric(&http, &node_metrics, "witness_node_backend_seconds_count").await,
    );
    let batch_sizes = {
        let seen = lock(&shared);
        let mut per_input: BTreeMap<u64, usize> = BTreeMap::new();
        for t in &seen.tracks {
            if let Some(i) = t.input_index {
                *per_input.entry(i).or_default() += 1;
            }
        }
        per_input.values().map(|v| *v as f64).collect::<Vec<_>>()
    };
    drop(up);

    let seen = lock(&shared);
    let mut stages: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut missing = 0;
    for t in &seen.tracks {
        let (Some(posted), Some(visible)) = (t.posted, t.visible) else {
            missing += 1;
            continue;
        };
        stages
            .entry("0 total: POST → queryable")
            .or_default()
            .push(visible - posted);
        let block_seen = t.block.and_then(|b| seen.blocks.get(&b).copied());
        let processed = t
            .input_index
            .and_then(|i| seen.processed.get(usize::try_from(i).ok()?).copied());
        if let Some(acked) = t.acked {
            stages
                .entry("1 intake: POST → 202")
                .or_default()
                .push(acked - posted);
            if let Some(submitted) = t.submitted {
                stages
                    .entry("2 batch wait: 202 → addInput sent")
                    .or_default()
                    .push(submitted - acked);
                if let Some(block) = block_seen {
                    stages
                        .entry("3 mined: sent → block seen")
                        .or_default()
                        .push(block - submitted);
                }
            }
        }
        if let (Some(block), Some(processed)) = (block_seen, processed) {
            stages
                .entry("4 node: block → input processed")
                .or_default()
                .push(processed - block);
            stages
                .entry("5 inspect: processed → counter visible")
                .or_default()
                .push(visible - processed);
        }
    }
    let load = load_average();
    println!("\n| stage (s) | n | mean | p50 | p95 | p99 | max |");
    println!("|---|---|---|---|---|---|---|");
    let mut summary = serde_json::Map::new();
    for (stage, values) in &stages {
        let s = sorted(values.clone());
        println!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            &stage[2..],
            s.len(),
            mean(&s),
            percentile(&s, 50.0),
            percentile(&s, 95.0),
            percentile(&s, 99.0),
            s.last().copied().unwrap_or(f64::NAN)
        );
        summary.insert(
            stage[2..].to_owned(),
            json!({"n": s.len(), "mean": mean(&s), "p50": percentile(&s, 50.0),
                   "p95": percentile(&s, 95.0), "p99": percentile(&s, 99.0), "max": s.last()}),
        );
    }
    let backend_per_input = match (backend_before, backend_after) {
        ((Some(s0), Some(c0)), (Some(s1), Some(c1))) if c1 > c0 => Some((s1 - s0) / (c1 - c0)),
        _ => None,
    };
    let total = sorted(
        stages
            .get("0 total: POST → queryable")
            .cloned()
            .unwrap_or_default(),
    );
    let p95 = percentile(&total, 95.0);
    println!(
        "\nbackend time per input (node metric): {}; our readings per input: mean {:.2}; not seen: {missing}; observers poll every {} ms; {}",
        backend_per_input.map_or("?".into(), |s| format!("{:.2} ms", s * 1e3)),
        mean(&batch_sizes),
        POLL.as_millis(),
        load_line()
    );
    println!(
        "target p95 ≤ 3 s: {} (p95 {p95:.2} s)",
        if p95 <= 3.0 { "met" } else { "MISSED" }
    );
    Ok(json!({
        "bench": "latency",
        "readings": args.readings,
        "interval_ms": args.interval_ms,
        "block_time": args.block_time,
        "stages": summary,
        "backend_seconds_per_input": backend_per_input,
        "readings_per_input_mean": mean(&batch_sizes),
        "missing": missing,
        "load_average": load,
    }))
}
