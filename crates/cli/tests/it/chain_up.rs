use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::{Duration, Instant};

use witness_chain::{DEV_CHAIN_ID, Deployment, INPUT_BOX, L1};

/// Interrupts the CLI if the test fails half-way, so it stops its anvil too.
struct Interrupt(u32);

impl Drop for Interrupt {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.to_string()])
            .status();
    }
}

use crate::util::witness;

/// `witness chain up` on a free port: writes deployment.json, serves the chain, and on SIGINT
/// stops anvil and exits 0.
#[tokio::test]
async fn chain_up_deploys_and_stops_on_sigint() {
    let data_dir = std::env::temp_dir().join(format!("witness-cli-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut child = witness()
        .args([
            "chain",
            "up",
            "--port",
            "0",
            "--block-time",
            "0.5",
            "--epoch-length",
            "6",
        ])
        .data_dir(&data_dir)
        .spawn();
    let guard = Interrupt(child.id());
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no 'running' line; got {lines:#?}"));
        let done = line.starts_with("running");
        lines.push(line);
        if done {
            break;
        }
    }

    let d = Deployment::load(data_dir.join("deployment.json")).unwrap();
    assert_eq!(d.chain_id, DEV_CHAIN_ID);
    assert_eq!(d.input_box, INPUT_BOX);
    assert_eq!(d.epoch_length, 6);
    assert!(lines.iter().any(|l| l.contains(&d.application.to_string())));
    let l1 = L1::for_deployment(&d).unwrap();
    assert_eq!(l1.chain_id().await.unwrap(), DEV_CHAIN_ID);
    // Interval mining is on.
    let b0 = l1.block_number().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(l1.block_number().await.unwrap() > b0);

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    std::mem::forget(guard);
    assert!(exit.success(), "{exit}");
    assert!(l1.block_number().await.is_err(), "anvil survived");
    assert!(data_dir.join("anvil.log").is_file());
    std::fs::remove_dir_all(&data_dir).unwrap();
}
