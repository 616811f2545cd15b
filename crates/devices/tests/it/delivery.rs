//! Posting to the gateway: retries with backoff, drops on 409 and permanent refusals, keeps
//! and resends on outages, learns which envelope of a batch was refused.

use witness_devices::{Delivery, Fleet, Profile};

use crate::common::{DAY, START, Stub, spec};

async fn taxi_fleet(dir: &std::path::Path, stub: &Stub, seed: u64) -> (Fleet, String) {
    let mut s = spec(1, seed);
    s.profiles = vec![Profile::Taxi];
    let fleet = Fleet::create(dir, s).unwrap();
    stub.register(&fleet);
    let id = fleet.device_ids()[0].to_hex();
    (fleet, id)
}

#[tokio::test]
async fn transient_errors_are_retried_with_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let (fleet, id) = taxi_fleet(dir.path(), &stub, 21).await;
    stub.with(|s| s.script.extend([500, 503]));
    fleet.step(&stub.client(), START + DAY).await.unwrap();
    let statuses: Vec<u16> = stub.with(|s| s.requests.iter().map(|r| r.status).collect());
    assert_eq!(&statuses[..3], &[500, 503, 202]);
    let stats = fleet.with_device(&id, |d| d.stats().clone()).unwrap();
    assert_eq!(stats.deferred, 0);
    assert!(stats.readings_accepted > 0);
    assert_eq!(stats.readings_accepted, stats.readings_produced);
    assert_eq!(fleet.with_device(&id, |d| d.buffered()).unwrap(), 0);
}

#[tokio::test]
async fn an_outage_keeps_envelopes_and_resends_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let (fleet, id) = taxi_fleet(dir.path(), &stub, 22).await;
    stub.with(|s| s.down = Some(500));
    fleet.step(&stub.client(), START + DAY).await.unwrap();
    let (kept, buffered, stats) = fleet
        .with_device(&id, |d| {
            (d.outbox().unwrap(), d.buffered(), d.stats().clone())
        })
        .unwrap();
    assert!(!kept.is_empty());
    assert_eq!(buffered as u64, stats.readings_produced);
    assert!(stats.deferred > 0);
    // Three attempts (the retry policy), then the step gives up.
    assert_eq!(stub.with(|s| s.requests.len()), 3);

    stub.with(|s| s.down = None);
    fleet.step(&stub.client(), START + DAY).await.unwrap();
    let accepted = stub.with(|s| s.accepted.clone());
    for envelope in &kept {
        assert!(accepted.contains(envelope), "resent byte for byte");
    }
    assert_eq!(fleet.with_device(&id, |d| d.buffered()).unwrap(), 0);
}

#[tokio::test]
async fn replay_answers_drop_the_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let (fleet, id) = taxi_fleet(dir.path(), &stub, 23).await;
    let device = fleet.device_ids()[0];
    // The gateway has already accepted counters up to a million for this device.
    stub.with(|s| s.last_counter.insert(device, 1_000_000));
    fleet.step(&stub.client(), START + 2 * DAY).await.unwrap();
    let stats = fleet.with_device(&id, |d| d.stats().clone()).unwrap();
    assert!(stats.envelopes_sealed > 0);
    assert_eq!(stats.replay_drops, stats.envelopes_sealed);
    assert_eq!(stats.envelopes_accepted, 0);
    assert_eq!(fleet.with_device(&id, |d| d.buffered()).unwrap(), 0);
    // Dropped, not retried: one batch request, then one request per envelope to learn which.
    let split = if stats.envelopes_sealed > 1 {
        stats.envelopes_sealed
    } else {
        0
    };
    assert_eq!(stub.with(|s| s.requests.len()) as u64, 1 + split);
}

#[tokio::test]
async fn a_refused_batch_is_split_to_find_the_culprit() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let (fleet, id) = taxi_fleet(dir.path(), &stub, 24).await;
    let device = fleet.device_ids()[0];
    // Make sure the day is sealed into at least two envelopes.
    fleet.set_online(&id, false).unwrap();
    fleet.step(&stub.client(), START + 2 * DAY).await.unwrap();
    assert!(fleet.with_device(&id, |d| d.buffered()).unwrap() > 16);
    fleet.set_online(&id, true).unwrap();
    // Counter 1 looks replayed to the gateway; 17 onwards do not.
    stub.with(|s| s.last_counter.insert(device, 5));
    fleet.step(&stub.client(), START + 2 * DAY).await.unwrap();
    let stats = fleet.with_device(&id, |d| d.stats().clone()).unwrap();
    assert_eq!(stats.replay_drops, 1);
    assert_eq!(stats.envelopes_accepted, stats.envelopes_sealed - 1);
    let statuses: Vec<u16> = stub.with(|s| s.requests.iter().map(|r| r.status).collect());
    assert_eq!(statuses[0], 409);
    assert_eq!(statuses[1], 409);
    assert!(statuses[2..].iter().all(|s| *s == 202));
}

#[tokio::test]
async fn permanent_refusals_drop_and_direct_delivery_reports_each() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let (fleet, id) = taxi_fleet(dir.path(), &stub, 25).await;
    stub.with(|s| s.down = Some(422));
    fleet.step(&stub.client(), START + DAY).await.unwrap();
    let stats = fleet.with_device(&id, |d| d.stats().clone()).unwrap();
    assert_eq!(stats.rejected_drops, stats.envelopes_sealed);
    assert_eq!(fleet.with_device(&id, |d| d.buffered()).unwrap(), 0);

    // The client on its own.
    let envelope = fleet
        .with_device(&id, |d| d.forged_envelope(START + DAY).unwrap())
        .unwrap();
    stub.with(|s| s.down = None);
    assert_eq!(
        stub.client().deliver(std::slice::from_ref(&envelope)).await,
        vec![Delivery::Rejected {
            status: 400,
            code: "bad_signature".into()
        }]
    );
    let nowhere =
        witness_devices::GatewayClient::new("http://127.0.0.1:9", crate::common::fast_retry())
            .unwrap();
    assert!(matches!(
        nowhere.deliver(std::slice::from_ref(&envelope)).await[..],
        [Delivery::Deferred { .. }]
    ));
    assert!(
        witness_devices::GatewayClient::new("localhost:8080", crate::common::fast_retry()).is_err()
    );
}

#[tokio::test]
async fn run_follows_a_fast_clock_until_the_end_or_until_stopped() {
    use std::time::Duration;
    use witness_devices::{RunOptions, SimClock};

    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let (fleet, _) = taxi_fleet(dir.path(), &stub, 26).await;
    // Ten simulated days per real second, for three simulated days.
    let clock = SimClock::new(START, 10.0 * DAY as f64).unwrap();
    let mut options = RunOptions::new(stub.url(), clock).run_for(Duration::from_secs(3 * DAY));
    let until = options.until.unwrap();
    assert!(until >= START + 3 * DAY);
    options.tick = Duration::from_millis(20);
    options.retry = crate::common::fast_retry();
    let mut calls = 0;
    let last = fleet
        .run(options, std::future::pending(), |_| calls += 1)
        .await
        .unwrap();
    assert!(calls >= 2);
    assert_eq!(last.sim_time, until);
    assert!(last.totals.readings_accepted > 20);
    assert_eq!(last.totals.readings_accepted, last.totals.readings_produced);

    // Until stopped: a fast clock that catches up with the wall clock stops at it.
    let clock = SimClock::catch_up(START + 3 * DAY, 1e6).unwrap();
    let mut options = RunOptions::new(stub.url(), clock);
    options.tick = Duration::from_millis(20);
    let last = fleet
        .run(
            options,
            tokio::time::sleep(Duration::from_millis(300)),
            |_| {},
        )
        .await
        .unwrap();
    assert!(last.sim_time <= witness_devices::unix_now());
    assert!(last.sim_time > START + 3 * DAY);
}

#[tokio::test]
async fn a_hold_seals_only_full_envelopes_until_the_oldest_reading_has_waited_it() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let mut s = spec(1, 24);
    s.profiles = vec![Profile::Taxi];
    s.buffer.max_hold_secs = 3 * DAY;
    let fleet = Fleet::create(dir.path(), s).unwrap();
    stub.register(&fleet);
    let id = fleet.device_ids()[0].to_hex();

    // Day by day: only full 16-reading envelopes leave; the rest waits.
    for day in 1..=2 {
        fleet.step(&stub.client(), START + day * DAY).await.unwrap();
        let (produced, buffered) = fleet
            .with_device(&id, |d| (d.stats().readings_produced, d.buffered()))
            .unwrap();
        assert_eq!(buffered as u64, produced % 16, "day {day}");
    }
    let sent = stub.accepted_for(fleet.device_ids()[0]);
    assert!(!sent.is_empty(), "a taxi fills an envelope within two days");
    assert!(sent.iter().all(|e| e.header().reading_count == 16));

    // Once the oldest buffered reading has waited three days, the remainder is sealed too.
    fleet.step(&stub.client(), START + 6 * DAY).await.unwrap();
    let (stats, buffered) = fleet
        .with_device(&id, |d| (d.stats().clone(), d.buffered()))
        .unwrap();
    assert!(buffered < 16, "at most one day's partial envelope waits");
    let sent = stub.accepted_for(fleet.device_ids()[0]);
    assert!(sent.iter().any(|e| e.header().reading_count < 16));
    assert_eq!(
        stats.readings_accepted + buffered as u64,
        stats.readings_produced
    );
}
