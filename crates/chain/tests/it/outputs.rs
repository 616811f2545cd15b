use alloy::primitives::{B256, Bytes, keccak256};
use alloy::providers::ProviderBuilder;
use alloy::sol_types::SolCall;
use witness_chain::ChainError;
use witness_chain::abi::{IAuthority, Outputs};

use crate::common::{admin_key, deployed, gateway_key, reader, signer};

/// Height of the outputs Merkle tree in Cartesi Rollups v2.
pub const HEIGHT: usize = 63;

pub fn notice(payload: &[u8]) -> Bytes {
    Outputs::NoticeCall {
        payload: Bytes::copy_from_slice(payload),
    }
    .abi_encode()
    .into()
}

fn parent(l: &B256, r: &B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(l.as_slice());
    buf[32..].copy_from_slice(r.as_slice());
    keccak256(buf)
}

/// Root of the height-63 tree whose first leaves are `keccak256(output)` (the rest empty), and
/// the siblings of leaf `index`.
pub fn root_and_siblings(outputs: &[Bytes], index: usize) -> (B256, Vec<B256>) {
    let mut zero = B256::ZERO;
    let mut level: Vec<B256> = outputs.iter().map(keccak256).collect();
    let mut idx = index;
    let mut siblings = Vec::with_capacity(HEIGHT);
    for _ in 0..HEIGHT {
        siblings.push(level.get(idx ^ 1).copied().unwrap_or(zero));
        level = level
            .chunks(2)
            .map(|pair| parent(&pair[0], pair.get(1).unwrap_or(&zero)))
            .collect();
        if level.is_empty() {
            level.push(parent(&zero, &zero));
        }
        zero = parent(&zero, &zero);
        idx /= 2;
    }
    assert_eq!(level.len(), 1);
    (level[0], siblings)
}

/// Mines until `block` is in the past.
pub async fn mine_past(url: &str, block: u64) {
    let now = reader(url).block_number().await.unwrap();
    if now <= block {
        reader(url).anvil_mine(block + 1 - now).await.unwrap();
    }
    assert!(reader(url).block_number().await.unwrap() > block);
}

#[tokio::test]
async fn wrong_proofs_are_not_valid() {
    let (anvil, d) = deployed(4).await;
    let url = anvil.rpc_url();
    let out = notice(b"never claimed");
    let (_, siblings) = root_and_siblings(std::slice::from_ref(&out), 0);
    assert!(
        !reader(url)
            .validate_output(d.application, out.clone(), 0, siblings)
            .await
            .unwrap()
    );
    // Wrong number of siblings.
    assert!(
        !reader(url)
            .validate_output(d.application, out, 0, vec![B256::ZERO; 5])
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn claimed_notices_validate_and_claims_are_checked() {
    let epoch = 4;
    let (anvil, d) = deployed(epoch).await;
    let url = anvil.rpc_url();
    let outputs = vec![notice(b"first"), notice(b"second"), notice(b"third")];
    let (root, siblings0) = root_and_siblings(&outputs, 0);
    let (root1, siblings1) = root_and_siblings(&outputs, 1);
    let (root2, siblings2) = root_and_siblings(&outputs, 2);
    assert_eq!(root, root1);
    assert_eq!(root, root2);
    assert_eq!(siblings0.len(), HEIGHT);

    // The last block of the epoch after the deployment.
    let last = (d.deployment_block / epoch + 1) * epoch + epoch - 1;

    // Not yet in the past.
    let err = signer(url, admin_key())
        .submit_claim(d.authority, d.application, last, root)
        .await
        .unwrap_err();
    assert_eq!(err.revert_name(), Some("NotPastBlock"), "{err}");
    mine_past(url, last).await;
    // Not the last block of an epoch.
    let err = signer(url, admin_key())
        .submit_claim(d.authority, d.application, last - 1, root)
        .await
        .unwrap_err();
    assert_eq!(err.revert_name(), Some("NotEpochFinalBlock"), "{err}");
    assert!(matches!(
        err,
        ChainError::Reverted {
            contract: "Authority",
            ..
        }
    ));
    // Only the owner may claim.
    let err = signer(url, gateway_key())
        .submit_claim(d.authority, d.application, last, root)
        .await
        .unwrap_err();
    assert_eq!(
        err.revert_name(),
        Some("OwnableUnauthorizedAccount"),
        "{err}"
    );

    // Nothing is valid before the claim.
    assert!(
        !reader(url)
            .validate_output(d.application, outputs[0].clone(), 0, siblings0.clone())
            .await
            .unwrap()
    );
    signer(url, admin_key())
        .submit_claim(d.authority, d.application, last, root)
        .await
        .unwrap();
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());
    let authority = IAuthority::new(d.authority, &provider);
    assert!(
        authority
            .isOutputsMerkleRootValid(d.application, root)
            .call()
            .await
            .unwrap()
    );
    let err = signer(url, admin_key())
        .submit_claim(d.authority, d.application, last, root)
        .await
        .unwrap_err();
    assert_eq!(err.revert_name(), Some("NotFirstClaim"), "{err}");

    for (i, (out, sib)) in outputs
        .iter()
        .zip([&siblings0, &siblings1, &siblings2])
        .enumerate()
    {
        let i = i as u64;
        assert!(
            reader(url)
                .validate_output(d.application, out.clone(), i, sib.clone())
                .await
                .unwrap(),
            "output {i} should be proven"
        );
        // The right output with another index, or another output, is not.
        assert!(
            !reader(url)
                .validate_output(d.application, out.clone(), i + 3, sib.clone())
                .await
                .unwrap()
        );
    }
    assert!(
        !reader(url)
            .validate_output(d.application, notice(b"forged"), 0, siblings0.clone())
            .await
            .unwrap()
    );
    let mut tampered = siblings0;
    tampered[62] = B256::repeat_byte(1);
    assert!(
        !reader(url)
            .validate_output(d.application, outputs[0].clone(), 0, tampered)
            .await
            .unwrap()
    );
}
