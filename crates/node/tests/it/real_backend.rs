//! The node driving the real `witness-backend` over the Rollup HTTP API: an unauthorized
//! sender's input is accepted but refused (an `input_refused` report, nothing applied, and its
//! state notice as its last output), and after the node is stopped mid-stream and restarted on
//! its store, the replayed backend reaches the same map root.

use std::path::PathBuf;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use serde_json::json;
use witness_chain::GATEWAY_ACCOUNT;
use witness_node_client::NodeClient;
use witness_protocol::api::{InspectAnswer, InspectQuery, LeafView, Report, StateAnswer};
use witness_protocol::notice::StateNotice;
use witness_protocol::{
    BackendSecretKey, DeviceId, Envelope, Message, ModelId, Reading, RegistrarAction,
    RegistrarMessage, RollupInput, SigningKey,
};
use witness_test_support::{Chain, NodeOpts, RunningNode, backend_command, node_config};

use crate::common::{Client, SENDER, chain, fast, wait_for};

struct Keys {
    backend: BackendSecretKey,
    registrar: SigningKey,
}

/// The node running the real backend; its JSON-RPC client and its typed client.
async fn start(chain: &Chain, db: PathBuf, keys: &Keys) -> (RunningNode, Client, NodeClient) {
    let opts = NodeOpts {
        command: backend_command(),
        backend_key: &keys.backend,
        root_registrar: keys.registrar.public_key(),
        db_path: db,
    };
    let node = RunningNode::start(fast(node_config(&chain.deployment, opts)))
        .await
        .unwrap();
    let client = Client::new(
        format!("http://{}", node.handle().rpc_addr),
        format!("http://{}", node.handle().inspect_addr),
        chain.deployment.application,
    );
    let typed = node.client();
    (node, client, typed)
}

async fn state(node: &NodeClient) -> StateAnswer {
    match node.inspect(&InspectQuery::State).await.unwrap().answer {
        InspectAnswer::State(state) => state,
        other => panic!("{other:?}"),
    }
}

async fn leaf(node: &NodeClient, id: DeviceId) -> LeafView {
    let query = InspectQuery::Device {
        device_id: id.to_hex(),
    };
    match node.inspect(&query).await.unwrap().answer {
        InspectAnswer::Device(answer) => answer.leaf.unwrap(),
        other => panic!("{other:?}"),
    }
}

/// The state notice input `index` ended with (its last output).
async fn state_notice(node: &NodeClient, index: u64) -> StateNotice {
    let outputs = node.outputs_of_input(index).await.unwrap();
    let last = outputs.last().and_then(|o| o.notice_payload()).unwrap();
    StateNotice::decode(&last).unwrap()
}

async fn send(chain: &Chain, sender: usize, messages: Vec<Message>) {
    let payload = RollupInput { messages }.encode().unwrap();
    chain.add_input(sender, payload).await.unwrap();
}

#[tokio::test]
async fn refused_input_keeps_its_state_notice_and_restart_replays_to_the_same_map_root() {
    let chain = chain(1000).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("node.sqlite");
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let keys = Keys {
        backend: BackendSecretKey::generate(&mut rng),
        registrar: SigningKey::generate(&mut rng),
    };
    let (node, client, typed_client) = start(&chain, db.clone(), &keys).await;

    chain.authorize_gateway().await.unwrap();
    let car = SigningKey::generate(&mut rng);
    let id = DeviceId::random(&mut rng);
    let domain = chain.domain(keys.backend.public_key());
    let register = RegistrarMessage::sign(
        &keys.registrar,
        &domain,
        1,
        RegistrarAction::RegisterDevice {
            device_id: id,
            model: ModelId(1),
            public_key: car.public_key(),
            vehicle: witness_protocol::VehicleIdentity::simulated(&id.0)
                .id()
                .unwrap(),
        },
    )
    .unwrap();
    send(&chain, SENDER, vec![Message::Registrar(register)]).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    let mut envelopes = Vec::new();
    for counter in 1..=4u64 {
        let reading = Reading {
            timestamp: now,
            odometer_m: 1_000 * counter,
            fuel_ml: 90,
            engine_s: 60,
            faults: vec![],
        };
        envelopes.push(
            Envelope::seal(&car, &domain, id, counter, &[reading], &mut rng)
                .unwrap()
                .envelope,
        );
    }
    // From a stranger: the whole input is rejected.
    send(
        &chain,
        SENDER,
        vec![Message::Envelope(envelopes[0].clone())],
    )
    .await;
    send(
        &chain,
        GATEWAY_ACCOUNT,
        vec![
            Message::Envelope(envelopes[0].clone()),
            Message::Envelope(envelopes[1].clone()),
        ],
    )
    .await;
    client.wait_processed(4).await;
    // The stranger's input is accepted, refused as a whole, and still ends with its state
    // notice, whose map root is the previous input's.
    let refused = client
        .result("cartesi_getInput", json!({"input_index": "0x2"}))
        .await;
    assert_eq!(refused["data"]["status"], "ACCEPTED", "{refused}");
    let reports = typed_client.reports_of_input(2).await.unwrap();
    assert!(
        matches!(
            &reports[..],
            [
                Report::InputRefused { input_index: 2, reason, .. },
                Report::InputAccepted { input_index: 2, readings_attested: 0, acts_applied: 0, .. },
            ] if reason == "unauthorized_sender"
        ),
        "{reports:?}"
    );
    let refused_notice = state_notice(&typed_client, 2).await;
    assert_eq!(refused_notice.input_index, 2);
    assert_eq!(
        refused_notice.map_root,
        state_notice(&typed_client, 1).await.map_root
    );
    let before = state(&typed_client).await;
    assert_eq!(before.processed_inputs, 4);
    assert_eq!(before.input_index, Some(3));
    assert_eq!(
        before.map_root,
        hex::encode(state_notice(&typed_client, 3).await.map_root)
    );
    assert_eq!(leaf(&typed_client, id).await.attested, 2);

    // Stop the node mid-stream; inputs keep arriving on chain while it is down.
    node.shutdown().await;
    send(
        &chain,
        GATEWAY_ACCOUNT,
        vec![Message::Envelope(envelopes[2].clone())],
    )
    .await;
    let (node, client, typed_client) = start(&chain, db.clone(), &keys).await;
    client.wait_processed(5).await;
    send(
        &chain,
        GATEWAY_ACCOUNT,
        vec![Message::Envelope(envelopes[3].clone())],
    )
    .await;
    client.wait_processed(6).await;
    let device = leaf(&typed_client, id).await;
    assert_eq!(device.attested, 4, "{device:?}");
    assert_eq!(device.last_counter, Some(4));
    let after = state(&typed_client).await;
    assert_eq!(after.processed_inputs, 6);
    assert_eq!(
        after.map_root,
        hex::encode(state_notice(&typed_client, 5).await.map_root)
    );
    assert_ne!(after.map_root, before.map_root);
    node.shutdown().await;

    // A third start replays all 6 inputs to exactly the same state and outputs.
    let (node, _client, typed_client) = start(&chain, db, &keys).await;
    wait_for("the replay", || async {
        matches!(
            typed_client.inspect(&InspectQuery::State).await.map(|i| i.answer),
            Ok(InspectAnswer::State(s)) if s.processed_inputs == 6
        )
    })
    .await;
    let again = state(&typed_client).await;
    assert_eq!(again.map_root, after.map_root);
    assert_eq!(again, after);
    assert_eq!(leaf(&typed_client, id).await, device);
    node.shutdown().await;
}
