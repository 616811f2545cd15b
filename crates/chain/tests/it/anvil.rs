use std::time::Duration;

use alloy::providers::{Provider, ProviderBuilder};
use witness_chain::{AnvilOptions, AnvilProcess, DEV_CHAIN_ID, dev_accounts};

use crate::common::reader;

#[tokio::test]
async fn starts_on_a_free_port_and_is_killed_on_drop() {
    let anvil = AnvilProcess::start(0, None).await.unwrap();
    assert_ne!(anvil.port(), 0);
    assert_eq!(
        anvil.rpc_url(),
        format!("http://127.0.0.1:{}", anvil.port())
    );
    let url = anvil.rpc_url().to_owned();
    assert_eq!(reader(&url).chain_id().await.unwrap(), DEV_CHAIN_ID);
    assert_eq!(reader(&url).block_number().await.unwrap(), 0);
    drop(anvil);
    assert!(
        reader(&url).block_number().await.is_err(),
        "anvil still answers after drop"
    );
}

#[tokio::test]
async fn two_instances_side_by_side() {
    let a = AnvilProcess::start(0, None).await.unwrap();
    let b = AnvilProcess::start(0, None).await.unwrap();
    assert_ne!(a.port(), b.port());
}

#[tokio::test]
async fn fractional_block_time_mines_blocks() {
    let anvil = AnvilProcess::spawn(AnvilOptions {
        block_time: Some(0.2),
        ..AnvilOptions::default()
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let n = reader(anvil.rpc_url()).block_number().await.unwrap();
    assert!(n >= 3, "only {n} blocks after 1.2 s at 0.2 s block time");
}

#[tokio::test]
async fn rejects_bad_block_time_and_missing_binary() {
    let err = AnvilProcess::start(0, Some(0.0)).await.unwrap_err();
    assert!(err.to_string().contains("block time"), "{err}");
    let err = AnvilProcess::spawn(AnvilOptions {
        binary: Some("/nonexistent/anvil".into()),
        ..AnvilOptions::default()
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/anvil"), "{err}");
}

#[tokio::test]
async fn dev_accounts_are_anvils_accounts() {
    let anvil = AnvilProcess::start(0, None).await.unwrap();
    let provider = ProviderBuilder::new().connect_http(anvil.rpc_url().parse().unwrap());
    let accounts = provider.get_accounts().await.unwrap();
    let ours: Vec<_> = dev_accounts().iter().map(|a| a.address).collect();
    assert_eq!(ours.len(), 10);
    assert_eq!(accounts, ours);
}
