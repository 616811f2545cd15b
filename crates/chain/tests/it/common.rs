use alloy::primitives::{Address, B256};
use witness_chain::{ADMIN_ACCOUNT, AnvilProcess, Deployment, GATEWAY_ACCOUNT, L1, dev_accounts};

/// A fresh anvil that mines one block per transaction.
pub async fn anvil() -> AnvilProcess {
    AnvilProcess::start(0, None).await.unwrap()
}

pub fn key(index: usize) -> B256 {
    dev_accounts()[index].private_key
}

pub fn address(index: usize) -> Address {
    dev_accounts()[index].address
}

/// A read-only client.
pub fn reader(url: &str) -> L1 {
    L1::connect(url).unwrap()
}

/// A client signing as `key`'s account.
pub fn signer(url: &str, key: B256) -> L1 {
    L1::connect_signer(url, key).unwrap()
}

pub fn admin_key() -> B256 {
    key(ADMIN_ACCOUNT)
}

pub fn gateway_key() -> B256 {
    key(GATEWAY_ACCOUNT)
}

/// anvil with the core contracts and one application (owned by the admin).
pub async fn deployed(epoch_length: u64) -> (AnvilProcess, Deployment) {
    let anvil = anvil().await;
    let admin = signer(anvil.rpc_url(), admin_key());
    admin.deploy_core().await.unwrap();
    let deployment = admin
        .deploy_application(epoch_length, B256::repeat_byte(0x11), B256::ZERO)
        .await
        .unwrap();
    (anvil, deployment)
}
