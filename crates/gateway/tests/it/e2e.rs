//! The whole pipeline: anvil + the host-mode node (witness-node) running the real backend
//! (witness-backend) + the gateway. Envelopes posted to the gateway become attested on the
//! rollup and queryable; the owner gets the history keys through the gateway and opens the
//! device's history notices the gateway read from the node, which refold to the leaf's
//! accumulator.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use witness_chain::AnvilOptions;
use witness_gateway::{BatchConfig, ChainConfig};
use witness_protocol::api::{HistoryKeys, Report};
use witness_protocol::notice::HistoryNotice;
use witness_protocol::state::HistoryAccumulator;
use witness_protocol::{Envelope, Message, RollupInput, SigningKey, open_response};
use witness_test_support::{Chain, ChainOpts, NodeOpts, RunningNode, backend_command, node_config};

use crate::common::*;

async fn receipt_status(app: &App, hash: &[u8; 32]) -> Value {
    app.get(&format!("/v1/receipts/{}", hex::encode(hash)), None)
        .await
        .json
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_become_attested_and_queryable() {
    let chain = Chain::start(AnvilOptions::default(), ChainOpts::default())
        .await
        .unwrap();
    let keys = Keys::new(next_seed()).on(&chain);
    let app_id = keys.app_id();

    // The admin authorizes the gateway's account on the application.
    chain.authorize_gateway().await.unwrap();

    // The node runs the real backend with the deployment's configuration.
    let dir = tempfile::tempdir().unwrap();
    let opts = NodeOpts {
        command: backend_command(),
        backend_key: &keys.backend,
        root_registrar: keys.registrar.public_key(),
        db_path: dir.path().join("node.sqlite"),
    };
    let mut node_config = node_config(&chain.deployment, opts).with_ephemeral_ports();
    node_config.poll_interval = Duration::from_millis(50);
    node_config.finish_timeout = Duration::from_secs(1);
    node_config.claimer_key = None;
    let node = RunningNode::start(node_config).await.unwrap();

    // The gateway learns the backend key from the node (none configured).
    let url = dir.path().join("gateway.sqlite").display().to_string();
    let gateway_chain = ChainConfig {
        poll_interval: Duration::from_millis(50),
        ..chain.gateway_chain()
    };
    let endpoints = node.endpoints().clone();
    let mut app = App::with(&url, move |c| {
        c.chain = Some(gateway_chain);
        c.app = Some(app_id);
        c.node = Some(endpoints);
        c.backend_public_key = None;
        c.batch = BatchConfig {
            max_bytes: 60 * 1024,
            max_delay: Duration::from_millis(100),
            gas_target: None,
            ..BatchConfig::default()
        };
    })
    .await;
    // The test's keys must be the deployment's (App made its own).
    app.keys = keys;
    let handle = app.gateway.clone().serve().await.unwrap();

    let owner = app.signup("driver").await;
    let mut device = Device::new(next_seed());
    app.register(&[&device]).await;
    let owner_key = SigningKey::generate(&mut rng(next_seed()));
    let statement = device.ownership(&app.keys, &owner_key, 1);
    let claim = app
        .post(
            &format!("/v1/devices/{}/claim", device.id),
            Some(&owner),
            json!({"statement": statement_hex(&statement)}),
        )
        .await;
    assert_eq!(claim.status, StatusCode::ACCEPTED, "{}", claim.json);

    let envelopes = vec![
        device.seal(&app.keys, 2),
        device.seal(&app.keys, 1),
        device.seal(&app.keys, 3),
    ];
    let answer = app.post_octets(concat(&envelopes)).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
    // A reading the backend will refuse (older than its buffering window): the gateway cannot
    // see the timestamp (it is encrypted), so it acknowledges, and the receipt says rejected.
    let mut stale = Device::new(0);
    stale.id = device.id;
    stale.key = SigningKey::from_seed(&device.key.to_seed());
    stale.counter = device.counter;
    let old = {
        let readings = vec![witness_protocol::Reading {
            timestamp: now_s() - 60 * 24 * 3600,
            odometer_m: stale.odometer_m + 50_000_000,
            ..Default::default()
        }];
        witness_protocol::Envelope::seal(
            &stale.key,
            &app.keys.domain,
            stale.id,
            stale.counter,
            &readings,
            &mut rng(next_seed()),
        )
        .unwrap()
        .envelope
    };
    device.counter += 1;
    assert_eq!(
        app.post_octets(concat(std::slice::from_ref(&old)))
            .await
            .status,
        StatusCode::ACCEPTED
    );

    for envelope in &envelopes {
        let hash = envelope.hash();
        wait_until("the envelope to be attested", 90, || async {
            receipt_status(&app, &hash).await["status"] == "attested"
        })
        .await;
    }
    let rejected_hash = old.hash();
    wait_until("the stale envelope's outcome", 60, || async {
        receipt_status(&app, &rejected_hash).await["status"] == "rejected"
    })
    .await;
    let rejected = receipt_status(&app, &rejected_hash).await;
    assert_eq!(rejected["reason"], "timestamp_too_old", "{rejected}");
    let attested = receipt_status(&app, &envelopes[0].hash()).await;
    assert!(attested["input_index"].as_u64().unwrap() >= 1, "{attested}");
    assert!(attested["tx_hash"].as_str().unwrap().starts_with("0x"));

    // Device status: the rollup's public view plus the gateway's submission state.
    let detail = app
        .get(&format!("/v1/devices/{}", device.id), Some(&owner))
        .await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.json);
    let rollup = &detail.json["rollup"];
    assert_eq!(rollup["exists"], true, "{rollup}");
    let leaf = &rollup["leaf"];
    assert_eq!(leaf["last_counter"], 5, "{rollup}");
    assert_eq!(leaf["attested"], 6);
    assert_eq!(
        leaf["owner"],
        hex::encode(owner_key.public_key().to_bytes())
    );
    assert_eq!(detail.json["submission"]["attested"], 3);
    assert_eq!(detail.json["submission"]["rejected"], 1);
    // Its latest receipts, newest first, are those by hash: the refused one, then the others.
    let mut latest = vec![rejected.clone()];
    for envelope in envelopes.iter().rev() {
        latest.push(receipt_status(&app, &envelope.hash()).await);
    }
    assert_eq!(detail.json["receipts"], Value::Array(latest));

    // The owner's history-key query, relayed: the keys are sealed to the owner's response key.
    let (query, response_key) = owner_query_hex(&app.keys, &owner_key, device.id);
    let answer = app
        .post(
            &format!("/v1/devices/{}/history-keys", device.id),
            Some(&owner),
            json!({"owner_query": query}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    assert_eq!(answer.json["type"], "history_keys", "{}", answer.json);
    let sealed = hex::decode(answer.json["sealed"].as_str().unwrap()).unwrap();
    let query_bytes = hex::decode(&query).unwrap();
    let signature = &query_bytes[query_bytes.len() - 64..];
    let plain = open_response(&response_key, signature, &sealed).unwrap();
    let history_keys: HistoryKeys = serde_json::from_slice(&plain).unwrap();
    let key_of = |keys: &[witness_protocol::api::EraKey], era: u32| {
        keys.iter()
            .find(|k| k.era == era)
            .map(|k| <[u8; 32]>::try_from(hex::decode(&k.key).unwrap().as_slice()).unwrap())
    };

    // The device's notices (public), newest first, in pages of 2: they refold to the leaf's
    // accumulator and open, with the owner's keys, to the six readings.
    let path = format!("/v1/devices/{}/notices", device.id);
    let mut payloads = Vec::new();
    let mut page = app.get(&format!("{path}?limit=2"), None).await;
    loop {
        assert_eq!(page.status, StatusCode::OK, "{}", page.json);
        for notice in page.json["notices"].as_array().unwrap() {
            payloads.push(hex::decode(notice["payload"].as_str().unwrap()).unwrap());
        }
        let Some(before) = page.json["next_before"].as_u64() else {
            break;
        };
        page = app
            .get(&format!("{path}?limit=2&before={before}"), None)
            .await;
    }
    payloads.reverse();
    let mut accumulator = HistoryAccumulator::default();
    let mut odometers = Vec::new();
    for (position, payload) in payloads.iter().enumerate() {
        let notice = HistoryNotice::decode(payload).unwrap();
        assert_eq!(notice.position, position as u64);
        accumulator.fold(payload, notice.input_index);
        let odometer = key_of(&history_keys.odometer, notice.era).unwrap();
        let detail = key_of(&history_keys.detail, notice.era);
        for value in notice.open_values(&odometer, detail.as_ref()).unwrap() {
            odometers.push(value.odometer_m);
        }
    }
    let history = &page.json["leaf"]["history"];
    assert_eq!(history["count"], accumulator.count, "{history}");
    assert_eq!(history["root"], hex::encode(accumulator.root));
    assert_eq!(history["last_input"], json!(accumulator.last_input));
    assert_eq!(odometers.len(), 6, "{odometers:?}");
    assert!(odometers.windows(2).all(|w| w[0] < w[1]));

    // Someone else's key cannot get the owner's keys: the backend's refusal, relayed as is.
    let stranger = SigningKey::generate(&mut rng(next_seed()));
    let (foreign, _) = owner_query_hex(&app.keys, &stranger, device.id);
    let refused = app
        .post(
            &format!("/v1/devices/{}/history-keys", device.id),
            Some(&owner),
            json!({"owner_query": foreign}),
        )
        .await;
    assert_eq!(
        (
            refused.status,
            refused.json["type"].as_str(),
            refused.json["error"].as_str()
        ),
        (StatusCode::OK, Some("error"), Some("not_owner"))
    );

    // Public statistics and the operator's view.
    let stats = app.get("/v1/stats", None).await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.json);
    assert!(
        stats.json["k_anonymity"].as_u64().is_some(),
        "{}",
        stats.json
    );
    let system = app.get("/v1/system", Some(&app.admin)).await;
    assert!(
        system.json["node_processed_inputs"].as_u64().unwrap() >= 2,
        "{}",
        system.json
    );
    assert_eq!(
        system.json["recent_rejections"][0]["reason"],
        "timestamp_too_old"
    );

    handle.shutdown().await;
    node.shutdown().await;
}

/// The node running the real backend for `chain`'s deployment, with `keys`' backend key and
/// registrar.
async fn start_node(chain: &Chain, keys: &Keys, dir: &std::path::Path) -> RunningNode {
    let opts = NodeOpts {
        command: backend_command(),
        backend_key: &keys.backend,
        root_registrar: keys.registrar.public_key(),
        db_path: dir.join("node.sqlite"),
    };
    let mut config = node_config(&chain.deployment, opts).with_ephemeral_ports();
    config.poll_interval = Duration::from_millis(50);
    config.finish_timeout = Duration::from_secs(1);
    config.claimer_key = None;
    RunningNode::start(config).await.unwrap()
}

/// A gateway over `url` for `chain`'s deployment, signing with the keys of `seed`, reading
/// from `node` when given, submitting when `submit`.
async fn gateway(
    url: &str,
    chain: &Chain,
    seed: u64,
    node: Option<&RunningNode>,
    submit: bool,
) -> App {
    let keys = Keys::new(seed).on(chain);
    let app_id = keys.app_id();
    let backend = keys.backend.public_key().clone();
    let gateway_chain = ChainConfig {
        poll_interval: Duration::from_millis(50),
        ..chain.gateway_chain()
    };
    let endpoints = node.map(|n| n.endpoints().clone());
    let mut app = App::with(url, move |c| {
        c.chain = submit.then_some(gateway_chain);
        c.app = Some(app_id);
        c.node = endpoints;
        c.backend_public_key = Some(backend);
        c.batch = BatchConfig {
            max_bytes: 60 * 1024,
            max_delay: Duration::from_millis(100),
            gas_target: None,
            ..BatchConfig::default()
        };
    })
    .await;
    app.keys = keys;
    app
}

/// The gateway's inputs on chain, with their messages.
async fn gateway_inputs(chain: &Chain) -> Vec<(u64, Vec<Message>)> {
    chain_inputs(chain)
        .await
        .into_iter()
        .filter(|(_, sender, _)| *sender == gateway_address())
        .map(|(index, _, payload)| (index, RollupInput::decode(&payload).unwrap().messages))
        .collect()
}

async fn metric_value(app: &App, name: &str) -> i64 {
    let text = app.get("/metrics", None).await.json;
    text.as_str()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap()
        .parse()
        .unwrap()
}

/// Readings a gateway sent before the admin authorized it: the backend refuses their input
/// as a whole (`unauthorized_sender`); the gateway puts them back in its outbox (receipts:
/// pending, one refusal), sends no envelope while the rollup does not authorize it (the
/// registration of their input goes alone), and sends them again once the admin authorized
/// it: they end attested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_refused_for_its_sender_is_sent_again_once_the_gateway_is_authorized() {
    let chain = Chain::start(AnvilOptions::default(), ChainOpts::default())
        .await
        .unwrap();
    let seed = next_seed();
    let dir = tempfile::tempdir().unwrap();
    let node = start_node(&chain, &Keys::new(seed).on(&chain), dir.path()).await;
    let url = dir.path().join("gateway.sqlite").display().to_string();

    // 1. Without a node the gateway cannot ask whether it is authorized (and it is not): the
    //    registration and three envelopes go in one input, which the rollup refuses.
    let app = gateway(&url, &chain, seed, None, true).await;
    let mut device = Device::new(next_seed());
    app.register(&[&device]).await;
    let envelopes: Vec<_> = (0..3).map(|_| device.seal(&app.keys, 1)).collect();
    let answer = app.post_octets(concat(&envelopes)).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
    let handle = app.gateway.clone().serve().await.unwrap();
    wait_until("the input to be mined", 60, || async {
        let stats = app.gateway.store().queue_stats().await.unwrap();
        stats.pending_messages == 0 && stats.submitted_messages == 0
    })
    .await;
    handle.shutdown().await;
    let sent = gateway_inputs(&chain).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].1.len(),
        4,
        "registration and envelopes in one input"
    );
    let refused_index = sent[0].0;
    let client = node.client();
    wait_until("the node to process it", 60, || async {
        client.processed_input_count().await.unwrap_or(0) > refused_index
    })
    .await;
    let reports = client.reports_of_input(refused_index).await.unwrap();
    assert!(
        reports.iter().any(|r| matches!(
            r,
            Report::InputRefused { reason, .. } if reason == "unauthorized_sender"
        )),
        "{reports:?}"
    );

    // 2. The same database, now with the node: the refusal puts the messages back.
    let app = gateway(&url, &chain, seed, Some(&node), true).await;
    let handle = app.gateway.clone().serve().await.unwrap();
    for envelope in &envelopes {
        let hash = envelope.hash();
        wait_until("the envelope to be pending again", 60, || async {
            let receipt = receipt_status(&app, &hash).await;
            receipt["status"] == "pending" && receipt["input_refusals"] == 1
        })
        .await;
    }
    let receipt = receipt_status(&app, &envelopes[0].hash()).await;
    assert_eq!(
        receipt["last_input_refusal"], "unauthorized_sender",
        "{receipt}"
    );
    assert!(receipt.get("input_index").is_none(), "{receipt}");
    // Not authorized: the registration goes again alone, the envelopes wait.
    wait_until("the registration to be sent again", 60, || async {
        gateway_inputs(&chain).await.len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sent = gateway_inputs(&chain).await;
    assert_eq!(sent.len(), 2, "an input went while not authorized");
    assert!(
        matches!(sent[1].1.as_slice(), [Message::Registrar(_)]),
        "{:?}",
        sent[1].1
    );
    assert_eq!(
        metric_value(&app, "witness_gateway_gateway_authorized").await,
        0
    );
    assert_eq!(
        metric_value(&app, "witness_gateway_messages_requeued_total").await,
        4
    );
    let system = app.get("/v1/system", Some(&app.admin)).await;
    assert_eq!(system.json["gateway_authorized"], false, "{}", system.json);
    for envelope in &envelopes {
        assert_eq!(
            receipt_status(&app, &envelope.hash()).await["status"],
            "pending"
        );
    }

    // 3. The admin authorizes the gateway: the envelopes go again and are attested.
    chain.authorize_gateway().await.unwrap();
    for envelope in &envelopes {
        let hash = envelope.hash();
        wait_until("the envelope to be attested", 90, || async {
            receipt_status(&app, &hash).await["status"] == "attested"
        })
        .await;
    }
    let receipt = receipt_status(&app, &envelopes[2].hash()).await;
    assert_eq!(receipt["input_refusals"], 1, "{receipt}");
    assert!(
        receipt["input_index"].as_u64().unwrap() > refused_index,
        "{receipt}"
    );
    let sent = gateway_inputs(&chain).await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    let resent: Vec<[u8; 32]> = envelope_hashes(&sent[2].1);
    assert_eq!(
        resent,
        envelopes.iter().map(Envelope::hash).collect::<Vec<_>>(),
        "sent again once each, in order"
    );
    let detail = app
        .get(&format!("/v1/devices/{}", device.id), Some(&app.admin))
        .await;
    assert_eq!(
        detail.json["rollup"]["leaf"]["attested"], 3,
        "{}",
        detail.json
    );
    assert_eq!(
        metric_value(&app, "witness_gateway_gateway_authorized").await,
        1
    );

    handle.shutdown().await;
    node.shutdown().await;
}

/// Envelopes anyone can copy from calldata, posted to a gateway that never saw them (a fresh
/// database, the device registered there too): the gateway asks the node for the device's
/// counter first and refuses them as replays (409) instead of paying for their refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_historic_envelope_replayed_to_a_fresh_gateway_is_refused_before_it_is_paid_for() {
    let chain = Chain::start(AnvilOptions::default(), ChainOpts::default())
        .await
        .unwrap();
    chain.authorize_gateway().await.unwrap();
    let seed = next_seed();
    let dir = tempfile::tempdir().unwrap();
    let node = start_node(&chain, &Keys::new(seed).on(&chain), dir.path()).await;

    // Gateway A carries a device's readings to the rollup.
    let first = dir.path().join("a.sqlite").display().to_string();
    let app = gateway(&first, &chain, seed, Some(&node), true).await;
    let handle = app.gateway.clone().serve().await.unwrap();
    let mut device = Device::new(next_seed());
    app.register(&[&device]).await;
    let envelopes = vec![device.seal(&app.keys, 2), device.seal(&app.keys, 1)];
    let answer = app.post_octets(concat(&envelopes)).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
    for envelope in &envelopes {
        let hash = envelope.hash();
        wait_until("the envelope to be attested", 90, || async {
            receipt_status(&app, &hash).await["status"] == "attested"
        })
        .await;
    }
    handle.shutdown().await;
    // As anyone can copy them from calldata.
    let copied: Vec<Envelope> = submitted_messages(&chain)
        .await
        .into_iter()
        .filter_map(|m| match m {
            Message::Envelope(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(copied.len(), 2);

    // Gateway B: a fresh database; the device's registration relayed there again.
    let second = dir.path().join("b.sqlite").display().to_string();
    let fresh = gateway(&second, &chain, seed, Some(&node), false).await;
    fresh.register(&[&device]).await;
    let depth = fresh.queue_depth().await;
    for envelope in &copied {
        let replayed = fresh
            .post_octets(concat(std::slice::from_ref(envelope)))
            .await;
        assert_eq!(
            (replayed.status, replayed.json["error"].as_str()),
            (StatusCode::CONFLICT, Some("replay")),
            "{}",
            replayed.json
        );
    }
    assert_eq!(
        fresh.queue_depth().await,
        depth,
        "nothing stored, nothing to pay for"
    );
    // The device's next envelope is fresh.
    let next = device.seal(&fresh.keys, 1);
    let answer = fresh.post_octets(concat(&[next])).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
    node.shutdown().await;
}
