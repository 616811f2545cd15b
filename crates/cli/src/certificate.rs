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
use witness_protocol::api::LeafView;
use witness_protocol::certificate::{
    self, CertNotice, Certificate, CertificateError, ClaimRef, Findings, Level,
    OUTPUTS_TREE_HEIGHT, OutputProof, ProvenReading, RecordedCorrection, notice_output,
    verify_offline,
};
use witness_protocol::notice::{EnvelopeValues, HistoryEntry, HistoryNotice};
use witness_protocol::state::AttestedRef;
use witness_protocol::{CommitmentKey, Opening};
use witness_protocol::{DeviceId, VehicleIdentity};

use crate::CliResult;
use crate::system::Anchors;
use crate::verify::{
    Failed, PinArgs, Setup, anchors_failure, device_opening, km, print_anchors, proven_state,
    setup_with,
};

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
    /// Also every history notice of the device, each reading opened where the device can.
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
    /// Write the text form (base64 between BEGIN/END lines) instead of the binary file.
    #[arg(long)]
    text: bool,
    /// Prove the state as of the newest claim accepted in this L1 block or before, instead
    /// of the latest (the node must still keep that state's proofs: PROTOCOL.md 16.6).
    #[arg(long)]
    as_of_block: Option<u64>,
    /// Disclose the vehicle's VIN (with --vehicle-salt, from the car's papers or the
    /// device's `device.json`): the buyer checks it against the car's plate.
    #[arg(long, requires = "vehicle_salt")]
    vin: Option<String>,
    /// The salt of the vehicle's commitment, 64 hex digits.
    #[arg(long, requires = "vin")]
    vehicle_salt: Option<String>,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The certificate file (binary, or the text form).
    file: PathBuf,
    /// A chain JSON-RPC URL: also check on L1 that the outputs root was accepted, and how
    /// many claims were accepted since.
    #[arg(long)]
    rpc: Option<String>,
    /// With --rpc: also prove the device's current state from L1 and a node (the steps of
    /// `witness verify`, node from the data dir or --node) and compare it with the
    /// certificate's: a rollback after the certificate's claim shows here.
    #[arg(long, requires = "rpc")]
    fresh: bool,
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
    let proven = proven_state(&setup, &device_id, args.as_of_block).await?;
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
    let highest = named_opening(&http, &link, leaf.highest.as_ref(), "highest").await?;
    let first = named_opening(&http, &link, leaf.first.as_ref(), "first").await?;
    let (level, notices) = match args.level {
        LevelArg::Summary => (Level::Summary, Vec::new()),
        LevelArg::Full => {
            let mut notices = Vec::new();
            for payload in history_notices(&setup, &device_id, &leaf).await? {
                notices.push(opened_or_sealed(&http, &link, payload).await?);
            }
            (Level::Full, notices)
        }
    };
    let vehicle = match (args.vin, args.vehicle_salt) {
        (Some(vin), Some(salt)) => {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(salt.trim(), &mut bytes)
                .map_err(|_| "--vehicle-salt: not 32 bytes of hex")?;
            let vehicle = VehicleIdentity { vin, salt: bytes };
            if vehicle.id().ok() != Some(leaf.vehicle) {
                return Err("the VIN and salt do not open the device's vehicle commitment".into());
            }
            Some(vehicle)
        }
        _ => None,
    };
    let node = NodeClient::new(setup.node.clone());
    let earlier_units = crate::verify::earlier_units(&node, Some(&leaf), &proven)
        .await
        .into_iter()
        .map(|(proof, _)| proof)
        .collect();
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
        first,
        vehicle,
        earlier_units,
        odometer_keys: Vec::new(),
        notices,
    };
    let bytes = cert
        .encode()
        .map_err(|e| format!("the certificate does not encode: {e}"))?;
    // What we hand out must pass the buyer's check.
    let findings = verify_offline(&bytes, Some(&anchors))
        .map_err(|e| format!("the issued certificate does not verify: {e}"))?;
    let extension = if args.text { "wtnc.txt" } else { "wtnc" };
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}.{extension}", device_id.to_hex())));
    let written = match args.text {
        true => certificate::to_text(&bytes).into_bytes(),
        false => bytes.clone(),
    };
    std::fs::write(&out, &written).map_err(|e| format!("{}: {e}", out.display()))?;
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

/// The device's opening of a reading its leaf names (`what`: highest or first).
async fn named_opening(
    http: &reqwest::Client,
    link: &str,
    named: Option<&AttestedRef>,
    what: &str,
) -> Result<Option<Opening>, String> {
    let Some(named) = named else {
        return Ok(None);
    };
    match device_opening(http, link, named.counter).await {
        Some((opening, _)) => Ok(Some(opening)),
        None => Err(format!(
            "the device's local link gave no opening of its {what} attested reading (counter {})",
            named.counter
        )),
    }
}

/// A history notice in the opened form when the device opens every reading of it (its
/// envelopes' commitment keys and readings, checked against the notice's commitments), else
/// sealed: its readings stay undisclosed.
async fn opened_or_sealed(
    http: &reqwest::Client,
    link: &str,
    payload: Vec<u8>,
) -> Result<CertNotice, String> {
    let sealed = CertNotice::sealed(payload)
        .map_err(|e| format!("a history notice does not decode: {e}"))?;
    let notice = sealed.notice();
    let mut envelopes: Vec<EnvelopeValues> = Vec::new();
    for entry in &notice.entries {
        match entry {
            HistoryEntry::Envelope { count, .. } => envelopes.push(EnvelopeValues {
                commitment_key: CommitmentKey::from_bytes([0; 32]),
                readings: Vec::with_capacity(usize::from(*count)),
            }),
            HistoryEntry::Reading {
                counter,
                commitment,
                ..
            } => {
                let (Some(values), Some((opening, Some(key)))) = (
                    envelopes.last_mut(),
                    device_opening(http, link, *counter).await,
                ) else {
                    return Ok(sealed);
                };
                if key.commit(notice.device_id, *counter, &opening.reading) != Ok(*commitment) {
                    return Ok(sealed);
                }
                values.commitment_key = key;
                values.readings.push(opening.reading);
            }
            _ => {}
        }
    }
    if envelopes.is_empty() {
        return Ok(sealed);
    }
    Ok(CertNotice::Opened(notice.clone(), envelopes))
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
struct DatedJson {
    counter: u64,
    day: u32,
    odometer_m: u64,
    rollback: bool,
}

/// A registrar's correction in the proven history (section 8.2.1).
#[derive(Debug, Serialize)]
struct CorrectionJson {
    input_index: u64,
    counter: u64,
    registrar: String,
    cleared_rollback: bool,
    odometer_m: Option<u64>,
    baseline_m: Option<u64>,
    reason: &'static str,
    evidence: &'static str,
    evidence_digest: String,
    note: String,
}

impl From<&RecordedCorrection> for CorrectionJson {
    fn from(c: &RecordedCorrection) -> Self {
        let k = &c.correction;
        Self {
            input_index: c.input_index,
            counter: k.counter,
            registrar: hex::encode(c.registrar),
            cleared_rollback: c.cleared,
            odometer_m: k.odometer_m,
            baseline_m: k.baseline_m,
            reason: k.reason.code(),
            evidence: k.evidence.code(),
            evidence_digest: hex::encode(k.evidence_digest),
            note: k.note.clone(),
        }
    }
}

/// The device's state proven now, next to the certificate's.
#[derive(Debug, Serialize)]
struct FreshState {
    as_of_block: u64,
    leaf: Option<LeafView>,
    /// Tamper events recorded after the certificate's claim.
    new_tamper_events: u32,
    /// Attested readings recorded after the certificate's claim.
    new_attested: u64,
    error: Option<String>,
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
    /// Why L1 could not answer: chain_unreachable, chain_mismatch, application_mismatch.
    code: Option<&'static str>,
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
    first: Option<ReadingJson>,
    disclosed: Vec<ReadingJson>,
    odometer_only: Vec<DatedJson>,
    undisclosed: Vec<u64>,
    notices: u64,
    corrections: Vec<CorrectionJson>,
    /// The VIN, when the certificate discloses it (proven to open the vehicle commitment).
    vin: Option<String>,
    /// The vehicle's earlier units, newest first.
    earlier_units: Vec<LeafView>,
    /// What the certificate cannot tell by itself (section 18.4), and was not checked on L1.
    cannot_know: Vec<&'static str>,
    l1: Option<L1Check>,
    fresh: Option<FreshState>,
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
            "the opening of a reading the leaf names (highest or first attested) is missing".into()
        }
        CertificateError::CommitmentMismatch => {
            "an opening does not match its commitment: an altered reading".into()
        }
        CertificateError::HistoryMismatch => {
            "the history notices do not refold to the leaf's accumulator: a notice missing, \
             altered or out of order, or a disclosed reading altered"
                .into()
        }
        CertificateError::HistoryKeyMismatch => {
            "an odometer key does not open the sealed notices of its era".into()
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
    let input = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let mut report = CheckReport {
        file: args.file.display().to_string(),
        size: input.len(),
        ok: false,
        refused: None,
        anchors,
        anchors_source,
        level: None,
        device_id: None,
        claim: None,
        leaf: None,
        highest: None,
        first: None,
        disclosed: Vec::new(),
        odometer_only: Vec::new(),
        undisclosed: Vec::new(),
        notices: 0,
        corrections: Vec::new(),
        vin: None,
        earlier_units: Vec::new(),
        cannot_know: Vec::new(),
        l1: None,
        fresh: None,
    };
    let bytes = certificate::from_any(&input);
    match bytes.and_then(|bytes| verify_offline(&bytes, Some(&pin)).map(|f| (bytes, f))) {
        Err(error) => report.refused = Some(refusal(error)),
        Ok((bytes, findings)) => {
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
                            code: l1.code.unwrap_or("chain_unreachable").into(),
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
                if args.fresh && report.ok {
                    report.fresh = Some(fresh_state(&args.pin, &findings).await);
                }
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
    report.first = findings.first.as_ref().map(ReadingJson::from);
    report.disclosed = findings.disclosed.iter().map(ReadingJson::from).collect();
    report.odometer_only = findings
        .odometer_only
        .iter()
        .map(|o| DatedJson {
            counter: o.counter,
            day: o.day,
            odometer_m: o.odometer_m,
            rollback: o.rollback,
        })
        .collect();
    report.undisclosed = findings.undisclosed.clone();
    report.notices = findings.notices;
    report.corrections = findings
        .corrections
        .iter()
        .map(CorrectionJson::from)
        .collect();
    report.vin = findings.vin.clone();
    report.earlier_units = findings.earlier_units.iter().map(LeafView::from).collect();
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
        code: None,
        error: None,
    };
    let run = async {
        let cert =
            Certificate::decode(bytes).map_err(|e| Failed("invalid_field", e.to_string()))?;
        let app = Address::from(pin.application);
        let consensus = Address::from(pin.consensus);
        let l1 = L1::connect(rpc).map_err(|e| Failed("chain_unreachable", e.to_string()))?;
        l1.check_anchors(pin.chain_id, app, consensus)
            .await
            .map_err(anchors_failure)?;
        let unreachable = |e: witness_chain::ChainError| Failed("chain_unreachable", e.to_string());
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
            .map_err(unreachable)?;
        let since = l1
            .accepted_claims_after(consensus, app, findings.claim_block)
            .await
            .map_err(unreachable)?;
        Ok::<_, Failed>((accepted, since))
    };
    match run.await {
        Ok((accepted, since)) => {
            result.outputs_root_accepted = Some(accepted);
            result.claims_accepted_since = Some(since);
        }
        Err(Failed(code, e)) => {
            result.code = Some(code);
            result.error = Some(e);
        }
    }
    result
}

/// The device's state as of the latest claim (V1-V7 of `witness verify`), next to the
/// certificate's leaf.
async fn fresh_state(pin: &PinArgs, findings: &Findings) -> FreshState {
    let proven = async {
        let setup = setup_with(pin).await?;
        proven_state(&setup, &findings.device_id, None).await
    };
    match proven.await {
        Ok(proven) => {
            let then = &findings.leaf;
            let now = proven.leaf.as_ref();
            FreshState {
                as_of_block: proven.claim.last_processed_block,
                new_tamper_events: now
                    .map_or(0, |l| l.tamper_events.saturating_sub(then.tamper_events)),
                new_attested: now.map_or(0, |l| l.attested.saturating_sub(then.attested)),
                leaf: now.map(LeafView::from),
                error: None,
            }
        }
        Err(e) => FreshState {
            as_of_block: 0,
            leaf: None,
            new_tamper_events: 0,
            new_attested: 0,
            error: Some(e),
        },
    }
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
        if leaf.flagged() { ", flagged" } else { "" }
    );
    let corrections: Vec<CorrectionJson> = findings
        .corrections
        .iter()
        .map(CorrectionJson::from)
        .collect();
    let baseline = leaf.corrected_baseline.as_deref();
    print_corrections(
        baseline.map(|b| (b.odometer_m, b.input_index)),
        &corrections,
    );
    let readings = [("highest", &findings.highest), ("first", &findings.first)];
    for (what, reading) in readings {
        if let Some(r) = reading {
            print_reading(what, r.counter, r.reading.odometer_m, r.reading.timestamp);
        }
    }
    if findings.level == Level::Full {
        print_history(
            findings.notices,
            findings.disclosed.len(),
            findings.odometer_only.len(),
            findings.undisclosed.len(),
        );
    }
}

/// The vehicle: its VIN when disclosed, and the units the device replaced.
fn print_vehicle(vin: Option<&str>, earlier_units: &[LeafView]) {
    if let Some(vin) = vin {
        println!("vehicle     VIN {vin} (opens the leaf's vehicle commitment)");
    }
    for unit in earlier_units {
        println!(
            "earlier     unit {} replaced: {} attested reading(s), {} tamper event(s) ({} uncorrected), {} correction(s)",
            unit.device_id, unit.attested, unit.tamper_events, unit.open_tampers, unit.corrections
        );
    }
}

/// The baseline a correction set (value, input), and the corrections of the history.
fn print_corrections(baseline: Option<(u64, u64)>, corrections: &[CorrectionJson]) {
    if let Some((odometer_m, input_index)) = baseline {
        println!(
            "baseline    {} set by a registrar's correction at input {input_index}",
            km(odometer_m)
        );
    }
    for c in corrections {
        println!("{}", correction_line(c));
    }
}

/// One correction of the proven history, for people.
fn correction_line(k: &CorrectionJson) -> String {
    let mut line = format!(
        "correction  of counter {} at input {}: {} ({} on file, SHA-256 {}…)",
        k.counter,
        k.input_index,
        k.reason,
        k.evidence,
        &k.evidence_digest[..16]
    );
    if k.cleared_rollback {
        line.push_str("; clears the rollback there");
    }
    if let Some(value) = k.odometer_m {
        line.push_str(&format!("; the reading was {}", km(value)));
    }
    if let Some(value) = k.baseline_m {
        line.push_str(&format!("; baseline now {}", km(value)));
    }
    if !k.note.is_empty() {
        line.push_str(&format!(" \"{}\"", k.note));
    }
    line
}

fn print_reading(what: &str, counter: u64, odometer_m: u64, timestamp: u32) {
    println!(
        "{what:<11} {} at counter {counter} (device time {timestamp})",
        km(odometer_m)
    );
}

fn print_history(notices: u64, opened: usize, dated: usize, hidden: usize) {
    println!(
        "history     {notices} notice(s) proven complete; {opened} reading(s) opened, \
         {dated} dated odometer value(s), {hidden} undisclosed"
    );
}

fn print_check(report: &CheckReport) {
    println!("file        {} ({} bytes)", report.file, report.size);
    print_anchors(&report.anchors, &report.anchors_source);
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
        print_vehicle(report.vin.as_deref(), &report.earlier_units);
        let baseline = leaf.corrected_baseline.as_ref();
        print_corrections(
            baseline.map(|b| (b.odometer_m, b.input_index)),
            &report.corrections,
        );
    }
    for (what, reading) in [("highest", &report.highest), ("first", &report.first)] {
        if let Some(r) = reading {
            print_reading(what, r.counter, r.odometer_m, r.timestamp);
        }
    }
    if report.level == Some("full") {
        print_history(
            report.notices,
            report.disclosed.len(),
            report.odometer_only.len(),
            report.undisclosed.len(),
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
        if l1.claims_accepted_since.unwrap_or(0) > 0 && report.fresh.is_none() {
            println!(
                "            newer claims exist: add --fresh (or run `witness verify {}`) for the current state",
                report.device_id.as_deref().unwrap_or("<device>")
            );
        }
    }
    if let Some(fresh) = &report.fresh {
        match (&fresh.error, &fresh.leaf) {
            (Some(e), _) => println!("now         not proven: {e}"),
            (None, None) => println!("now         the device is absent from the current state"),
            (None, Some(leaf)) => println!(
                "now         as of block {}: {} attested reading(s) (+{}), {} tamper event(s) (+{}), status {}{}",
                fresh.as_of_block,
                leaf.attested,
                fresh.new_attested,
                leaf.tamper_events,
                fresh.new_tamper_events,
                leaf.status,
                if fresh.new_tamper_events > 0 {
                    ": a ROLLBACK was recorded after this certificate"
                } else {
                    ""
                }
            ),
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
