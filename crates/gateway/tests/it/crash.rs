//! Crash safety of the `witness-gateway` binary: SIGKILL it repeatedly while devices post
//! envelopes, restart it, and check on chain that every envelope it acknowledged with a
//! 202 is in exactly one submitted input.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand_core::Rng as _;
use serde_json::{Value, json};

use crate::common::*;

struct Binary {
    child: Child,
}

impl Binary {
    fn spawn(args: &[String], log: &std::path::Path) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_witness-gateway"))
            .args(args)
            .env("RUST_LOG", "warn,witness_gateway=info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Self { child }
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    wait_until("the gateway to answer /healthz", 60, || async {
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
}

async fn metric(http: &reqwest::Client, base: &str, name: &str) -> Option<u64> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
}

/// Posts envelopes of its devices until stopped; records the hashes acknowledged with 2xx.
async fn poster(
    http: reqwest::Client,
    base: String,
    keys: Arc<Keys>,
    mut devices: Vec<Device>,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<[u8; 32]>>>,
    seed: u64,
) -> Vec<Device> {
    let mut rng = rng(seed);
    while !stop.load(Ordering::Relaxed) {
        let index = (rng.next_u32() as usize) % devices.len();
        let count = 1 + (rng.next_u32() as usize) % 8;
        let envelopes: Vec<_> = (0..count).map(|_| devices[index].seal(&keys, 1)).collect();
        let answer = http
            .post(format!("{base}/v1/readings"))
            .header("content-type", "application/octet-stream")
            .body(concat(&envelopes))
            .send()
            .await;
        match answer {
            Ok(response) if response.status().as_u16() == 202 => {
                let body: Value = response.json().await.unwrap_or_default();
                let receipts = body["receipts"].as_array().cloned().unwrap_or_default();
                assert_eq!(receipts.len(), envelopes.len());
                let mut acked = acknowledged.lock().unwrap();
                for (envelope, receipt) in envelopes.iter().zip(&receipts) {
                    assert_eq!(receipt["envelope_hash"], hex::encode(envelope.hash()));
                    acked.push(envelope.hash());
                }
            }
            Ok(response) => panic!("unexpected answer {}", response.status()),
            // The gateway is down (killed): these envelopes were not acknowledged.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    devices
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_intake_and_submission_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (i, url) in database_urls(dir.path()).await.into_iter().enumerate() {
        let run = dir.path().join(format!("run-{i}"));
        std::fs::create_dir_all(&run).unwrap();
        kill_and_restart(&run, &url).await;
    }
}

async fn kill_and_restart(dir: &std::path::Path, database_url: &str) {
    // Half-second blocks: kills land between broadcast and inclusion too.
    let chain = deployed(Some(0.5)).await;
    let deployment_path = dir.join("deployment.json");
    chain.deployment.save(&deployment_path).unwrap();
    let keys = Arc::new(Keys::new(next_seed()).on(&chain));
    // A node that trusts the test's registrar (the gateway checks registrar messages against
    // the rollup's registrar set) and authorizes the gateway (the submitter holds envelopes
    // back otherwise), and has processed nothing.
    let node = FakeNode::start(keys.backend_hex()).await;
    node.trust(&keys);
    node.authorize_gateway();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let args: Vec<String> = [
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
        &dir.display().to_string(),
        "--database-url",
        database_url,
        "--deployment",
        &deployment_path.display().to_string(),
        "--backend-public-key",
        &keys.backend_hex(),
        "--registrar",
        &format!("{}:{}", REGISTRAR.0, REGISTRAR.1),
        "--batch-max-bytes",
        "30000",
        "--batch-max-delay-ms",
        "50",
        "--node-url",
        &node.url,
        "--rpc-node-url",
        &node.url,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let log = dir.join("gateway.log");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let mut gateway = Binary::spawn(&args, &log);
    wait_healthy(&http, &base).await;
    let login: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"username": REGISTRAR.0, "password": REGISTRAR.1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let mut devices: Vec<Device> = (0..8).map(|_| Device::new(next_seed())).collect();
    let messages: Vec<String> = devices.iter().map(|d| d.register_hex(&keys)).collect();
    let registered = http
        .post(format!("{base}/v1/registrar/messages"))
        .bearer_auth(&token)
        .json(&json!({"messages": messages}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status().as_u16(), 202);

    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut kill_rng = rng(next_seed());
    const KILLS: usize = 5;
    for round in 0..KILLS {
        let stop = Arc::new(AtomicBool::new(false));
        let mut posters = Vec::new();
        // Hand two devices to each of four posters.
        let mut pool: Vec<Device> = std::mem::take(&mut devices);
        while !pool.is_empty() {
            let take: Vec<Device> = pool.drain(..2.min(pool.len())).collect();
            posters.push(tokio::spawn(poster(
                http.clone(),
                base.clone(),
                keys.clone(),
                take,
                stop.clone(),
                acknowledged.clone(),
                next_seed(),
            )));
        }
        let alive = Duration::from_millis(400 + u64::from(kill_rng.next_u32() % 1200));
        tokio::time::sleep(alive).await;
        gateway.kill();
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.store(true, Ordering::Relaxed);
        for task in posters {
            devices.extend(task.await.unwrap());
        }
        gateway = Binary::spawn(&args, &log);
        wait_healthy(&http, &base).await;
        let acked = acknowledged.lock().unwrap().len();
        eprintln!("round {round}: alive {alive:?}, {acked} envelopes acknowledged so far");
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 100,
        "too few envelopes acknowledged: {}",
        acknowledged.len()
    );

    // Let the last incarnation drain the queue, then kill it too.
    wait_until("the queue to drain", 120, || async {
        metric(&http, &base, "witness_gateway_queue_depth").await == Some(0)
            && metric(&http, &base, "witness_gateway_submitted_messages").await == Some(0)
    })
    .await;
    gateway.kill();

    let messages = submitted_messages(&chain).await;
    let mut seen = std::collections::HashMap::new();
    for hash in envelope_hashes(&messages) {
        *seen.entry(hash).or_insert(0usize) += 1;
    }
    let twice = seen.values().filter(|n| **n > 1).count();
    assert_eq!(twice, 0, "{twice} envelopes were submitted more than once");
    let missing = acknowledged
        .iter()
        .filter(|h| !seen.contains_key(*h))
        .count();
    assert_eq!(
        missing, 0,
        "{missing} acknowledged envelopes never reached the chain"
    );
    let registrations = messages
        .iter()
        .filter(|m| matches!(m, witness_protocol::Message::Registrar(_)))
        .count();
    assert_eq!(registrations, 8);
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let count = |needle: &str| log_text.lines().filter(|l| l.contains(needle)).count();
    eprintln!(
        "{database_url}: gateway log: {} inputs included, {} started submitters, {} retried failures",
        count("input included"),
        count("submitter started"),
        count("retrying"),
    );
    eprintln!(
        "{} acknowledged, {} on chain (the rest were committed but their answer was cut by a kill)",
        acknowledged.len(),
        seen.len()
    );
}
