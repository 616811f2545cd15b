//! The local link: listing, possession proofs, openings, pairing, errors and CORS.

use serde_json::{Value, json};
use witness_devices::{
    Fleet, LocalLink, Profile, Scenario, SimClock, TamperAssignment, TamperPlan,
};
use witness_protocol::codec::Reader;
use witness_protocol::{
    Consent, Opening, OwnershipStatement, PossessionProof, Release, SigningKey, TransferCode,
};

use crate::common::{DAY, START, Stub, backend_secret, spec};

#[tokio::test]
async fn proofs_openings_and_pairing_over_the_local_link() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start().await;
    let mut s = spec(2, 77);
    s.profiles = vec![Profile::Taxi];
    s.tampers = vec![TamperAssignment {
        device: 1,
        plan: TamperPlan {
            scenario: Scenario::Rollback { km: 30_000 },
            after_readings: 10,
        },
    }];
    let fleet = Fleet::create(dir.path(), s).unwrap();
    stub.register(&fleet);
    for step in 1..=8 {
        fleet
            .step(&stub.client(), START + step * DAY / 4)
            .await
            .unwrap();
    }
    let now = START + 2 * DAY + 3600;
    fleet.set_clock(SimClock::new(now, 1.0).unwrap());
    let link = LocalLink::serve(fleet.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = link.url();
    let http = reqwest::Client::new();
    let backend = backend_secret();
    let ids = fleet.device_ids();

    let list: Value = http
        .get(format!("{base}/devices"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let devices = list["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["id"], ids[0].to_hex());
    assert!(devices[0]["model_name"].as_str().unwrap().len() > 5);

    for (i, id) in ids.iter().enumerate() {
        let hex_id = id.to_hex();
        let registered = fleet
            .with_device(&hex_id, |d| d.registered_key().unwrap())
            .unwrap();
        let info: Value = http
            .get(format!("{base}/devices/{hex_id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let counter = fleet.with_device(&hex_id, |d| d.counter()).unwrap();
        assert_eq!(info["counter"], counter);
        assert_eq!(info["public_key"], hex::encode(registered.to_bytes()));
        assert_eq!(info["model"], fleet.devices()[i].model);

        // Possession proof over the verifier's nonce, with the current reading.
        let nonce = [i as u8 + 1; 32];
        let answer: Value = http
            .post(format!("{base}/devices/{hex_id}/proof"))
            .json(&json!({"nonce": hex::encode(nonce)}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let proof =
            PossessionProof::decode(&hex::decode(answer["proof"].as_str().unwrap()).unwrap())
                .unwrap();
        proof.verify(&registered, &crate::common::domain()).unwrap();
        assert_eq!(proof.nonce, nonce);
        assert_eq!(proof.device_id, *id);
        assert_eq!(proof.counter, counter);
        assert_eq!(answer["counter"], counter);
        assert!(u64::from(proof.reading.timestamp) >= now);
        assert_eq!(answer["reading"]["odometer_m"], proof.reading.odometer_m);

        // Every accepted reading opens to the commitment the backend computes.
        let accepted = stub.accepted_for(*id);
        assert!(!accepted.is_empty());
        let mut max_attested = 0;
        for envelope in &accepted {
            let opened = envelope.decrypt(&backend).unwrap();
            for (k, commitment) in opened.commitments.iter().enumerate() {
                let c = envelope.header().counter + k as u64;
                let answer: Value = http
                    .get(format!("{base}/devices/{hex_id}/history/{c}"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let opening =
                    Opening::decode(&hex::decode(answer["opening"].as_str().unwrap()).unwrap())
                        .unwrap();
                opening.verify(commitment).unwrap();
                assert_eq!(opening.counter, c);
                assert_eq!(opening.reading, opened.readings[k]);
                assert_eq!(
                    answer["reading"]["odometer_m"],
                    opened.readings[k].odometer_m
                );
                max_attested = max_attested.max(opened.readings[k].odometer_m);
            }
        }
        if i == 1 {
            // The rolled-back car shows its wound-back odometer, below what was attested.
            assert!(proof.reading.odometer_m < max_attested);
        } else {
            assert!(proof.reading.odometer_m >= max_attested);
        }
    }

    // Pairing: only after a press of the unit's button, which one statement uses up.
    let owner = SigningKey::from_seed(&[5; 32]).public_key();
    let hex_id = ids[0].to_hex();
    let pair = || {
        http.post(format!("{base}/devices/{hex_id}/pair"))
            .json(&json!({"owner_public_key": hex::encode(owner.to_bytes())}))
            .send()
    };
    let unpressed = pair().await.unwrap();
    assert_eq!(unpressed.status().as_u16(), 409);
    let body: Value = unpressed.json().await.unwrap();
    assert_eq!(body["error"], "press_button", "{body}");
    // Strictly increasing sequences, signed by the device.
    for expected in 1..=2u64 {
        let pressed: Value = http
            .post(format!("{base}/devices/{hex_id}/button"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(pressed["window_s"], 120);
        let answer: Value = http
            .post(format!("{base}/devices/{hex_id}/pair"))
            .json(&json!({"owner_public_key": hex::encode(owner.to_bytes())}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["sequence"], expected);
        let bytes = hex::decode(answer["statement"].as_str().unwrap()).unwrap();
        let mut reader = Reader::new(&bytes);
        let statement = OwnershipStatement::read(&mut reader).unwrap();
        reader.finish().unwrap();
        assert_eq!(statement.sequence, expected);
        assert_eq!(statement.owner, owner);
        assert_eq!(statement.consent, Consent::FirstPairing);
        let registered = fleet
            .with_device(&hex_id, |d| d.registered_key().unwrap())
            .unwrap();
        statement
            .verify_device(&registered, &crate::common::domain())
            .unwrap();
        assert_eq!(
            pair().await.unwrap().status().as_u16(),
            409,
            "the press is used up"
        );
    }
    // With a transfer code the device signs the release into the statement; a code for
    // another device is refused.
    let seller = SigningKey::from_seed(&[6; 32]);
    let release = Release::sign(&seller, &crate::common::domain(), ids[0], 2, 1_900_000_000);
    let code = TransferCode {
        device_id: ids[0],
        release,
    };
    let other = TransferCode {
        device_id: ids[1],
        release,
    };
    http.post(format!("{base}/devices/{hex_id}/button"))
        .send()
        .await
        .unwrap();
    let refused = http
        .post(format!("{base}/devices/{hex_id}/pair"))
        .json(&json!({"owner_public_key": hex::encode(owner.to_bytes()), "transfer_code": other.to_text()}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let answer: Value = http
        .post(format!("{base}/devices/{hex_id}/pair"))
        .json(&json!({"owner_public_key": hex::encode(owner.to_bytes()), "transfer_code": code.to_text()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bytes = hex::decode(answer["statement"].as_str().unwrap()).unwrap();
    let statement = OwnershipStatement::read(&mut Reader::new(&bytes)).unwrap();
    assert_eq!(statement.consent, Consent::Release(release));
    assert_eq!(statement.sequence, 3);

    // Errors are JSON; CORS is open.
    let check = |response: reqwest::Response, status: u16, code: &'static str| async move {
        assert_eq!(response.status().as_u16(), status);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], code, "{body}");
    };
    check(
        http.get(format!("{base}/devices/00")).send().await.unwrap(),
        404,
        "unknown_device",
    )
    .await;
    check(
        http.get(format!("{base}/devices/{hex_id}/history/999999"))
            .send()
            .await
            .unwrap(),
        404,
        "unknown_counter",
    )
    .await;
    check(
        http.post(format!("{base}/devices/{hex_id}/proof"))
            .json(&json!({"nonce": "abcd"}))
            .send()
            .await
            .unwrap(),
        400,
        "bad_request",
    )
    .await;
    check(
        http.post(format!("{base}/devices/{hex_id}/pair"))
            .body("{")
            .send()
            .await
            .unwrap(),
        400,
        "bad_request",
    )
    .await;
    let preflight = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{base}/devices/{hex_id}/proof"),
        )
        .header("origin", "http://localhost:8080")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    link.shutdown().await.unwrap();

    // The pairing sequence is durable.
    drop(fleet);
    let fleet = Fleet::load(dir.path()).unwrap();
    assert_eq!(
        fleet
            .with_device(&hex_id, |d| d.pairing_sequence())
            .unwrap(),
        3
    );
}
