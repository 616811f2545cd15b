//! Solidity interfaces of the Cartesi Rollups v2.2 contracts we call.
//!
//! Declared by hand from the ABIs in the npm package `@cartesi/rollups@2.2.0`
//! (`out/<Name>.sol/<Name>.json`); the integration tests check every selector, event topic and
//! error selector below against those artifacts.

use alloy::sol;

sol! {
    /// `InputBox`: the data-availability contract every input goes through.
    #[sol(rpc)]
    #[derive(Debug)]
    interface IInputBox {
        function addInput(address appContract, bytes calldata payload) external returns (bytes32);
        function getDeploymentBlockNumber() external view returns (uint256);
        function getInputHash(address appContract, uint256 index) external view returns (bytes32);
        function getNumberOfInputs(address appContract) external view returns (uint256);

        event InputAdded(address indexed appContract, uint256 indexed index, bytes input);

        error InputTooLarge(address appContract, uint256 inputLength, uint256 maxInputLength);
    }
}

sol! {
    /// `Inputs`: encoding of an input as stored by the InputBox.
    #[derive(Debug, PartialEq, Eq)]
    interface Inputs {
        function EvmAdvance(
            uint256 chainId,
            address appContract,
            address msgSender,
            uint256 blockNumber,
            uint256 blockTimestamp,
            uint256 prevRandao,
            uint256 index,
            bytes calldata payload
        ) external;
    }
}

sol! {
    /// `Outputs`: encoding of the outputs an application emits.
    #[derive(Debug, PartialEq, Eq)]
    interface Outputs {
        function Notice(bytes calldata payload) external;
        function Voucher(address destination, uint256 value, bytes calldata payload) external;
        function DelegateCallVoucher(address destination, bytes calldata payload) external;
    }
}

sol! {
    /// `DataAvailability`: the application's data-availability descriptor.
    #[derive(Debug, PartialEq, Eq)]
    interface DataAvailability {
        function InputBox(address inputBox) external;
        function InputBoxAndEspresso(address inputBox, uint256 fromBlock, uint32 namespaceId) external;
    }
}

sol! {
    /// `Application`: holds assets, validates and executes outputs.
    #[sol(rpc)]
    #[derive(Debug)]
    interface IApplication {
        struct OutputValidityProof {
            uint64 outputIndex;
            bytes32[] outputHashesSiblings;
        }

        function validateOutput(bytes calldata output, OutputValidityProof calldata proof) external view;
        function validateOutputHash(bytes32 outputHash, OutputValidityProof calldata proof) external view;
        function executeOutput(bytes calldata output, OutputValidityProof calldata proof) external;
        function wasOutputExecuted(uint256 outputIndex) external view returns (bool);
        function getOutputsMerkleRootValidator() external view returns (address);
        function getTemplateHash() external view returns (bytes32);
        function getDataAvailability() external view returns (bytes memory);
        function getDeploymentBlockNumber() external view returns (uint256);
        function getNumberOfExecutedOutputs() external view returns (uint256);
        function owner() external view returns (address);

        event OutputExecuted(uint64 outputIndex, bytes output);
        /// The owner moved the application to another consensus (`migrateToOutputsMerkleRootValidator`).
        event OutputsMerkleRootValidatorChanged(address newOutputsMerkleRootValidator);

        error InvalidOutputHashesSiblingsArrayLength();
        error InvalidOutputsMerkleRoot(bytes32 outputsMerkleRoot);
        error OutputNotExecutable(bytes output);
        error OutputNotReexecutable(bytes output);
        error InsufficientFunds(uint256 value, uint256 balance);
        error OwnableUnauthorizedAccount(address account);
    }
}

sol! {
    /// `Authority`: single-owner consensus; claims are accepted at once.
    #[sol(rpc)]
    #[derive(Debug)]
    interface IAuthority {
        function submitClaim(address appContract, uint256 lastProcessedBlockNumber, bytes32 outputsMerkleRoot) external;
        function getEpochLength() external view returns (uint256);
        function isOutputsMerkleRootValid(address appContract, bytes32 outputsMerkleRoot) external view returns (bool);
        function getNumberOfAcceptedClaims() external view returns (uint256);
        function getNumberOfSubmittedClaims() external view returns (uint256);
        function owner() external view returns (address);

        event ClaimSubmitted(address indexed submitter, address indexed appContract, uint256 lastProcessedBlockNumber, bytes32 outputsMerkleRoot);
        event ClaimAccepted(address indexed appContract, uint256 lastProcessedBlockNumber, bytes32 outputsMerkleRoot);

        error NotEpochFinalBlock(uint256 lastProcessedBlockNumber, uint256 epochLength);
        error NotFirstClaim(address appContract, uint256 lastProcessedBlockNumber);
        error NotPastBlock(uint256 lastProcessedBlockNumber, uint256 currentBlockNumber);
        error OwnableUnauthorizedAccount(address account);
        error OwnableInvalidOwner(address owner);
    }
}

sol! {
    /// `IConsensus`: what every v2.2 consensus (Authority, Quorum) implements. Both emit
    /// `ClaimAccepted` when a claim is accepted (the Authority in the same call as `submitClaim`,
    /// a Quorum once a majority agreed).
    #[sol(rpc)]
    #[derive(Debug)]
    interface IConsensus {
        function submitClaim(address appContract, uint256 lastProcessedBlockNumber, bytes32 outputsMerkleRoot) external;
        function getEpochLength() external view returns (uint256);
        function isOutputsMerkleRootValid(address appContract, bytes32 outputsMerkleRoot) external view returns (bool);
        function getNumberOfAcceptedClaims() external view returns (uint256);
        function getNumberOfSubmittedClaims() external view returns (uint256);
        function supportsInterface(bytes4 interfaceId) external view returns (bool);

        event ClaimSubmitted(address indexed submitter, address indexed appContract, uint256 lastProcessedBlockNumber, bytes32 outputsMerkleRoot);
        event ClaimAccepted(address indexed appContract, uint256 lastProcessedBlockNumber, bytes32 outputsMerkleRoot);

        error NotEpochFinalBlock(uint256 lastProcessedBlockNumber, uint256 epochLength);
        error NotFirstClaim(address appContract, uint256 lastProcessedBlockNumber);
        error NotPastBlock(uint256 lastProcessedBlockNumber, uint256 currentBlockNumber);
    }
}

sol! {
    /// `SelfHostedApplicationFactory`: deploys an Authority and an Application in one call.
    #[sol(rpc)]
    #[derive(Debug)]
    interface ISelfHostedApplicationFactory {
        function deployContracts(
            address authorityOwner,
            uint256 epochLength,
            address appOwner,
            bytes32 templateHash,
            bytes calldata dataAvailability,
            bytes32 salt
        ) external returns (address application, address authority);
        function calculateAddresses(
            address authorityOwner,
            uint256 epochLength,
            address appOwner,
            bytes32 templateHash,
            bytes calldata dataAvailability,
            bytes32 salt
        ) external view returns (address application, address authority);
        function getApplicationFactory() external view returns (address);
        function getAuthorityFactory() external view returns (address);
    }
}

sol! {
    /// `AuthorityFactory`.
    #[sol(rpc)]
    #[derive(Debug)]
    interface IAuthorityFactory {
        function newAuthority(address authorityOwner, uint256 epochLength, bytes32 salt) external returns (address);
        function calculateAuthorityAddress(address authorityOwner, uint256 epochLength, bytes32 salt) external view returns (address);
        event AuthorityCreated(address authority);
    }
}

sol! {
    /// `ApplicationFactory`.
    #[sol(rpc)]
    #[derive(Debug)]
    interface IApplicationFactory {
        function newApplication(
            address outputsMerkleRootValidator,
            address appOwner,
            bytes32 templateHash,
            bytes calldata dataAvailability,
            bytes32 salt
        ) external returns (address);
        function calculateApplicationAddress(
            address outputsMerkleRootValidator,
            address appOwner,
            bytes32 templateHash,
            bytes calldata dataAvailability,
            bytes32 salt
        ) external view returns (address);
        event ApplicationCreated(
            address indexed outputsMerkleRootValidator,
            address appOwner,
            bytes32 templateHash,
            bytes dataAvailability,
            address appContract
        );
    }
}

sol! {
    /// `EtherPortal`.
    #[sol(rpc)]
    #[derive(Debug)]
    interface IEtherPortal {
        function depositEther(address appContract, bytes calldata execLayerData) external payable;
        function getInputBox() external view returns (address);
    }
}
