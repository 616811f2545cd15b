//! Epoch claims and output proofs checked by the real `Application.validateOutput`.

use alloy::primitives::{B256, Bytes, keccak256};
use serde_json::{Value, json};
use witness_chain::L1;
use witness_node::merkle::root_from_siblings;

use crate::common::{Client, TestNode, deployed, quantity, send, unhex, wait_for};

const EPOCH: u64 = 5;

/// Independent of the node's tree: the root of a height-63 tree over `outputs`.
fn naive_root(outputs: &[&[u8]]) -> B256 {
    let parent = |l: &B256, r: &B256| keccak256([l.as_slice(), r.as_slice()].concat());
    let mut level: Vec<B256> = outputs.iter().map(keccak256).collect();
    let mut zero = B256::ZERO;
    for _ in 0..63 {
        if level.len() % 2 == 1 {
            level.push(zero);
        }
        level = level.chunks(2).map(|p| parent(&p[0], &p[1])).collect();
        zero = parent(&zero, &zero);
    }
    level[0]
}

/// Mines until the epoch holding `block` is over, then waits for its claim.
async fn claim_epoch_of(c: &Client, l1: &L1, block: u64) -> Value {
    let epoch = block / EPOCH;
    let last = (epoch + 1) * EPOCH - 1;
    let now = l1.block_number().await.unwrap();
    if now <= last {
        l1.anvil_mine(last + 1 - now).await.unwrap();
    }
    let params = json!({ "epoch_index": format!("{epoch:#x}") });
    wait_for("the epoch's claim", || async {
        c.result("cartesi_getEpoch", params.clone()).await["data"]["status"] == "CLAIM_ACCEPTED"
    })
    .await;
    c.result("cartesi_getEpoch", params).await["data"].clone()
}

fn siblings(output: &Value) -> Vec<B256> {
    let s = output["output_hashes_siblings"]
        .as_array()
        .expect("siblings once claimed");
    s.iter().map(|h| B256::from_slice(&unhex(h))).collect()
}

#[tokio::test]
async fn notices_are_proven_on_chain_after_the_claim() {
    let (_anvil, deployment) = deployed(EPOCH).await;
    let l1 = L1::for_deployment(&deployment).unwrap();
    let node = TestNode::start(&deployment).await;
    let c = &node.client;
    let app = deployment.application;

    let first = send(&deployment, b"prove me").await;
    c.wait_processed(1).await;
    let epoch = claim_epoch_of(c, &l1, first.block_number).await;
    assert_eq!(quantity(&epoch["last_block"]) % EPOCH, EPOCH - 1);
    assert!(epoch["claim_transaction_hash"].is_string());
    let root = B256::from_slice(&unhex(&epoch["outputs_merkle_root"]));

    let output = c
        .result("cartesi_getOutput", json!({ "output_index": "0x0" }))
        .await["data"]
        .clone();
    let raw = Bytes::from(unhex(&output["raw_data"]));
    let proof = siblings(&output);
    assert_eq!(proof.len(), 63);
    assert_eq!(root_from_siblings(keccak256(&raw), 0, &proof), root);
    assert_eq!(naive_root(&[&raw]), root);
    assert!(
        l1.validate_output(app, raw.clone(), 0, proof.clone())
            .await
            .unwrap()
    );

    // Tampered output, tampered proof, wrong index, short proof: all refused on chain.
    let mut tampered = raw.to_vec();
    tampered[4 + 32 + 32] ^= 1; // first payload byte after selector, offset and length
    assert!(
        !l1.validate_output(app, tampered.into(), 0, proof.clone())
            .await
            .unwrap()
    );
    let mut bad_proof = proof.clone();
    bad_proof[0] = B256::repeat_byte(0xAB);
    assert!(
        !l1.validate_output(app, raw.clone(), 0, bad_proof)
            .await
            .unwrap()
    );
    assert!(
        !l1.validate_output(app, raw.clone(), 1, proof.clone())
            .await
            .unwrap()
    );
    assert!(
        !l1.validate_output(app, raw.clone(), 0, proof[..62].to_vec())
            .await
            .unwrap()
    );

    // A later epoch: its root covers all outputs so far (indexes are global).
    let second = send(&deployment, b"and me").await;
    c.wait_processed(2).await;
    let epoch2 = claim_epoch_of(c, &l1, second.block_number).await;
    assert_ne!(epoch2["index"], epoch["index"]);
    let root2 = B256::from_slice(&unhex(&epoch2["outputs_merkle_root"]));
    assert_ne!(root2, root);
    let output1 = c
        .result("cartesi_getOutput", json!({ "output_index": "0x1" }))
        .await["data"]
        .clone();
    assert_eq!(output1["epoch_index"], epoch2["index"]);
    let raw1 = Bytes::from(unhex(&output1["raw_data"]));
    let proof1 = siblings(&output1);
    assert_eq!(root_from_siblings(keccak256(&raw1), 1, &proof1), root2);
    assert_eq!(naive_root(&[&raw, &raw1]), root2);
    assert!(l1.validate_output(app, raw1, 1, proof1).await.unwrap());
    // The first output's proof still verifies against the first (still accepted) root.
    let again = c
        .result("cartesi_getOutput", json!({ "output_index": "0x0" }))
        .await["data"]
        .clone();
    assert_eq!(siblings(&again), proof);
    assert!(l1.validate_output(app, raw, 0, proof).await.unwrap());

    let epochs = c
        .result("cartesi_listEpochs", json!({ "status": "CLAIM_ACCEPTED" }))
        .await;
    assert_eq!(epochs["pagination"]["total_count"], 2);
    let (_, metrics) = c.get("/metrics").await;
    assert!(
        metrics.contains("witness_node_claims_submitted_total 2"),
        "{metrics}"
    );
    node.handle.shutdown().await;
}
