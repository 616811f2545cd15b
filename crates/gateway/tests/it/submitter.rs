//! The submitter against a real anvil: exactly-once submission, batching bounds, RPC
//! outages, and recovery from a crash at every point of the input state machine.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode;
use witness_gateway::BatchConfig;
use witness_gateway::submitter::build_payload;
use witness_protocol::{MAX_MESSAGES, Message};

use crate::common::*;

fn small_batches(max_delay_ms: u64) -> BatchConfig {
    BatchConfig {
        max_bytes: 17 * 1024,
        max_delay: Duration::from_millis(max_delay_ms),
        gas_target: None,
        ..BatchConfig::default()
    }
}

/// Posts `rounds` requests of `per_request` envelopes for each device; the hashes acknowledged.
async fn post_some(
    app: &App,
    devices: &mut [Device],
    rounds: usize,
    per_request: usize,
) -> Vec<[u8; 32]> {
    let mut acknowledged = Vec::new();
    for _ in 0..rounds {
        for device in devices.iter_mut() {
            let envelopes: Vec<_> = (0..per_request)
                .map(|_| device.seal(&app.keys, 1))
                .collect();
            let answer = app.post_octets(concat(&envelopes)).await;
            assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
            acknowledged.extend(envelopes.iter().map(|e| e.hash()));
        }
    }
    acknowledged
}

async fn metric(app: &App, name: &str) -> u64 {
    let metrics = app.get("/metrics", None).await;
    metrics
        .json
        .as_str()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap()
        .parse()
        .unwrap()
}

async fn drained(app: &App) -> bool {
    let stats = app.gateway.store().queue_stats().await.unwrap();
    stats.pending_messages == 0 && stats.submitted_messages == 0
}

/// Every acknowledged envelope is on chain exactly once, and nothing else the gateway
/// submitted is duplicated.
fn assert_exactly_once(acknowledged: &[[u8; 32]], messages: &[Message]) {
    let mut seen: HashMap<[u8; 32], usize> = HashMap::new();
    for hash in envelope_hashes(messages) {
        *seen.entry(hash).or_default() += 1;
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "an envelope was submitted twice"
    );
    for hash in acknowledged {
        assert_eq!(
            seen.get(hash),
            Some(&1),
            "acknowledged envelope {} not on chain",
            hex::encode(hash)
        );
    }
}

#[tokio::test]
async fn submits_every_acknowledged_message_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    for url in database_urls(dir.path()).await {
        submit_scenario(&url).await;
    }
}

async fn submit_scenario(url: &str) {
    let chain = deployed(None).await;
    let config = chain_config(&chain, chain.rpc_url());
    let app = App::with(url, move |c| {
        c.chain = Some(config);
        c.batch = small_batches(100);
    })
    .await;
    let handle = app.gateway.clone().serve().await.unwrap();
    let mut devices: Vec<Device> = (0..3).map(|_| Device::new(next_seed())).collect();
    app.register(&devices.iter().collect::<Vec<_>>()).await;
    let acknowledged = post_some(&app, &mut devices, 20, 5).await;
    wait_until("the queue to drain", 60, || drained(&app)).await;

    let messages = submitted_messages(&chain).await;
    assert_exactly_once(&acknowledged, &messages);
    assert_eq!(
        messages.len(),
        3 + acknowledged.len(),
        "registrations + envelopes, nothing else"
    );
    // Order: each device's registration first, then its envelopes with increasing counters.
    let mut registered = std::collections::HashSet::new();
    let mut last_counter: HashMap<_, u64> = HashMap::new();
    for message in &messages {
        match message {
            Message::Registrar(m) => {
                registered.insert(m.action.device_id().unwrap());
            }
            Message::Envelope(e) => {
                let id = e.header().device_id;
                assert!(
                    registered.contains(&id),
                    "an envelope precedes its device's registration"
                );
                if let Some(last) = last_counter.get(&id) {
                    assert!(e.header().counter > *last, "counters out of order on chain");
                }
                last_counter.insert(id, e.header().counter);
            }
            other => panic!("unexpected message {other:?}"),
        }
    }
    // Several inputs, each within the size bound, equal to what the gateway stored.
    let stored = app.gateway.store().inputs().await.unwrap();
    let on_chain: Vec<Vec<u8>> = chain_inputs(&chain)
        .await
        .into_iter()
        .map(|(_, _, payload)| payload)
        .collect();
    // ~50 KB of messages cannot fit fewer than three 17 KiB inputs.
    let total: usize = stored.iter().map(|i| i.payload.len()).sum();
    assert!(
        stored.len() >= total.div_ceil(17 * 1024) && stored.len() >= 3,
        "{} inputs for {} bytes",
        stored.len(),
        total
    );
    assert_eq!(
        on_chain,
        stored.iter().map(|i| i.payload.clone()).collect::<Vec<_>>()
    );
    assert!(
        stored
            .iter()
            .all(|i| i.payload.len() <= 17 * 1024 && i.state == "included")
    );
    // Receipts say where each envelope went.
    let receipt = app
        .get(
            &format!("/v1/receipts/{}", hex::encode(acknowledged[7])),
            None,
        )
        .await;
    assert_eq!(receipt.json["status"], "included", "{}", receipt.json);
    assert!(receipt.json["tx_hash"].as_str().unwrap().starts_with("0x"));
    assert!(receipt.json["input_index"].is_u64());
    assert!(receipt.json["message_index"].is_u64());
    let metrics = app.get("/metrics", None).await;
    let text = metrics.json.as_str().unwrap();
    let gas: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("witness_gateway_gas_used_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(gas > 100_000, "gas {gas}");
    let system = app.get("/v1/system", Some(&app.admin)).await;
    assert_eq!(system.json["submitter_enabled"], true);
    assert!(
        system.json["chain_head"].as_u64().is_some(),
        "{}",
        system.json
    );
    assert_eq!(
        system.json["queue"]["inputs_included"].as_u64(),
        Some(stored.len() as u64)
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn rides_out_rpc_outages_without_duplicates() {
    // Blocks every second, so transactions wait in the mempool while the RPC is cut.
    let chain = deployed(Some(1.0)).await;
    let target: std::net::SocketAddr = format!("127.0.0.1:{}", chain.anvil.port()).parse().unwrap();
    let proxy = Proxy::start(target).await;
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("g.sqlite").display().to_string();
    let config = chain_config(&chain, &proxy.url);
    let app = App::with(&url, move |c| {
        c.chain = Some(config);
        c.batch = small_batches(50);
    })
    .await;
    let handle = app.gateway.clone().serve().await.unwrap();
    let mut devices: Vec<Device> = (0..2).map(|_| Device::new(next_seed())).collect();
    app.register(&devices.iter().collect::<Vec<_>>()).await;
    let mut acknowledged = post_some(&app, &mut devices, 3, 4).await;
    // Cut the RPC right after a transaction was broadcast (it is still unmined).
    wait_until("a broadcast", 30, || async {
        app.gateway
            .store()
            .inputs()
            .await
            .unwrap()
            .iter()
            .any(|i| i.state == "sent")
    })
    .await;
    proxy.set_cut(true);
    // Intake does not need the chain: envelopes keep being acknowledged.
    acknowledged.extend(post_some(&app, &mut devices, 3, 4).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let metrics = app.get("/metrics", None).await;
    assert!(
        !metrics
            .json
            .as_str()
            .unwrap()
            .contains("witness_gateway_submit_errors_total 0\n"),
        "the outage went unnoticed"
    );
    proxy.set_cut(false);
    acknowledged.extend(post_some(&app, &mut devices, 2, 4).await);
    wait_until("the queue to drain", 90, || drained(&app)).await;
    let messages = submitted_messages(&chain).await;
    assert_exactly_once(&acknowledged, &messages);
    let stored = app.gateway.store().inputs().await.unwrap();
    let gateway_inputs = chain_inputs(&chain)
        .await
        .into_iter()
        .filter(|(_, sender, _)| *sender == gateway_address())
        .count();
    assert_eq!(
        gateway_inputs,
        stored.len(),
        "a re-broadcast was mined twice"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn recovers_an_input_left_at_every_crash_point() {
    let dir = tempfile::tempdir().unwrap();
    for url in database_urls(dir.path()).await {
        recovery_scenario(&url).await;
    }
}

async fn recovery_scenario(url: &str) {
    let chain = deployed(None).await;
    let config = chain_config(&chain, chain.rpc_url());
    let app = App::with(url, move |c| {
        c.chain = Some(config);
        c.batch = small_batches(50);
    })
    .await;
    let store = app.gateway.store().clone();
    let mut devices: Vec<Device> = (0..2).map(|_| Device::new(next_seed())).collect();
    app.register(&devices.iter().collect::<Vec<_>>()).await;
    let mut acknowledged = Vec::new();
    // The gateway account's client, as the crashed submitter would have used it.
    let l1 = chain.client(witness_chain::GATEWAY_ACCOUNT).unwrap();
    let pending_nonce = || async {
        use alloy::providers::Provider;
        l1.provider()
            .get_transaction_count(gateway_address())
            .pending()
            .await
            .unwrap()
    };
    // Builds an input from the pending messages, as the submitter would before crashing.
    let batch_input = || async {
        let batch = store.next_batch(17 * 1024, MAX_MESSAGES).await.unwrap();
        let head = l1.block_number().await.unwrap();
        let ids = batch.messages.iter().map(|(id, _)| *id).collect();
        store
            .create_input(ids, build_payload(&batch.messages), head)
            .await
            .unwrap()
    };
    // Runs the submitter until the queue drains; how many transactions it broadcast.
    let run_submitter = || async {
        let before = metric(&app, "witness_gateway_transactions_sent_total").await;
        let handle = app.gateway.clone().serve().await.unwrap();
        wait_until("the queue to drain", 60, || drained(&app)).await;
        handle.shutdown().await;
        metric(&app, "witness_gateway_transactions_sent_total").await - before
    };

    // 1. Crash right after batching (no nonce reserved): sent once.
    acknowledged.extend(post_some(&app, &mut devices, 2, 3).await);
    let input = batch_input().await;
    assert_eq!((input.state.as_str(), input.nonce), ("batched", None));
    assert_eq!(run_submitter().await, 1);

    // 2. Crash after the broadcast, before recording it: found on chain, not sent again.
    acknowledged.extend(post_some(&app, &mut devices, 2, 3).await);
    let input = batch_input().await;
    let nonce = pending_nonce().await;
    store.set_input_nonce(input.id, Some(nonce)).await.unwrap();
    l1.add_input(chain.deployment.application, input.payload.clone())
        .await
        .unwrap();
    assert_eq!(
        run_submitter().await,
        0,
        "re-sent an input already on chain"
    );

    // 3. Crash after reserving the nonce, before any broadcast: sent with that nonce.
    acknowledged.extend(post_some(&app, &mut devices, 2, 3).await);
    let input = batch_input().await;
    let nonce = pending_nonce().await;
    store.set_input_nonce(input.id, Some(nonce)).await.unwrap();
    assert_eq!(run_submitter().await, 1);

    // 4. The reserved nonce was consumed by another transaction of the gateway key: a new
    //    nonce is reserved and the input is sent once.
    acknowledged.extend(post_some(&app, &mut devices, 2, 3).await);
    let input = batch_input().await;
    let nonce = pending_nonce().await;
    store.set_input_nonce(input.id, Some(nonce)).await.unwrap();
    l1.add_input(chain.deployment.application, b"unrelated".to_vec())
        .await
        .unwrap();
    assert_eq!(run_submitter().await, 1);

    // 5. Crash after recording a broadcast whose transaction was lost (never reached the
    //    chain): the nonce is still free, the input is broadcast again.
    acknowledged.extend(post_some(&app, &mut devices, 2, 3).await);
    let input = batch_input().await;
    let nonce = pending_nonce().await;
    store.set_input_nonce(input.id, Some(nonce)).await.unwrap();
    store.mark_sent(input.id, [0xab; 32]).await.unwrap();
    assert_eq!(run_submitter().await, 1);

    let stored = store.inputs().await.unwrap();
    assert!(stored.iter().all(|i| i.state == "included"));
    let on_chain: Vec<Vec<u8>> = chain_inputs(&chain)
        .await
        .into_iter()
        .filter(|(_, sender, payload)| *sender == gateway_address() && payload != b"unrelated")
        .map(|(_, _, payload)| payload)
        .collect();
    assert_eq!(
        on_chain,
        stored.iter().map(|i| i.payload.clone()).collect::<Vec<_>>()
    );
    let messages: Vec<Message> = on_chain
        .iter()
        .flat_map(|p| witness_protocol::RollupInput::decode(p).unwrap().messages)
        .collect();
    assert_exactly_once(&acknowledged, &messages);
    // The included inputs carry the chain's indexes.
    let indexes: Vec<Option<u64>> = stored.iter().map(|i| i.input_index).collect();
    assert!(indexes.iter().all(Option::is_some), "{indexes:?}");
    assert_eq!(store.queue_stats().await.unwrap().submitted_messages, 0);
}

/// With a gas target and a long delay bound, a partial batch of readings waits until an input
/// of it would cost at most the target per reading (`eth_estimateGas` on anvil), while a
/// registration goes at once.
#[tokio::test]
async fn a_gas_target_holds_readings_until_their_input_is_cheap_enough() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("gateway.sqlite").display().to_string();
    let chain = deployed(None).await;
    let config = chain_config(&chain, chain.rpc_url());
    let app = App::with(&url, move |c| {
        c.chain = Some(config);
        c.batch = BatchConfig {
            max_bytes: 60 * 1024,
            max_delay: Duration::from_secs(600),
            gas_target: Some(1_000),
            urgent_interval: URGENT,
        };
    })
    .await;
    let handle = app.gateway.clone().serve().await.unwrap();
    let mut device = Device::new(next_seed());
    app.register(&[&device]).await;
    wait_until("the registration to go at once", 30, || drained(&app)).await;
    let inputs = || async { chain_inputs(&chain).await.len() };
    let registered = inputs().await;
    let gas_before = metric(&app, "witness_gateway_gas_used_total").await;

    // Three 16-reading envelopes alone would cost about 1,600 gas per reading: they wait.
    let mut acknowledged = Vec::new();
    for _ in 0..3 {
        let envelope = device.seal(&app.keys, 16);
        acknowledged.push(envelope.hash());
        let answer = app.post_octets(concat(&[envelope])).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        inputs().await,
        registered,
        "a costly partial batch was sent"
    );
    let stats = app.gateway.store().queue_stats().await.unwrap();
    assert_eq!(stats.pending_messages, 3);

    // Twelve of them fit the target: sent long before the ten-minute bound. The nine arrive
    // in one request (committed together): posted one by one, the submitter could see eight
    // pending (800 gas per reading, within the target) and send those alone.
    let more: Vec<_> = (0..9).map(|_| device.seal(&app.keys, 16)).collect();
    acknowledged.extend(more.iter().map(witness_protocol::Envelope::hash));
    let answer = app.post_octets(concat(&more)).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
    wait_until("the batch to be sent", 30, || drained(&app)).await;
    assert_eq!(inputs().await, registered + 1, "one input for the batch");
    let messages = submitted_messages(&chain).await;
    assert_exactly_once(&acknowledged, &messages);
    let gas = metric(&app, "witness_gateway_gas_used_total").await - gas_before;
    assert!(gas <= 1_000 * 12 * 16, "{gas} gas for 192 readings");

    // Statements go early, but at most one early send per urgent interval: a registration
    // right after another waits (it would go at once without the bound).
    let first = Device::new(next_seed());
    app.register(&[&first]).await;
    wait_until("the registration to go early", 30, || drained(&app)).await;
    let second = Device::new(next_seed());
    app.register(&[&second]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stats = app.gateway.store().queue_stats().await.unwrap();
    assert_eq!(
        stats.pending_messages, 1,
        "a second early send within the interval"
    );
    wait_until("the interval to pass", 30, || drained(&app)).await;
    handle.shutdown().await;
}

/// The urgent interval of the gas-target test: long enough that a loaded machine cannot mine
/// the first registration's input and still leave the second inside the one-second check.
const URGENT: Duration = Duration::from_secs(6);

/// While the rollup's authorized gateway set (the node's inspect `config`) does not hold the
/// gateway, the submitter sends no envelope: statements that may overtake them go (another
/// device's registration), those that may not wait (an ownership statement behind its device's
/// envelopes); once authorized, everything goes, each device's messages in order.
#[tokio::test]
async fn envelopes_wait_while_the_rollup_does_not_authorize_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    for url in database_urls(dir.path()).await {
        authorization_scenario(&url).await;
    }
}

async fn authorization_scenario(url: &str) {
    let chain = deployed(None).await;
    let config = chain_config(&chain, chain.rpc_url());
    let node = FakeNode::start(String::new()).await;
    let endpoints = node.endpoints.clone();
    let app = App::with(url, move |c| {
        c.chain = Some(config);
        c.node = Some(endpoints);
        c.batch = small_batches(50);
    })
    .await;
    node.trust(&app.keys);
    let handle = app.gateway.clone().serve().await.unwrap();
    let mut a = Device::new(next_seed());
    app.register(&[&a]).await;
    wait_until("a's registration to go", 30, || drained(&app)).await;
    let owner = app.signup("owner").await;
    let acknowledged = post_some(&app, std::slice::from_mut(&mut a), 2, 3).await;
    let (claim, _) = app.claim(&owner, &a, 1).await;
    assert_eq!(claim.status, StatusCode::ACCEPTED, "{}", claim.json);
    let b = Device::new(next_seed());
    app.register(&[&b]).await;

    let registrations = |messages: &[Message]| {
        messages
            .iter()
            .filter(|m| matches!(m, Message::Registrar(_)))
            .count()
    };
    wait_until(
        "b's registration to overtake the held envelopes",
        30,
        || async { registrations(&submitted_messages(&chain).await) == 2 },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let messages = submitted_messages(&chain).await;
    assert_eq!(messages.len(), 2, "{url}: only the registrations went");
    assert_eq!(
        app.queue_depth().await,
        7,
        "{url}: six envelopes and the claim wait"
    );
    assert_eq!(metric(&app, "witness_gateway_gateway_authorized").await, 0);
    assert!(metric(&app, "witness_gateway_envelope_holds_total").await >= 2);
    let system = app.get("/v1/system", Some(&app.admin)).await;
    assert_eq!(system.json["gateway_authorized"], false, "{}", system.json);

    node.authorize_gateway();
    wait_until("the held messages to go", 30, || drained(&app)).await;
    let messages = submitted_messages(&chain).await;
    assert_exactly_once(&acknowledged, &messages);
    assert_eq!(messages.len(), 9, "{url}");
    // a's envelopes, then its ownership statement.
    let ownership = messages
        .iter()
        .position(|m| matches!(m, Message::Ownership(_)))
        .unwrap();
    let last_envelope = messages
        .iter()
        .rposition(|m| matches!(m, Message::Envelope(_)))
        .unwrap();
    assert!(
        last_envelope < ownership,
        "{url}: the claim overtook a's envelopes"
    );
    assert_eq!(metric(&app, "witness_gateway_gateway_authorized").await, 1);
    handle.shutdown().await;
}
