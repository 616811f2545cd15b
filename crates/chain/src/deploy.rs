//! Deterministic deployment of the Cartesi Rollups v2.2 contracts and of one application.

use std::collections::BTreeMap;
use std::path::Path;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256, address, b256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use serde::{Deserialize, Serialize};

use crate::abi::{DataAvailability, IApplication, IInputBox, ISelfHostedApplicationFactory};
use crate::anvil::DEV_CHAIN_ID;
use crate::artifacts::creation_bytecode;
use crate::error::{ChainError, Result};
use crate::l1::L1;
use crate::{confirm, to_u64};

/// The deterministic CREATE2 deployer (Arachnid's), pre-installed by anvil.
pub const CREATE2_DEPLOYER: Address = address!("4e59b44847b379578588920ca78fbf26c0b4956c");
/// Salt of the canonical deployments: 32 zero bytes.
pub const CREATE2_SALT: B256 = B256::ZERO;

/// Canonical v2.2 `InputBox`.
pub const INPUT_BOX: Address = address!("1b51e2992A2755Ba4D6F7094032DF91991a0Cfac");
/// Canonical v2.2 `AuthorityFactory`.
pub const AUTHORITY_FACTORY: Address = address!("5E96408CFE423b01dADeD3bc867E6013135990cc");
/// Canonical v2.2 `QuorumFactory`.
pub const QUORUM_FACTORY: Address = address!("1C91Ba8aa5648cdAC77E97eaC781447c646EF239");
/// Canonical v2.2 `ApplicationFactory`.
pub const APPLICATION_FACTORY: Address = address!("26E758238CB6eC5aB70ce0dd52aF2d7b82e1972E");
/// Canonical v2.2 `SelfHostedApplicationFactory`.
pub const SELF_HOSTED_APPLICATION_FACTORY: Address =
    address!("010D3CbB4223F5bCc7b7B03cEE59f3aAea8eDb8A");
/// Canonical v2.2 `EtherPortal`.
pub const ETHER_PORTAL: Address = address!("A632c5c05812c6a6149B7af5C56117d1D2603828");

/// Addresses of the core (application-independent) contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreAddresses {
    /// `InputBox`.
    pub input_box: Address,
    /// `EtherPortal`.
    pub ether_portal: Address,
    /// `ERC20Portal`.
    pub erc20_portal: Address,
    /// `ERC721Portal`.
    pub erc721_portal: Address,
    /// `ERC1155SinglePortal`.
    pub erc1155_single_portal: Address,
    /// `ERC1155BatchPortal`.
    pub erc1155_batch_portal: Address,
    /// `AuthorityFactory`.
    pub authority_factory: Address,
    /// `QuorumFactory`.
    pub quorum_factory: Address,
    /// `ApplicationFactory`.
    pub application_factory: Address,
    /// `SelfHostedApplicationFactory`.
    pub self_hosted_application_factory: Address,
}

impl CoreAddresses {
    /// Contract name → address (artifact names, e.g. `"InputBox"`).
    pub fn to_map(&self) -> BTreeMap<String, Address> {
        [
            ("InputBox", self.input_box),
            ("EtherPortal", self.ether_portal),
            ("ERC20Portal", self.erc20_portal),
            ("ERC721Portal", self.erc721_portal),
            ("ERC1155SinglePortal", self.erc1155_single_portal),
            ("ERC1155BatchPortal", self.erc1155_batch_portal),
            ("AuthorityFactory", self.authority_factory),
            ("QuorumFactory", self.quorum_factory),
            ("ApplicationFactory", self.application_factory),
            (
                "SelfHostedApplicationFactory",
                self.self_hosted_application_factory,
            ),
        ]
        .into_iter()
        .map(|(n, a)| (n.to_owned(), a))
        .collect()
    }
}

/// One contract to deploy through the CREATE2 deployer.
#[derive(Debug, Clone)]
struct Planned {
    name: &'static str,
    address: Address,
    init_code: Bytes,
}

fn plan_one(name: &'static str, ctor_args: &[Address]) -> Result<Planned> {
    let mut init_code = creation_bytecode(name)?.to_vec();
    for arg in ctor_args {
        init_code.extend_from_slice(arg.into_word().as_slice());
    }
    let address = CREATE2_DEPLOYER.create2_from_code(CREATE2_SALT, &init_code);
    Ok(Planned {
        name,
        address,
        init_code: init_code.into(),
    })
}

/// The deployment plan, in dependency order, with the resulting addresses.
fn plan() -> Result<(CoreAddresses, Vec<Planned>)> {
    let input_box = plan_one("InputBox", &[])?;
    let ib = input_box.address;
    let ether_portal = plan_one("EtherPortal", &[ib])?;
    let erc20_portal = plan_one("ERC20Portal", &[ib])?;
    let erc721_portal = plan_one("ERC721Portal", &[ib])?;
    let erc1155_single_portal = plan_one("ERC1155SinglePortal", &[ib])?;
    let erc1155_batch_portal = plan_one("ERC1155BatchPortal", &[ib])?;
    let authority_factory = plan_one("AuthorityFactory", &[])?;
    let quorum_factory = plan_one("QuorumFactory", &[])?;
    let application_factory = plan_one("ApplicationFactory", &[])?;
    let self_hosted = plan_one(
        "SelfHostedApplicationFactory",
        &[authority_factory.address, application_factory.address],
    )?;
    let core = CoreAddresses {
        input_box: ib,
        ether_portal: ether_portal.address,
        erc20_portal: erc20_portal.address,
        erc721_portal: erc721_portal.address,
        erc1155_single_portal: erc1155_single_portal.address,
        erc1155_batch_portal: erc1155_batch_portal.address,
        authority_factory: authority_factory.address,
        quorum_factory: quorum_factory.address,
        application_factory: application_factory.address,
        self_hosted_application_factory: self_hosted.address,
    };
    let planned = vec![
        input_box,
        ether_portal,
        erc20_portal,
        erc721_portal,
        erc1155_single_portal,
        erc1155_batch_portal,
        authority_factory,
        quorum_factory,
        application_factory,
        self_hosted,
    ];
    Ok((core, planned))
}

/// The CREATE2 addresses of the core contracts, computed offline from the npm artifacts.
pub fn core_addresses() -> Result<CoreAddresses> {
    Ok(plan()?.0)
}

impl L1 {
    /// Deploys the core contracts through [`CREATE2_DEPLOYER`] with salt zero as the signer, so
    /// they land at the canonical v2.2 addresses. Idempotent: contracts whose address already has
    /// code are skipped. All missing deployments are sent at once (consecutive nonces), then
    /// awaited.
    pub async fn deploy_core(&self) -> Result<CoreAddresses> {
        let from = self.require_signer("deploy_core")?;
        let (core, planned) = plan()?;
        let provider = self.provider();
        if provider.get_code_at(CREATE2_DEPLOYER).await?.is_empty() {
            return Err(ChainError::NotDeployed {
                name: "CREATE2 deployer (start anvil without --disable-default-create2-deployer)"
                    .into(),
                address: CREATE2_DEPLOYER,
            });
        }
        let mut missing = Vec::new();
        for p in &planned {
            if provider.get_code_at(p.address).await?.is_empty() {
                missing.push(p);
            }
        }
        if !missing.is_empty() {
            let mut nonce = provider.get_transaction_count(from).pending().await?;
            let mut pending = Vec::with_capacity(missing.len());
            for p in &missing {
                let mut input = CREATE2_SALT.to_vec();
                input.extend_from_slice(&p.init_code);
                let tx = TransactionRequest::default()
                    .with_from(from)
                    .with_to(CREATE2_DEPLOYER)
                    .with_input(input)
                    .with_nonce(nonce);
                nonce += 1;
                pending.push(provider.send_transaction(tx).await?);
            }
            for tx in pending {
                confirm(tx).await?;
            }
        }
        for p in &planned {
            if provider.get_code_at(p.address).await?.is_empty() {
                return Err(ChainError::NotDeployed {
                    name: p.name.into(),
                    address: p.address,
                });
            }
        }
        Ok(core)
    }
}

/// An anvil dev account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevAccount {
    /// The account's address.
    pub address: Address,
    /// Its secp256k1 secret key (well known: anvil's default mnemonic, never use on a real chain).
    pub private_key: B256,
}

/// Secret keys of anvil's default mnemonic (`test test ... junk`), accounts 0..10.
const DEV_KEYS: [B256; 10] = [
    b256!("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
    b256!("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
    b256!("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"),
    b256!("7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"),
    b256!("47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"),
    b256!("8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"),
    b256!("92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e"),
    b256!("4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356"),
    b256!("dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97"),
    b256!("2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"),
];

/// Index of the admin account (deployer, authority owner, application owner).
pub const ADMIN_ACCOUNT: usize = 0;
/// Index of the gateway account.
pub const GATEWAY_ACCOUNT: usize = 1;

/// anvil's 10 default accounts: 0 = admin / authority owner, 1 = gateway, 2.. others.
pub fn dev_accounts() -> Vec<DevAccount> {
    DEV_KEYS
        .iter()
        .filter_map(|k| {
            crate::signer_address(*k).ok().map(|address| DevAccount {
                address,
                private_key: *k,
            })
        })
        .collect()
}

/// Everything other components need to talk to one deployed application
/// (`<data-dir>/deployment.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// EVM chain id.
    pub chain_id: u64,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// `InputBox` address.
    pub input_box: Address,
    /// Block in which the InputBox was deployed (start of log scans).
    pub input_box_deployment_block: u64,
    /// The `Application` contract.
    pub application: Address,
    /// Its `Authority` (outputs Merkle root validator).
    pub authority: Address,
    /// Epoch length in blocks.
    pub epoch_length: u64,
    /// Owner of the application and of the authority: the "admin" who authorizes gateways and
    /// submits claims.
    pub application_owner: Address,
    /// Template hash recorded in the application.
    pub template_hash: B256,
    /// The core contracts by name (`InputBox`, `EtherPortal`, `SelfHostedApplicationFactory`, ...).
    pub contracts: BTreeMap<String, Address>,
    /// Dev accounts (anvil only; empty on other chains): 0 admin, 1 gateway, 2.. others.
    pub accounts: Vec<DevAccount>,
    /// Block in which the application was deployed.
    pub deployment_block: u64,
}

impl Deployment {
    /// Reads a `deployment.json`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ChainError::Io {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| ChainError::Json {
            path: path.to_owned(),
            source,
        })
    }

    /// Writes it as pretty JSON (atomically: temp file + rename), creating parent directories.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io_err = |source| ChainError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err)?;
        }
        let mut text = serde_json::to_string_pretty(self).map_err(|source| ChainError::Json {
            path: path.to_owned(),
            source,
        })?;
        text.push('\n');
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(io_err)?;
        std::fs::rename(&tmp, path).map_err(io_err)
    }

    /// The account at `index` of [`Deployment::accounts`], if present.
    pub fn account(&self, index: usize) -> Option<&DevAccount> {
        self.accounts.get(index)
    }
}

/// `abi.encodeCall(DataAvailability.InputBox, (inputBox))`.
pub fn input_box_data_availability(input_box: Address) -> Bytes {
    DataAvailability::InputBoxCall {
        inputBox: input_box,
    }
    .abi_encode()
    .into()
}

impl L1 {
    /// Deploys an Authority (owned by the signer, with `epoch_length`) and an Application
    /// (same owner, InputBox data availability) through `SelfHostedApplicationFactory`.
    /// Requires [`L1::deploy_core`] first. Idempotent for the same arguments: an application
    /// already at the computed address is reused.
    pub async fn deploy_application(
        &self,
        epoch_length: u64,
        template_hash: B256,
        salt: B256,
    ) -> Result<Deployment> {
        let owner = self.require_signer("deploy_application")?;
        let core = core_addresses()?;
        let provider = self.provider();
        if provider
            .get_code_at(core.self_hosted_application_factory)
            .await?
            .is_empty()
        {
            return Err(ChainError::NotDeployed {
                name: "SelfHostedApplicationFactory (run deploy_core first)".into(),
                address: core.self_hosted_application_factory,
            });
        }
        let factory =
            ISelfHostedApplicationFactory::new(core.self_hosted_application_factory, provider);
        let da = input_box_data_availability(core.input_box);
        let epoch = U256::from(epoch_length);
        let addrs = factory
            .calculateAddresses(owner, epoch, owner, template_hash, da.clone(), salt)
            .call()
            .await?;
        let (application, authority) = (addrs.application, addrs.authority);

        if provider.get_code_at(application).await?.is_empty() {
            let pending = factory
                .deployContracts(owner, epoch, owner, template_hash, da, salt)
                .send()
                .await?;
            confirm(pending).await?;
        }
        for (name, address) in [("Application", application), ("Authority", authority)] {
            if provider.get_code_at(address).await?.is_empty() {
                return Err(ChainError::NotDeployed {
                    name: name.into(),
                    address,
                });
            }
        }

        let chain_id = self.chain_id().await?;
        let app = IApplication::new(application, provider);
        let validator = app.getOutputsMerkleRootValidator().call().await?;
        if validator != authority {
            return Err(ChainError::Decode(format!(
                "application {application} is validated by {validator}, expected authority {authority}"
            )));
        }
        let deployment_block = to_u64(
            app.getDeploymentBlockNumber().call().await?,
            "deployment block",
        )?;
        let input_box_deployment_block = to_u64(
            IInputBox::new(core.input_box, provider)
                .getDeploymentBlockNumber()
                .call()
                .await?,
            "InputBox deployment block",
        )?;
        Ok(Deployment {
            chain_id,
            rpc_url: self.rpc_url().to_owned(),
            input_box: core.input_box,
            input_box_deployment_block,
            application,
            authority,
            epoch_length,
            application_owner: owner,
            template_hash,
            contracts: core.to_map(),
            accounts: if chain_id == DEV_CHAIN_ID {
                dev_accounts()
            } else {
                Vec::new()
            },
            deployment_block,
        })
    }
}
