//! Every tamper scenario produces the traffic a real attacker would.

use witness_devices::{Fleet, Profile, Scenario, TamperAssignment, TamperPlan, Unit};
use witness_protocol::{Envelope, Reading};

use crate::common::{DAY, START, Stub, backend_secret, mode, spec};

const AFTER: u64 = 20;

async fn tampered_fleet(dir: &std::path::Path, stub: &Stub) -> Fleet {
    let mut s = spec(6, 314);
    s.profiles = vec![Profile::Taxi];
    let scenarios = [
        Scenario::Rollback { km: 10_000 },
        Scenario::Clone {
            stolen_at_readings: None,
        },
        Scenario::Replay,
        Scenario::Forge,
        Scenario::Swap,
    ];
    s.tampers = scenarios
        .iter()
        .enumerate()
        .map(|(device, scenario)| TamperAssignment {
            device,
            plan: TamperPlan {
                scenario: *scenario,
                after_readings: AFTER,
            },
        })
        .collect();
    let fleet = Fleet::create(dir, s).unwrap();
    stub.register(&fleet);
    let gateway = stub.client();
    for step in 1..=4 * 4 {
        fleet.step(&gateway, START + step * DAY / 4).await.unwrap();
    }
    fleet
}

fn readings_in_counter_order(envelopes: &[Envelope]) -> Vec<(u64, Reading)> {
    let secret = backend_secret();
    let mut out: Vec<(u64, Reading)> = envelopes
        .iter()
        .flat_map(|e| {
            let opened = e.decrypt(&secret).unwrap();
            let first = e.header().counter;
            opened
                .readings
                .into_iter()
                .enumerate()
                .map(move |(i, r)| (first + i as u64, r))
        })
        .collect();
    out.sort_by_key(|(c, _)| *c);
    out
}

#[tokio::test]
async fn every_scenario_produces_its_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let fleet = tampered_fleet(dir.path(), &stub).await;
    let ids = fleet.device_ids();
    let registered: Vec<_> = ids
        .iter()
        .map(|id| {
            fleet
                .with_device(&id.to_hex(), |d| d.registered_key().unwrap())
                .unwrap()
        })
        .collect();
    for id in &ids {
        assert!(
            fleet
                .with_device(&id.to_hex(), |d| d.tamper().is_none() || d.tamper_started())
                .unwrap()
        );
    }

    // Rollback: the reading after the wind-back is lower, and later ones go on from there.
    let readings = readings_in_counter_order(&stub.accepted_for(ids[0]));
    let drops: Vec<_> = readings
        .windows(2)
        .filter(|w| w[1].1.odometer_m < w[0].1.odometer_m)
        .collect();
    assert_eq!(drops.len(), 1, "exactly one wind-back");
    let fall = drops[0][0].1.odometer_m - drops[0][1].1.odometer_m;
    assert!(fall > 9_000_000 && fall < 10_000_000, "wound back {fall} m");
    assert_eq!(drops[0][1].0, AFTER + 1, "the reading after the {AFTER}th");
    assert!(readings.len() as u64 > AFTER + 5);

    // Clone: a second box with the stolen key reports under an old counter.
    let clone_handle = format!("{}-clone", ids[1].to_hex());
    let summary = fleet.devices();
    assert!(
        summary
            .iter()
            .any(|d| d.handle == clone_handle && d.unit == Unit::Clone)
    );
    let original_counter = fleet
        .with_device(&ids[1].to_hex(), |d| d.counter())
        .unwrap();
    let (clone_first, clone_key, clone_stats) = fleet
        .with_device(&clone_handle, |d| {
            (d.log()[0].counter, d.public_key(), d.stats().clone())
        })
        .unwrap();
    assert_eq!(clone_key, registered[1], "the stolen key");
    assert!(
        clone_first < original_counter,
        "clone starts at {clone_first} < {original_counter}"
    );
    assert!(
        clone_stats.replay_drops > 0,
        "the gateway answers the clone with 409"
    );
    let received = stub.received_for(ids[1]);
    let clone_traffic: Vec<_> = received
        .iter()
        .filter(|(e, status)| {
            *status == 409
                && e.verify_signature(&registered[1], &crate::common::domain())
                    .is_ok()
        })
        .collect();
    assert!(!clone_traffic.is_empty());
    // Its readings continue from the odometer at the theft, below the original's.
    let original_max = readings_in_counter_order(&stub.accepted_for(ids[1]))
        .last()
        .unwrap()
        .1
        .odometer_m;
    let clone_env: Vec<Envelope> = clone_traffic.iter().map(|(e, _)| e.clone()).collect();
    let clone_readings = readings_in_counter_order(&clone_env);
    assert!(
        clone_readings
            .iter()
            .all(|(_, r)| r.odometer_m < original_max)
    );

    // Replay: accepted envelopes are posted again, byte for byte, and refused.
    let received = stub.received_for(ids[2]);
    let accepted = stub.accepted_for(ids[2]);
    let replays: Vec<_> = received
        .iter()
        .filter(|(e, status)| *status == 409 && accepted.contains(e))
        .collect();
    assert!(!replays.is_empty());
    let stats = fleet
        .with_device(&ids[2].to_hex(), |d| d.stats().clone())
        .unwrap();
    assert!(stats.attack_refused > 0);
    assert_eq!(stats.attack_accepted, 0);
    assert_eq!(stats.replay_drops, 0, "its own traffic is unaffected");

    // Forge: well-formed envelopes whose signature fails.
    let received = stub.received_for(ids[3]);
    let forged: Vec<_> = received
        .iter()
        .filter(|(e, _)| {
            e.verify_signature(&registered[3], &crate::common::domain())
                .is_err()
        })
        .collect();
    assert!(!forged.is_empty());
    assert!(forged.iter().all(|(_, status)| *status == 400));
    let device_counter = fleet
        .with_device(&ids[3].to_hex(), |d| d.counter())
        .unwrap();
    assert!(
        forged
            .iter()
            .all(|(e, _)| e.header().counter > device_counter)
    );
    assert!(
        fleet
            .with_device(&ids[3].to_hex(), |d| d.stats().attack_refused)
            .unwrap()
            > 0
    );

    // Swap: a new key signs from the swap on; it is not the registered one.
    let (swapped, new_key, stats) = fleet
        .with_device(&ids[4].to_hex(), |d| {
            (d.swapped(), d.public_key(), d.stats().clone())
        })
        .unwrap();
    assert!(swapped);
    assert_ne!(new_key, registered[4]);
    let received = stub.received_for(ids[4]);
    let after_swap: Vec<_> = received
        .iter()
        .filter(|(e, _)| {
            e.verify_signature(&registered[4], &crate::common::domain())
                .is_err()
        })
        .collect();
    assert!(!after_swap.is_empty());
    for (e, status) in &after_swap {
        assert!(
            e.verify_signature(&new_key, &crate::common::domain())
                .is_ok()
        );
        assert_eq!(*status, 400);
    }
    assert!(stats.rejected_drops > 0);
    let device_dir = dir.path().join("devices").join(ids[4].to_hex());
    assert_eq!(mode(&device_dir.join("key")), 0o600);
    assert_eq!(mode(&device_dir.join("key.replaced")), 0o600);

    // The honest car saw nothing but 202s.
    assert!(
        stub.received_for(ids[5])
            .iter()
            .all(|(_, status)| *status == 202)
    );

    // Everything survives a restart, clone included.
    drop(fleet);
    let fleet = Fleet::load(dir.path()).unwrap();
    assert_eq!(fleet.devices().len(), 7);
    assert!(
        fleet
            .with_device(&ids[4].to_hex(), |d| d.swapped())
            .unwrap()
    );
}
