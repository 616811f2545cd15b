//! `witness verify <device>`: the verification of docs/PROTOCOL.md section 17, trusting only
//! L1. The trust anchors (chain id, application, consensus) come from the user: flags, an
//! anchors file, or the `anchors.json` that `witness up` pinned; never from a gateway. A node
//! is asked for data and every datum is checked: the state notice of the last input the latest
//! accepted claim covers is proven with `Application.validateOutput`, the device's leaf and
//! path against that notice's root; the verdict is decided here (`verdict::decide`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};
use witness_chain::primitives::{Address, B256, Bytes};
use witness_chain::{AcceptedClaim, L1};
use witness_gateway::ClientConfig;
use witness_node_client::{NodeClient, NodeEndpoints, Output};
use witness_protocol::api::{InspectAnswer, InspectQuery, LeafView};
use witness_protocol::certificate::MAX_EARLIER_UNITS;
use witness_protocol::codec::parse_hex;
use witness_protocol::notice::StateNotice;
use witness_protocol::state::{DeviceLeaf, MapProof};
use witness_protocol::verdict::{Evidence, Finding, Verdict, decide};
use witness_protocol::{BackendPublicKey, CommitmentKey, DeviceId, Opening, PossessionProof};

use crate::CliResult;
use crate::system::{Anchors, AnchorsFile as _, SystemInfo};

/// Where the trust anchors come from (PROTOCOL.md 17.1): the flags, a file, or the
/// `anchors.json` that `witness up` wrote in the data directory; never a gateway.
#[derive(Debug, Clone, Args)]
pub(crate) struct PinArgs {
    /// The data directory of `witness up`: its anchors.json is the default pinned
    /// configuration, its system.json names the default endpoints.
    #[arg(long, default_value = ".witness")]
    pub(crate) data_dir: PathBuf,
    /// A pinned anchors file (JSON: chain_id, application, consensus; optional endpoints).
    #[arg(long)]
    pub(crate) anchors: Option<PathBuf>,
    /// Pinned chain id (with --application and --consensus, overrides the anchors file).
    #[arg(long, requires_all = ["application", "consensus"])]
    pub(crate) chain_id: Option<u64>,
    /// Pinned application address.
    #[arg(long)]
    pub(crate) application: Option<String>,
    /// Pinned consensus contract address.
    #[arg(long)]
    pub(crate) consensus: Option<String>,
}

impl PinArgs {
    /// Only `<data-dir>/anchors.json`.
    pub(crate) fn data_dir(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            anchors: None,
            chain_id: None,
            application: None,
            consensus: None,
        }
    }

    /// The pinned anchors (the flags, then `--anchors`, then `<data-dir>/anchors.json`) and
    /// where they came from.
    pub(crate) fn resolve(&self) -> Result<(Anchors, String), String> {
        if let (Some(chain_id), Some(application), Some(consensus)) =
            (&self.chain_id, &self.application, &self.consensus)
        {
            let anchors = Anchors {
                chain_id: *chain_id,
                application: application.clone(),
                consensus: consensus.clone(),
                ..Anchors::default()
            };
            return Ok((anchors, "command line".to_string()));
        }
        let path = self
            .anchors
            .clone()
            .unwrap_or_else(|| Anchors::path(&self.data_dir));
        let anchors = Anchors::load(&path).map_err(|e| {
            format!(
                "no trust anchors: pass --anchors FILE or --chain-id/--application/--consensus ({e})"
            )
        })?;
        Ok((anchors, format!("file {}", path.display())))
    }
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Device id (32 hex digits), as listed by the local link.
    device: String,
    #[command(flatten)]
    pin: PinArgs,
    /// Chain JSON-RPC URL.
    #[arg(long)]
    rpc: Option<String>,
    /// Any node's JSON-RPC URL (`…/rpc`).
    #[arg(long)]
    node_rpc: Option<String>,
    /// The same node's inspect URL (`…/inspect/<app>`).
    #[arg(long)]
    node_inspect: Option<String>,
    /// The device's local link (`…` in front of `/devices/<id>`).
    #[arg(long)]
    link: Option<String>,
    /// A gateway to take endpoint defaults from; the anchors it advertises must equal the
    /// pinned ones, or nothing is concluded.
    #[arg(long)]
    gateway: Option<String>,
    /// Wait up to this many seconds for a claim that covers every input present now.
    #[arg(long, default_value_t = 0)]
    wait_claim: u64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Where the verifier looks, and what it trusts.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) anchors: Anchors,
    /// Where the anchors came from.
    pub(crate) source: String,
    pub(crate) chain_rpc_url: String,
    pub(crate) node: NodeEndpoints,
    pub(crate) local_link_url: String,
    pub(crate) gateway_url: Option<String>,
}

/// The claim the result is as of.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ClaimFacts {
    last_processed_block: u64,
    epoch: Option<u64>,
    accepted_in_block: u64,
    age_s: Option<u64>,
    inputs_covered: u64,
    inputs_not_claimed: Option<u64>,
    outputs_root: String,
}

/// The proven state notice.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StateFacts {
    input_index: u64,
    output_index: u64,
    block_number: u64,
    map_root: String,
}

/// What the device said.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DeviceFacts {
    odometer_m: u64,
    counter: u64,
    opened_highest_odometer_m: Option<u64>,
}

/// The whole result of one verification.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct VerifyReport {
    pub(crate) device_id: String,
    pub(crate) verdict: &'static str,
    pub(crate) findings: Vec<FindingJson>,
    anchors: Anchors,
    anchors_source: String,
    node_rpc_url: String,
    claim: Option<ClaimFacts>,
    state: Option<StateFacts>,
    leaf: Option<LeafView>,
    /// The vehicle's earlier units (the units this one replaced), newest first, proven
    /// against the same state notice.
    earlier_units: Vec<LeafView>,
    device: Option<DeviceFacts>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FindingJson {
    pub(crate) code: &'static str,
    pub(crate) detail: String,
}

impl From<Finding> for FindingJson {
    fn from(f: Finding) -> Self {
        Self {
            code: f.code,
            detail: f.detail,
        }
    }
}

/// A failed step: `cannot_confirm` with this code.
pub(crate) struct Failed(pub(crate) &'static str, pub(crate) String);

fn failed(code: &'static str, detail: impl std::fmt::Display) -> Failed {
    Failed(code, detail.to_string())
}

pub(crate) async fn run(args: VerifyArgs) -> CliResult {
    let setup = setup(&args).await?;
    let report = verify(&setup, &args.device, Duration::from_secs(args.wait_claim)).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&report);
    }
    match report.verdict {
        "consistent" => Ok(()),
        other => Err(format!("verdict: {other}").into()),
    }
}

/// The setup `witness verify` uses with only the anchor flags: the endpoints come from the
/// anchors file and `<data-dir>/system.json`.
pub(crate) async fn setup_with(pin: &PinArgs) -> Result<Setup, String> {
    setup(&VerifyArgs {
        device: String::new(),
        pin: pin.clone(),
        rpc: None,
        node_rpc: None,
        node_inspect: None,
        link: None,
        gateway: None,
        wait_claim: 0,
        json: false,
    })
    .await
}

fn parse_address(text: &str, what: &str) -> Result<Address, String> {
    text.parse()
        .map_err(|_| format!("{what}: not an address: {text}"))
}

/// Resolves anchors (flags, then --anchors, then `<data-dir>/anchors.json`) and endpoints
/// (flags, then the anchors file, then `<data-dir>/system.json`, then the gateway).
async fn setup(args: &VerifyArgs) -> Result<Setup, String> {
    let (anchors, source) = args.pin.resolve()?;
    let system = SystemInfo::load(&args.pin.data_dir).ok();
    let gateway_url = args
        .gateway
        .clone()
        .or_else(|| system.as_ref().map(|s| s.gateway_url.clone()));
    let advertised = match &args.gateway {
        Some(url) => Some(gateway_config(url).await?),
        None => None,
    };
    let pick = |flag: &Option<String>,
                pinned: &Option<String>,
                from_system: Option<String>,
                from_gateway: fn(&ClientConfig) -> Option<String>| {
        flag.clone()
            .or_else(|| pinned.clone())
            .or(from_system)
            .or_else(|| advertised.as_ref().and_then(from_gateway))
    };
    let need = |value: Option<String>, what: &str| {
        value.ok_or_else(|| format!("no {what}: pass --{what} (or run `witness up`)"))
    };
    let setup = Setup {
        chain_rpc_url: need(
            pick(
                &args.rpc,
                &anchors.chain_rpc_url,
                system.as_ref().map(|s| s.chain_rpc_url.clone()),
                |c| c.chain_rpc_url.clone(),
            ),
            "rpc",
        )?,
        node: NodeEndpoints {
            rpc_url: need(
                pick(
                    &args.node_rpc,
                    &anchors.node_rpc_url,
                    system.as_ref().map(|s| s.node_rpc_url.clone()),
                    |c| c.node_rpc_url.clone(),
                ),
                "node-rpc",
            )?,
            inspect_url: need(
                pick(
                    &args.node_inspect,
                    &anchors.node_inspect_url,
                    system.as_ref().map(|s| s.node_inspect_url.clone()),
                    |c| c.node_inspect_url.clone(),
                ),
                "node-inspect",
            )?,
        },
        local_link_url: need(
            pick(
                &args.link,
                &None,
                system.as_ref().map(|s| s.local_link_url.clone()),
                |c| c.local_link_url.clone(),
            ),
            "link",
        )?,
        anchors,
        source,
        gateway_url: if args.gateway.is_some() {
            gateway_url
        } else {
            None
        },
    };
    Ok(setup)
}

async fn gateway_config(url: &str) -> Result<ClientConfig, String> {
    let url = format!("{}/v1/config", url.trim_end_matches('/'));
    json_of(reqwest::Client::new().get(&url), &url).await
}

/// Sends a request and parses its JSON answer; errors name the URL.
async fn json_of<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<T, String> {
    request
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("{url}: {e}"))?
        .json()
        .await
        .map_err(|e| format!("{url}: {e}"))
}

/// The anchors a gateway advertises must be the pinned ones.
async fn check_gateway(setup: &Setup) -> Result<(), Failed> {
    let Some(url) = &setup.gateway_url else {
        return Ok(());
    };
    let config = gateway_config(url)
        .await
        .map_err(|e| failed("gateway_unreachable", e))?;
    let pinned_app = setup.anchors.application.to_lowercase();
    if let Some(app) = &config.application
        && app.to_lowercase() != pinned_app
    {
        return Err(failed(
            "gateway_mismatch",
            format!(
                "the gateway advertises application {app}, but you pinned {pinned_app}; nothing from the gateway is used"
            ),
        ));
    }
    if let Some(chain) = config.chain_id
        && chain != setup.anchors.chain_id
    {
        return Err(failed(
            "gateway_mismatch",
            format!(
                "the gateway advertises chain id {chain}, but you pinned {}; nothing from the gateway is used",
                setup.anchors.chain_id
            ),
        ));
    }
    Ok(())
}

/// Runs the whole check; every failure ends in `cannot_confirm` with its reason.
pub(crate) async fn verify(setup: &Setup, device: &str, wait: Duration) -> VerifyReport {
    let mut report = verify_report(setup, device);
    if let Err(Failed(code, detail)) = steps(setup, device, wait, &mut report).await {
        report.verdict = Verdict::CannotConfirm.code();
        report.findings.insert(0, FindingJson { code, detail });
    }
    report
}

fn verify_report(setup: &Setup, device: &str) -> VerifyReport {
    VerifyReport {
        device_id: device.to_owned(),
        verdict: Verdict::CannotConfirm.code(),
        findings: Vec::new(),
        anchors: setup.anchors.clone(),
        anchors_source: setup.source.clone(),
        node_rpc_url: setup.node.rpc_url.clone(),
        claim: None,
        state: None,
        leaf: None,
        earlier_units: Vec::new(),
        device: None,
    }
}

async fn steps(
    setup: &Setup,
    device: &str,
    wait: Duration,
    report: &mut VerifyReport,
) -> Result<(), Failed> {
    let device_id = DeviceId::from_hex(device)
        .map_err(|_| failed("bad_device_id", "the device id must be 32 hex digits"))?;
    check_gateway(setup).await?;
    let proven = proven_steps(setup, &device_id, wait, None, report).await?;
    let node = NodeClient::new(setup.node.clone());
    let leaf = proven.leaf.clone();

    // V8: the device, now, answering a fresh nonce, and its opening of the highest reading.
    // Its answer is bound to the pinned chain and application and to the backend key.
    let domain = witness_protocol::Domain {
        chain_id: setup.anchors.chain_id,
        application: parse_address(&setup.anchors.application, "application")
            .map_err(|e| failed("bad_anchors", e))?
            .into_array(),
        backend_key: backend_key(setup, &node).await?,
    };
    let nonce = random_nonce().map_err(|e| failed("no_randomness", e))?;
    let link = format!(
        "{}/devices/{}",
        setup.local_link_url.trim_end_matches('/'),
        device_id.to_hex()
    );
    let http = reqwest::Client::new();
    let proof = device_proof(&http, &link, &nonce)
        .await
        .map_err(|e| failed("device_unreachable", e))?;
    let opening = match leaf.as_ref().and_then(|l| l.highest) {
        Some(highest) => device_opening(&http, &link, highest.counter)
            .await
            .map(|(opening, _)| opening),
        None => None,
    };
    report.device = Some(DeviceFacts {
        odometer_m: proof.reading.odometer_m,
        counter: proof.counter,
        opened_highest_odometer_m: opening.as_ref().map(|o| o.reading.odometer_m),
    });

    // V9: decide, about the vehicle: this unit and the units it replaced.
    let predecessors: Vec<DeviceLeaf> = earlier_units(&node, leaf.as_ref(), &proven)
        .await
        .into_iter()
        .map(|(_, unit)| unit)
        .collect();
    report.earlier_units = predecessors.iter().map(LeafView::from).collect();
    let decision = decide(&Evidence {
        device_id,
        leaf: leaf.as_ref(),
        proof: &proof,
        nonce: &nonce,
        domain: &domain,
        opening: opening.as_ref(),
        predecessors: &predecessors,
    });
    report.verdict = decision.verdict.code();
    report.findings = decision
        .findings
        .into_iter()
        .map(FindingJson::from)
        .collect();
    Ok(())
}

/// What V1-V7 prove from L1 and a node: the latest accepted claim, the state notice of the
/// last input it covers with its output (and proof, validated on L1), and the device's map
/// proof against that notice's root (with the leaf it leads to).
pub(crate) struct Proven {
    pub(crate) claim: AcceptedClaim,
    pub(crate) notice: StateNotice,
    pub(crate) output: Output,
    pub(crate) map_proof: MapProof,
    pub(crate) leaf: Option<DeviceLeaf>,
}

/// V1-V7 for `device_id` with `setup` (and its gateway check); errors are
/// `code: detail`.
/// `until`: as of the newest claim accepted in that L1 block or before (the node must still
/// keep that state's proofs, PROTOCOL.md 16.6), instead of the latest.
pub(crate) async fn proven_state(
    setup: &Setup,
    device_id: &DeviceId,
    until: Option<u64>,
) -> Result<Proven, String> {
    let mut report = verify_report(setup, &device_id.to_hex());
    let run = async {
        check_gateway(setup).await?;
        proven_steps(setup, device_id, Duration::ZERO, until, &mut report).await
    };
    run.await
        .map_err(|Failed(code, detail)| format!("{detail} ({code})"))
}

/// V1-V7: the chain, the latest accepted claim, its last input's state notice (proven on
/// L1) and the device's leaf and path.
async fn proven_steps(
    setup: &Setup,
    device_id: &DeviceId,
    wait: Duration,
    until: Option<u64>,
    report: &mut VerifyReport,
) -> Result<Proven, Failed> {
    let anchors = &setup.anchors;
    let app =
        parse_address(&anchors.application, "application").map_err(|e| failed("bad_anchors", e))?;
    let consensus =
        parse_address(&anchors.consensus, "consensus").map_err(|e| failed("bad_anchors", e))?;
    let l1 = L1::connect(&setup.chain_rpc_url).map_err(|e| failed("chain_unreachable", e))?;

    // V1, V2: the chain and the application are the pinned ones.
    l1.check_anchors(anchors.chain_id, app, consensus)
        .await
        .map_err(anchors_failure)?;

    // V3, V4: the latest accepted claim and the inputs it covers, from L1 alone.
    let inputs_now = l1
        .input_count_at(app, None)
        .await
        .map_err(|e| failed("chain_unreachable", e))?;
    let deadline = Instant::now() + wait;
    let (claim, covered) = loop {
        let claim = l1
            .accepted_claim_until(consensus, app, until)
            .await
            .map_err(|e| failed("chain_unreachable", e))?;
        let covered = match &claim {
            Some(c) => l1
                .input_count_at(app, Some(c.last_processed_block))
                .await
                .map_err(|e| failed("chain_unreachable", e))?,
            None => 0,
        };
        if covered >= inputs_now || until.is_some() || Instant::now() >= deadline {
            break (claim, covered);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let claim = claim.ok_or_else(|| {
        failed(
            "no_accepted_claim",
            "no claim of this application has been accepted on L1 yet",
        )
    })?;
    if covered == 0 {
        return Err(failed(
            "no_input_claimed",
            "the latest accepted claim covers no input yet",
        ));
    }
    let last_input = covered - 1;
    let epoch_length = witness_chain::abi::IConsensus::new(consensus, l1.provider())
        .getEpochLength()
        .call()
        .await
        .ok()
        .and_then(|l| u64::try_from(l).ok());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    report.claim = Some(ClaimFacts {
        last_processed_block: claim.last_processed_block,
        epoch: epoch_length
            .filter(|l| *l > 0)
            .map(|l| claim.last_processed_block / l),
        accepted_in_block: claim.block_number,
        age_s: now.checked_sub(claim.block_timestamp),
        inputs_covered: covered,
        inputs_not_claimed: l1
            .input_count_at(app, None)
            .await
            .ok()
            .map(|n| n.saturating_sub(covered)),
        outputs_root: claim.outputs_root.to_string(),
    });

    // V5, V6: the claim's last input's state notice, proven on L1.
    let node = NodeClient::new(setup.node.clone());
    let outputs = node.outputs_of_input(last_input).await.map_err(|e| {
        failed(
            "state_notice_missing",
            format!("the node did not list the outputs of input {last_input}: {e}"),
        )
    })?;
    let output = outputs.last().ok_or_else(|| {
        failed("state_notice_missing", format!("the node has no outputs for input {last_input}: it is behind the claim or withholds them"))
    })?;
    let notice = output
        .notice_payload()
        .and_then(|payload| StateNotice::decode(&payload).ok())
        .ok_or_else(|| failed("state_notice_missing", format!("the last output of input {last_input} is not a state notice: the node withholds it")))?;
    if notice.input_index != last_input || notice.block_number > claim.last_processed_block {
        return Err(failed(
            "state_notice_missing",
            format!(
                "the node answered the state after input {} (block {}), not after input {last_input}, the last one the claim covers",
                notice.input_index, notice.block_number
            ),
        ));
    }
    let siblings: Vec<B256> = output
        .siblings
        .clone()
        .ok_or_else(|| {
            failed(
                "proof_refused",
                "the node gives no proof for the state notice",
            )
        })?
        .into_iter()
        .map(B256::from)
        .collect();
    let proven = l1
        .validate_output(app, Bytes::from(output.raw.clone()), output.index, siblings)
        .await
        .map_err(|e| failed("chain_unreachable", e))?;
    if !proven {
        return Err(failed(
            "proof_refused",
            "Application.validateOutput refused the state notice's proof",
        ));
    }
    report.state = Some(StateFacts {
        input_index: notice.input_index,
        output_index: output.index,
        block_number: notice.block_number,
        map_root: hex::encode(notice.map_root),
    });

    // V7: the device's leaf and path as of that input.
    let (map_proof, leaf) = leaf_at(&node, device_id, last_input, &notice.map_root).await?;
    report.leaf = leaf.as_ref().map(LeafView::from);
    Ok(Proven {
        claim,
        notice,
        output: output.clone(),
        map_proof,
        leaf,
    })
}

/// V7 for `device_id`: its path as of input `input` from the node, checked against `root`
/// (the proven state notice's map root), and the leaf it leads to (`None`: proven absent).
pub(crate) async fn leaf_at(
    node: &NodeClient,
    device_id: &DeviceId,
    input: u64,
    root: &[u8; 32],
) -> Result<(MapProof, Option<DeviceLeaf>), Failed> {
    let answer = node
        .inspect(&InspectQuery::DeviceProof {
            device_id: device_id.to_hex(),
            input_index: Some(input),
        })
        .await
        .map_err(|e| failed("path_invalid", format!("the node gave no path: {e}")))?;
    let proof_hex = match answer.answer {
        InspectAnswer::DeviceProof(p) => p.proof,
        InspectAnswer::Error(e) => {
            return Err(failed(
                "path_invalid",
                format!("the node refused the path: {} ({})", e.error, e.detail),
            ));
        }
        other => {
            return Err(failed(
                "path_invalid",
                format!("the node answered {other:?}"),
            ));
        }
    };
    let map_proof = parse_hex(&proof_hex)
        .and_then(|b| MapProof::decode(&b).ok())
        .ok_or_else(|| failed("path_invalid", "the node's path does not decode"))?;
    let leaf = map_proof
        .verify(device_id, root)
        .map_err(|e| {
            failed(
                "path_invalid",
                format!(
                    "the node's path does not lead to the proven root ({})",
                    e.code()
                ),
            )
        })?
        .cloned();
    Ok((map_proof, leaf))
}

/// The vehicle's earlier units of `leaf`, newest first, each proven against the same state
/// notice as `leaf` (PROTOCOL.md 17.2 V7a). A unit the node does not prove is left out: the
/// verdict then says the record is incomplete (`previous_unit`), never that it is clean.
pub(crate) async fn earlier_units(
    node: &NodeClient,
    leaf: Option<&DeviceLeaf>,
    proven: &Proven,
) -> Vec<(MapProof, DeviceLeaf)> {
    let mut units: Vec<(MapProof, DeviceLeaf)> = Vec::new();
    let mut next = leaf.and_then(|l| l.predecessor());
    // A vehicle has as many units as replacements; the bound only stops a node's loop.
    while let Some(id) = next.filter(|_| units.len() < MAX_EARLIER_UNITS) {
        let root = &proven.notice.map_root;
        match leaf_at(node, &id, proven.notice.input_index, root).await {
            Ok((proof, Some(unit))) => {
                next = unit.predecessor();
                units.push((proof, unit));
            }
            _ => break,
        }
    }
    units
}

/// The backend key possession proofs are bound to: pinned, or the node's word (a wrong key
/// only makes the device's signature fail, never a verdict pass).
async fn backend_key(setup: &Setup, node: &NodeClient) -> Result<BackendPublicKey, Failed> {
    let text = match &setup.anchors.backend_public_key {
        Some(key) => key.clone(),
        None => match node.inspect(&InspectQuery::Config).await {
            Ok(witness_node_client::Inspected {
                answer: InspectAnswer::Config(c),
                ..
            }) => c.backend_public_key,
            _ => {
                return Err(failed(
                    "node_unreachable",
                    "no backend key pinned and the node gave none",
                ));
            }
        },
    };
    parse_hex(&text)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| BackendPublicKey::from_bytes(&b).ok())
        .ok_or_else(|| failed("bad_anchors", "the backend key is not an X25519 key"))
}

fn random_nonce() -> Result<[u8; 32], String> {
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce).map_err(|e| e.to_string())?;
    Ok(nonce)
}

async fn device_proof(
    http: &reqwest::Client,
    link: &str,
    nonce: &[u8; 32],
) -> Result<PossessionProof, String> {
    let url = format!("{link}/proof");
    let answer: Value = json_of(
        http.post(&url).json(&json!({"nonce": hex::encode(nonce)})),
        &url,
    )
    .await?;
    let bytes = answer["proof"]
        .as_str()
        .and_then(parse_hex)
        .ok_or("the device sent no proof")?;
    PossessionProof::decode(&bytes).map_err(|e| format!("the device's proof does not decode: {e}"))
}

/// The device's opening of the reading with `counter` over its local link, and the
/// commitment key of its envelope when the device gives it.
pub(crate) async fn device_opening(
    http: &reqwest::Client,
    link: &str,
    counter: u64,
) -> Option<(Opening, Option<CommitmentKey>)> {
    let answer: Value = http
        .get(format!("{link}/history/{counter}"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let opening = Opening::decode(&parse_hex(answer["opening"].as_str()?)?).ok()?;
    let key = answer["commitment_key"]
        .as_str()
        .and_then(parse_hex)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(CommitmentKey::from_bytes);
    Some((opening, key))
}

/// The code of a failed anchors check (V1, V2).
pub(crate) fn anchors_failure(error: witness_chain::ChainError) -> Failed {
    match error {
        witness_chain::ChainError::ChainIdMismatch { .. } => failed("chain_mismatch", error),
        witness_chain::ChainError::ConsensusMismatch { .. }
        | witness_chain::ChainError::NoCode { .. } => failed("application_mismatch", error),
        other => failed("chain_unreachable", other),
    }
}

/// Metres as kilometres with one decimal.
pub(crate) fn km(m: u64) -> String {
    format!("{:.1} km", m as f64 / 1000.0)
}

fn ago(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s ago"),
        s if s < 7200 => format!("{} min ago", s / 60),
        s => format!("{} h ago", s / 3600),
    }
}

/// The `anchors` line of a human-readable report.
pub(crate) fn print_anchors(anchors: &Anchors, source: &str) {
    println!(
        "anchors     chain {}, application {}, consensus {} (from {source})",
        anchors.chain_id, anchors.application, anchors.consensus
    );
}

fn print_human(report: &VerifyReport) {
    println!("device      {}", report.device_id);
    println!("verdict     {}", report.verdict.to_uppercase());
    for finding in &report.findings {
        println!("            {} ({})", finding.detail, finding.code);
    }
    print_anchors(&report.anchors, &report.anchors_source);
    match &report.claim {
        Some(claim) => {
            let epoch = claim
                .epoch
                .map(|e| format!(", epoch {e}"))
                .unwrap_or_default();
            let age = claim
                .age_s
                .map(|a| format!(", accepted {}", ago(a)))
                .unwrap_or_default();
            println!(
                "as of       block {}{epoch}{age}: {} inputs claimed{}",
                claim.last_processed_block,
                claim.inputs_covered,
                claim
                    .inputs_not_claimed
                    .map(|n| format!(", {n} newer not yet claimed"))
                    .unwrap_or_default()
            );
        }
        None => println!("as of       no accepted claim found"),
    }
    if let Some(state) = &report.state {
        println!(
            "state       notice of input {} (output {}) proven on L1 (Application.validateOutput)",
            state.input_index, state.output_index
        );
    }
    if let Some(leaf) = &report.leaf {
        println!(
            "leaf        {} attested, {} rollback(s), {} correction(s), status {} (path checked against the proven root)",
            leaf.attested, leaf.tamper_events, leaf.corrections, leaf.status
        );
    }
    if let Some(device) = &report.device {
        println!(
            "device now  {} at counter {}{}",
            km(device.odometer_m),
            device.counter,
            device
                .opened_highest_odometer_m
                .map(|m| format!("; highest attested {} (opened by the device)", km(m)))
                .unwrap_or_default()
        );
    }
}
