//! Inputs from the chain through the backend to the client APIs.

use alloy::primitives::U256;
use alloy::sol_types::SolCall;
use serde_json::{Value, json};
use witness_chain::abi::Outputs;

use crate::common::{SENDER, TestNode, address, deployed, hex0x, quantity, send, unhex};

fn notice(payload: &[u8]) -> Vec<u8> {
    Outputs::NoticeCall {
        payload: payload.to_vec().into(),
    }
    .abi_encode()
}

#[tokio::test]
async fn inputs_are_processed_and_served() {
    let (_anvil, deployment) = deployed(1000).await;
    let node = TestNode::start(&deployment).await;
    let c = &node.client;

    let voucher_payload = [0x77, 1, 2];
    let payloads: [&[u8]; 6] = [
        b"hello",         // 0 accepted: notice (output 0) + report
        &[0xFF, 1],       // 1 rejected: its notice discarded, report kept
        &voucher_payload, // 2 accepted: voucher (output 1) + notice (output 2)
        &[0xEE, 2],       // 3 exception, then the backend exits (restart + replay)
        &[0xDD],          // 4 backend crashes mid-input (exception, restart + replay)
        b"after",         // 5 accepted: notice (output 3)
    ];
    let mut blocks = Vec::new();
    for p in payloads {
        blocks.push(send(&deployment, p).await.block_number);
    }
    c.wait_processed(6).await;

    // Inputs and their statuses.
    let inputs = c.result("cartesi_listInputs", json!({})).await;
    assert_eq!(
        inputs["pagination"],
        json!({ "total_count": 6, "limit": 50, "offset": 0 })
    );
    let statuses: Vec<&str> = inputs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "ACCEPTED",
            "REJECTED",
            "ACCEPTED",
            "EXCEPTION",
            "EXCEPTION",
            "ACCEPTED"
        ]
    );
    let first = &inputs["data"][0];
    assert_eq!(first["index"], "0x0");
    assert_eq!(quantity(&first["block_number"]), blocks[0]);
    assert_eq!(first["decoded_data"]["payload"], hex0x(b"hello"));
    assert_eq!(
        first["decoded_data"]["sender"],
        format!("{:#x}", address(SENDER))
    );
    assert_eq!(first["decoded_data"]["chain_id"], "0x7a69");
    assert_eq!(unhex(&first["raw_data"])[..4], [0x41, 0x5b, 0xf3, 0x63]);
    assert_eq!(inputs["data"][3]["exception_payload"], hex0x(&[0xEE, 2]));
    assert!(unhex(&inputs["data"][4]["exception_payload"]).starts_with(b"backend exited"));

    let page = c
        .result("cartesi_listInputs", json!({ "limit": 2, "offset": 4 }))
        .await;
    assert_eq!(
        page["pagination"],
        json!({ "total_count": 6, "limit": 2, "offset": 4 })
    );
    let indexes: Vec<&Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["index"])
        .collect();
    assert_eq!(indexes, [&json!("0x4"), &json!("0x5")]);
    let by_sender = c
        .result(
            "cartesi_listInputs",
            json!({ "sender": format!("{:#x}", address(SENDER)) }),
        )
        .await;
    assert_eq!(by_sender["pagination"]["total_count"], 6);
    let nobody = c
        .result(
            "cartesi_listInputs",
            json!({ "sender": format!("{:#x}", address(5)) }),
        )
        .await;
    assert_eq!(nobody["pagination"]["total_count"], 0);
    let epoch = format!("{:#x}", blocks[0] / 1000);
    let in_epoch = c
        .result("cartesi_listInputs", json!({ "epoch_index": epoch }))
        .await;
    assert_eq!(in_epoch["pagination"]["total_count"], 6);

    let input = c
        .result("cartesi_getInput", json!({ "input_index": "0x5" }))
        .await;
    assert_eq!(input["data"]["decoded_data"]["payload"], hex0x(b"after"));
    assert_eq!(input["data"]["decoded_data"]["index"], "0x5");

    // Outputs: the rejected input's notice is gone; indexes are global and contiguous.
    let outputs = c.result("cartesi_listOutputs", json!({})).await;
    assert_eq!(outputs["pagination"]["total_count"], 4);
    let o = outputs["data"].as_array().unwrap();
    let inputs_of: Vec<&str> = o
        .iter()
        .map(|o| o["input_index"].as_str().unwrap())
        .collect();
    assert_eq!(inputs_of, ["0x0", "0x2", "0x2", "0x5"]);
    for (k, output) in o.iter().enumerate() {
        assert_eq!(quantity(&output["index"]), k as u64);
        let raw = unhex(&output["raw_data"]);
        assert_eq!(
            unhex(&output["hash"]),
            alloy::primitives::keccak256(&raw).to_vec()
        );
        assert!(output["output_hashes_siblings"].is_null(), "no claim yet");
    }
    assert_eq!(unhex(&o[0]["raw_data"]), notice(b"hello"));
    assert_eq!(
        o[0]["decoded_data"],
        json!({ "type": "0xc258d6e5", "payload": hex0x(b"hello") })
    );
    let voucher = Outputs::VoucherCall {
        destination: address(SENDER),
        value: U256::from(7),
        payload: voucher_payload.to_vec().into(),
    }
    .abi_encode();
    assert_eq!(unhex(&o[1]["raw_data"]), voucher);
    assert_eq!(o[1]["decoded_data"]["type"], "0x237a816f");
    assert_eq!(o[1]["decoded_data"]["value"], "0x7");
    assert_eq!(unhex(&o[3]["raw_data"]), notice(b"after"));

    let of_input = c
        .result("cartesi_listOutputs", json!({ "input_index": "0x2" }))
        .await;
    assert_eq!(of_input["pagination"]["total_count"], 2);
    let rejected = c
        .result("cartesi_listOutputs", json!({ "input_index": "0x1" }))
        .await;
    assert_eq!(rejected["pagination"]["total_count"], 0);
    let vouchers = c
        .result(
            "cartesi_listOutputs",
            json!({ "output_type": "0x237a816f" }),
        )
        .await;
    assert_eq!(vouchers["pagination"]["total_count"], 1);
    let to_sender = c
        .result(
            "cartesi_listOutputs",
            json!({ "voucher_address": format!("{:#x}", address(SENDER)) }),
        )
        .await;
    assert_eq!(to_sender["pagination"]["total_count"], 1);
    let page = c
        .result("cartesi_listOutputs", json!({ "limit": 1, "offset": 3 }))
        .await;
    assert_eq!(page["data"][0]["index"], "0x3");
    let output = c
        .result("cartesi_getOutput", json!({ "output_index": "0x3" }))
        .await;
    assert_eq!(output["data"]["input_index"], "0x5");

    // Reports: kept for the rejected input and the exception.
    let reports = c.result("cartesi_listReports", json!({})).await;
    assert_eq!(reports["pagination"]["total_count"], 5);
    let of_rejected = c
        .result("cartesi_listReports", json!({ "input_index": "0x1" }))
        .await;
    assert_eq!(of_rejected["data"][0]["raw_data"], hex0x(&[0xFF, 1]));
    let of_exception = c
        .result("cartesi_listReports", json!({ "input_index": "0x3" }))
        .await;
    assert_eq!(of_exception["pagination"]["total_count"], 1);
    let report = c
        .result("cartesi_getReport", json!({ "report_index": "0x4" }))
        .await;
    assert_eq!(report["data"]["raw_data"], hex0x(b"after"));

    // Epochs (no claim: the epoch is far from over).
    let epochs = c.result("cartesi_listEpochs", json!({})).await;
    assert_eq!(epochs["pagination"]["total_count"], 1);
    assert_eq!(epochs["data"][0]["status"], "OPEN");
    assert_eq!(epochs["data"][0]["input_index_upper_bound"], "0x6");
    let got = c
        .result("cartesi_getEpoch", json!({ "epoch_index": epoch }))
        .await;
    assert_eq!(got["data"], epochs["data"][0]);

    let application = c.result("cartesi_getApplication", json!({})).await;
    assert_eq!(
        application["data"]["iapplication_address"],
        format!("{:#x}", deployment.application)
    );
    assert_eq!(
        application["data"]["iconsensus_address"],
        format!("{:#x}", deployment.authority)
    );
    assert_eq!(application["data"]["processed_inputs"], "0x6");
    assert_eq!(application["data"]["state"], "ENABLED");
    let applications = c.result("cartesi_listApplications", json!({})).await;
    assert_eq!(applications["data"][0], application["data"]);
    let version = c.result("cartesi_getNodeVersion", json!({})).await;
    assert!(version["data"].is_string());

    let chain = c.result("cartesi_getChainId", json!({})).await;
    assert_eq!(chain["data"], "0x7a69");
    let count = c.result("cartesi_getProcessedInputCount", json!({})).await;
    assert_eq!(count["data"], "0x6");

    // JSON-RPC errors.
    let unknown = c.call("cartesi_nope", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601);
    for bad in [
        json!({ "input_index": 5 }),
        json!({ "input_index": "5" }),
        json!({ "inputIndex": "0x5" }),
        json!({}),
    ] {
        let answer = c.call("cartesi_getInput", bad.clone()).await;
        assert_eq!(answer["error"]["code"], -32602, "{bad}: {answer}");
    }
    let zero = c.call("cartesi_listInputs", json!({ "limit": 0 })).await;
    assert_eq!(zero["error"]["code"], -32602);
    let missing = c
        .call("cartesi_getInput", json!({ "input_index": "0x99" }))
        .await;
    assert_eq!(missing["error"]["code"], -32001);
    let other_app = c
        .call(
            "cartesi_listInputs",
            json!({ "application": "0x0000000000000000000000000000000000000001" }),
        )
        .await;
    assert_eq!(other_app["error"]["code"], -32001);
    let garbage = c
        .http
        .post(format!("{}/rpc", c.rpc_base))
        .body("{")
        .send()
        .await
        .unwrap();
    let garbage: Value = garbage.json().await.unwrap();
    assert_eq!(garbage["error"]["code"], -32700);

    // The Rollup HTTP API refuses what is not valid now (the backend is idle in /finish).
    let rollup = format!("http://{}", node.handle.rollup_addr);
    for (path, body, status) in [
        ("notice", json!({ "payload": "0x01" }), 409),
        ("report", json!({ "payload": "0x01" }), 409),
        ("exception", json!({ "payload": "0x01" }), 409),
        ("notice", json!({ "payload": "01" }), 400),
        ("notice", json!({ "data": "0x01" }), 400),
        (
            "voucher",
            json!({ "destination": "0x12", "value": "0x00", "payload": "0x" }),
            400,
        ),
        ("finish", json!({ "status": "maybe" }), 400),
        ("gio", json!({ "domain": 16, "id": "0x" }), 501),
    ] {
        let response = c
            .http
            .post(format!("{rollup}/{path}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "/{path} {body}");
    }

    // Inspect, by address and by name; the backend was restarted twice and replayed the four
    // ACCEPTED/REJECTED inputs it had to see: it has seen exactly four advances.
    let app = format!("{:#x}", deployment.application);
    for name in [app.as_str(), "witness"] {
        let (status, answer) = c.inspect(name, b"ping").await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["status"], "Accepted");
        assert_eq!(answer["exception_payload"], Value::Null);
        assert_eq!(answer["processed_input_count"], 6);
        assert_eq!(answer["reports"][0]["payload"], hex0x(b"ping"));
        assert_eq!(answer["reports"][1]["payload"], hex0x(&4u64.to_be_bytes()));
    }
    let (status, _) = c
        .inspect("0x0000000000000000000000000000000000000001", b"x")
        .await;
    assert_eq!(status, 404);

    // Health and metrics.
    let (status, body) = c.get("/healthz").await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "ok"));
    let (status, metrics) = c.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("witness_node_inputs_processed_total 6"),
        "{metrics}"
    );
    assert!(
        metrics.contains("witness_node_processed_inputs 6"),
        "{metrics}"
    );
    assert!(
        metrics.contains("witness_node_backend_restarts_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("witness_node_backend_seconds_count 5"),
        "{metrics}"
    );
    assert!(metrics.contains("witness_node_lag_blocks 0"), "{metrics}");

    node.handle.shutdown().await;
}

#[tokio::test]
async fn client_apis_allow_browsers_from_any_origin() {
    let (_anvil, deployment) = deployed(1000).await;
    let node = TestNode::start(&deployment).await;
    let c = &node.client;
    let inspect = format!("{}/inspect/{}", c.inspect_base, c.app);
    let rpc = format!("{}/rpc", c.rpc_base);
    for url in [inspect, rpc] {
        let response = c
            .http
            .post(&url)
            .header("origin", "http://127.0.0.1:8080")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response
                .headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            Some("*"),
            "{url}"
        );
    }
}
