//! Driving profiles produce plausible distances, consumption and fault codes.

use std::collections::BTreeMap;

use witness_devices::{Fleet, Profile};
use witness_protocol::FaultCode;

use crate::common::{DAY, START, Stub, spec};

#[tokio::test]
async fn a_year_of_driving_is_plausible_for_every_profile() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let gateway = stub.client();
    let mut s = spec(24, 2024);
    s.profiles = Profile::ALL.to_vec();
    s.buffer.cap = 100_000;
    let fleet = Fleet::create(dir.path(), s).unwrap();
    let ids: Vec<String> = fleet.device_ids().iter().map(|id| id.to_hex()).collect();
    for id in &ids {
        fleet.set_online(id, false).unwrap();
    }
    // Quarterly steps: the outcome does not depend on how time is cut.
    for quarter in 1..=4 {
        fleet
            .step(&gateway, START + quarter * 365 * DAY / 4)
            .await
            .unwrap();
    }

    let mut faults_seen = 0usize;
    let mut km_by_profile: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for id in &ids {
        fleet
            .with_device(id, |d| {
                let readings = d.unsealed();
                assert!(readings.len() > 20, "{id}: {} readings", readings.len());
                let first = &readings[0];
                let last = readings.last().unwrap();
                let km = (last.odometer_m - first.odometer_m) as f64 / 1000.0;
                let (lo, hi) = d.profile().km_per_year();
                assert!(
                    (lo..=hi).contains(&km),
                    "{id} {}: {km:.0} km in a year, expected {lo}-{hi}",
                    d.profile()
                );
                km_by_profile
                    .entry(d.profile().as_str())
                    .or_default()
                    .push(km);

                let fuel_l: f64 = readings[1..]
                    .iter()
                    .map(|r| f64::from(r.fuel_ml))
                    .sum::<f64>()
                    / 1000.0;
                let l_per_100km = fuel_l / km * 100.0;
                let (clo, chi) = d.model().consumption_l_per_100km;
                assert!(
                    (clo..=chi).contains(&l_per_100km),
                    "{id} {}: {l_per_100km:.2} L/100km, expected {clo}-{chi}",
                    d.model().name
                );
                let allowed: Vec<FaultCode> =
                    d.model().faults.iter().map(|f| f.fault_code()).collect();
                for pair in readings.windows(2) {
                    let (a, b) = (&pair[0], &pair[1]);
                    assert!(b.timestamp > a.timestamp);
                    assert!(b.odometer_m > a.odometer_m);
                    assert!(b.engine_s > a.engine_s);
                    assert!(b.fuel_ml > 0);
                    let trip_km = (b.odometer_m - a.odometer_m) as f64 / 1000.0;
                    let l100 = f64::from(b.fuel_ml) / 10.0 / trip_km;
                    // Rounding to whole millilitres and metres on the shortest trips.
                    assert!(
                        l100 >= clo * 0.97 && l100 <= chi * 1.03,
                        "trip at {l100:.2} L/100km"
                    );
                }
                for r in readings {
                    assert!(r.faults.iter().all(|f| allowed.contains(f)));
                }
                faults_seen += readings
                    .windows(2)
                    .map(|w| {
                        w[1].faults
                            .iter()
                            .filter(|f| !w[0].faults.contains(f))
                            .count()
                    })
                    .sum::<usize>();
            })
            .unwrap();
    }
    // Every profile is present and some cars showed trouble codes during the year.
    assert_eq!(km_by_profile.len(), 4);
    assert!(faults_seen > 5, "{faults_seen} faults raised in the fleet");
}

#[tokio::test]
async fn simulation_does_not_depend_on_step_size_and_coverage_gaps_batch_readings() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let gateway = stub.client();
    let make = |name: &str, gaps: bool| {
        let mut s = spec(4, 99);
        s.profiles = vec![Profile::Taxi];
        s.coverage_gaps = gaps;
        Fleet::create(dir.path().join(name), s).unwrap()
    };
    let coarse = make("coarse", false);
    let fine = make("fine", false);
    let ids: Vec<String> = coarse.device_ids().iter().map(|id| id.to_hex()).collect();
    for id in &ids {
        coarse.set_online(id, false).unwrap();
        fine.set_online(id, false).unwrap();
    }
    coarse.step(&gateway, START + 10 * DAY).await.unwrap();
    for step in 1..=40 {
        fine.step(&gateway, START + step * 6 * 3600).await.unwrap();
    }
    for id in &ids {
        let a = coarse.with_device(id, |d| d.unsealed().to_vec()).unwrap();
        let b = fine.with_device(id, |d| d.unsealed().to_vec()).unwrap();
        assert_eq!(a, b);
    }

    // With coverage gaps, hourly steps for two weeks: some envelopes carry several readings.
    let gappy = make("gappy", true);
    stub.register(&gappy);
    for hour in 1..=14 * 24 {
        gappy.step(&gateway, START + hour * 3600).await.unwrap();
    }
    let progress = gappy.progress(START + 14 * 24 * 3600);
    assert_eq!(
        progress.totals.readings_accepted + progress.buffered as u64,
        progress.totals.readings_produced
    );
    let accepted = stub.with(|s| s.accepted.clone());
    assert!(accepted.iter().any(|e| e.header().reading_count > 1));
    assert!(accepted.iter().all(|e| e.header().reading_count <= 16));
}
