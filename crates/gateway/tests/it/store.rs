//! Behaviours the SQLite and PostgreSQL stores once implemented separately (and slightly
//! differently), asserted on both databases through the one store.

use serde_json::json;
use witness_gateway::Role;
use witness_gateway::error::GatewayError;
use witness_gateway::store::InputOutcome;

use crate::common::*;

/// A name taken is `username_taken` on both databases (a unique violation, nothing else).
#[tokio::test]
async fn a_taken_username_is_a_conflict_on_every_database() {
    let dir = tempfile::tempdir().unwrap();
    for url in database_urls(dir.path()).await {
        let app = App::new(&url).await;
        let store = app.gateway.store();
        let first = store.create_account("carol", "hash", Role::Owner).await;
        assert!(first.is_ok(), "{url}: {first:?}");
        let again = store.create_account("carol", "other", Role::Admin).await;
        assert!(
            matches!(
                again,
                Err(GatewayError::Conflict {
                    code: "username_taken",
                    ..
                })
            ),
            "{url}: {again:?}"
        );
        let (account, hash) = store.account_by_username("carol").await.unwrap().unwrap();
        assert_eq!(
            (account.role, hash.as_str()),
            (Role::Owner, "hash"),
            "{url}"
        );
    }
}

/// `devices(None, _)` lists every device; `Some(account)` filters by owner or registrar.
#[tokio::test]
async fn the_device_filters_agree_on_every_database() {
    let dir = tempfile::tempdir().unwrap();
    for url in database_urls(dir.path()).await {
        let app = App::new(&url).await;
        let store = app.gateway.store();
        let (a, b) = (Device::new(next_seed()), Device::new(next_seed()));
        app.register(&[&a, &b]).await;
        let owner = app.signup("owner").await;
        let (claimed, _) = app.claim(&owner, &a, 1).await;
        assert_eq!(claimed.status.as_u16(), 202, "{url}: {}", claimed.json);
        let id = |name: &'static str| async move {
            store.account_by_username(name).await.unwrap().unwrap().0.id
        };
        let (registrar, owner, admin) =
            (id(REGISTRAR.0).await, id("owner").await, id(ADMIN.0).await);
        let ids = |rows: Vec<witness_gateway::store::DeviceRow>| {
            let mut ids: Vec<_> = rows.into_iter().map(|d| d.id).collect();
            ids.sort();
            ids
        };
        let mut both = vec![a.id, b.id];
        both.sort();
        for owned in [false, true] {
            assert_eq!(
                ids(store.devices(None, owned).await.unwrap()),
                both,
                "{url}"
            );
        }
        assert_eq!(
            ids(store.devices(Some(registrar), false).await.unwrap()),
            both,
            "{url}"
        );
        assert_eq!(
            ids(store.devices(Some(owner), true).await.unwrap()),
            [a.id],
            "{url}"
        );
        assert!(
            store.devices(Some(owner), false).await.unwrap().is_empty(),
            "{url}"
        );
        assert!(
            store.devices(Some(admin), true).await.unwrap().is_empty(),
            "{url}"
        );
    }
}

/// Packs every pending message into an input and marks it included as input `index`, as the
/// submitter would; the input's id.
async fn include_pending(store: &witness_gateway::Store, index: u64) -> (i64, Vec<i64>) {
    let batch = store.next_batch(60 * 1024, 4096).await.unwrap();
    let ids: Vec<i64> = batch.messages.iter().map(|(id, _)| *id).collect();
    let payload = witness_gateway::submitter::build_payload(&batch.messages);
    let input = store.create_input(ids.clone(), payload, 0).await.unwrap();
    store
        .mark_included(input.id, [index as u8; 32], index, 10 + index, Some(1))
        .await
        .unwrap();
    (input.id, ids)
}

fn refused(reason: &str) -> InputOutcome {
    InputOutcome {
        input_refused: Some(reason.into()),
        requeue: witness_gateway::submitter::refusal_can_pass(reason),
        ..InputOutcome::default()
    }
}

/// An input refused as a whole for `unauthorized_sender` puts its messages back in the outbox
/// in acknowledgement order, ahead of later ones, with the refusal on their receipts; after
/// five requeues the next refusal rejects them; a refusal that cannot pass (a decoder's code)
/// rejects at once.
#[tokio::test]
async fn messages_of_an_input_refused_for_its_sender_are_pending_again_at_most_five_times() {
    let dir = tempfile::tempdir().unwrap();
    for url in database_urls(dir.path()).await {
        let app = App::new(&url).await;
        let store = app.gateway.store();
        let mut device = Device::new(next_seed());
        app.register(&[&device]).await;
        let envelopes: Vec<_> = (0..3).map(|_| device.seal(&app.keys, 1)).collect();
        let answer = app.post_octets(concat(&envelopes)).await;
        assert_eq!(answer.status.as_u16(), 202, "{url}: {}", answer.json);
        let receipt = |hash: [u8; 32]| {
            let app = &app;
            async move {
                app.get(&format!("/v1/receipts/{}", hex::encode(hash)), None)
                    .await
                    .json
            }
        };

        let (input, ids) = include_pending(store, 0).await;
        assert_eq!(ids.len(), 4, "{url}: the registration and three envelopes");
        assert_eq!(
            store
                .record_outcome(input, refused("unauthorized_sender"))
                .await
                .unwrap(),
            4,
            "{url}"
        );
        let first = receipt(envelopes[0].hash()).await;
        assert_eq!(first["status"], "pending", "{url}: {first}");
        assert_eq!(first["input_refusals"], 1, "{url}: {first}");
        assert_eq!(first["last_input_refusal"], "unauthorized_sender", "{url}");
        assert!(first.get("tx_hash").is_none(), "{url}: {first}");
        assert_eq!(store.queue_stats().await.unwrap().pending_messages, 4);

        // Acknowledged after the refusal: packed after the requeued ones.
        let later = device.seal(&app.keys, 1);
        assert_eq!(
            app.post_octets(concat(std::slice::from_ref(&later)))
                .await
                .status
                .as_u16(),
            202
        );
        for round in 1..=5u64 {
            let (input, again) = include_pending(store, round).await;
            assert_eq!(&again[..4], &ids[..], "{url}: round {round}: order kept");
            assert_eq!(again.len(), 5, "{url}");
            let requeued = store
                .record_outcome(input, refused("unauthorized_sender"))
                .await
                .unwrap();
            if round < 5 {
                assert_eq!(requeued, 5, "{url}: round {round}");
            } else {
                // The first four were requeued five times: rejected now; the later one goes on.
                assert_eq!(requeued, 1, "{url}");
            }
        }
        let last = receipt(envelopes[2].hash()).await;
        assert_eq!(last["status"], "rejected", "{url}: {last}");
        assert_eq!(last["reason"], "unauthorized_sender", "{url}");
        assert_eq!(last["input_refusals"], 6, "{url}: {last}");
        assert_eq!(
            last["input_index"], 5,
            "{url}: the input that refused it last"
        );
        let stats = store.queue_stats().await.unwrap();
        assert_eq!(
            (stats.pending_messages, stats.rejected_messages),
            (1, 4),
            "{url}"
        );

        // Refused for a reason that cannot pass: rejected at once.
        let (input, ids) = include_pending(store, 6).await;
        assert_eq!(ids.len(), 1);
        assert_eq!(
            store
                .record_outcome(input, refused("truncated"))
                .await
                .unwrap(),
            0
        );
        let rejected = receipt(later.hash()).await;
        assert_eq!(
            (&rejected["status"], &rejected["reason"]),
            (&json!("rejected"), &json!("truncated")),
            "{url}: {rejected}"
        );
        assert_eq!(rejected["input_refusals"], 6, "{url}: {rejected}");
    }
}

/// While envelopes are held back, a statement passes them unless it concerns a device with an
/// earlier held envelope (or a registrar or device already held).
#[tokio::test]
async fn statements_pass_held_envelopes_only_of_other_devices() {
    let dir = tempfile::tempdir().unwrap();
    for url in database_urls(dir.path()).await {
        let app = App::new(&url).await;
        let store = app.gateway.store();
        let mut a = Device::new(next_seed());
        app.register(&[&a]).await;
        let (input, _) = include_pending(store, 0).await;
        store
            .record_outcome(input, InputOutcome::default())
            .await
            .unwrap();
        let owner = app.signup("owner").await;
        let envelope = a.seal(&app.keys, 1);
        assert_eq!(
            app.post_octets(concat(&[envelope])).await.status.as_u16(),
            202
        );
        // Behind a's envelope: a's ownership statement; then b's registration.
        let (claim, _) = app.claim(&owner, &a, 1).await;
        assert_eq!(claim.status.as_u16(), 202, "{url}: {}", claim.json);
        let b = Device::new(next_seed());
        app.register(&[&b]).await;

        let all = store.next_batch(60 * 1024, 4096).await.unwrap();
        assert_eq!(all.messages.len(), 3, "{url}");
        let statements = store.next_statements(60 * 1024, 4096).await.unwrap();
        assert_eq!(
            statements
                .messages
                .iter()
                .map(|(id, _)| *id)
                .collect::<Vec<_>>(),
            vec![all.messages[2].0],
            "{url}: only b's registration passes"
        );
        assert!(statements.oldest_received_at.is_some());
        assert!(!statements.full);
    }
}
