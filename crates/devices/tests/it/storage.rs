//! Keys, counters and buffers on disk: private files, restarts, crashes, the buffer cap.

use witness_devices::{Error, Fleet};

use crate::common::{DAY, START, Stub, mode, spec};

fn first_id(fleet: &Fleet) -> String {
    fleet.device_ids()[0].to_hex()
}

#[test]
fn key_files_are_private_and_fleets_are_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::create(dir.path().join("a"), spec(3, 7)).unwrap();
    let again = Fleet::create(dir.path().join("b"), spec(3, 7)).unwrap();
    let other = Fleet::create(dir.path().join("c"), spec(3, 8)).unwrap();
    assert_eq!(fleet.device_ids(), again.device_ids());
    assert_ne!(fleet.device_ids(), other.device_ids());
    for id in fleet.device_ids() {
        let device_dir = dir.path().join("a/devices").join(id.to_hex());
        assert_eq!(mode(&device_dir.join("key")), 0o600);
        assert_eq!(mode(&device_dir), 0o700);
        for file in ["state.json", "counter", "device.json"] {
            assert_eq!(mode(&device_dir.join(file)), 0o600, "{file}");
        }
        let a = fleet.with_device(&id.to_hex(), |d| d.public_key()).unwrap();
        let b = again.with_device(&id.to_hex(), |d| d.public_key()).unwrap();
        assert_eq!(a, b);
    }
    // A second create in the same place is refused.
    assert!(matches!(
        Fleet::create(dir.path().join("a"), spec(3, 7)),
        Err(Error::AlreadyExists(_))
    ));
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::create(dir.path(), spec(1, 1)).unwrap();
    let key = dir
        .path()
        .join("devices")
        .join(first_id(&fleet))
        .join("key");
    drop(fleet);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(
        Fleet::load(dir.path()),
        Err(Error::InsecureKeyFile { mode: 0o644, .. })
    ));
}

#[tokio::test]
async fn counter_survives_restart_and_is_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let gateway = stub.client();
    let mut s = spec(1, 11);
    s.profiles = vec![witness_devices::Profile::Taxi];
    let fleet = Fleet::create(dir.path(), s).unwrap();
    stub.register(&fleet);
    let id = first_id(&fleet);

    fleet.step(&gateway, START + DAY).await.unwrap();
    let used = fleet.with_device(&id, |d| d.counter()).unwrap();
    assert!(used > 0, "a taxi drives on its first day");

    // Counters reserved, then the process dies before anything is sealed or sent.
    let reserved = fleet
        .with_device(&id, |d| d.reserve_counters(5))
        .unwrap()
        .unwrap();
    assert_eq!(reserved, used + 1..used + 6);
    drop(fleet);

    let fleet = Fleet::load(dir.path()).unwrap();
    assert_eq!(
        fleet.with_device(&id, |d| d.next_counter()).unwrap(),
        used + 6
    );
    fleet.step(&gateway, START + 3 * DAY).await.unwrap();
    let accepted = stub.accepted_for(fleet.device_ids()[0]);
    let after_restart: Vec<_> = accepted
        .iter()
        .filter(|e| e.header().counter > used)
        .collect();
    assert!(!after_restart.is_empty());
    assert!(after_restart.iter().all(|e| e.header().counter >= used + 6));
    assert_no_counter_reused(&accepted);
}

/// A crash after the counters were reserved and the envelope logged, but before the state
/// recording it was saved: on restart the readings are sealed again under new counters.
#[tokio::test]
async fn crash_between_reserving_and_sending_never_reuses_a_counter() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let gateway = stub.client();
    let mut s = spec(1, 12);
    s.profiles = vec![witness_devices::Profile::DeliveryVan];
    let fleet = Fleet::create(dir.path(), s).unwrap();
    stub.register(&fleet);
    let id = first_id(&fleet);
    let state_path = dir.path().join("devices").join(&id).join("state.json");

    // Drive a day out of coverage: readings buffered, nothing sealed.
    fleet.set_online(&id, false).unwrap();
    fleet.step(&gateway, START + DAY).await.unwrap();
    let buffered = fleet.with_device(&id, |d| d.buffered()).unwrap();
    assert!(buffered > 5);
    assert_eq!(fleet.with_device(&id, |d| d.counter()).unwrap(), 0);
    let before_sealing = std::fs::read(&state_path).unwrap();

    // Back in coverage with the gateway down: sealed (counters reserved), not delivered.
    stub.with(|s| s.down = Some(503));
    fleet.set_online(&id, true).unwrap();
    fleet.step(&gateway, START + DAY).await.unwrap();
    let reserved_end = fleet.with_device(&id, |d| d.next_counter()).unwrap();
    assert_eq!(reserved_end, 1 + buffered as u64);
    let attempts = stub.received_for(fleet.device_ids()[0]);
    assert!(!attempts.is_empty() && attempts.iter().all(|(_, status)| *status == 503));
    drop(fleet);

    // The crash lost the state write that recorded the sealed envelopes.
    std::fs::write(&state_path, before_sealing).unwrap();
    stub.with(|s| s.down = None);
    let fleet = Fleet::load(dir.path()).unwrap();
    assert_eq!(fleet.with_device(&id, |d| d.buffered()).unwrap(), buffered);
    assert!(
        fleet
            .with_device(&id, |d| d.outbox().unwrap().is_empty())
            .unwrap()
    );
    fleet.step(&gateway, START + DAY).await.unwrap();
    let accepted = stub.accepted_for(fleet.device_ids()[0]);
    let readings: u64 = accepted
        .iter()
        .map(|e| u64::from(e.header().reading_count))
        .sum();
    assert_eq!(readings, buffered as u64);
    assert!(accepted.iter().all(|e| e.header().counter >= reserved_end));
    // The abandoned envelopes' counters are never used again.
    let abandoned: Vec<_> = attempts.iter().map(|(e, _)| e.clone()).collect();
    let mut all = abandoned;
    all.extend(accepted);
    all.sort_by_key(|e| e.header().counter);
    all.dedup_by_key(|e| e.hash());
    assert_no_counter_reused(&all);
}

fn assert_no_counter_reused(envelopes: &[witness_protocol::Envelope]) {
    let mut seen = std::collections::HashMap::new();
    for e in envelopes {
        let h = e.header();
        for c in h.counter..=h.last_counter().unwrap() {
            if let Some(previous) = seen.insert(c, e.hash()) {
                assert_eq!(previous, e.hash(), "counter {c} used by two envelopes");
            }
        }
    }
}

#[tokio::test]
async fn offline_buffer_is_capped_oldest_dropped_then_sent_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let gateway = stub.client();
    let mut s = spec(1, 13);
    s.profiles = vec![witness_devices::Profile::Taxi];
    s.buffer.cap = 40;
    let fleet = Fleet::create(dir.path(), s).unwrap();
    stub.register(&fleet);
    let id = first_id(&fleet);

    fleet.set_online(&id, false).unwrap();
    for day in 1..=7 {
        fleet.step(&gateway, START + day * DAY).await.unwrap();
    }
    let (buffered, stats, newest) = fleet
        .with_device(&id, |d| {
            (
                d.buffered(),
                d.stats().clone(),
                d.unsealed().last().cloned().unwrap(),
            )
        })
        .unwrap();
    assert_eq!(buffered, 40);
    assert!(stats.readings_produced > 40);
    assert_eq!(stats.buffer_drops, stats.readings_produced - 40);
    assert!(stub.received_for(fleet.device_ids()[0]).is_empty());

    fleet.set_online(&id, true).unwrap();
    fleet.step(&gateway, START + 7 * DAY).await.unwrap();
    let accepted = stub.accepted_for(fleet.device_ids()[0]);
    let counts: Vec<u8> = accepted.iter().map(|e| e.header().reading_count).collect();
    assert_eq!(counts, vec![16, 16, 8]);
    assert_eq!(fleet.with_device(&id, |d| d.buffered()).unwrap(), 0);
    // The newest reading made it; the dropped ones were the oldest.
    let opened = accepted
        .last()
        .unwrap()
        .decrypt(&crate::common::backend_secret())
        .unwrap();
    assert_eq!(opened.readings.last().unwrap(), &newest);
}
