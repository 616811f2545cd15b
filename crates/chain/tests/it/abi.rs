//! Every hand-written `sol!` declaration matches the npm artifact ABIs of @cartesi/rollups 2.2.0.

use std::collections::BTreeSet;

use serde_json::Value;
use witness_chain::abi::{
    DataAvailability::DataAvailabilityCalls,
    IApplication::{IApplicationCalls, IApplicationErrors, IApplicationEvents},
    IApplicationFactory::{IApplicationFactoryCalls, IApplicationFactoryEvents},
    IAuthority::{IAuthorityCalls, IAuthorityErrors, IAuthorityEvents},
    IAuthorityFactory::{IAuthorityFactoryCalls, IAuthorityFactoryEvents},
    IConsensus::{IConsensusCalls, IConsensusErrors, IConsensusEvents},
    IEtherPortal::IEtherPortalCalls,
    IInputBox::{IInputBoxCalls, IInputBoxErrors, IInputBoxEvents},
    ISelfHostedApplicationFactory::ISelfHostedApplicationFactoryCalls,
    Inputs::InputsCalls,
    Outputs::OutputsCalls,
};
use witness_chain::load_artifact;

fn canonical_type(param: &Value) -> String {
    let ty = param["type"].as_str().unwrap();
    match ty.strip_prefix("tuple") {
        Some(suffix) => {
            let inner: Vec<String> = param["components"]
                .as_array()
                .unwrap()
                .iter()
                .map(canonical_type)
                .collect();
            format!("({}){suffix}", inner.join(","))
        }
        None => ty.to_owned(),
    }
}

/// `kind` ∈ {function, event, error}: the canonical signatures in the artifact's ABI.
fn signatures(artifact: &Value, kind: &str) -> BTreeSet<String> {
    artifact["abi"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .map(|e| {
            let inputs: Vec<String> = e["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(canonical_type)
                .collect();
            format!("{}({})", e["name"].as_str().unwrap(), inputs.join(","))
        })
        .collect()
}

fn check(name: &str, calls: &[&str], errors: &[&str], events: &[&str]) {
    let artifact = load_artifact(name).unwrap();
    let functions = signatures(&artifact, "function");
    for sig in calls {
        assert!(
            functions.contains(*sig),
            "{name}: no function {sig} in {functions:?}"
        );
        // solc's own selector table agrees with what alloy computes from the signature.
        let selector = artifact["methodIdentifiers"][*sig].as_str().unwrap();
        let ours = alloy::primitives::keccak256(sig.as_bytes());
        assert_eq!(
            selector,
            alloy::primitives::hex::encode(&ours[..4]),
            "{name}: {sig}"
        );
    }
    let errs = signatures(&artifact, "error");
    for sig in errors {
        assert!(errs.contains(*sig), "{name}: no error {sig} in {errs:?}");
    }
    let evs = signatures(&artifact, "event");
    for sig in events {
        assert!(evs.contains(*sig), "{name}: no event {sig} in {evs:?}");
    }
}

#[test]
fn declarations_match_artifacts() {
    check(
        "InputBox",
        IInputBoxCalls::SIGNATURES,
        IInputBoxErrors::SIGNATURES,
        IInputBoxEvents::SIGNATURES,
    );
    check("Inputs", InputsCalls::SIGNATURES, &[], &[]);
    check("Outputs", OutputsCalls::SIGNATURES, &[], &[]);
    check(
        "DataAvailability",
        DataAvailabilityCalls::SIGNATURES,
        &[],
        &[],
    );
    check(
        "Application",
        IApplicationCalls::SIGNATURES,
        IApplicationErrors::SIGNATURES,
        IApplicationEvents::SIGNATURES,
    );
    check(
        "Authority",
        IAuthorityCalls::SIGNATURES,
        IAuthorityErrors::SIGNATURES,
        IAuthorityEvents::SIGNATURES,
    );
    check(
        "IConsensus",
        IConsensusCalls::SIGNATURES,
        IConsensusErrors::SIGNATURES,
        IConsensusEvents::SIGNATURES,
    );
    // A Quorum emits the same events as an Authority and implements IConsensus too.
    check(
        "Quorum",
        IConsensusCalls::SIGNATURES,
        IConsensusErrors::SIGNATURES,
        IConsensusEvents::SIGNATURES,
    );
    check(
        "SelfHostedApplicationFactory",
        ISelfHostedApplicationFactoryCalls::SIGNATURES,
        &[],
        &[],
    );
    check(
        "AuthorityFactory",
        IAuthorityFactoryCalls::SIGNATURES,
        &[],
        IAuthorityFactoryEvents::SIGNATURES,
    );
    check(
        "ApplicationFactory",
        IApplicationFactoryCalls::SIGNATURES,
        &[],
        IApplicationFactoryEvents::SIGNATURES,
    );
    check("EtherPortal", IEtherPortalCalls::SIGNATURES, &[], &[]);
}

#[test]
fn well_known_selectors_and_topics() {
    use alloy::sol_types::{SolCall, SolEvent};
    use witness_chain::abi::{DataAvailability, IInputBox, Inputs, Outputs};
    assert_eq!(Inputs::EvmAdvanceCall::SELECTOR, [0x41, 0x5b, 0xf3, 0x63]);
    assert_eq!(
        DataAvailability::InputBoxCall::SELECTOR,
        [0xb1, 0x2c, 0x9e, 0xde]
    );
    assert_eq!(Outputs::NoticeCall::SELECTOR, [0xc2, 0x58, 0xd6, 0xe5]);
    assert_eq!(Outputs::VoucherCall::SELECTOR, [0x23, 0x7a, 0x81, 0x6f]);
    assert_eq!(
        IInputBox::InputAdded::SIGNATURE_HASH,
        alloy::primitives::b256!(
            "c05d337121a6e8605c6ec0b72aa29c4210ffe6e5b9cefdd6a7058188a8f66f98"
        )
    );
}

/// The selectors and topics `web/src/lib/l1.ts` hard-codes (its unit tests check them again with
/// keccak and against the same artifacts).
#[test]
fn l1_selectors_and_topics() {
    use alloy::primitives::b256;
    use alloy::sol_types::{SolCall, SolEvent};
    use witness_chain::abi::{IApplication, IAuthority, IConsensus, IInputBox};
    assert_eq!(
        IApplication::getOutputsMerkleRootValidatorCall::SELECTOR,
        [0xa9, 0x4d, 0xfc, 0x5a]
    );
    assert_eq!(
        IApplication::getDeploymentBlockNumberCall::SELECTOR,
        [0xb3, 0xa1, 0xac, 0xd8]
    );
    assert_eq!(
        IInputBox::getNumberOfInputsCall::SELECTOR,
        [0x61, 0xa9, 0x3c, 0x87]
    );
    assert_eq!(
        IApplication::validateOutputCall::SELECTOR,
        [0xe8, 0x8d, 0x39, 0xc0]
    );
    let claim_accepted = b256!("0f2cd00a405c0d1a66050307b6722c4788db6ed57aa3589a5c38da535cc3ce63");
    assert_eq!(IConsensus::ClaimAccepted::SIGNATURE_HASH, claim_accepted);
    assert_eq!(IAuthority::ClaimAccepted::SIGNATURE_HASH, claim_accepted);
    assert_eq!(
        IConsensus::ClaimAccepted::SIGNATURE,
        "ClaimAccepted(address,uint256,bytes32)"
    );
}
