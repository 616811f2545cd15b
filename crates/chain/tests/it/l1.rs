//! [`L1`]: what a verifier that trusts only the chain reads, against anvil and the real contracts.

use alloy::primitives::{Address, B256, Bytes, keccak256};
use alloy::providers::ProviderBuilder;
use witness_chain::abi::IApplication::{self, IApplicationErrors, OutputValidityProof};
use witness_chain::{
    AcceptedClaim, ChainError, DEV_CHAIN_ID, Deployment, INPUT_BOX, L1, OUTPUTS_TREE_HEIGHT,
    outputs_merkle_root,
};

use crate::common::{admin_key, deployed, gateway_key, reader, signer};
use crate::outputs::{HEIGHT, mine_past, notice, root_and_siblings};

/// The last block of the epoch that contains `block`.
fn epoch_end(block: u64, epoch: u64) -> u64 {
    block / epoch * epoch + epoch - 1
}

async fn input(url: &str, d: &Deployment, payload: &[u8]) -> u64 {
    signer(url, gateway_key())
        .with_input_box(d.input_box)
        .add_input(d.application, payload.to_vec())
        .await
        .unwrap()
        .block_number
}

/// Submits a claim once `last` is in the past; returns what `latest_accepted_claim` should say.
async fn claim(l1: &L1, url: &str, d: &Deployment, last: u64, root: B256) -> AcceptedClaim {
    mine_past(url, last).await;
    let tx_hash = signer(url, admin_key())
        .submit_claim(d.authority, d.application, last, root)
        .await
        .unwrap();
    let block = reader(url).block_number().await.unwrap();
    AcceptedClaim {
        last_processed_block: last,
        outputs_root: root,
        block_number: block,
        block_timestamp: l1.block_timestamp(block).await.unwrap(),
        tx_hash,
    }
}

#[tokio::test]
async fn anchors_consensus_and_blocks() {
    let (anvil, d) = deployed(4).await;
    let url = anvil.rpc_url();
    let l1 = L1::connect(url).unwrap();
    assert_eq!(l1.input_box(), INPUT_BOX);

    assert_eq!(l1.chain_id().await.unwrap(), DEV_CHAIN_ID);
    assert_eq!(
        l1.application_consensus(d.application).await.unwrap(),
        d.authority
    );
    assert_eq!(
        l1.application_input_box(d.application).await.unwrap(),
        d.input_box
    );
    assert_eq!(
        l1.application_deployment_block(d.application)
            .await
            .unwrap(),
        d.deployment_block
    );
    l1.check_anchors(DEV_CHAIN_ID, d.application, d.authority)
        .await
        .unwrap();
    let err = l1
        .check_anchors(1, d.application, d.authority)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChainError::ChainIdMismatch {
                expected: 1,
                actual: DEV_CHAIN_ID
            }
        ),
        "{err}"
    );
    let pinned = Address::repeat_byte(0xcc);
    let err = l1
        .check_anchors(DEV_CHAIN_ID, d.application, pinned)
        .await
        .unwrap_err();
    match &err {
        ChainError::ConsensusMismatch {
            application,
            expected,
            actual,
        } => {
            assert_eq!(*application, d.application);
            assert_eq!(*expected, pinned);
            assert_eq!(*actual, d.authority);
        }
        other => panic!("expected ConsensusMismatch, got {other}"),
    }

    // No contract at the address: a clear error, not a zero address.
    let nobody = Address::repeat_byte(0x42);
    let err = l1.application_consensus(nobody).await.unwrap_err();
    assert!(
        matches!(err, ChainError::NoCode { address, block: None } if address == nobody),
        "{err}"
    );
    assert!(err.to_string().contains("no contract code"), "{err}");
    // A contract that is not an application: the node's revert.
    let err = l1.application_consensus(d.input_box).await.unwrap_err();
    assert!(
        matches!(err, ChainError::Rpc(_)) && err.to_string().contains("execution reverted"),
        "{err}"
    );

    let head = l1.block_number().await.unwrap();
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());
    let block = alloy::providers::Provider::get_block_by_number(&provider, head.into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        l1.block_timestamp(head).await.unwrap(),
        block.header.timestamp
    );
    assert!(matches!(
        l1.block_timestamp(head + 1000).await,
        Err(ChainError::BlockNotFound(b)) if b == head + 1000
    ));
}

#[tokio::test]
async fn claims_and_the_inputs_they_cover() {
    let epoch = 4;
    let (anvil, d) = deployed(epoch).await;
    let url = anvil.rpc_url();
    let l1 = L1::connect(url).unwrap();

    assert_eq!(
        l1.latest_accepted_claim(d.authority, d.application)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        l1.accepted_claims_after(d.authority, d.application, 0)
            .await
            .unwrap(),
        0
    );
    assert_eq!(l1.input_count_at(d.application, None).await.unwrap(), 0);
    // Before the InputBox existed.
    let err = l1.input_count_at(d.application, Some(0)).await.unwrap_err();
    assert!(
        matches!(err, ChainError::NoCode { address, block: Some(0) } if address == INPUT_BOX),
        "{err}"
    );

    // Epoch 1: two inputs; a third lands after the epoch's last block.
    input(url, &d, b"a").await;
    let b = input(url, &d, b"b").await;
    let last1 = epoch_end(b, epoch);
    mine_past(url, last1).await;
    assert!(input(url, &d, b"c").await > last1);
    let claim1 = claim(&l1, url, &d, last1, B256::repeat_byte(1)).await;
    assert_eq!(
        l1.latest_accepted_claim(d.authority, d.application)
            .await
            .unwrap(),
        Some(claim1)
    );
    assert_eq!(
        l1.input_count_at(d.application, Some(last1)).await.unwrap(),
        2
    );
    assert_eq!(l1.input_count_at(d.application, None).await.unwrap(), 3);

    // The same Authority claims for another address: not this application's claim.
    let elsewhere = Address::repeat_byte(0x42);
    signer(url, admin_key())
        .submit_claim(d.authority, elsewhere, last1, B256::repeat_byte(9))
        .await
        .unwrap();

    // Epoch 2 covers the third input; a fourth comes after the claim.
    let last2 = epoch_end(reader(url).block_number().await.unwrap(), epoch) + epoch;
    let claim2 = claim(&l1, url, &d, last2, B256::repeat_byte(2)).await;
    input(url, &d, b"d").await;
    assert!(claim2.block_number > claim1.block_number);
    assert!(claim2.block_timestamp >= claim1.block_timestamp);

    for range in [1, 3, 10_000] {
        let l1 = L1::connect(url).unwrap().with_log_range(range);
        assert_eq!(
            l1.latest_accepted_claim(d.authority, d.application)
                .await
                .unwrap(),
            Some(claim2),
            "log range {range}"
        );
        for (after, expected) in [
            (0, 2),
            (claim1.block_number - 1, 2),
            (claim1.block_number, 1),
            (claim2.block_number - 1, 1),
            (claim2.block_number, 0),
            (u64::MAX, 0),
        ] {
            assert_eq!(
                l1.accepted_claims_after(d.authority, d.application, after)
                    .await
                    .unwrap(),
                expected,
                "after block {after}, log range {range}"
            );
        }
    }
    // Historical state: the first claim still covers 2 inputs after 2 more were added.
    assert_eq!(
        l1.input_count_at(d.application, Some(last1)).await.unwrap(),
        2
    );
    assert_eq!(
        l1.input_count_at(d.application, Some(last2)).await.unwrap(),
        3
    );
    assert_eq!(l1.input_count_at(d.application, None).await.unwrap(), 4);

    let other = l1
        .latest_accepted_claim(d.authority, elsewhere)
        .await
        .unwrap_err();
    assert!(matches!(other, ChainError::NoCode { .. }), "{other}");

    // Another application with its own Authority: no claims, and not this application's.
    let d2 = signer(url, admin_key())
        .deploy_application(epoch, B256::ZERO, B256::repeat_byte(1))
        .await
        .unwrap();
    assert_eq!(
        l1.latest_accepted_claim(d2.authority, d2.application)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        l1.latest_accepted_claim(d2.authority, d.application)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        l1.accepted_claims_after(d2.authority, d.application, 0)
            .await
            .unwrap(),
        0
    );
    assert_eq!(l1.input_count_at(d2.application, None).await.unwrap(), 0);
}

#[tokio::test]
async fn outputs_are_checked_against_a_claim() {
    let epoch = 4;
    let (anvil, d) = deployed(epoch).await;
    let url = anvil.rpc_url();
    let l1 = L1::connect(url).unwrap();
    let outputs = vec![notice(b"first"), notice(b"second")];
    let (root1, siblings) = root_and_siblings(&outputs, 1);
    assert_eq!(outputs_merkle_root(&outputs[1], 1, &siblings), Some(root1));

    let last1 = epoch_end(reader(url).block_number().await.unwrap(), epoch);
    let claim1 = claim(&l1, url, &d, last1, root1).await;
    let check = l1
        .validate_output_in_claim(
            d.application,
            &claim1,
            outputs[1].clone(),
            1,
            siblings.clone(),
        )
        .await
        .unwrap();
    assert!(check.valid && check.is_claim_root, "{check:?}");
    assert_eq!(check.root, Some(root1));

    // A later claim: the old proof is still valid, but not for the latest claim.
    let later = vec![notice(b"third")];
    let (root2, _) = root_and_siblings(&later, 0);
    let claim2 = claim(&l1, url, &d, last1 + epoch, root2).await;
    let check = l1
        .validate_output_in_claim(
            d.application,
            &claim2,
            outputs[1].clone(),
            1,
            siblings.clone(),
        )
        .await
        .unwrap();
    assert!(check.valid && !check.is_claim_root, "{check:?}");
    // A forged output is neither.
    let check = l1
        .validate_output_in_claim(d.application, &claim1, notice(b"forged"), 1, siblings)
        .await
        .unwrap();
    assert!(!check.valid && !check.is_claim_root, "{check:?}");
    // Wrong number of siblings: no root.
    let check = l1
        .validate_output_in_claim(
            d.application,
            &claim1,
            outputs[1].clone(),
            1,
            vec![B256::ZERO; 3],
        )
        .await
        .unwrap();
    assert_eq!(check.root, None);
    assert!(!check.valid && !check.is_claim_root);
}

/// `outputs_merkle_root` computes what the contract computes: the root in its
/// `InvalidOutputsMerkleRoot(root)` revert, for arbitrary siblings and indexes; indexes from
/// 2^63 on make LibMerkle32 revert ("index out of bounds") and have no root.
#[tokio::test]
async fn local_root_is_the_contracts_root() {
    let (anvil, d) = deployed(4).await;
    let provider = ProviderBuilder::new().connect_http(anvil.rpc_url().parse().unwrap());
    let app = IApplication::new(d.application, &provider);
    assert_eq!(OUTPUTS_TREE_HEIGHT, HEIGHT);
    let siblings: Vec<B256> = (0u8..63).map(|i| keccak256([i])).collect();
    let output = Bytes::from_static(b"any output");
    for index in [0, 1, 2, 0x5555_5555, (1 << 62) + 7, (1 << 63) - 1] {
        let err = app
            .validateOutput(
                output.clone(),
                OutputValidityProof {
                    outputIndex: index,
                    outputHashesSiblings: siblings.clone(),
                },
            )
            .call()
            .await
            .unwrap_err();
        let ours = outputs_merkle_root(&output, index, &siblings);
        match err.as_decoded_interface_error::<IApplicationErrors>() {
            Some(IApplicationErrors::InvalidOutputsMerkleRoot(e)) => {
                assert_eq!(Some(e.outputsMerkleRoot), ours, "index {index:#x}");
            }
            other => panic!("index {index:#x}: {other:?} / {err}"),
        }
    }
    for index in [1 << 63, u64::MAX] {
        let err = app
            .validateOutput(
                output.clone(),
                OutputValidityProof {
                    outputIndex: index,
                    outputHashesSiblings: siblings.clone(),
                },
            )
            .call()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("index out of bounds"), "{err}");
        assert_eq!(outputs_merkle_root(&output, index, &siblings), None);
        // ... and validate_output says "not valid" instead of failing.
        assert!(
            !reader(anvil.rpc_url())
                .validate_output(d.application, output.clone(), index, siblings.clone())
                .await
                .unwrap()
        );
    }
}
