use alloy::primitives::{B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use witness_chain::abi::{IApplication, IAuthority, ISelfHostedApplicationFactory};
use witness_chain::{
    APPLICATION_FACTORY, AUTHORITY_FACTORY, ChainError, DEV_CHAIN_ID, Deployment, ETHER_PORTAL,
    INPUT_BOX, QUORUM_FACTORY, SELF_HOSTED_APPLICATION_FACTORY, core_addresses,
    input_box_data_availability,
};

use crate::common::{address, admin_key, anvil, deployed, reader, signer};

#[test]
fn computed_addresses_are_the_canonical_ones() {
    let core = core_addresses().unwrap();
    assert_eq!(core.input_box, INPUT_BOX);
    assert_eq!(core.authority_factory, AUTHORITY_FACTORY);
    assert_eq!(core.quorum_factory, QUORUM_FACTORY);
    assert_eq!(core.application_factory, APPLICATION_FACTORY);
    assert_eq!(
        core.self_hosted_application_factory,
        SELF_HOSTED_APPLICATION_FACTORY
    );
    assert_eq!(core.ether_portal, ETHER_PORTAL);
    // Exact (checksummed) spelling from the reference doc.
    assert_eq!(
        INPUT_BOX.to_checksum(None),
        "0x1b51e2992A2755Ba4D6F7094032DF91991a0Cfac"
    );
    assert_eq!(core.to_map().len(), 10);
}

#[tokio::test]
async fn core_deploys_at_canonical_addresses_and_redeploy_is_a_noop() {
    let anvil = anvil().await;
    let url = anvil.rpc_url();
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());
    let core = core_addresses().unwrap();
    for (name, addr) in core.to_map() {
        assert!(
            provider.get_code_at(addr).await.unwrap().is_empty(),
            "{name} before deploy"
        );
    }

    let deployed = signer(url, admin_key()).deploy_core().await.unwrap();
    assert_eq!(deployed, core);
    for (name, addr) in core.to_map() {
        assert!(
            !provider.get_code_at(addr).await.unwrap().is_empty(),
            "{name} has no code"
        );
    }
    let factory = ISelfHostedApplicationFactory::new(SELF_HOSTED_APPLICATION_FACTORY, &provider);
    assert_eq!(
        factory.getAuthorityFactory().call().await.unwrap(),
        AUTHORITY_FACTORY
    );
    assert_eq!(
        factory.getApplicationFactory().call().await.unwrap(),
        APPLICATION_FACTORY
    );

    let block = reader(url).block_number().await.unwrap();
    let nonce = provider.get_transaction_count(address(0)).await.unwrap();
    assert_eq!(signer(url, admin_key()).deploy_core().await.unwrap(), core);
    assert_eq!(
        reader(url).block_number().await.unwrap(),
        block,
        "second deploy mined blocks"
    );
    assert_eq!(
        provider.get_transaction_count(address(0)).await.unwrap(),
        nonce
    );
}

#[tokio::test]
async fn application_needs_core() {
    let anvil = anvil().await;
    let err = signer(anvil.rpc_url(), admin_key())
        .deploy_application(10, B256::ZERO, B256::ZERO)
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::NotDeployed { .. }), "{err}");
}

#[tokio::test]
async fn application_deploys_with_its_authority() {
    let (anvil, d) = deployed(7).await;
    let url = anvil.rpc_url();
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());

    assert_eq!(d.chain_id, DEV_CHAIN_ID);
    assert_eq!(d.rpc_url, url);
    assert_eq!(d.input_box, INPUT_BOX);
    assert_eq!(d.epoch_length, 7);
    assert_eq!(d.application_owner, address(0));
    assert_eq!(d.template_hash, B256::repeat_byte(0x11));
    assert_eq!(d.contracts["InputBox"], INPUT_BOX);
    assert_eq!(
        d.contracts["SelfHostedApplicationFactory"],
        SELF_HOSTED_APPLICATION_FACTORY
    );
    assert_eq!(d.accounts.len(), 10);
    assert_eq!(d.accounts[0].address, address(0));
    assert_eq!(d.accounts[1].address, address(1));
    assert!(d.input_box_deployment_block >= 1);
    assert!(d.deployment_block > d.input_box_deployment_block);
    assert!(d.deployment_block <= reader(url).block_number().await.unwrap());

    let app = IApplication::new(d.application, &provider);
    assert_eq!(app.owner().call().await.unwrap(), address(0));
    assert_eq!(
        app.getOutputsMerkleRootValidator().call().await.unwrap(),
        d.authority
    );
    assert_eq!(app.getTemplateHash().call().await.unwrap(), d.template_hash);
    let da = app.getDataAvailability().call().await.unwrap();
    assert_eq!(da, input_box_data_availability(INPUT_BOX));
    assert_eq!(da[..4], [0xb1, 0x2c, 0x9e, 0xde]);
    let authority = IAuthority::new(d.authority, &provider);
    assert_eq!(authority.owner().call().await.unwrap(), address(0));
    assert_eq!(
        authority.getEpochLength().call().await.unwrap(),
        U256::from(7)
    );

    // Same arguments again: same application, nothing sent.
    let block = reader(url).block_number().await.unwrap();
    let again = signer(url, admin_key())
        .deploy_application(7, d.template_hash, B256::ZERO)
        .await
        .unwrap();
    assert_eq!(again, d);
    assert_eq!(reader(url).block_number().await.unwrap(), block);
    // Another salt: another application.
    let other = signer(url, admin_key())
        .deploy_application(7, d.template_hash, B256::repeat_byte(1))
        .await
        .unwrap();
    assert_ne!(other.application, d.application);
    assert_ne!(other.authority, d.authority);
}

#[tokio::test]
async fn deployment_json_round_trips() {
    let (_anvil, d) = deployed(10).await;
    let dir = std::env::temp_dir().join(format!("witness-chain-test-{}", std::process::id()));
    let path = dir.join("nested").join("deployment.json");
    d.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for field in [
        "chain_id",
        "rpc_url",
        "input_box",
        "input_box_deployment_block",
        "application",
        "authority",
        "epoch_length",
        "application_owner",
        "template_hash",
        "contracts",
        "accounts",
        "private_key",
        "deployment_block",
    ] {
        assert!(
            text.contains(&format!("\"{field}\"")),
            "{field} missing in {text}"
        );
    }
    assert_eq!(Deployment::load(&path).unwrap(), d);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(
        Deployment::load(&path),
        Err(ChainError::Io { .. })
    ));
}
