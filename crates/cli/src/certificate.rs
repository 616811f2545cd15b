//! `witness certificate issue|verify`: mileage certificates (docs/PROTOCOL.md section 18).
//! `issue` proves a device's state from L1 and a node (the steps V1-V7 of `witness verify`)
//! and asks the device's local link for the openings; `verify` checks a file offline against
//! the pinned anchors and, with `--rpc`, asks L1 whether its outputs root was accepted.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use witness_chain::L1;
use witness_chain::primitives::{Address, B256, Bytes};
use witness_node_client::NodeClient;
use witness_protocol::DeviceId;
use witness_protocol::api::LeafView;
use witness_protocol::certificate::{
    self, Certificate, CertificateError, ClaimRef, Findings, Level, OUTPUTS_TREE_HEIGHT,
    OutputProof, ProvenReading, notice_output, verify_offline,
};
use witness_protocol::notice::HistoryNotice;

use crate::CliResult;
use crate::system::Anchors;
use crate::verify::{PinArgs, Setup, device_opening, km, proven_state, setup_with};

#[derive(Debug, Args)]
pub(crate) struct CertificateArgs {
    #[command(subcommand)]
    command: CertificateCommand,
}

#[derive(Debug, Subcommand)]
enum CertificateCommand {
    /// Prove a device's state from L1 and a node and write its certificate.
    Issue(IssueArgs),
    /// Check a certificate offline against the pinned anchors (and on L1 with --rpc).
    Verify(CheckArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LevelArg {
    /// The leaf's counts and the highest attested reading, opened.
    Summary,
    /// Also every history notice of the device and the openings the device gives.
    Full,
}

#[derive(Debug, Args)]
struct IssueArgs {
    /// Device id (32 hex digits).
    device: String,
    #[command(flatten)]
    pin: PinArgs,
    /// Where to write the certificate (default `<device>.wtnc`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Summary or full history.
    #[arg(long, value_enum, default_value_t = LevelArg::Summary)]
    level: LevelArg,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The certificate file (binary).
    file: PathBuf,
    /// A chain JSON-RPC URL: also check on L1 that the outputs root was accepted.
    #[arg(long)]
    rpc: Option<String>,
    #[command(flatten)]
    pin: PinArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: CertificateArgs) -> CliResult {
    match args.command {
        CertificateCommand::Issue(args) => issue(args).await,
        CertificateCommand::Verify(args) => check(args).await,
    }
}

fn address(text: &str, what: &str) -> Result<[u8; 20], String> {
    text.parse::<Address>()
        .map(|a| a.0.0)
        .map_err(|_| format!("{what}: not an address: {text}"))
}

fn pinned(anchors: &Anchors) -> Result<certificate::Anchors, String> {
    Ok(certificate::Anchors {
        chain_id: anchors.chain_id,
        application: address(&anchors.application, "application")?,
        consensus: address(&anchors.consensus, "consensus")?,
    })
}

async fn issue(args: IssueArgs) -> CliResult {
    let device_id = DeviceId::from_hex(&args.device)
        .map_err(|_| "the device id must be 32 hex digits".to_string())?;
    let setup = setup_with(&args.pin).await?;
    let anchors = pinned(&setup.anchors)?;
    let proven = proven_state(&setup, &device_id).await?;
    let leaf = proven
        .leaf
        .clone()
        .ok_or("the device is not in the proven state (never registered)")?;
    let siblings: [[u8; 32]; OUTPUTS_TREE_HEIGHT] = proven
        .output
        .siblings
        .clone()
        .ok_or("the node gives no proof for the state notice")?
        .try_into()
        .map_err(|_| "the node's proof of the state notice has the wrong length")?;
    let link = format!(
        "{}/devices/{}",
        setup.local_link_url.trim_end_matches('/'),
        device_id.to_hex()
    );
    let http = reqwest::Client::new();
    let highest = match &leaf.highest {
        Some(highest) => Some(
            device_opening(&http, &link, highest.counter)
                .await
                .ok_or_else(|| {
                    format!(
                        "the device's local link gave no opening of its highest attested reading (counter {})",
                        highest.counter
                    )
                })?,
        ),
        None => None,
    };
    let (level, notices, openings) = match args.level {
        LevelArg::Summary => (Level::Summary, Vec::new(), Vec::new()),
        LevelArg::Full => {
            let notices = history_notices(&setup, &device_id, &leaf).await?;
            let mut counters = Vec::new();
            for payload in &notices {
                let notice = HistoryNotice::decode(payload)
                    .map_err(|e| format!("a history notice does not decode: {e}"))?;
                for entry in &notice.entries {
                    if let witness_protocol::notice::HistoryEntry::Reading { counter, .. } = entry {
                        counters.push(*counter);
                    }
                }
            }
            counters.sort_unstable();
            counters.dedup();
            let mut openings = Vec::new();
            for counter in counters {
                // A reading the device cannot open stays undisclosed.
                if let Some(opening) = device_opening(&http, &link, counter).await {
                    openings.push(opening);
                }
            }
            (Level::Full, notices, openings)
        }
    };
    let cert = Certificate {
        level,
        anchors,
        device_id,
        claim: ClaimRef {
            last_processed_block: proven.claim.last_processed_block,
            claim_block: proven.claim.block_number,
            outputs_root: Some(proven.claim.outputs_root.0),
        },
        state_notice: proven.notice,
        output_proof: OutputProof {
            index: proven.output.index,
            siblings,
        },
        map_proof: proven.map_proof.clone(),
        highest,
        notices,
        openings,
    };
    let bytes = cert
        .encode()
        .map_err(|e| format!("the certificate does not encode: {e}"))?;
    // What we hand out must pass the buyer's check.
    let findings = verify_offline(&bytes, Some(&anchors))
        .map_err(|e| format!("the issued certificate does not verify: {e}"))?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}.wtnc", device_id.to_hex())));
    std::fs::write(&out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "wrote       {} ({} bytes, {})",
        out.display(),
        bytes.len(),
        level_name(level)
    );
    println!(
        "as of       block {} (claim accepted in block {}), state notice of input {}",
        findings.as_of_block, findings.claim_block, findings.input_index
    );
    print_leaf_and_readings(&findings);
    Ok(())
}

/// Every history notice of the device, oldest first: walked back from the leaf's
/// accumulator (`last_input`, then each notice's `previous_input`) over the node's outputs.
async fn history_notices(
    setup: &Setup,
    device_id: &DeviceId,
    leaf: &witness_protocol::state::DeviceLeaf,
) -> Result<Vec<Vec<u8>>, String> {
    let node = NodeClient::new(setup.node.clone());
    let mut notices = Vec::new();
    let mut next = leaf.history.last_input;
    let mut position = leaf.history.count;
    while let Some(input) = next {
        let Some(expected) = position.checked_sub(1) else {
            return Err("the node's history notices go back further than the accumulator".into());
        };
        let outputs = node
            .outputs_of_input(input)
            .await
            .map_err(|e| format!("the node did not list the outputs of input {input}: {e}"))?;
        let found = outputs
            .iter()
            .filter_map(|o| o.notice_payload())
            .find_map(|payload| {
                let notice = HistoryNotice::decode(&payload).ok()?;
                (notice.device_id == *device_id && notice.position == expected)
                    .then_some((payload, notice.previous_input))
            });
        let (payload, previous) = found.ok_or_else(|| {
            format!("the node has no history notice of the device at input {input}")
        })?;
        notices.push(payload);
        position = expected;
        next = previous;
    }
    notices.reverse();
    Ok(notices)
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Summary => "summary",
        Level::Full => "full",
    }
}

#[derive(Debug, Serialize)]
struct ReadingJson {
    counter: u64,
    odometer_m: u64,
    timestamp: u32,
    rollback: bool,
}

impl From<&ProvenReading> for ReadingJson {
    fn from(r: &ProvenReading) -> Self {
        Self {
            counter: r.counter,
            odometer_m: r.reading.odometer_m,
            timestamp: r.reading.timestamp,
            rollback: r.rollback,
        }
    }
}

#[derive(Debug, Serialize)]
struct Refusal {
    code: String,
    detail: String,
}

#[derive(Debug, Serialize)]
struct ClaimJson {
    as_of_block: u64,
    claim_block: u64,
    input_index: u64,
    block_timestamp: u64,
    output_index: u64,
    outputs_root: String,
}

#[derive(Debug, Serialize)]
struct L1Check {
    rpc_url: String,
    /// `Application.validateOutput` accepted the state notice and its proof.
    outputs_root_accepted: Option<bool>,
    /// `ClaimAccepted` events after the certificate's claim block.
    claims_accepted_since: Option<u64>,
    error: Option<String>,
}

/// The typed result of `witness certificate verify`.
#[derive(Debug, Serialize)]
struct CheckReport {
    file: String,
    size: usize,
    /// Everything that could be checked passed.
    ok: bool,
    refused: Option<Refusal>,
    anchors: Anchors,
    anchors_source: String,
    level: Option<&'static str>,
    device_id: Option<String>,
    claim: Option<ClaimJson>,
    leaf: Option<LeafView>,
    highest: Option<ReadingJson>,
    disclosed: Vec<ReadingJson>,
    undisclosed: Vec<u64>,
    notices: u64,
    /// What the certificate cannot tell by itself (section 18.4), and was not checked on L1.
    cannot_know: Vec<&'static str>,
    l1: Option<L1Check>,
}

fn refusal(error: CertificateError) -> Refusal {
    let detail = match error {
        CertificateError::Malformed(e) => format!("the file is not a valid certificate ({e})"),
        CertificateError::NotACertificate => "the file is not a certificate".into(),
        CertificateError::ChainMismatch => "it names another chain than the one you pinned".into(),
        CertificateError::ApplicationMismatch => {
            "it names another application than the one you pinned".into()
        }
        CertificateError::ConsensusMismatch => {
            "it names another consensus than the one you pinned".into()
        }
        CertificateError::ClaimMismatch => "its state notice is not covered by its claim".into(),
        CertificateError::OutputsRootMismatch => {
            "its output proof leads to another root than its claim's".into()
        }
        CertificateError::RootMismatch => {
            "the device's path leads to another root than the state notice's".into()
        }
        CertificateError::WrongDevice => "the leaf or a history notice is another device's".into(),
        CertificateError::WrongCommitment => {
            "an opening is for another commitment than the one it is presented for".into()
        }
        CertificateError::OpeningMissing => {
            "the opening of the highest attested reading is missing".into()
        }
        CertificateError::CommitmentMismatch => {
            "an opening does not match its commitment: an altered reading".into()
        }
        CertificateError::HistoryMismatch => {
            "the history notices do not refold to the leaf's accumulator".into()
        }
        _ => "refused".into(),
    };
    Refusal {
        code: error.code().to_string(),
        detail,
    }
}

async fn check(args: CheckArgs) -> CliResult {
    let (anchors, anchors_source) = args.pin.resolve()?;
    let pin = pinned(&anchors)?;
    let bytes = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let mut report = CheckReport {
        file: args.file.display().to_string(),
        size: bytes.len(),
        ok: false,
        refused: None,
        anchors,
        anchors_source,
        level: None,
        device_id: None,
        claim: None,
        leaf: None,
        highest: None,
        disclosed: Vec::new(),
        undisclosed: Vec::new(),
        notices: 0,
        cannot_know: Vec::new(),
        l1: None,
    };
    match verify_offline(&bytes, Some(&pin)) {
        Err(error) => report.refused = Some(refusal(error)),
        Ok(findings) => {
            fill(&mut report, &findings);
            report.ok = true;
            if let Some(rpc) = &args.rpc {
                let l1 = check_on_l1(rpc, &pin, &bytes, &findings).await;
                if l1.outputs_root_accepted == Some(true) {
                    report.cannot_know.retain(|c| *c != "outputs_root_accepted");
                }
                if l1.claims_accepted_since.is_some() {
                    report.cannot_know.retain(|c| *c != "later_claims");
                }
                if l1.outputs_root_accepted != Some(true) {
                    report.ok = false;
                    report.refused = Some(match &l1.error {
                        Some(e) => Refusal {
                            code: "chain_unreachable".into(),
                            detail: format!("L1 could not be asked: {e}"),
                        },
                        None => Refusal {
                            code: "claim_not_accepted".into(),
                            detail: "L1 has accepted no claim with the certificate's outputs root"
                                .into(),
                        },
                    });
                }
                report.l1 = Some(l1);
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_check(&report);
    }
    match &report.refused {
        None => Ok(()),
        Some(r) => Err(format!("refused: {} ({})", r.detail, r.code).into()),
    }
}

fn fill(report: &mut CheckReport, findings: &Findings) {
    report.level = Some(level_name(findings.level));
    report.device_id = Some(findings.device_id.to_hex());
    report.claim = Some(ClaimJson {
        as_of_block: findings.as_of_block,
        claim_block: findings.claim_block,
        input_index: findings.input_index,
        block_timestamp: findings.block_timestamp,
        output_index: findings.output_index,
        outputs_root: format!("0x{}", hex::encode(findings.outputs_root)),
    });
    report.leaf = Some(LeafView::from(&findings.leaf));
    report.highest = findings.highest.as_ref().map(ReadingJson::from);
    report.disclosed = findings.disclosed.iter().map(ReadingJson::from).collect();
    report.undisclosed = findings.undisclosed.clone();
    report.notices = findings.notices;
    report.cannot_know = findings.cannot_know.to_vec();
}

async fn check_on_l1(
    rpc: &str,
    pin: &certificate::Anchors,
    bytes: &[u8],
    findings: &Findings,
) -> L1Check {
    let mut result = L1Check {
        rpc_url: rpc.to_string(),
        outputs_root_accepted: None,
        claims_accepted_since: None,
        error: None,
    };
    let run = async {
        let cert = Certificate::decode(bytes).map_err(|e| e.to_string())?;
        let app = Address::from(pin.application);
        let consensus = Address::from(pin.consensus);
        let l1 = L1::connect(rpc).map_err(|e| e.to_string())?;
        l1.check_anchors(pin.chain_id, app, consensus)
            .await
            .map_err(|e| e.to_string())?;
        let siblings: Vec<B256> = cert
            .output_proof
            .siblings
            .iter()
            .map(|s| B256::from(*s))
            .collect();
        let accepted = l1
            .validate_output(
                app,
                Bytes::from(notice_output(&cert.state_notice.encode())),
                findings.output_index,
                siblings,
            )
            .await
            .map_err(|e| e.to_string())?;
        let since = l1
            .accepted_claims_after(consensus, app, findings.claim_block)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((accepted, since))
    };
    match run.await {
        Ok((accepted, since)) => {
            result.outputs_root_accepted = Some(accepted);
            result.claims_accepted_since = Some(since);
        }
        Err(e) => result.error = Some(e),
    }
    result
}

fn print_leaf_and_readings(findings: &Findings) {
    let leaf = &findings.leaf;
    println!(
        "device      {}: {} attested reading(s), {} tamper event(s), {} correction(s), era {}{}{}",
        findings.device_id.to_hex(),
        leaf.attested,
        leaf.tamper_events,
        leaf.corrections,
        leaf.era,
        if leaf.revoked { ", revoked" } else { "" },
        if leaf.flagged { ", flagged" } else { "" }
    );
    if let Some(h) = &findings.highest {
        println!(
            "highest     {} at counter {} (device time {})",
            km(h.reading.odometer_m),
            h.counter,
            h.reading.timestamp
        );
    }
    if findings.level == Level::Full {
        println!(
            "history     {} notice(s) proven complete; {} reading(s) disclosed, {} not",
            findings.notices,
            findings.disclosed.len(),
            findings.undisclosed.len()
        );
    }
}

fn print_check(report: &CheckReport) {
    println!("file        {} ({} bytes)", report.file, report.size);
    println!(
        "anchors     chain {}, application {}, consensus {} (from {})",
        report.anchors.chain_id,
        report.anchors.application,
        report.anchors.consensus,
        report.anchors_source
    );
    if let Some(claim) = &report.claim {
        println!(
            "as of       block {} (claim in block {}), state notice of input {} (output {})",
            claim.as_of_block, claim.claim_block, claim.input_index, claim.output_index
        );
        println!(
            "proves      outputs root {} holds this device's leaf (every proof checked locally)",
            claim.outputs_root
        );
    }
    if let (Some(device), Some(leaf)) = (&report.device_id, &report.leaf) {
        println!(
            "device      {device}: {} attested reading(s), {} tamper event(s), {} correction(s), status {}",
            leaf.attested, leaf.tamper_events, leaf.corrections, leaf.status
        );
    }
    if let Some(h) = &report.highest {
        println!(
            "highest     {} at counter {} (device time {})",
            km(h.odometer_m),
            h.counter,
            h.timestamp
        );
    }
    if report.level == Some("full") {
        println!(
            "history     {} notice(s) proven complete; {} reading(s) disclosed, {} not",
            report.notices,
            report.disclosed.len(),
            report.undisclosed.len()
        );
    }
    if let Some(l1) = &report.l1 {
        match (&l1.error, l1.outputs_root_accepted) {
            (Some(e), _) => println!("on L1       not checked: {e}"),
            (None, Some(true)) => println!(
                "on L1       outputs root accepted (Application.validateOutput); {} claim(s) accepted since",
                l1.claims_accepted_since.unwrap_or(0)
            ),
            (None, _) => println!("on L1       the outputs root was NOT accepted"),
        }
    }
    for code in &report.cannot_know {
        let what = match *code {
            "outputs_root_accepted" => {
                "whether L1 accepted this outputs root (pass --rpc URL to check)"
            }
            "later_claims" => "whether later claims exist (e.g. a rollback after this claim)",
            other => other,
        };
        println!("cannot know {what}");
    }
    match &report.refused {
        None => println!("result      OK"),
        Some(r) => println!("result      REFUSED: {} ({})", r.detail, r.code),
    }
}
