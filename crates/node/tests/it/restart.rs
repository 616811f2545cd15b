//! Killing the node binary mid-stream and starting it again: nothing missed, nothing doubled.

use std::process::Stdio;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use witness_chain::Deployment;

use crate::common::{Client, deployed, echo_app, hex0x, send, unhex};

/// Starts `witness-node` on free ports and returns it with a client for its APIs.
async fn start_node(
    deployment_file: &std::path::Path,
    db: &std::path::Path,
    app: alloy::primitives::Address,
) -> (Child, Client) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_witness-node"))
        .arg("--deployment")
        .arg(deployment_file)
        .arg("--app-command")
        .arg(echo_app())
        .arg("--db")
        .arg(db)
        .args([
            "--inspect-port",
            "0",
            "--rpc-port",
            "0",
            "--rollup-port",
            "0",
        ])
        .args(["--poll-interval-ms", "50"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = lines
        .next_line()
        .await
        .unwrap()
        .expect("the node prints its addresses");
    // "witness-node: inspect http://A/inspect/<app>, rpc http://B/rpc, rollup http://C"
    let url = |marker: &str| {
        let start = banner.find(marker).unwrap() + marker.len();
        let rest = &banner[start..];
        rest[..rest.find('/').unwrap()].to_owned()
    };
    let client = Client::new(
        format!("http://{}", url("rpc http://")),
        format!("http://{}", url("inspect http://")),
        app,
    );
    (child, client)
}

fn payload(i: u64) -> Vec<u8> {
    format!("reading {i}").into_bytes()
}

async fn send_range(deployment: &Deployment, range: std::ops::Range<u64>) {
    for i in range {
        send(deployment, &payload(i)).await;
    }
}

#[tokio::test]
async fn killed_node_resumes_without_duplicates_or_gaps() {
    let (_anvil, deployment) = deployed(1000).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deployment.json");
    deployment.save(&file).unwrap();
    let db = dir.path().join("node.sqlite");
    let app = deployment.application;

    let (mut node, c) = start_node(&file, &db, app).await;
    send_range(&deployment, 0..4).await;
    c.wait_processed(2).await;
    // SIGKILL: no cleanup at all, possibly in the middle of an input.
    node.kill().await.unwrap();
    send_range(&deployment, 4..8).await;

    let (mut node, c) = start_node(&file, &db, app).await;
    send_range(&deployment, 8..12).await;
    c.wait_processed(12).await;

    let inputs = c
        .result("cartesi_listInputs", json!({ "limit": 100 }))
        .await;
    assert_eq!(inputs["pagination"]["total_count"], 12);
    for (i, input) in inputs["data"].as_array().unwrap().iter().enumerate() {
        assert_eq!(input["index"], format!("{i:#x}"));
        assert_eq!(input["status"], "ACCEPTED");
        assert_eq!(input["decoded_data"]["payload"], hex0x(&payload(i as u64)));
    }
    let outputs = c
        .result("cartesi_listOutputs", json!({ "limit": 100 }))
        .await;
    assert_eq!(outputs["pagination"]["total_count"], 12);
    for (i, output) in outputs["data"].as_array().unwrap().iter().enumerate() {
        assert_eq!(output["index"], format!("{i:#x}"));
        assert_eq!(output["input_index"], format!("{i:#x}"));
        assert_eq!(output["decoded_data"]["payload"], hex0x(&payload(i as u64)));
    }
    let reports = c
        .result("cartesi_listReports", json!({ "limit": 100 }))
        .await;
    assert_eq!(reports["pagination"]["total_count"], 12);

    // The restarted backend saw every input exactly once: replayed, then new ones.
    let (status, answer) = c.inspect(&format!("{app:#x}"), b"count").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["processed_input_count"], 12);
    assert_eq!(unhex(&answer["reports"][1]["payload"]), 12u64.to_be_bytes());
    let (_, metrics) = c.get("/metrics").await;
    let replayed: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("witness_node_inputs_replayed_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(replayed >= 2, "{metrics}");
    node.kill().await.unwrap();
}
