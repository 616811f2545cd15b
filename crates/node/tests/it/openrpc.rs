//! The node's OpenRPC document (`crates/node/openrpc.json`) against the server: every method it
//! lists is answered and every Cartesi v2 method the server answers is listed; every answer,
//! for inputs that were accepted, rejected and sent a voucher, before and after their epoch's
//! claim, matches the method's result schema; errors carry the codes the document declares.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use witness_chain::L1;
use witness_test_support::schema_validator;

use crate::common::{Client, TestNode, deployed, send, wait_for};

const EPOCH: u64 = 4;

/// The `cartesi_*` methods of the Cartesi Rollups Node API 2.0.0 (its OpenRPC document,
/// cartesi/rollups-node `internal/jsonrpc/jsonrpc-discover.json`).
const CARTESI_V2: [&str; 14] = [
    "cartesi_listApplications",
    "cartesi_getApplication",
    "cartesi_listEpochs",
    "cartesi_getEpoch",
    "cartesi_getLastAcceptedEpochIndex",
    "cartesi_listInputs",
    "cartesi_getInput",
    "cartesi_getProcessedInputCount",
    "cartesi_listOutputs",
    "cartesi_getOutput",
    "cartesi_listReports",
    "cartesi_getReport",
    "cartesi_getChainId",
    "cartesi_getNodeVersion",
];

fn document() -> Value {
    serde_json::from_str(include_str!("../../openrpc.json")).unwrap()
}

/// The codes of the errors `method` declares.
fn declared_codes(doc: &Value, method: &Value) -> BTreeSet<i64> {
    let errors = method["errors"].as_array().cloned().unwrap_or_default();
    errors
        .iter()
        .map(|e| {
            let name = e["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
            doc["components"]["errors"][name]["code"].as_i64().unwrap()
        })
        .collect()
}

/// Calls every documented method with its example parameters and without any, and checks
/// each answer against the method's result schema.
async fn check_answers(doc: &Value, c: &Client) -> usize {
    let mut checked = 0;
    for m in doc["methods"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let result = schema_validator(doc, &m["result"]["schema"]);
        let mut calls = vec![json!({})];
        for example in m["examples"].as_array().into_iter().flatten() {
            let mut params = json!({});
            for p in example["params"].as_array().unwrap() {
                params[p["name"].as_str().unwrap()] = p["value"].clone();
            }
            calls.push(params);
        }
        let required = m["params"].as_array().unwrap().iter().find_map(|p| {
            let p = resolve(doc, p);
            (p["required"] == true).then(|| p["name"].as_str().unwrap())
        });
        // A get method also asks for the first item its list method answers.
        if let (Some(param), Some(kind)) = (required, name.strip_prefix("cartesi_get")) {
            let list = c.result(&format!("cartesi_list{kind}s"), json!({})).await;
            calls.push(json!({ param: list["data"][0]["index"] }));
        }
        for params in calls {
            if required.is_some() && params == json!({}) {
                continue;
            }
            let answer = c.result(name, params.clone()).await;
            let errors: Vec<String> = result.iter_errors(&answer).map(|e| e.to_string()).collect();
            assert!(
                errors.is_empty(),
                "{name} {params}: {answer} does not match its schema: {errors:?}"
            );
            checked += 1;
        }
    }
    checked
}

/// A content descriptor, followed through its `$ref`.
fn resolve<'d>(doc: &'d Value, p: &'d Value) -> &'d Value {
    match p["$ref"].as_str() {
        Some(r) => &doc["components"]["contentDescriptors"][r.rsplit('/').next().unwrap()],
        None => p,
    }
}

#[tokio::test]
async fn the_document_describes_what_the_server_answers() {
    let doc = document();
    let (_anvil, deployment) = deployed(EPOCH).await;
    let l1 = L1::for_deployment(&deployment).unwrap();
    let node = TestNode::start(&deployment).await;
    let c = &node.client;

    // rpc.discover answers the document itself.
    assert_eq!(c.result("rpc.discover", json!({})).await, doc);

    // Listed methods are answered; of the Cartesi v2 methods, exactly those.
    let listed: BTreeSet<&str> = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    for name in CARTESI_V2.iter().copied().chain(listed.iter().copied()) {
        let answer = c.call(name, json!({})).await;
        let not_found = answer["error"]["code"] == -32601;
        assert_eq!(
            not_found,
            !listed.contains(name),
            "{name}: {answer} (listed: {})",
            listed.contains(name)
        );
    }
    assert_eq!(
        c.call("cartesi_noSuchMethod", json!({})).await["error"]["code"],
        -32601
    );

    // An accepted input (notice + report), a voucher, a rejected input.
    send(&deployment, b"hello").await;
    send(&deployment, &[0x77]).await;
    send(&deployment, &[0xFF, 1]).await;
    c.wait_processed(3).await;
    let before_claim = check_answers(&doc, c).await;

    // Close the epoch and wait for its claim: outputs now carry their proofs.
    l1.anvil_mine(2 * EPOCH).await.unwrap();
    wait_for("an accepted claim", || async {
        let epochs = c
            .result("cartesi_listEpochs", json!({ "status": "CLAIM_ACCEPTED" }))
            .await;
        !epochs["data"].as_array().unwrap().is_empty()
    })
    .await;
    let output = c
        .result("cartesi_getOutput", json!({ "output_index": "0x0" }))
        .await;
    assert!(
        output["data"]["output_hashes_siblings"].is_array(),
        "{output}"
    );
    let after_claim = check_answers(&doc, c).await;
    assert!(
        before_claim >= 25 && after_claim == before_claim,
        "{before_claim} {after_claim}"
    );

    // Errors: a missing required parameter, an unknown one, a resource that does not exist,
    // another application; each with a code its method declares.
    for m in doc["methods"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        if name == "rpc.discover" {
            continue;
        }
        let declared = declared_codes(&doc, m);
        let mut bad = vec![
            (json!({ "no_such_parameter": 1 }), -32602),
            (json!({ "application": "someone-else" }), -32001),
        ];
        for p in m["params"].as_array().unwrap() {
            let p = resolve(&doc, p);
            if p["required"] == true {
                let param = p["name"].as_str().unwrap();
                bad.push((json!({}), -32602));
                bad.push((json!({ param: "0xffff" }), -32001));
                bad.push((json!({ param: "ffff" }), -32602));
            }
        }
        for (params, code) in bad {
            let answer = c.call(name, params.clone()).await;
            assert_eq!(answer["error"]["code"], code, "{name} {params}: {answer}");
            assert!(declared.contains(&code), "{name} does not declare {code}");
        }
    }
}
