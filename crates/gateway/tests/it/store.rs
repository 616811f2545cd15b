//! Behaviours the SQLite and PostgreSQL stores once implemented separately (and slightly
//! differently), asserted on both databases through the one store.

use witness_gateway::Role;
use witness_gateway::error::GatewayError;

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
