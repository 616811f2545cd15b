//! The node driving the real `witness-backend` over the Rollup HTTP API: an unauthorized
//! sender's readings are rejected, and after the node is stopped mid-stream and restarted on
//! its store, the replayed backend reaches the same state root.

use std::path::PathBuf;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use serde_json::{Value, json};
use witness_chain::{ADMIN_ACCOUNT, Deployment, GATEWAY_ACCOUNT, add_input};
use witness_node::{Node, NodeHandle};
use witness_protocol::{
    BackendSecretKey, DeviceId, Envelope, GatewayAuthorization, Message, ModelId, Reading,
    RegistrarAction, RegistrarMessage, RollupInput, SigningKey,
};
use witness_test_support::backend_binary;

use crate::common::{Client, SENDER, address, config, deployed, key, wait_for};

struct Keys {
    backend: BackendSecretKey,
    registrar: SigningKey,
}

async fn start(deployment: &Deployment, db: PathBuf, keys: &Keys) -> (NodeHandle, Client) {
    let mut config = config(deployment, db);
    config.app_command = vec![backend_binary().display().to_string()];
    config.app_env = vec![
        (
            "WITNESS_ADMIN_ADDRESS".into(),
            format!("{:#x}", address(ADMIN_ACCOUNT)),
        ),
        (
            "WITNESS_ROOT_REGISTRARS".into(),
            hex::encode(keys.registrar.public_key().to_bytes()),
        ),
        (
            "WITNESS_BACKEND_SECRET_KEY".into(),
            hex::encode(*keys.backend.to_bytes()),
        ),
    ];
    let handle = Node::start(config).await.unwrap();
    let client = Client::new(
        format!("http://{}", handle.rpc_addr),
        format!("http://{}", handle.inspect_addr),
        deployment.application,
    );
    (handle, client)
}

async fn query(client: &Client, query: Value) -> Value {
    let (_, answer) = client
        .inspect("witness", query.to_string().as_bytes())
        .await;
    let payload = answer["reports"][0]["payload"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    serde_json::from_slice(&hex::decode(&payload[2..]).unwrap()).unwrap()
}

async fn send(deployment: &Deployment, sender: usize, messages: Vec<Message>) {
    let payload = RollupInput { messages }.encode().unwrap();
    add_input(
        &deployment.rpc_url,
        key(sender),
        deployment.input_box,
        deployment.application,
        payload,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn restart_replays_to_the_same_state_root() {
    let (_anvil, deployment) = deployed(1000).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("node.sqlite");
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let keys = Keys {
        backend: BackendSecretKey::generate(&mut rng),
        registrar: SigningKey::generate(&mut rng),
    };
    let (node, client) = start(&deployment, db.clone(), &keys).await;

    let gateway = address(GATEWAY_ACCOUNT).into_array();
    send(
        &deployment,
        ADMIN_ACCOUNT,
        vec![Message::GatewayAuthorization(GatewayAuthorization {
            gateway,
            authorized: true,
        })],
    )
    .await;
    let car = SigningKey::generate(&mut rng);
    let id = DeviceId::random(&mut rng);
    let register = RegistrarMessage::sign(
        &keys.registrar,
        keys.backend.public_key(),
        1,
        RegistrarAction::RegisterDevice {
            device_id: id,
            model: ModelId(1),
            public_key: car.public_key(),
        },
    )
    .unwrap();
    send(&deployment, SENDER, vec![Message::Registrar(register)]).await;
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
            Envelope::seal(
                &car,
                keys.backend.public_key(),
                id,
                counter,
                &[reading],
                &mut rng,
            )
            .unwrap()
            .envelope,
        );
    }
    // From a stranger: the whole input is rejected.
    send(
        &deployment,
        SENDER,
        vec![Message::Envelope(envelopes[0].clone())],
    )
    .await;
    send(
        &deployment,
        GATEWAY_ACCOUNT,
        vec![
            Message::Envelope(envelopes[0].clone()),
            Message::Envelope(envelopes[1].clone()),
        ],
    )
    .await;
    client.wait_processed(4).await;
    let rejected = client
        .result("cartesi_getInput", json!({"input_index": "0x2"}))
        .await;
    assert_eq!(rejected["data"]["status"], "REJECTED", "{rejected}");
    let before = query(&client, json!({"type": "state_root"})).await;

    // Stop the node mid-stream; inputs keep arriving on chain while it is down.
    node.shutdown().await;
    send(
        &deployment,
        GATEWAY_ACCOUNT,
        vec![Message::Envelope(envelopes[2].clone())],
    )
    .await;
    let (node, client) = start(&deployment, db.clone(), &keys).await;
    client.wait_processed(5).await;
    send(
        &deployment,
        GATEWAY_ACCOUNT,
        vec![Message::Envelope(envelopes[3].clone())],
    )
    .await;
    client.wait_processed(6).await;
    let status = query(&client, json!({"type": "device", "device_id": id.to_hex()})).await;
    assert_eq!(status["readings"], 4, "{status}");
    assert_eq!(status["last_counter"], 4);
    let after = query(&client, json!({"type": "state_root"})).await;
    node.shutdown().await;

    // A third start replays all 6 inputs to exactly the same root.
    let (node, client) = start(&deployment, db, &keys).await;
    wait_for("the replay", || async {
        query(&client, json!({"type": "state_root"})).await["processed_inputs"] == 6
    })
    .await;
    let again = query(&client, json!({"type": "state_root"})).await;
    assert_eq!(again["state_root"], after["state_root"]);
    assert_ne!(after["state_root"], before["state_root"]);
    node.shutdown().await;
}
