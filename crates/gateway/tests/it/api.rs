//! In-process router tests (`tower::ServiceExt::oneshot`): every endpoint, the
//! authorization matrix, bad inputs. Scenarios touching storage run on SQLite and, when
//! `WITNESS_TEST_POSTGRES_URL` is set, on PostgreSQL.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use witness_protocol::{
    Consent, DeviceId, OwnerObjection, RegistrarAction, RegistrarMessage, Release, SigningKey,
};

use crate::common::*;

fn hash_hex(envelope: &witness_protocol::Envelope) -> String {
    hex::encode(envelope.hash())
}

fn receipt_hashes(answer: &Answer) -> Vec<String> {
    answer.json["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["envelope_hash"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn accounts_sessions_cookies_and_login_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(&dir.path().join("g.sqlite").display().to_string()).await;

    let answer = app
        .post(
            "/v1/auth/signup",
            None,
            json!({"username": "alice", "password": "owner-password"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(answer.json["account"]["role"], "owner");
    let cookie = answer.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("witness_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let token = answer.json["token"].as_str().unwrap().to_owned();

    // Bearer and cookie both authenticate.
    let me = app.get("/v1/auth/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json["username"], "alice");
    let with_cookie = app
        .request(
            Request::builder()
                .uri("/v1/auth/me")
                .header(
                    header::COOKIE,
                    format!("theme=dark; witness_session={token}"),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(with_cookie.status, StatusCode::OK);

    // Names are unique and checked; passwords too.
    let taken = app
        .post(
            "/v1/auth/signup",
            None,
            json!({"username": "alice", "password": "another-password"}),
        )
        .await;
    assert_eq!(
        (taken.status, taken.json["error"].as_str()),
        (StatusCode::CONFLICT, Some("username_taken"))
    );
    let bad = app
        .post(
            "/v1/auth/signup",
            None,
            json!({"username": "a b", "password": "owner-password"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let short = app
        .post(
            "/v1/auth/signup",
            None,
            json!({"username": "bob", "password": "short"}),
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    let unknown_field = app
        .post(
            "/v1/auth/signup",
            None,
            json!({"username": "bob", "password": "owner-password", "role": "admin"}),
        )
        .await;
    assert_eq!(
        unknown_field.status,
        StatusCode::BAD_REQUEST,
        "sign up cannot choose a role"
    );

    // Logout ends the session and clears the cookie.
    let out = app
        .call("POST", "/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(
        out.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let me = app.get("/v1/auth/me", Some(&token)).await;
    assert_eq!(
        (me.status, me.json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );

    // Wrong passwords: 401 five times, then 429 even with the right one.
    for _ in 0..5 {
        let wrong = app
            .post(
                "/v1/auth/login",
                None,
                json!({"username": "alice", "password": "wrong-password"}),
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.json["error"], "invalid_credentials");
    }
    let limited = app
        .post(
            "/v1/auth/login",
            None,
            json!({"username": "alice", "password": "owner-password"}),
        )
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.json["error"], "rate_limited");
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
    // Another account is not affected; unknown users get the same 401 as wrong passwords.
    app.signup("carol").await;
    let unknown = app
        .post(
            "/v1/auth/login",
            None,
            json!({"username": "nobody", "password": "owner-password"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.json["error"], "invalid_credentials");
}

/// A registrar message verifies, but its signer is not in the rollup's registrar set (a
/// throwaway key): the gateway refuses it before recording anything or paying for it.
#[tokio::test]
async fn registrar_messages_from_keys_the_rollup_does_not_trust_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("g.sqlite").display().to_string();
    let node = FakeNode::start(String::new()).await;
    let endpoints = node.endpoints.clone();
    let app = App::with(&url, move |c| c.node = Some(endpoints)).await;
    let token = app.login(REGISTRAR.0, REGISTRAR.1).await;
    let device = Device::new(next_seed());
    let message = device.register_hex(&app.keys);
    let depth = app.queue_depth().await;
    let body = json!({ "messages": [message] });
    let refused = app
        .post("/v1/registrar/messages", Some(&token), body.clone())
        .await;
    assert_eq!(
        (
            refused.status,
            refused.json["error"].as_str(),
            refused.json["index"].as_u64()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("untrusted_registrar"),
            Some(0)
        ),
        "{}",
        refused.json
    );
    assert_eq!(app.queue_depth().await, depth);
    assert_eq!(
        app.get(&format!("/v1/devices/{}", device.id), Some(&token))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    node.trust(&app.keys);
    let taken = app.post("/v1/registrar/messages", Some(&token), body).await;
    assert_eq!(taken.status, StatusCode::ACCEPTED, "{}", taken.json);
    assert_eq!(app.queue_depth().await, depth + 1);
}

#[tokio::test]
async fn authorization_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("g.sqlite").display().to_string();
    let node = FakeNode::start(String::new()).await;
    let endpoints = node.endpoints.clone();
    let app = App::with(&url, move |c| c.node = Some(endpoints)).await;
    node.trust(&app.keys);
    let a = app.signup("owner-a").await;
    let b = app.signup("owner-b").await;
    let mut d1 = Device::new(next_seed());
    let d2 = Device::new(next_seed());
    app.register(&[&d1, &d2]).await;
    assert_eq!(app.claim(&a, &d1, 1).await.0.status, StatusCode::ACCEPTED);
    let (claim_b, owner_b) = app.claim(&b, &d2, 1).await;
    assert_eq!(claim_b.status, StatusCode::ACCEPTED);

    let d1_path = format!("/v1/devices/{}", d1.id);
    let d2_path = format!("/v1/devices/{}", d2.id);
    let (query_b, _) = owner_query_hex(&app.keys, &owner_b, d2.id);
    let history_d2 = format!("{d2_path}/history-keys");

    // Anonymous: only public statistics (and intake, authenticated by device signatures).
    for (method, path) in [
        ("GET", "/v1/devices"),
        ("GET", d1_path.as_str()),
        ("GET", "/v1/system"),
        ("GET", "/v1/auth/me"),
        ("GET", "/v1/admin/accounts"),
    ] {
        let answer = app.call(method, path, None, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(answer.json["error"], "unauthenticated");
    }
    let anon_history = app
        .post(&history_d2, None, json!({"owner_query": query_b}))
        .await;
    assert_eq!(anon_history.status, StatusCode::UNAUTHORIZED);
    // A device's history notices are public outputs (values sealed): anyone may read them.
    let notices = app.get(&format!("{d2_path}/notices"), None).await;
    assert_eq!(notices.status, StatusCode::OK, "{}", notices.json);
    let anon_register = app
        .post(
            "/v1/registrar/messages",
            None,
            json!({"messages": [Device::new(next_seed()).register_hex(&app.keys)]}),
        )
        .await;
    assert_eq!(anon_register.status, StatusCode::UNAUTHORIZED);
    let anon_claim = app
        .post(
            &format!("{d1_path}/claim"),
            None,
            json!({"statement": "00"}),
        )
        .await;
    assert_eq!(anon_claim.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/v1/stats", None).await.status, StatusCode::OK);
    let intake = app.post_octets(concat(&[d1.seal(&app.keys, 1)])).await;
    assert_eq!(intake.status, StatusCode::ACCEPTED, "{}", intake.json);

    // Owner A: sees and acts on D1 only.
    let mine = app.get("/v1/devices", Some(&a)).await;
    assert_eq!(mine.status, StatusCode::OK);
    let ids: Vec<&str> = mine
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["device_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![d1.id.to_hex().as_str()]);
    assert_eq!(mine.json[0]["owned_by_you"], true);
    assert_eq!(app.get(&d1_path, Some(&a)).await.status, StatusCode::OK);
    let other = app.get(&d2_path, Some(&a)).await;
    assert_eq!(
        (other.status, other.json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let steal_history = app
        .post(&history_d2, Some(&a), json!({"owner_query": query_b}))
        .await;
    assert_eq!(steal_history.status, StatusCode::FORBIDDEN);
    // A cannot claim D2 without the device's signature: a statement for D1 does not work.
    let statement = d1.ownership(&app.keys, &SigningKey::generate(&mut rng(5)), 9);
    let wrong = app
        .post(
            &format!("{d2_path}/claim"),
            Some(&a),
            json!({"statement": statement_hex(&statement)}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.json);
    // Owners cannot register devices, see system status or manage accounts.
    let register = app
        .post(
            "/v1/registrar/messages",
            Some(&a),
            json!({"messages": [Device::new(next_seed()).register_hex(&app.keys)]}),
        )
        .await;
    assert_eq!(register.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/v1/system", Some(&a)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/v1/admin/accounts", Some(&a)).await.status,
        StatusCode::FORBIDDEN
    );
    let escalate = app
        .post(
            "/v1/admin/accounts",
            Some(&a),
            json!({"username": "mallory", "password": "owner-password", "role": "admin"}),
        )
        .await;
    assert_eq!(escalate.status, StatusCode::FORBIDDEN);

    // Owner B: the mirror image.
    assert_eq!(
        app.get(&d1_path, Some(&b)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get(&d2_path, Some(&b)).await.status, StatusCode::OK);
    let relayed = app
        .post(&history_d2, Some(&b), json!({"owner_query": query_b}))
        .await;
    assert_eq!(relayed.status, StatusCode::OK, "{}", relayed.json);
    // The fake rollup does not know D2: its refusal comes back as the backend gave it.
    assert_eq!(
        relayed.json,
        json!({"type": "error", "error": "unknown_device", "detail": "refused by the fake backend"})
    );

    // Registrar: registers, sees what it registered, sees system status; cannot make admins.
    let registered = app.get("/v1/devices", Some(&app.registrar)).await;
    assert_eq!(registered.json.as_array().unwrap().len(), 2);
    assert_eq!(
        app.get(&d1_path, Some(&app.registrar)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v1/system", Some(&app.registrar)).await.status,
        StatusCode::OK
    );
    let as_registrar = app
        .post(
            "/v1/admin/accounts",
            Some(&app.registrar),
            json!({"username": "x-admin", "password": "owner-password", "role": "admin"}),
        )
        .await;
    assert_eq!(as_registrar.status, StatusCode::FORBIDDEN);
    // ... and cannot relay an owner's history-key query.
    let relay = app
        .post(
            &history_d2,
            Some(&app.registrar),
            json!({"owner_query": query_b}),
        )
        .await;
    assert_eq!(relay.status, StatusCode::FORBIDDEN);

    // Admin: everything.
    let all = app.get("/v1/devices", Some(&app.admin)).await;
    assert_eq!(all.json.as_array().unwrap().len(), 2);
    let created = app
        .post("/v1/admin/accounts", Some(&app.admin), json!({"username": "registrar-2", "password": "registrar-password", "role": "registrar"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    assert_eq!(created.json["role"], "registrar");
    let accounts = app.get("/v1/admin/accounts", Some(&app.admin)).await;
    assert!(accounts.json.as_array().unwrap().len() >= 5);
    let system = app.get("/v1/system", Some(&app.admin)).await;
    assert_eq!(system.status, StatusCode::OK);
    assert_eq!(system.json["database"], "sqlite");
    assert_eq!(system.json["node_processed_inputs"], 7);
    assert_eq!(
        system.json["queue"]["pending_messages"], 5,
        "{}",
        system.json
    );
    // The default batching: 60 KiB or 1 s, no gas target.
    assert_eq!(system.json["batching"]["max_bytes"], 60 * 1024);
    assert_eq!(system.json["batching"]["max_delay_ms"], 1000);
    assert!(system.json["batching"]["gas_target"].is_null());
}

#[tokio::test]
async fn intake_is_durable_idempotent_and_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for url in database_urls(dir.path()).await {
        intake_scenario(&url).await;
    }
}

async fn intake_scenario(url: &str) {
    let app = App::new(url).await;
    let mut a = Device::new(next_seed());
    let mut b = Device::new(next_seed());
    app.register(&[&a, &b]).await;
    let base = app.queue_depth().await;

    // Octet stream of concatenated envelopes from two devices, one with 3 readings.
    let batch = vec![
        a.seal(&app.keys, 1),
        b.seal(&app.keys, 3),
        a.seal(&app.keys, 2),
    ];
    let answer = app.post_octets(concat(&batch)).await;
    assert_eq!(
        answer.status,
        StatusCode::ACCEPTED,
        "{url}: {}",
        answer.json
    );
    let expected: Vec<String> = batch.iter().map(hash_hex).collect();
    assert_eq!(receipt_hashes(&answer), expected);
    assert!(
        answer.json["receipts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "pending")
    );
    assert_eq!(app.queue_depth().await, base + 3);

    // The same envelopes again: the same receipts, 200, nothing new stored.
    let again = app.post_octets(concat(&batch)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(receipt_hashes(&again), expected);
    assert_eq!(app.queue_depth().await, base + 3);
    // Mixed: one repeat and one new envelope → 202; the repeat keeps its receipt.
    let next = a.seal(&app.keys, 1);
    let mixed = app
        .post_envelopes_json(&[batch[0].clone(), next.clone()])
        .await;
    assert_eq!(mixed.status, StatusCode::ACCEPTED, "{}", mixed.json);
    assert_eq!(
        receipt_hashes(&mixed),
        vec![expected[0].clone(), hash_hex(&next)]
    );
    assert_eq!(app.queue_depth().await, base + 4);
    // The same envelope twice in one request is stored once.
    let twice_env = b.seal(&app.keys, 1);
    let twice = app
        .post_octets(concat(&[twice_env.clone(), twice_env.clone()]))
        .await;
    assert_eq!(twice.status, StatusCode::ACCEPTED, "{}", twice.json);
    assert_eq!(app.queue_depth().await, base + 5);

    // Receipts are public by hash.
    let receipt = app
        .get(&format!("/v1/receipts/{}", expected[1]), None)
        .await;
    assert_eq!(receipt.status, StatusCode::OK);
    assert_eq!(receipt.json["status"], "pending");
    assert_eq!(receipt.json["kind"], "envelope");
    assert_eq!(receipt.json["device_id"], b.id.to_hex());
    assert_eq!(receipt.json["counter"], 0);
    assert_eq!(
        app.get(&format!("/v1/receipts/{}", "00".repeat(32)), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/v1/receipts/xyz", None).await.status,
        StatusCode::BAD_REQUEST
    );

    // Bad inputs: 4xx with reason and index; nothing of the request is stored.
    let good = a.seal(&app.keys, 1);
    let good_hash = hash_hex(&good);
    let depth = app.queue_depth().await;
    let mut truncated = concat(&[good.clone(), a.seal(&app.keys, 1)]);
    truncated.truncate(truncated.len() - 10);
    let mut trailing = concat(std::slice::from_ref(&good));
    trailing.extend_from_slice(&[1, 2, 3]);
    let stranger = Device::new(next_seed()).seal(&app.keys, 1);
    let mut forged = a.seal(&app.keys, 1).as_bytes().to_vec();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    // A replay: a re-sealed envelope at a counter already accepted.
    let mut clone = Device::new(0);
    clone.id = a.id;
    clone.key = SigningKey::from_seed(&a.key.to_seed());
    clone.counter = 1;
    let replayed = clone.seal(&app.keys, 1);
    // A jump of more than MAX_COUNTER_GAP counters: the backend would refuse it, so the
    // gateway does before it pays for it.
    let mut jumper = Device::new(0);
    jumper.id = a.id;
    jumper.key = SigningKey::from_seed(&a.key.to_seed());
    jumper.counter = a.counter + witness_protocol::MAX_COUNTER_GAP + 10;
    let jumped = jumper.seal(&app.keys, 1);
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        ("truncated", truncated, StatusCode::BAD_REQUEST, "malformed"),
        ("trailing", trailing, StatusCode::BAD_REQUEST, "malformed"),
        ("garbage", vec![9; 40], StatusCode::BAD_REQUEST, "malformed"),
        (
            "unknown device",
            concat(&[good.clone(), stranger.clone()]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_device",
        ),
        (
            "bad signature before an unknown device",
            [&forged[..], stranger.as_bytes(), good.as_bytes()].concat(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_signature",
        ),
        (
            "bad signature",
            [good.as_bytes(), &forged].concat(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_signature",
        ),
        (
            "replay",
            concat(&[good.clone(), replayed]),
            StatusCode::CONFLICT,
            "replay",
        ),
        (
            "counter jump",
            concat(&[good.clone(), jumped]),
            StatusCode::CONFLICT,
            "counter_jump",
        ),
        (
            "empty",
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (name, body, status, code) in cases {
        let answer = app.post_octets(body).await;
        assert_eq!(answer.status, status, "{url} {name}: {}", answer.json);
        assert_eq!(answer.json["error"], code, "{name}");
        assert!(!answer.json["message"].as_str().unwrap().is_empty());
        match name {
            "garbage" | "empty" | "trailing" => {}
            "bad signature before an unknown device" => {
                assert_eq!(answer.json["index"], 0, "{name}: {}", answer.json);
            }
            _ => assert_eq!(answer.json["index"], 1, "{name}: {}", answer.json),
        }
        assert_eq!(app.queue_depth().await, depth, "{name} stored something");
        let receipt = app.get(&format!("/v1/receipts/{good_hash}"), None).await;
        assert_eq!(
            receipt.status,
            StatusCode::NOT_FOUND,
            "{name} stored the good envelope"
        );
    }
    let replay = app.post_octets(concat(&[clone.seal(&app.keys, 1)])).await;
    assert_eq!(replay.status, StatusCode::CONFLICT);
    assert!(
        replay.json["message"]
            .as_str()
            .unwrap()
            .contains("not above the last accepted counter"),
        "{}",
        replay.json
    );
    // Non-increasing counters inside one request are a replay too.
    let first = a.seal(&app.keys, 1);
    let mut reorder = Device::new(0);
    reorder.id = a.id;
    reorder.key = SigningKey::from_seed(&a.key.to_seed());
    reorder.counter = first.header().counter;
    let same_counter = reorder.seal(&app.keys, 1);
    let answer = app
        .post_octets(concat(&[first.clone(), same_counter]))
        .await;
    assert_eq!(
        (answer.status, answer.json["index"].as_u64()),
        (StatusCode::CONFLICT, Some(1))
    );
    // JSON errors: bad hex, wrong shape, wrong content type, oversize.
    let bad_hex = app
        .post(
            "/v1/readings",
            None,
            json!({"envelopes": [hex::encode(first.as_bytes()), "zz"]}),
        )
        .await;
    assert_eq!(
        (bad_hex.status, bad_hex.json["index"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(1))
    );
    let shape = app
        .post("/v1/readings", None, json!({"readings": []}))
        .await;
    assert_eq!(shape.status, StatusCode::BAD_REQUEST);
    let text = app
        .request(
            Request::builder()
                .method("POST")
                .uri("/v1/readings")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("hello"))
                .unwrap(),
        )
        .await;
    assert_eq!(
        (text.status, text.json["error"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );
    assert_eq!(app.queue_depth().await, depth);
    // The good envelope still goes in afterwards (no state leaked from refusals).
    let ok = app.post_octets(concat(&[good, first])).await;
    assert_eq!(ok.status, StatusCode::ACCEPTED, "{}", ok.json);
    assert_eq!(app.queue_depth().await, depth + 2);

    // Revocation and rotation relayed by the registrar take effect at once.
    let revoke = app.keys.registrar_message(RegistrarAction::RevokeDevice {
        device_id: b.id,
        reason: "stolen".into(),
    });
    let answer = app
        .post(
            "/v1/registrar/messages",
            Some(&app.registrar),
            json!({"messages": [revoke]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
    let revoked = app.post_octets(concat(&[b.seal(&app.keys, 1)])).await;
    assert_eq!(
        (revoked.status, revoked.json["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("device_revoked"))
    );
    let new_key = SigningKey::generate(&mut rng(next_seed()));
    let rotate = app.keys.registrar_message(RegistrarAction::RotateKey {
        device_id: a.id,
        new_key: new_key.public_key(),
    });
    let answer = app
        .post(
            "/v1/registrar/messages",
            Some(&app.registrar),
            json!({"messages": [rotate]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let old_key = app.post_octets(concat(&[a.seal(&app.keys, 1)])).await;
    assert_eq!(
        (old_key.status, old_key.json["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_signature"))
    );
    a.key = new_key;
    assert_eq!(
        app.post_octets(concat(&[a.seal(&app.keys, 1)]))
            .await
            .status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn oversize_bodies_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("g.sqlite").display().to_string();
    let app = App::with(&url, |c| c.max_body_bytes = 4096).await;
    let mut device = Device::new(next_seed());
    app.register(&[&device]).await;
    let envelopes: Vec<_> = (0..40).map(|_| device.seal(&app.keys, 1)).collect();
    let answer = app.post_octets(concat(&envelopes)).await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.json
    );
    assert_eq!(answer.json["error"], "payload_too_large");
    let json_answer = app.post_envelopes_json(&envelopes).await;
    assert_eq!(json_answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        app.queue_depth().await,
        1,
        "only the registration is queued"
    );
}

#[tokio::test]
async fn registrar_messages_are_verified_recorded_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    for url in database_urls(dir.path()).await {
        let app = App::new(&url).await;
        let d1 = Device::new(next_seed());
        let d2 = Device::new(next_seed());
        let depth = app.queue_depth().await;
        // One good message and one signed for another deployment: nothing is recorded.
        let other = Keys::new(next_seed());
        let foreign = RegistrarMessage::sign(
            &app.keys.registrar,
            &other.domain,
            1_000,
            RegistrarAction::RegisterDevice {
                device_id: d2.id,
                model: witness_protocol::ModelId(1),
                public_key: d2.key.public_key(),
                vehicle: witness_protocol::VehicleId([2; 32]),
            },
        )
        .unwrap();
        let good = d1.register_hex(&app.keys);
        let answer = app
            .post(
                "/v1/registrar/messages",
                Some(&app.registrar),
                json!({"messages": [good, hex::encode(foreign.encode().unwrap())]}),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.json
        );
        assert_eq!(
            (answer.json["error"].as_str(), answer.json["index"].as_u64()),
            (Some("bad_signature"), Some(1))
        );
        assert_eq!(app.queue_depth().await, depth);
        let malformed = app
            .post(
                "/v1/registrar/messages",
                Some(&app.registrar),
                json!({"messages": ["0102"]}),
            )
            .await;
        assert_eq!(
            (malformed.status, malformed.json["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed"))
        );

        // The good one alone goes through; again → the same receipt, stored once.
        let first = app
            .post(
                "/v1/registrar/messages",
                Some(&app.registrar),
                json!({"messages": [good]}),
            )
            .await;
        assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.json);
        let again = app
            .post(
                "/v1/registrar/messages",
                Some(&app.registrar),
                json!({"messages": [good]}),
            )
            .await;
        assert_eq!(again.status, StatusCode::ACCEPTED);
        assert_eq!(
            first.json["receipts"][0]["envelope_hash"],
            again.json["receipts"][0]["envelope_hash"]
        );
        assert_eq!(first.json["receipts"][0]["kind"], "registrar");
        assert_eq!(app.queue_depth().await, depth + 1);
        // Registering the same device again (a new message) conflicts; so does an old sequence.
        let twice = app
            .post(
                "/v1/registrar/messages",
                Some(&app.registrar),
                json!({"messages": [d1.register_hex(&app.keys)]}),
            )
            .await;
        assert_eq!(
            (twice.status, twice.json["error"].as_str()),
            (StatusCode::CONFLICT, Some("already_registered"))
        );
        let stale = RegistrarMessage::sign(
            &app.keys.registrar,
            &app.keys.domain,
            0,
            RegistrarAction::AddRegistrar {
                key: SigningKey::generate(&mut rng(3)).public_key(),
            },
        )
        .unwrap();
        let stale = app
            .post(
                "/v1/registrar/messages",
                Some(&app.registrar),
                json!({"messages": [hex::encode(stale.encode().unwrap())]}),
            )
            .await;
        assert_eq!(
            (stale.status, stale.json["error"].as_str()),
            (StatusCode::CONFLICT, Some("stale_sequence"))
        );
        assert_eq!(app.queue_depth().await, depth + 1);
        let listed = app.get("/v1/devices", Some(&app.registrar)).await;
        assert_eq!(listed.json[0]["device_id"], d1.id.to_hex());
        assert_eq!(
            listed.json[0]["public_key"],
            hex::encode(d1.key.public_key().to_bytes())
        );
        assert_eq!(listed.json[0]["model"], 1);
    }
}

#[tokio::test]
async fn claims_transfer_ownership_on_sale() {
    let dir = tempfile::tempdir().unwrap();
    for url in database_urls(dir.path()).await {
        let app = App::new(&url).await;
        let seller = app.signup("seller").await;
        let buyer = app.signup("buyer").await;
        let device = Device::new(next_seed());
        app.register(&[&device]).await;
        let path = format!("/v1/devices/{}", device.id);

        let (first, seller_key) = app.claim(&seller, &device, 1).await;
        assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.json);
        assert_eq!(first.json["receipt"]["kind"], "ownership");
        assert_eq!(app.get(&path, Some(&seller)).await.status, StatusCode::OK);
        // The same sequence again (another statement) is stale.
        let (stale, _) = app.claim(&buyer, &device, 1).await;
        assert_eq!(
            (stale.status, stale.json["error"].as_str()),
            (StatusCode::CONFLICT, Some("stale_sequence"))
        );
        // Not signed by the device.
        let impostor = Device::new(next_seed());
        let mut forged = impostor.ownership(&app.keys, &SigningKey::generate(&mut rng(9)), 5);
        forged.device_id = device.id;
        let answer = app
            .post(
                &format!("{path}/claim"),
                Some(&buyer),
                json!({"statement": statement_hex(&forged)}),
            )
            .await;
        assert_eq!(
            (answer.status, answer.json["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_signature"))
        );
        // Without the owner's release the device does not pass on.
        let buyer_key = SigningKey::generate(&mut rng(next_seed()));
        let unreleased = device.ownership(&app.keys, &buyer_key, 2);
        let answer = app
            .post(
                &format!("{path}/claim"),
                Some(&buyer),
                json!({"statement": statement_hex(&unreleased)}),
            )
            .await;
        assert_eq!(
            (answer.status, answer.json["error"].as_str()),
            (StatusCode::CONFLICT, Some("release_required")),
            "{}",
            answer.json
        );
        // A release signed by someone other than the owner is refused.
        let until = now_s() + 3_600;
        let forged = Release::sign(&buyer_key, &app.keys.domain, device.id, 1, until);
        let answer = app
            .post(
                &format!("{path}/claim"),
                Some(&buyer),
                json!({"statement": statement_hex(&device.transfer(&app.keys, &buyer_key, 2, Consent::Release(forged)))}),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.json
        );
        // The owner's release that has expired is refused.
        let past = now_s() - 60;
        let expired = Release::sign(&seller_key, &app.keys.domain, device.id, 1, past);
        let answer = app
            .post(
                &format!("{path}/claim"),
                Some(&buyer),
                json!({"statement": statement_hex(&device.transfer(&app.keys, &buyer_key, 2, Consent::Release(expired)))}),
            )
            .await;
        assert_eq!(
            (answer.status, answer.json["error"].as_str()),
            (StatusCode::CONFLICT, Some("release_expired")),
            "{}",
            answer.json
        );
        // The sale: the device binds the buyer's key on the seller's release.
        let release = Release::sign(&seller_key, &app.keys.domain, device.id, 1, until);
        let countersigned = device.transfer(&app.keys, &buyer_key, 2, Consent::Release(release));
        let sale = app
            .post(
                &format!("{path}/claim"),
                Some(&buyer),
                json!({"statement": statement_hex(&countersigned)}),
            )
            .await;
        assert_eq!(sale.status, StatusCode::ACCEPTED, "{}", sale.json);
        // Idempotent for the buyer; refused for someone else replaying it.
        let again = app
            .post(
                &format!("{path}/claim"),
                Some(&buyer),
                json!({"statement": statement_hex(&countersigned)}),
            )
            .await;
        assert_eq!(again.status, StatusCode::ACCEPTED);
        assert_eq!(
            again.json["receipt"]["envelope_hash"],
            sale.json["receipt"]["envelope_hash"]
        );
        let replayed = app
            .post(
                &format!("{path}/claim"),
                Some(&seller),
                json!({"statement": statement_hex(&countersigned)}),
            )
            .await;
        assert_eq!(replayed.status, StatusCode::CONFLICT);

        // The seller's access ends; the buyer's begins.
        assert_eq!(
            app.get(&path, Some(&seller)).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(app.get("/v1/devices", Some(&seller)).await.json, json!([]));
        let detail = app.get(&path, Some(&buyer)).await;
        assert_eq!(detail.status, StatusCode::OK);
        assert_eq!(detail.json["device"]["owned_by_you"], true);
        assert_eq!(
            detail.json["device"]["owner_key"],
            hex::encode(buyer_key.public_key().to_bytes())
        );
        assert!(detail.json["rollup"].is_null());
        assert!(
            detail.json["rollup_error"]
                .as_str()
                .unwrap()
                .contains("not connected")
        );
        // Unknown devices and bad ids.
        let unknown = Device::new(next_seed());
        let (answer, _) = app.claim(&buyer, &unknown, 1).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert_eq!(
            app.get("/v1/devices/xyz", Some(&buyer)).await.status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            app.queue_depth().await,
            3,
            "registration and two statements"
        );
    }
}

#[tokio::test]
async fn objections_are_the_owners_and_relayed_once() {
    let dir = tempfile::tempdir().unwrap();
    for url in database_urls(dir.path()).await {
        let app = App::new(&url).await;
        let owner_account = app.signup("owner").await;
        let other = app.signup("other").await;
        let device = Device::new(next_seed());
        app.register(&[&device]).await;
        let path = format!("/v1/devices/{}/objection", device.id);
        let (claimed, owner) = app.claim(&owner_account, &device, 1).await;
        assert_eq!(claimed.status, StatusCode::ACCEPTED, "{}", claimed.json);
        let encode = |objection: &OwnerObjection| {
            let mut w = witness_protocol::codec::Writer::with_capacity(120);
            objection.encode(&mut w);
            hex::encode(w.finish())
        };
        let effective_at = u64::from(now_s()) + 604_800;

        // Anyone may relay the owner's objection; the same one again answers its receipt.
        let objection = OwnerObjection::sign(&owner, &app.keys.domain, device.id, effective_at);
        let relayed = app
            .post(
                &path,
                Some(&other),
                json!({"objection": encode(&objection)}),
            )
            .await;
        assert_eq!(relayed.status, StatusCode::ACCEPTED, "{}", relayed.json);
        assert_eq!(relayed.json["receipt"]["kind"], "objection");
        let again = app
            .post(
                &path,
                Some(&owner_account),
                json!({"objection": encode(&objection)}),
            )
            .await;
        assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.json);
        assert_eq!(
            again.json["receipt"]["envelope_hash"],
            relayed.json["receipt"]["envelope_hash"]
        );

        // A key that is not the owner this gateway knows: refused before any gas is paid.
        let stranger = SigningKey::generate(&mut rng(next_seed()));
        let foreign = OwnerObjection::sign(&stranger, &app.keys.domain, device.id, effective_at);
        let refused = app
            .post(&path, Some(&other), json!({"objection": encode(&foreign)}))
            .await;
        assert_eq!(
            (refused.status, refused.json["error"].as_str()),
            (StatusCode::CONFLICT, Some("not_owner")),
            "{}",
            refused.json
        );
        // A signature over something else, another device's objection, bytes that do not
        // decode, an unknown device: each with its own answer.
        let mut forged = objection.clone();
        forged.effective_at += 1;
        let answer = app
            .post(&path, Some(&other), json!({"objection": encode(&forged)}))
            .await;
        assert_eq!(
            (answer.status, answer.json["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_signature"))
        );
        let elsewhere = Device::new(next_seed());
        let misdirected =
            OwnerObjection::sign(&owner, &app.keys.domain, elsewhere.id, effective_at);
        let answer = app
            .post(
                &path,
                Some(&other),
                json!({"objection": encode(&misdirected)}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.json);
        let answer = app
            .post(&path, Some(&other), json!({"objection": "00ff"}))
            .await;
        assert_eq!(
            (answer.status, answer.json["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed"))
        );
        let answer = app
            .post(
                &format!("/v1/devices/{}/objection", elsewhere.id),
                Some(&other),
                json!({"objection": encode(&misdirected)}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.json);
        let answer = app
            .post(&path, None, json!({"objection": encode(&objection)}))
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            app.queue_depth().await,
            3,
            "registration, the claim and one objection"
        );
    }
}

#[tokio::test]
async fn a_recovered_owner_proves_the_key_the_rollup_bound_and_takes_the_device_over_here() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("g.sqlite").display().to_string();
    let keys = Keys::new(next_seed());
    let node = FakeNode::start(keys.backend_hex()).await;
    let endpoints = node.endpoints.clone();
    // The backend key (so the domain) is the node's, as a deployed gateway fetches it.
    let app = App::with(&url, move |c| {
        c.node = Some(endpoints);
        c.backend_public_key = None;
    })
    .await;
    node.trust(&keys);
    let (old_account, new_account) = (app.signup("old").await, app.signup("new").await);
    let device = Device::new(next_seed());
    let answer = app
        .post(
            "/v1/registrar/messages",
            Some(&app.registrar),
            json!({"messages": [device.register_hex(&keys)]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
    let old_key = SigningKey::generate(&mut rng(next_seed()));
    let claimed = app
        .post(
            &format!("/v1/devices/{}/claim", device.id),
            Some(&old_account),
            json!({"statement": statement_hex(&device.ownership(&keys, &old_key, 1))}),
        )
        .await;
    assert_eq!(claimed.status, StatusCode::ACCEPTED, "{}", claimed.json);
    // A registrar's recovery took effect on the rollup: its leaf names the new key.
    let new_key = SigningKey::generate(&mut rng(next_seed()));
    node.rollup.lock().unwrap().leaves.insert(
        device.id.to_hex(),
        leaf(&device, Some(&new_key), 3, Some(9)),
    );
    let path = format!("/v1/devices/{}/owner-proof", device.id);
    let prove = |key: &SigningKey| owner_query_hex(&keys, key, device.id).0;

    // The old key no longer proves anything; nor a signature over something else, nor an
    // expired query.
    let answer = app
        .post(
            &path,
            Some(&old_account),
            json!({"owner_query": prove(&old_key)}),
        )
        .await;
    assert_eq!(
        (answer.status, answer.json["error"].as_str()),
        (StatusCode::CONFLICT, Some("not_owner")),
        "{}",
        answer.json
    );
    let mut forged = hex::decode(prove(&new_key)).unwrap();
    *forged.last_mut().unwrap() ^= 1;
    let answer = app
        .post(
            &path,
            Some(&new_account),
            json!({"owner_query": hex::encode(forged)}),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.json
    );
    let response = witness_protocol::BackendSecretKey::generate(&mut rng(next_seed()));
    let expired = witness_protocol::OwnerQuery::sign(
        &new_key,
        &keys.domain,
        device.id,
        response.public_key().to_bytes(),
        now_s() - 60,
    );
    let answer = app
        .post(
            &path,
            Some(&new_account),
            json!({"owner_query": hex::encode(expired.encode())}),
        )
        .await;
    assert_eq!(
        (answer.status, answer.json["error"].as_str()),
        (StatusCode::CONFLICT, Some("query_expired")),
        "{}",
        answer.json
    );

    // The new key's holder takes the device over here; the old account's access ends.
    let answer = app
        .post(
            &path,
            Some(&new_account),
            json!({"owner_query": prove(&new_key)}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    assert_eq!(answer.json["owned_by_you"], true);
    assert_eq!(
        answer.json["owner_key"],
        hex::encode(new_key.public_key().to_bytes())
    );
    let detail = format!("/v1/devices/{}", device.id);
    assert_eq!(
        app.get(&detail, Some(&old_account)).await.status,
        StatusCode::FORBIDDEN
    );
    // Its sale is checked against the recovered key: the old owner's release is refused,
    // the new owner's relayed.
    let buyer = SigningKey::generate(&mut rng(next_seed()));
    let until = now_s() + 3_600;
    let stale = Release::sign(&old_key, &keys.domain, device.id, 1, until);
    let answer = app
        .post(
            &format!("/v1/devices/{}/claim", device.id),
            Some(&old_account),
            json!({"statement": statement_hex(&device.transfer(&keys, &buyer, 2, Consent::Release(stale)))}),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.json
    );
    let release = Release::sign(&new_key, &keys.domain, device.id, 1, until);
    let answer = app
        .post(
            &format!("/v1/devices/{}/claim", device.id),
            Some(&old_account),
            json!({"statement": statement_hex(&device.transfer(&keys, &buyer, 2, Consent::Release(release)))}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
    // An unregistered device.
    let unknown = Device::new(next_seed());
    let answer = app
        .post(
            &format!("/v1/devices/{}/owner-proof", unknown.id),
            Some(&new_account),
            json!({"owner_query": owner_query_hex(&keys, &new_key, unknown.id).0}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.json);
}

#[tokio::test]
async fn node_backed_reads_history_keys_stats_and_device_status() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("g.sqlite").display().to_string();
    let seed = next_seed();
    let keys_for_node = Keys::new(seed);
    let node = FakeNode::start(keys_for_node.backend_hex()).await;
    let endpoints = node.endpoints.clone();
    // No configured backend key: it is fetched from the node's inspect config.
    let app = App::with(&url, move |c| {
        c.node = Some(endpoints);
        c.backend_public_key = None;
    })
    .await;
    let keys = keys_for_node;
    node.trust(&keys);
    let owner = app.signup("owner").await;
    let mut device = Device::new(next_seed());
    let register = device.register_hex(&keys);
    let answer = app
        .post(
            "/v1/registrar/messages",
            Some(&app.registrar),
            json!({"messages": [register]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
    let owner_key = SigningKey::generate(&mut rng(next_seed()));
    let statement = device.ownership(&keys, &owner_key, 1);
    let claim = app
        .post(
            &format!("/v1/devices/{}/claim", device.id),
            Some(&owner),
            json!({"statement": statement_hex(&statement)}),
        )
        .await;
    assert_eq!(claim.status, StatusCode::ACCEPTED, "{}", claim.json);
    let first = device.seal(&keys, 2);
    assert_eq!(
        app.post_octets(concat(std::slice::from_ref(&first)))
            .await
            .status,
        StatusCode::ACCEPTED
    );

    // Statistics: the backend's StatsAnswer.
    let stats = app.get("/v1/stats", None).await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.json);
    assert_eq!(stats.json["k_anonymity"], 5);
    assert_eq!(stats.json["fleet"]["published"], false);

    // Device status before and after the rollup knows the device.
    let path = format!("/v1/devices/{}", device.id);
    let detail = app.get(&path, Some(&owner)).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(detail.json["rollup"]["exists"], false, "{}", detail.json);
    assert!(detail.json["rollup"]["leaf"].is_null());
    assert_eq!(detail.json["submission"]["accepted"], 1);
    assert_eq!(detail.json["submission"]["pending"], 1);
    assert_eq!(detail.json["submission"]["last_counter"], 1);
    let receipts = detail.json["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 1, "{}", detail.json);
    assert_eq!(receipts[0]["envelope_hash"], hash_hex(&first));
    assert_eq!(
        (
            &receipts[0]["status"],
            &receipts[0]["kind"],
            &receipts[0]["counter"]
        ),
        (&json!("pending"), &json!("envelope"), &json!(0))
    );
    // Its latest envelopes' receipts, newest first and at most 20, with how far each got:
    // the first one goes out in a transaction, then 19 and 1 more arrive.
    let store = app.gateway.store();
    let batch = store.next_batch(1 << 20, 1000).await.unwrap();
    let ids = batch.messages.iter().map(|(id, _)| *id).collect();
    let input = store.create_input(ids, vec![0], 0).await.unwrap();
    store.mark_sent(input.id, [7; 32]).await.unwrap();
    let later: Vec<_> = (0..20).map(|_| device.seal(&keys, 1)).collect();
    let hashes = |detail: &Answer| -> Vec<String> {
        detail.json["receipts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["envelope_hash"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        app.post_octets(concat(&later[..19])).await.status,
        StatusCode::ACCEPTED
    );
    let detail = app.get(&path, Some(&owner)).await;
    let mut expected: Vec<String> = later[..19].iter().rev().map(hash_hex).collect();
    expected.push(hash_hex(&first));
    assert_eq!(hashes(&detail), expected);
    let oldest = &detail.json["receipts"][19];
    assert_eq!(
        (&oldest["status"], &oldest["tx_hash"]),
        (
            &json!("submitted"),
            &json!(format!("0x{}", "07".repeat(32)))
        ),
        "{oldest}"
    );
    assert!(
        detail.json["receipts"].as_array().unwrap()[..19]
            .iter()
            .all(|r| r["status"] == "pending" && r.get("tx_hash").is_none())
    );
    assert_eq!(
        (
            &detail.json["submission"]["pending"],
            &detail.json["submission"]["submitted"]
        ),
        (&json!(19), &json!(1))
    );
    assert_eq!(
        app.post_octets(concat(&later[19..])).await.status,
        StatusCode::ACCEPTED
    );
    let detail = app.get(&path, Some(&owner)).await;
    let expected: Vec<String> = later.iter().rev().map(hash_hex).collect();
    assert_eq!(hashes(&detail), expected);
    node.rollup.lock().unwrap().leaves.insert(
        device.id.to_hex(),
        leaf(&device, Some(&owner_key), 1, Some(3)),
    );
    let detail = app.get(&path, Some(&owner)).await;
    let rollup = &detail.json["rollup"];
    assert_eq!(rollup["exists"], true, "{rollup}");
    assert_eq!(rollup["device_id"], device.id.to_hex());
    assert_eq!(
        rollup["leaf"]["owner"],
        hex::encode(owner_key.public_key().to_bytes())
    );
    assert_eq!(rollup["leaf"]["history"]["last_input"], 3);
    assert!(detail.json.get("rollup_error").is_none());

    // The owner's history-key query, relayed; the answer is the backend's, unchanged.
    let history = format!("/v1/devices/{}/history-keys", device.id);
    let (query, _) = owner_query_hex(&keys, &owner_key, device.id);
    let answer = app
        .post(&history, Some(&owner), json!({"owner_query": query}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    assert_eq!(
        answer.json,
        json!({"type": "history_keys", "device_id": device.id.to_hex(), "era": 1, "sealed": "00ff"})
    );
    // A validly signed query with a key the rollup does not bind: the backend's refusal.
    let stranger = SigningKey::generate(&mut rng(next_seed()));
    let (foreign, _) = owner_query_hex(&keys, &stranger, device.id);
    let refused = app
        .post(&history, Some(&owner), json!({"owner_query": foreign}))
        .await;
    assert_eq!(refused.status, StatusCode::OK, "{}", refused.json);
    assert_eq!(
        (
            refused.json["type"].as_str(),
            refused.json["error"].as_str()
        ),
        (Some("error"), Some("not_owner"))
    );
    // A query for another device, a forged query, garbage and unknown fields are refused
    // before the node.
    let (other, _) = owner_query_hex(&keys, &owner_key, Device::new(next_seed()).id);
    assert_eq!(
        app.post(&history, Some(&owner), json!({"owner_query": other}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let (forged, _) = owner_query_hex(&Keys::new(next_seed()), &owner_key, device.id);
    let forged = app
        .post(&history, Some(&owner), json!({"owner_query": forged}))
        .await;
    assert_eq!(
        (forged.status, forged.json["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_signature"))
    );
    assert_eq!(
        app.post(&history, Some(&owner), json!({"owner_query": "abc"}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.post(
            &history,
            Some(&owner),
            json!({"owner_query": query, "offset": 2})
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    // Only the owner's session relays: another owner, the registrar and the admin get 403
    // (the others do not see the device; the registrar and admin see it but do not own it).
    let other_owner = app.signup("other-owner").await;
    for token in [&other_owner, &app.registrar, &app.admin] {
        let answer = app
            .post(&history, Some(token), json!({"owner_query": query}))
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.json);
    }
    // The old relay is gone.
    assert_eq!(
        app.post(
            &format!("/v1/devices/{}/history", device.id),
            Some(&owner),
            json!({"owner_query": query})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

/// One device's notices at inputs 3, 5, 8 (two: an ownership change split them) and 9, with
/// another device's notices in between: newest first, paged, two notices of one input together.
#[tokio::test]
async fn notices_page_newest_first_through_previous_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("g.sqlite").display().to_string();
    let node = FakeNode::start(String::new()).await;
    let endpoints = node.endpoints.clone();
    let app = App::with(&url, move |c| c.node = Some(endpoints)).await;
    node.trust(&app.keys);
    let car = Device::new(next_seed());
    let other = Device::new(next_seed());
    let owner = SigningKey::generate(&mut rng(next_seed()));
    let (id, o) = (car.id, other.id);
    let mine = [
        history_notice(id, 3, 0, None, 0),
        history_notice(id, 5, 1, Some(3), 0),
        history_notice(id, 8, 2, Some(5), 0),
        history_notice(id, 8, 3, Some(8), 1),
        history_notice(id, 9, 4, Some(8), 1),
    ];
    {
        let mut rollup = node.rollup.lock().unwrap();
        rollup.emit(1, vec![history_notice(o, 1, 0, None, 0)]);
        rollup.emit(2, vec![]);
        rollup.emit(
            3,
            vec![mine[0].clone(), history_notice(o, 3, 1, Some(1), 0)],
        );
        rollup.emit(4, vec![history_notice(o, 4, 2, Some(3), 0)]);
        rollup.emit(
            5,
            vec![history_notice(o, 5, 3, Some(4), 0), mine[1].clone()],
        );
        rollup.emit(6, vec![]);
        rollup.emit(7, vec![history_notice(o, 7, 4, Some(5), 0)]);
        rollup.emit(8, vec![mine[2].clone(), mine[3].clone()]);
        rollup.emit(9, vec![mine[4].clone()]);
        rollup
            .leaves
            .insert(id.to_hex(), leaf(&car, Some(&owner), 5, Some(9)));
    }
    let outputs = |input: u64| node.rollup.lock().unwrap().outputs_of(input);
    let expect = |input: u64, payload: &[u8]| {
        let (index, _) = outputs(input)
            .into_iter()
            .find(|(_, p)| p == payload)
            .unwrap();
        json!({"input_index": input, "output_index": index, "payload": hex::encode(payload)})
    };
    let newest_first = vec![
        expect(9, &mine[4]),
        expect(8, &mine[3]),
        expect(8, &mine[2]),
        expect(5, &mine[1]),
        expect(3, &mine[0]),
    ];
    let path = format!("/v1/devices/{id}/notices");

    // Everything at once (public: no session), walking only the inputs that hold notices.
    let all = app.get(&path, None).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.json);
    assert_eq!(all.json["device_id"], id.to_hex());
    assert_eq!(all.json["leaf"]["history"]["count"], 5);
    assert_eq!(all.json["notices"], json!(newest_first));
    assert!(all.json["next_before"].is_null());
    assert_eq!(
        node.output_calls.load(std::sync::atomic::Ordering::Relaxed),
        4
    );
    let typed: witness_gateway::api::history::DeviceNotices =
        serde_json::from_value(all.json.clone()).unwrap();
    assert_eq!(typed.leaf.unwrap().history.last_input, Some(9));

    // Pages of 2: input 8's two notices do not fit after input 9's, and stay together.
    let page = app.get(&format!("{path}?limit=2"), None).await;
    assert_eq!(page.json["notices"], json!(newest_first[..1]));
    assert_eq!(page.json["next_before"], 8);
    let page = app.get(&format!("{path}?limit=2&before=8"), None).await;
    assert_eq!(page.json["notices"], json!(newest_first[1..3]));
    assert_eq!(page.json["next_before"], 5);
    let page = app.get(&format!("{path}?before=5&limit=2"), None).await;
    assert_eq!(page.json["notices"], json!(newest_first[3..]));
    assert!(page.json["next_before"].is_null());
    // A page of 1 that starts at input 8 holds both of its notices.
    let page = app.get(&format!("{path}?limit=1&before=8"), None).await;
    assert_eq!(page.json["notices"], json!(newest_first[1..3]));
    assert_eq!(page.json["next_before"], 5);
    let page = app.get(&format!("{path}?limit=3"), None).await;
    assert_eq!(page.json["notices"], json!(newest_first[..3]));
    assert_eq!(page.json["next_before"], 5);
    // An input without a notice of the device ends the walk.
    let page = app.get(&format!("{path}?before=7"), None).await;
    assert_eq!(
        (
            page.status,
            page.json["notices"].clone(),
            page.json["next_before"].clone()
        ),
        (StatusCode::OK, json!([]), Value::Null)
    );

    // Bad parameters.
    for query in ["limit=0", "limit=201", "before=x", "after=3"] {
        let answer = app.get(&format!("{path}?{query}"), None).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            answer.json
        );
        assert_eq!(answer.json["error"], "invalid_request");
    }
    assert_eq!(
        app.get("/v1/devices/xyz/notices", None).await.status,
        StatusCode::BAD_REQUEST
    );
    // Unknown to the rollup and to the gateway: 404; registered here but not yet on the
    // rollup: no leaf, no notices.
    let unknown = app
        .get(&format!("/v1/devices/{}/notices", other.id), None)
        .await;
    assert_eq!(
        (unknown.status, unknown.json["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    app.register(&[&other]).await;
    let pending = app
        .get(&format!("/v1/devices/{}/notices", other.id), None)
        .await;
    assert_eq!(pending.status, StatusCode::OK, "{}", pending.json);
    assert_eq!(
        pending.json,
        json!({"device_id": other.id.to_hex(), "leaf": null, "notices": [], "next_before": null})
    );
}

#[tokio::test]
async fn openapi_docs_health_metrics_request_ids() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(&dir.path().join("g.sqlite").display().to_string()).await;
    let doc = app.get("/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    for path in [
        "/v1/readings",
        "/v1/receipts/{hash}",
        "/v1/devices/{id}/claim",
        "/v1/devices/{id}/history-keys",
        "/v1/devices/{id}/notices",
        "/v1/registrar/messages",
        "/v1/auth/login",
        "/v1/system",
        "/v1/stats",
    ] {
        assert!(
            doc.json["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    for schema in [
        "ErrorBody",
        "DeviceNotices",
        "NoticeOutput",
        "HistoryKeysAnswer",
    ] {
        assert!(
            doc.json["components"]["schemas"].get(schema).is_some(),
            "{schema} missing from the OpenAPI document"
        );
    }
    assert_eq!(
        doc.json["paths"]["/v1/devices/{id}/history-keys"]["post"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/HistoryKeysAnswer"
    );
    let notices = &doc.json["paths"]["/v1/devices/{id}/notices"]["get"];
    let mut statuses: Vec<&str> = notices["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, ["200", "400", "404", "422", "503"]);
    let names: Vec<&str> = notices["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["id", "before", "limit"]);
    let bare = app.get("/docs", None).await;
    assert!(
        bare.status.is_success() || bare.status.is_redirection(),
        "{}",
        bare.status
    );
    let docs = app.get("/docs/", None).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(
        docs.json.as_str().unwrap().contains("swagger"),
        "not the Swagger UI"
    );
    let health = app.get("/healthz", None).await;
    assert_eq!(
        (health.status, health.json.as_str()),
        (StatusCode::OK, Some("ok"))
    );
    assert!(health.headers.contains_key("x-request-id"));
    let metrics = app.get("/metrics", None).await;
    let text = metrics.json.as_str().unwrap();
    for name in [
        "witness_gateway_envelopes_accepted_total",
        "witness_gateway_queue_depth",
        "witness_gateway_submission_lag_seconds",
        "witness_gateway_gas_used_total",
        "witness_gateway_intake_duration_seconds_bucket",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    let missing = app.get("/v1/nothing-here", None).await;
    assert_eq!(
        (missing.status, missing.json["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    // Without a node, node-backed reads say so.
    let stats = app.get("/v1/stats", None).await;
    assert_eq!(
        (stats.status, stats.json["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"))
    );
    // A request id sent by the client is propagated.
    let answer = app
        .request(
            Request::builder()
                .uri("/healthz")
                .header("x-request-id", "abc-123")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.headers["x-request-id"], "abc-123");
}

#[tokio::test]
async fn serves_the_web_dashboard_with_spa_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web");
    std::fs::create_dir_all(web.join("assets")).unwrap();
    std::fs::write(web.join("index.html"), "<html>dashboard</html>").unwrap();
    std::fs::write(web.join("assets/app.js"), "console.log(1)").unwrap();
    let url = dir.path().join("g.sqlite").display().to_string();
    let web_dir = web.clone();
    let app = App::with(&url, move |c| c.web_dir = Some(web_dir)).await;
    let index = app.get("/", None).await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(index.json, Value::String("<html>dashboard</html>".into()));
    let js = app.get("/assets/app.js", None).await;
    assert_eq!(js.json, Value::String("console.log(1)".into()));
    let route = app.get("/devices/abc", None).await;
    assert_eq!(
        (route.status, route.json.as_str()),
        (StatusCode::OK, Some("<html>dashboard</html>"))
    );
    let api = app.get("/v1/unknown", None).await;
    assert_eq!(
        (api.status, api.json["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[tokio::test]
async fn concurrent_requests_share_group_commits() {
    let dir = tempfile::tempdir().unwrap();
    let app =
        std::sync::Arc::new(App::new(&dir.path().join("g.sqlite").display().to_string()).await);
    let mut devices: Vec<Device> = (0..64).map(|_| Device::new(next_seed())).collect();
    app.register(&devices.iter().collect::<Vec<_>>()).await;
    let bodies: Vec<Vec<u8>> = devices
        .iter_mut()
        .map(|d| concat(&[d.seal(&app.keys, 1), d.seal(&app.keys, 1)]))
        .collect();
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let app = app.clone();
            tokio::spawn(async move { app.post_octets(body).await.status })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::ACCEPTED);
    }
    assert_eq!(app.queue_depth().await, 64 + 128);
    let metrics = app.get("/metrics", None).await;
    let text = metrics.json.as_str().unwrap().to_owned();
    assert!(
        text.contains("witness_gateway_envelopes_accepted_total 128"),
        "{text}"
    );
}

#[tokio::test]
async fn config_tells_the_dashboard_where_the_other_parts_are() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("g.sqlite").display().to_string();
    let app = App::with(&url, |config| {
        config.client = witness_gateway::ClientConfig {
            node_inspect_url: Some("http://127.0.0.1:10012/inspect/0xabc".into()),
            local_link_url: Some("http://127.0.0.1:9700".into()),
            chain_id: Some(31337),
            ..Default::default()
        };
    })
    .await;
    let answer = app.get("/v1/config", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json["node_inspect_url"],
        "http://127.0.0.1:10012/inspect/0xabc"
    );
    assert_eq!(answer.json["local_link_url"], "http://127.0.0.1:9700");
    assert_eq!(answer.json["chain_id"], 31337);
    assert!(answer.json["node_rpc_url"].is_null());
    let key = answer.json["backend_public_key"].as_str().unwrap();
    assert_eq!(key.len(), 64);
    let doc = app.get("/openapi.json", None).await;
    assert!(doc.json["paths"].get("/v1/config").is_some());
}

/// A `$ref`'d schema of the document, resolved (one level).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(pointer) => doc
            .pointer(pointer.trim_start_matches('#'))
            .unwrap_or(&Value::Null),
        None => schema,
    }
}

/// A JSON request body made of the examples the document gives for each required property,
/// if it gives one for each (an enum's first value stands for its example).
fn example_body(doc: &Value, operation: &Value) -> Option<Value> {
    let schema = resolve(
        doc,
        &operation["requestBody"]["content"]["application/json"]["schema"],
    );
    let mut body = serde_json::Map::new();
    for name in schema["required"].as_array()? {
        let name = name.as_str()?;
        let property = resolve(doc, &schema["properties"][name]);
        let example = match (&property["example"], &property["enum"][0]) {
            (Value::Null, Value::Null) => return None,
            (Value::Null, first) => first.clone(),
            (example, _) => example.clone(),
        };
        body.insert(name.to_owned(), example);
    }
    Some(Value::Object(body))
}

/// Every operation of the document, probed with what clients get wrong (no session or another
/// role's, no body, a body that is not JSON, lacks or adds fields, has another content type or
/// is too large; a path id that is not one, an unknown and a known one; bad query parameters)
/// and with the document's own examples: every answer's status is one the document declares
/// for the operation, every error answer carries the shared error body, and the examples are
/// accepted (no 400, 413, 415).
#[tokio::test]
async fn the_document_declares_every_status_the_router_answers() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("g.sqlite").display().to_string();
    let node = FakeNode::start(String::new()).await;
    let endpoints = node.endpoints.clone();
    let app = App::with(&url, move |c| {
        c.node = Some(endpoints);
        c.max_body_bytes = 4096;
    })
    .await;
    node.trust(&app.keys);
    let doc = app.get("/openapi.json", None).await.json;
    let owner = app.signup("probe-owner").await;
    let mut device = Device::new(next_seed());
    app.register(&[&device]).await;
    let (claimed, _) = app.claim(&owner, &device, 1).await;
    assert_eq!(claimed.status, StatusCode::ACCEPTED, "{}", claimed.json);
    let envelope = device.seal(&app.keys, 1);
    let receipt = hash_hex(&envelope);
    assert_eq!(
        app.post_octets(concat(&[envelope])).await.status,
        StatusCode::ACCEPTED
    );

    let json = Some("application/json");
    let bodies: Vec<(Option<&str>, Vec<u8>)> = vec![
        (None, Vec::new()),
        (json, b"{".to_vec()),
        (json, b"{}".to_vec()),
        (json, b"[]".to_vec()),
        (json, br#"{"unknown": 1}"#.to_vec()),
        (json, vec![b' '; 5000]),
        (Some("text/plain"), b"hello".to_vec()),
        (Some("application/octet-stream"), vec![0; 10]),
        (Some("application/octet-stream"), vec![0; 5000]),
    ];
    let ids = [
        "not-a-device".to_owned(),
        "%FF".to_owned(),
        DeviceId::from_hex("00112233445566778899aabbccddeeff")
            .unwrap()
            .to_hex(),
        device.id.to_hex(),
    ];
    let hashes = ["zz".to_owned(), "%FF".to_owned(), "00".repeat(32), receipt];
    let queries = [
        "",
        "?limit=0",
        "?limit=x",
        "?before=-1",
        "?unknown=1",
        "?before=1&limit=1",
    ];
    let tokens = [
        None,
        Some(owner.as_str()),
        Some(app.registrar.as_str()),
        Some(app.admin.as_str()),
    ];

    let mut operations: Vec<(String, String, Value)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    // Signing out ends the session it is sent with: last.
    operations.sort_by_key(|(_, path, _)| path == "/v1/auth/logout");
    assert!(operations.len() >= 19, "{} operations", operations.len());
    let mut probes = 0;
    for (method, template, operation) in &operations {
        let declared: Vec<&str> = operation["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let paths: Vec<String> = if template.contains("{id}") {
            ids.iter().map(|id| template.replace("{id}", id)).collect()
        } else if template.contains("{hash}") {
            hashes
                .iter()
                .map(|h| template.replace("{hash}", h))
                .collect()
        } else {
            vec![template.clone()]
        };
        let with_query = operation["parameters"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["in"] == "query"));
        let example = example_body(&doc, operation);
        let mut requests: Vec<(String, Option<&str>, Vec<u8>)> = Vec::new();
        for path in &paths {
            if operation.get("requestBody").is_some() {
                for (content_type, body) in &bodies {
                    requests.push((path.clone(), *content_type, body.clone()));
                }
                if let Some(example) = &example {
                    requests.push((path.clone(), json, example.to_string().into_bytes()));
                }
            } else if with_query {
                for query in queries {
                    requests.push((format!("{path}{query}"), None, Vec::new()));
                }
            } else {
                requests.push((path.clone(), None, Vec::new()));
            }
        }
        for (path, content_type, body) in requests {
            for token in tokens {
                let mut builder = Request::builder().method(method.as_str()).uri(&path);
                if let Some(token) = token {
                    builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
                }
                if let Some(content_type) = content_type {
                    builder = builder.header(header::CONTENT_TYPE, content_type);
                }
                let answer = app
                    .request(builder.body(Body::from(body.clone())).unwrap())
                    .await;
                probes += 1;
                let status = answer.status.as_str().to_owned();
                assert!(
                    declared.contains(&status.as_str()),
                    "{method} {path} ({content_type:?}, {} bytes) answered {status}, which the \
                     document does not declare (it declares {declared:?}): {}",
                    body.len(),
                    answer.json
                );
                if answer.status.is_client_error() || answer.status.is_server_error() {
                    assert!(
                        answer.json["error"].is_string() && answer.json["message"].is_string(),
                        "{method} {path} answered {status} without the error body: {}",
                        answer.json
                    );
                }
                let is_example = example
                    .as_ref()
                    .is_some_and(|e| e.to_string().as_bytes() == body.as_slice());
                if is_example && !path.contains("not-a-device") && !path.contains("%FF") {
                    assert!(
                        ![
                            StatusCode::BAD_REQUEST,
                            StatusCode::PAYLOAD_TOO_LARGE,
                            StatusCode::UNSUPPORTED_MEDIA_TYPE
                        ]
                        .contains(&answer.status),
                        "{method} {path}: the document's example {} was refused: {}",
                        String::from_utf8_lossy(&body),
                        answer.json
                    );
                }
            }
        }
    }
    assert!(probes > 500, "{probes} probes");

    // Every example the document gives keeps the pattern, lengths and range it declares next
    // to it (a property's schema, or a parameter's).
    let mut checked = 0;
    let mut stack = vec![&doc];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(object) => {
                if let Some(example) = object.get("example") {
                    let schema = object.get("schema").unwrap_or(value);
                    example_keeps(&doc, example, schema);
                    checked += 1;
                }
                stack.extend(object.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    assert!(checked >= 8, "{checked} examples");
    // The path ids' pattern is the server's: its example is a device id.
    let device_id = &doc["paths"]["/v1/devices/{id}"]["get"]["parameters"][0];
    let example = device_id["example"].as_str().unwrap();
    assert!(DeviceId::from_hex(example).is_ok(), "{example}");
}

/// Fails unless `example` is valid by `schema` (patterns, lengths, ranges, and the rest).
fn example_keeps(doc: &Value, example: &Value, schema: &Value) {
    let validator = witness_test_support::schema_validator(doc, schema);
    let errors: Vec<String> = validator
        .iter_errors(example)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "example {example} is not valid by {schema}: {errors:?}"
    );
}

/// The document as served is the one checked in at docs/openapi.json, which integrators and
/// the dashboard's generated client read without running a gateway. After a change to the API,
/// `WITNESS_UPDATE_OPENAPI=1 cargo test -p witness-gateway --test it checked_in` rewrites it.
#[tokio::test]
async fn the_checked_in_document_is_the_served_one() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(&dir.path().join("g.sqlite").display().to_string()).await;
    let served = app.get("/openapi.json", None).await.json;
    let text = format!("{}\n", serde_json::to_string_pretty(&served).unwrap());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    if std::env::var_os("WITNESS_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == text,
        "{} is not the document the gateway serves; rewrite it with WITNESS_UPDATE_OPENAPI=1 \
         cargo test -p witness-gateway --test it checked_in",
        path.display()
    );
}

/// A device new to this gateway (a fresh database) whose counters the rollup already consumed:
/// its old envelopes, copied from calldata, are refused with 409 before the gateway pays for
/// them, because the gateway asks the node for the device's counter first; a node that does
/// not answer delays intake by at most the seeding timeout, once, and the gateway then goes by
/// its own counter.
#[tokio::test]
async fn old_envelopes_of_a_device_new_to_the_gateway_are_replays_by_the_rollups_counter() {
    let dir = tempfile::tempdir().unwrap();
    for url in database_urls(dir.path()).await {
        seeding_scenario(&url).await;
    }
}

async fn seeding_scenario(url: &str) {
    let node = FakeNode::start(String::new()).await;
    let endpoints = node.endpoints.clone();
    let app = App::with(url, move |c| c.node = Some(endpoints)).await;
    node.trust(&app.keys);
    let mut device = Device::new(next_seed());
    let mut fresh = Device::new(next_seed());
    app.register(&[&device, &fresh]).await;
    // Two envelopes another gateway carried: the rollup consumed counters 0..=2.
    let old = [device.seal(&app.keys, 1), device.seal(&app.keys, 2)];
    let mut leaf_view = leaf(&device, None, 2, Some(3));
    leaf_view.last_counter = Some(2);
    node.rollup
        .lock()
        .unwrap()
        .leaves
        .insert(device.id.to_hex(), leaf_view);
    let depth = app.queue_depth().await;
    for envelope in &old {
        let replayed = app
            .post_octets(concat(std::slice::from_ref(envelope)))
            .await;
        assert_eq!(
            (replayed.status, replayed.json["error"].as_str()),
            (StatusCode::CONFLICT, Some("replay")),
            "{url}: {}",
            replayed.json
        );
        assert!(
            replayed.json["message"]
                .as_str()
                .unwrap()
                .ends_with("last accepted counter 2"),
            "{url}: {}",
            replayed.json
        );
    }
    assert_eq!(app.queue_depth().await, depth, "{url}: nothing stored");
    let row = app
        .gateway
        .store()
        .device(device.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.last_counter, row.rollup_counter),
        (None, Some(2)),
        "{url}"
    );
    // The next envelope is fresh; then the gateway's own counter leads.
    let next = device.seal(&app.keys, 1);
    let answer = app.post_octets(concat(&[next])).await;
    assert_eq!(
        answer.status,
        StatusCode::ACCEPTED,
        "{url}: {}",
        answer.json
    );
    let status = app
        .get(&format!("/v1/devices/{}", device.id), Some(&app.admin))
        .await;
    assert_eq!(status.json["submission"]["last_counter"], 3, "{url}");
    // A device the rollup has no counter for starts from its first envelope.
    let first = fresh.seal(&app.keys, 1);
    assert_eq!(
        app.post_octets(concat(&[first])).await.status,
        StatusCode::ACCEPTED,
        "{url}"
    );

    // A node that does not answer device queries: the first envelope of a device new to the
    // gateway waits at most the seeding timeout, then it is accepted by the gateway's own
    // counter; for a while after, nobody waits for the node.
    node.rollup.lock().unwrap().silent_devices = true;
    let mut a = Device::new(next_seed());
    let mut b = Device::new(next_seed());
    app.register(&[&a, &b]).await;
    let started = std::time::Instant::now();
    let answer = app.post_octets(concat(&[a.seal(&app.keys, 1)])).await;
    let waited = started.elapsed();
    assert_eq!(
        answer.status,
        StatusCode::ACCEPTED,
        "{url}: {}",
        answer.json
    );
    assert!(
        waited >= witness_gateway::intake::SEED_TIMEOUT
            && waited < witness_gateway::intake::SEED_TIMEOUT + Duration::from_secs(3),
        "{url}: {waited:?}"
    );
    let started = std::time::Instant::now();
    let answer = app.post_octets(concat(&[b.seal(&app.keys, 1)])).await;
    assert_eq!(
        answer.status,
        StatusCode::ACCEPTED,
        "{url}: {}",
        answer.json
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{url}: {:?}",
        started.elapsed()
    );
}
