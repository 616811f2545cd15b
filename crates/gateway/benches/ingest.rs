//! Durable ingest throughput and latency of `POST /v1/readings` on loopback.
//!
//! `cargo bench -p witness-gateway --bench ingest` runs against SQLite (a temporary file,
//! WAL, `synchronous=FULL`), and also against PostgreSQL when `WITNESS_BENCH_POSTGRES_URL`
//! (or `WITNESS_TEST_POSTGRES_URL`) is set. The gateway runs in this process with the
//! submitter off; a client in the same process posts pre-sealed envelopes (one reading
//! each) at rising concurrency. Each answer is a 202 sent after the durable commit.
//! `WITNESS_BENCH_SCALE` (default 1.0) scales the number of requests.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use witness_gateway::store::{IntakeEnvelope, IntakeJob};
use witness_gateway::{AppId, Gateway, GatewayConfig, Role};
use witness_protocol::fixture::{Car, Leg};
use witness_protocol::{BackendSecretKey, Domain, ModelId, SigningKey};

const DEVICES: usize = 256;
/// Every reading: a minute after the previous one, 1 km on.
const LEG: Leg = Leg {
    seconds: 60,
    metres: 1_000,
    engine_s: 60,
    fuel_ml: 70,
};

struct Scenario {
    readings: usize,
    per_request: usize,
    concurrency: usize,
    requests: usize,
}

fn now_s() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// Seals `count` envelopes of `readings` readings each for `device`, concatenated.
fn seal(
    device: &mut Car,
    domain: &Domain,
    count: usize,
    readings: usize,
    rng: &mut ChaCha20Rng,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(count * (150 + 30 * readings));
    for _ in 0..count {
        let batch = device.drive_until(now_s(), readings, LEG);
        let envelope = device.seal_next(domain, &batch, rng).unwrap();
        body.extend_from_slice(envelope.as_bytes());
    }
    body
}

/// The request bodies of each worker (a worker owns its devices, so a device's requests
/// are sent in counter order).
fn prepare(devices: &mut [Car], domain: &Domain, scenario: &Scenario) -> Vec<Vec<Vec<u8>>> {
    let workers = scenario.concurrency;
    let per_worker = scenario.requests.div_ceil(workers);
    // Split the devices among workers, then seal on two threads.
    let mut owned: Vec<Vec<&mut Car>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, device) in devices.iter_mut().enumerate() {
        owned[i % workers].push(device);
    }
    let mut jobs: Vec<(usize, Vec<&mut Car>)> = owned.into_iter().enumerate().collect();
    let half = jobs.len().div_ceil(2);
    let (a, b) = jobs.split_at_mut(half);
    let work = |slice: &mut [(usize, Vec<&mut Car>)], seed: u64| -> Vec<(usize, Vec<Vec<u8>>)> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        slice
            .iter_mut()
            .map(|(worker, devices)| {
                let bodies = (0..per_worker)
                    .map(|r| {
                        let n = devices.len();
                        seal(
                            devices[r % n],
                            domain,
                            scenario.per_request,
                            scenario.readings,
                            &mut rng,
                        )
                    })
                    .collect();
                (*worker, bodies)
            })
            .collect()
    };
    let (mut left, right) = std::thread::scope(|s| {
        let t = s.spawn(|| work(b, 2));
        let left = work(a, 1);
        (left, t.join().unwrap())
    });
    left.extend(right);
    left.sort_by_key(|(w, _)| *w);
    left.into_iter().map(|(_, bodies)| bodies).collect()
}

async fn metric(http: &reqwest::Client, base: &str, name: &str) -> f64 {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn run(label: &str, url: &str, scale: f64) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let backend = BackendSecretKey::generate(&mut rng);
    let domain = witness_protocol::fixture::domain(backend.public_key());
    let registrar = SigningKey::generate(&mut rng);
    let mut config = GatewayConfig::new(url);
    config.app = Some(AppId {
        chain_id: domain.chain_id,
        application: domain.application,
    });
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.argon2_memory_kib = 1024;
    config.backend_public_key = Some(backend.public_key().clone());
    config.bootstrap_accounts = vec![(
        "registrar".into(),
        "registrar-password".into(),
        Role::Registrar,
    )];
    config.max_body_bytes = 64 * 1024 * 1024;
    let gateway = Gateway::new(config).await.unwrap();
    let store = gateway.store().clone();
    let handle = gateway.serve().await.unwrap();
    let base = format!("http://{}", handle.addr);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();

    let login: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"username": "registrar", "password": "registrar-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let mut devices: Vec<Car> = (0..DEVICES)
        .map(|_| Car {
            counter: 0,
            ..Car::generate(&mut rng)
        })
        .collect();
    let messages: Vec<String> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let message = d
                .registration(&registrar, &domain, ModelId(1), i as u64 + 1)
                .unwrap();
            hex::encode(message.encode().unwrap())
        })
        .collect();
    let answer = http
        .post(format!("{base}/v1/registrar/messages"))
        .bearer_auth(&token)
        .json(&json!({"messages": messages}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 202);

    let n = |x: usize| ((x as f64 * scale).ceil() as usize).max(1);
    let scenario = |readings, per_request, concurrency, requests| Scenario {
        readings,
        per_request,
        concurrency,
        requests: n(requests),
    };
    let scenarios = [
        scenario(1, 1, 1, 1_000),
        scenario(1, 1, 16, 4_000),
        scenario(1, 1, 64, 6_000),
        scenario(1, 16, 1, 500),
        scenario(1, 16, 4, 1_000),
        scenario(1, 16, 16, 2_000),
        scenario(1, 16, 64, 3_000),
        scenario(1, 64, 4, 500),
        scenario(1, 64, 16, 1_000),
        scenario(1, 64, 64, 1_000),
        scenario(8, 16, 16, 1_000),
    ];
    println!(
        "\n{label}\n{:>6} {:>7} {:>5} {:>8} {:>11} {:>10} {:>7} {:>7} {:>7} {:>10} {:>7} {:>7}",
        "rd/env",
        "env/req",
        "conc",
        "requests",
        "envelopes/s",
        "readings/s",
        "req/s",
        "p50 ms",
        "p99 ms",
        "req/commit",
        "verify%",
        "commit%"
    );
    for scenario in &scenarios {
        let bodies = prepare(&mut devices, &domain, scenario);
        let total_requests: usize = bodies.iter().map(Vec::len).sum();
        let commits_before = metric(&http, &base, "witness_gateway_group_commits_total").await;
        let verify_before = metric(&http, &base, "witness_gateway_verify_seconds_total").await;
        let commit_s_before = metric(&http, &base, "witness_gateway_commit_seconds_total").await;
        let started = Instant::now();
        let tasks: Vec<_> = bodies
            .into_iter()
            .map(|worker_bodies| {
                let http = http.clone();
                let url = format!("{base}/v1/readings");
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(worker_bodies.len());
                    for body in worker_bodies {
                        let t = Instant::now();
                        let response = http
                            .post(&url)
                            .header("content-type", "application/octet-stream")
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        let status = response.status().as_u16();
                        let text = response.text().await.unwrap();
                        assert_eq!(status, 202, "{text}");
                        latencies.push(t.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies: Vec<Duration> = Vec::new();
        for task in tasks {
            latencies.extend(task.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        let commits =
            metric(&http, &base, "witness_gateway_group_commits_total").await - commits_before;
        let verify_s =
            metric(&http, &base, "witness_gateway_verify_seconds_total").await - verify_before;
        let commit_s =
            metric(&http, &base, "witness_gateway_commit_seconds_total").await - commit_s_before;
        latencies.sort();
        let pct = |p: f64| {
            latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)]
                .as_secs_f64()
                * 1e3
        };
        let envelopes = (total_requests * scenario.per_request) as f64;
        println!(
            "{:>6} {:>7} {:>5} {:>8} {:>11.0} {:>10.0} {:>7.0} {:>7.2} {:>7.2} {:>10.1} {:>7.0} {:>7.0}",
            scenario.readings,
            scenario.per_request,
            scenario.concurrency,
            total_requests,
            envelopes / elapsed,
            envelopes * scenario.readings as f64 / elapsed,
            total_requests as f64 / elapsed,
            pct(0.50),
            pct(0.99),
            total_requests as f64 / commits.max(1.0),
            100.0 * verify_s / elapsed,
            100.0 * commit_s / elapsed,
        );
    }
    handle.shutdown().await;

    // The durable commit alone (no HTTP, no signature checks): groups of 16-envelope jobs.
    println!(
        "{:>14} {:>12} {:>12}",
        "jobs/commit", "envelopes/s", "ms/commit"
    );
    for jobs_per_commit in [1usize, 8, 32] {
        let commits = ((200.0 * scale) as usize).max(1);
        let mut rng = ChaCha20Rng::seed_from_u64(jobs_per_commit as u64);
        let groups: Vec<Vec<IntakeJob>> = (0..commits)
            .map(|c| {
                (0..jobs_per_commit)
                    .map(|j| {
                        let device = &mut devices[(c * jobs_per_commit + j) % DEVICES];
                        let body = seal(device, &domain, 16, 1, &mut rng);
                        let envelopes = witness_gateway::intake::parse_concatenated(&body).unwrap();
                        IntakeJob {
                            envelopes: envelopes
                                .iter()
                                .map(|e| IntakeEnvelope {
                                    hash: e.hash(),
                                    device_id: e.header().device_id,
                                    key: device.key.public_key().to_bytes(),
                                    counter: e.header().counter,
                                    last_counter: e.header().counter,
                                    readings: 1,
                                    body: [&[1u8][..], e.as_bytes()].concat(),
                                })
                                .collect(),
                        }
                    })
                    .collect()
            })
            .collect();
        let started = Instant::now();
        for group in groups {
            for result in store.commit_intake(group).await.unwrap() {
                result.unwrap();
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "{:>14} {:>12.0} {:>12.2}",
            jobs_per_commit,
            (commits * jobs_per_commit * 16) as f64 / elapsed,
            elapsed * 1e3 / commits as f64
        );
    }
}

fn postgres_url() -> Option<String> {
    std::env::var("WITNESS_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("WITNESS_TEST_POSTGRES_URL"))
        .ok()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let scale: f64 = std::env::var("WITNESS_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("bench.sqlite").display().to_string();
    run("SQLite (WAL, synchronous=FULL)", &sqlite, scale).await;
    if let Some(base) = postgres_url() {
        let schema = format!("witness_bench_{}", std::process::id());
        let pool = sqlx::PgPool::connect(&base).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&pool)
            .await
            .unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        run("PostgreSQL", &url, scale).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&pool)
            .await
            .unwrap();
    }
}
