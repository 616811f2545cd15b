//! `witness bench verify`: `witness verify` (PROTOCOL.md 17) of a car of a running `witness up`,
//! from L1 only, repeated.

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value, json};

use super::Common;
use super::report::{bar, percentile};
use super::rig::UpProcess;
use crate::CliResult;

#[derive(Debug, Args)]
pub(super) struct VerifyBenchArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Verifications to time.
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Cars of the `witness up` fleet.
    #[arg(long, default_value_t = 10)]
    devices: usize,
}

pub(super) async fn verify(args: VerifyBenchArgs, dir: &Path) -> CliResult<Value> {
    println!(
        "verify: `witness up` ({} cars, 3 days of history, 0.5 s blocks, epochs of 4 blocks), then {} verifications of one honest car",
        args.devices, args.runs
    );
    let up = UpProcess::start(
        dir,
        &args.common,
        &[
            "--devices".into(),
            args.devices.to_string(),
            "--history-days".into(),
            "3".into(),
            "--block-time".into(),
            "0.5".into(),
            "--epoch-length".into(),
            "4".into(),
            "--prompt".into(),
        ],
    )
    .await?;
    let setup = crate::verify::setup_with(&crate::verify::PinArgs::data_dir(&up.data)).await?;
    let rolled_back = &up.system.rolled_back_devices;
    let http = reqwest::Client::new();
    let devices: Value = http
        .get(format!("{}/devices", up.system.local_link_url))
        .send()
        .await?
        .json()
        .await?;
    let car = devices["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["id"].as_str())
        .find(|id| !rolled_back.iter().any(|r| r == id))
        .ok_or("no honest car")?
        .to_owned();
    // Wait until the car's history is claimed: its verdict is `consistent`.
    let ready = Instant::now();
    loop {
        let report = crate::verify::verify(&setup, &car, Duration::from_secs(30)).await;
        if report.verdict == "consistent" {
            break;
        }
        if ready.elapsed() > Duration::from_secs(300) {
            return Err(format!("{car} never verified consistent: {:?}", report.findings).into());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let bar = bar(args.runs as u64, "verifications");
    let mut seconds = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let started = Instant::now();
        let report = crate::verify::verify(&setup, &car, Duration::ZERO).await;
        seconds.push(started.elapsed().as_secs_f64());
        if report.verdict != "consistent" {
            return Err(format!("{car}: {} {:?}", report.verdict, report.findings).into());
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    seconds.sort_by(f64::total_cmp);
    let ms = |p: f64| percentile(&seconds, p) * 1000.0;
    println!(
        "\n| runs | p50 (ms) | p95 (ms) | max (ms) |\n|---|---|---|---|\n| {} | {:.0} | {:.0} | {:.0} |",
        seconds.len(),
        ms(50.0),
        ms(95.0),
        seconds.last().copied().unwrap_or(0.0) * 1000.0
    );
    Ok(json!({
        "runs": seconds.len(),
        "p50_ms": ms(50.0),
        "p95_ms": ms(95.0),
        "max_ms": seconds.last().map(|s| s * 1000.0),
        "device": car,
    }))
}
