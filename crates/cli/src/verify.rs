//! `witness verify <device>`: read the device over its local link with a fresh nonce, check
//! its signature here, ask the rollup (the node's inspect, not the gateway) for the verdict,
//! check that the device's own log opens the attested commitment, and prove the attesting
//! notice on L1 with `Application.validateOutput`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value, json};
use witness_chain::primitives::{Address, B256, Bytes};
use witness_protocol::{BackendPublicKey, Commitment, Opening, PossessionProof, PublicKey};

use crate::CliResult;
use crate::system::SystemInfo;
use crate::up::inspect;

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Device id (32 hex digits), as listed by the local link.
    device: String,
    /// The data directory of a running `witness up` (its system.json names every endpoint).
    #[arg(long, default_value = ".witness")]
    data_dir: PathBuf,
    /// Wait up to this many seconds for the attesting notice's epoch to be claimed on L1.
    #[arg(long, default_value_t = 0)]
    wait_proof: u64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn random_nonce() -> Result<[u8; 32], String> {
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce).map_err(|e| e.to_string())?;
    Ok(nonce)
}

fn hex32(value: &Value) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(value.as_str()?.trim_start_matches("0x"), &mut out).ok()?;
    Some(out)
}

async fn post_json(http: &reqwest::Client, url: &str, body: &Value) -> Result<Value, String> {
    let response = http
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let value: Value = response.json().await.map_err(|e| format!("{url}: {e}"))?;
    if status.is_success() {
        Ok(value)
    } else {
        Err(format!("{url}: {status} {value}"))
    }
}

pub(crate) async fn run(args: VerifyArgs) -> CliResult {
    let system = SystemInfo::load(&args.data_dir)?;
    let result = verify(&system, &args.device, Duration::from_secs(args.wait_proof)).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print_human(&result);
    }
    match result["verdict"].as_str() {
        Some("consistent") => Ok(()),
        other => Err(format!("verdict: {}", other.unwrap_or("none")).into()),
    }
}

/// The whole check; the answer carries every finding.
pub(crate) async fn verify(
    system: &SystemInfo,
    device: &str,
    wait_proof: Duration,
) -> Result<Value, String> {
    let http = reqwest::Client::new();
    let backend_key = BackendPublicKey::from_bytes(
        &hex32(&json!(system.backend_public_key)).ok_or("system.json: bad backend key")?,
    )
    .map_err(|e| e.to_string())?;

    // 1. The device, read now over its local link, answering our fresh nonce.
    let nonce = random_nonce()?;
    let link = format!("{}/devices/{device}", system.local_link_url);
    let answer = post_json(
        &http,
        &format!("{link}/proof"),
        &json!({"nonce": hex::encode(nonce)}),
    )
    .await?;
    let proof_hex = answer["proof"]
        .as_str()
        .ok_or("the device sent no proof")?
        .to_owned();
    let proof = PossessionProof::decode(&hex::decode(&proof_hex).map_err(|e| e.to_string())?)
        .map_err(|e| format!("the device's proof does not decode: {e}"))?;
    if proof.nonce != nonce {
        return Err("the device answered another nonce: a replayed answer".into());
    }

    // 2. Its signature, against the key the rollup has registered (not the gateway's word).
    let status = inspect(
        &http,
        &system.node_inspect_url,
        &json!({"type": "device", "device_id": proof.device_id.to_hex()}),
    )
    .await?;
    let signature_ok =
        match hex32(&status["public_key"]).and_then(|k| PublicKey::from_bytes(&k).ok()) {
            Some(key) => proof.verify(&key, &backend_key).is_ok(),
            None => false,
        };

    // 3. The rollup's verdict.
    let verdict = inspect(
        &http,
        &system.node_inspect_url,
        &json!({"type": "verify", "proof": proof_hex}),
    )
    .await?;

    // 4. The device's own log opens the attested commitment to the attested value.
    let attested = &verdict["last_attested"];
    let opening = match (attested["counter"].as_u64(), hex32(&attested["commitment"])) {
        (Some(counter), Some(commitment)) => {
            check_opening(&http, &link, counter, &Commitment(commitment)).await
        }
        _ => json!({"checked": false, "why": "no attested reading"}),
    };

    // 5. The attesting notice, proven on L1.
    let l1 = match attested["notice_index"].as_u64() {
        Some(index) => {
            prove_notice(
                &http,
                system,
                index,
                &proof.device_id.0,
                attested,
                wait_proof,
            )
            .await
        }
        None => json!({"proven": false, "why": "no attesting notice"}),
    };

    Ok(json!({
        "device_id": proof.device_id.to_hex(),
        "verdict": verdict["verdict"],
        "reasons": verdict["reasons"],
        "device_signature_valid": signature_ok,
        "device_reading": verdict["device_reading"],
        "last_attested": verdict["last_attested"],
        "highest_attested": verdict["highest_attested"],
        "tamper_events": verdict["tamper_events"],
        "opening": opening,
        "proof_on_l1": l1,
    }))
}

async fn check_opening(
    http: &reqwest::Client,
    link: &str,
    counter: u64,
    commitment: &Commitment,
) -> Value {
    let url = format!("{link}/history/{counter}");
    let answer = match http.get(&url).send().await {
        Ok(response) => response.json::<Value>().await.unwrap_or(Value::Null),
        Err(e) => return json!({"checked": false, "why": e.to_string()}),
    };
    let opened = answer["opening"]
        .as_str()
        .and_then(|h| hex::decode(h).ok())
        .and_then(|bytes| Opening::decode(&bytes).ok());
    match opened {
        Some(opening) => json!({
            "checked": true,
            "matches": opening.verify(commitment).is_ok(),
            "odometer_m": opening.reading.odometer_m,
        }),
        None => {
            json!({"checked": false, "why": format!("the device did not open counter {counter}")})
        }
    }
}

/// Fetches the notice with its proof from the node and checks it with the view
/// `Application.validateOutput` on the chain; also checks the notice names this reading.
async fn prove_notice(
    http: &reqwest::Client,
    system: &SystemInfo,
    index: u64,
    device_id: &[u8; 16],
    attested: &Value,
    wait: Duration,
) -> Value {
    let deadline = Instant::now() + wait;
    loop {
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": "cartesi_getOutput",
            "params": {"application": system.application, "output_index": format!("{index:#x}")}});
        let output = match post_json(http, &system.node_rpc_url, &request).await {
            Ok(answer) => answer["result"]["data"].clone(),
            Err(e) => return json!({"proven": false, "why": e}),
        };
        let siblings: Option<Vec<B256>> = output["output_hashes_siblings"]
            .as_array()
            .map(|list| list.iter().filter_map(hex32).map(B256::from).collect());
        match siblings {
            Some(siblings) if siblings.len() == 63 => {
                let raw = output["raw_data"]
                    .as_str()
                    .and_then(|h| hex::decode(h.trim_start_matches("0x")).ok())
                    .unwrap_or_default();
                let names_reading = notice_names(&raw, device_id, attested);
                let app: Address = match system.application.parse() {
                    Ok(app) => app,
                    Err(_) => return json!({"proven": false, "why": "bad application address"}),
                };
                return match witness_chain::validate_output(
                    &system.chain_rpc_url,
                    app,
                    Bytes::from(raw),
                    index,
                    siblings,
                )
                .await
                {
                    Ok(valid) => {
                        json!({"proven": valid && names_reading, "validate_output": valid, "notice_names_reading": names_reading, "output_index": index})
                    }
                    Err(e) => json!({"proven": false, "why": e.to_string()}),
                };
            }
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(500)).await,
            _ => {
                return json!({"proven": false, "why": "the notice's epoch is not claimed on L1 yet", "output_index": index});
            }
        }
    }
}

/// Whether the ABI-encoded `Notice(bytes)` output is an attestation listing this device's
/// counter and commitment.
fn notice_names(raw: &[u8], device_id: &[u8; 16], attested: &Value) -> bool {
    let (Some(counter), Some(commitment)) =
        (attested["counter"].as_u64(), hex32(&attested["commitment"]))
    else {
        return false;
    };
    let mut entry = device_id.to_vec();
    entry.extend_from_slice(&counter.to_be_bytes());
    entry.extend_from_slice(&commitment);
    raw.windows(entry.len()).any(|w| w == entry.as_slice())
}

fn km(value: &Value) -> String {
    value
        .as_u64()
        .map_or_else(|| "?".into(), |m| format!("{:.1} km", m as f64 / 1000.0))
}

fn print_human(result: &Value) {
    println!(
        "device      {}",
        result["device_id"].as_str().unwrap_or("?")
    );
    println!(
        "verdict     {}",
        result["verdict"].as_str().unwrap_or("?").to_uppercase()
    );
    for reason in result["reasons"].as_array().into_iter().flatten() {
        println!("            {}", reason.as_str().unwrap_or(""));
    }
    println!(
        "signature   {}",
        if result["device_signature_valid"] == true {
            "valid (registered key)"
        } else {
            "INVALID"
        }
    );
    println!(
        "device now  {}",
        km(&result["device_reading"]["odometer_m"])
    );
    let attested = &result["last_attested"];
    if !attested.is_null() {
        println!(
            "attested    {} at counter {} (input {}, notice {})",
            km(&attested["reading"]["odometer_m"]),
            attested["counter"],
            attested["input_index"],
            attested["notice_index"]
        );
    }
    let opening = &result["opening"];
    println!(
        "opening     {}",
        if opening["matches"] == true {
            "the device's log opens the attested commitment".to_string()
        } else {
            format!("not checked: {}", opening["why"])
        }
    );
    let l1 = &result["proof_on_l1"];
    println!(
        "on L1       {}",
        if l1["proven"] == true {
            "proven on chain (Application.validateOutput)".to_string()
        } else {
            format!(
                "not proven: {}",
                l1["why"].as_str().unwrap_or("validateOutput failed")
            )
        }
    );
}
