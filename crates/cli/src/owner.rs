//! `witness owner …`: an owner's acts (PROTOCOL.md 8.4): pair with a car (the first owner,
//! or a buyer with the seller's transfer code), sell it (sign a release: the transfer code),
//! object to a registrar's recovery of it, or, once a recovery to one's key took effect, prove
//! the key to the gateway. The owner key is a file holding the Ed25519 seed
//! in hex (mode 0600), made by `witness owner keys`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use witness_protocol::api::LeafView;
use witness_protocol::codec::Writer;
use witness_protocol::{
    BackendSecretKey, DeviceId, OwnerObjection, OwnerQuery, Release, SigningKey, TransferCode,
};

use crate::CliResult;
use crate::keys::write_private;
use crate::relay::{Account, call, device_id, leaf_of, login};
use crate::system::SystemInfo;

#[derive(Debug, Args)]
pub(crate) struct OwnerArgs {
    #[command(flatten)]
    account: Account,
    /// Create the gateway account first.
    #[arg(long, global = true)]
    signup: bool,
    #[command(subcommand)]
    command: OwnerCommand,
}

#[derive(Debug, Subcommand)]
enum OwnerCommand {
    /// Make an owner key: a new file with the seed (mode 0600); prints the public key.
    Keys {
        #[arg(long)]
        key: PathBuf,
    },
    /// Pair with the car over its local link and claim it through the gateway. The car signs
    /// only within two minutes of a press of its pairing button (behind the dashboard, or
    /// the ignition cycle the manual gives); a car with an owner also needs that owner's
    /// transfer code.
    Pair {
        #[arg(long)]
        device: String,
        #[arg(long)]
        key: PathBuf,
        /// The seller's transfer code (`witness owner sell`), for a car with an owner.
        #[arg(long)]
        transfer_code: Option<String>,
        /// Simulated fleet only: press the car's pairing button over its local link.
        #[arg(long)]
        press_button: bool,
    },
    /// Release the car to whoever the buyer is: prints a one-time transfer code. Whoever
    /// holds it and the car can take the car over until it expires: give it at the handover.
    Sell {
        #[arg(long)]
        device: String,
        #[arg(long)]
        key: PathBuf,
        /// How long the code stays valid, in hours.
        #[arg(long, default_value_t = 72)]
        valid_hours: u32,
    },
    /// After a registrar's recovery to this key took effect: the gateway account becomes the
    /// car's owner there (for its history and a later sale), on a signed proof of the key.
    Prove {
        #[arg(long)]
        device: String,
        #[arg(long)]
        key: PathBuf,
    },
    /// Object to the registrar's recovery pending on the car: it does not take effect.
    Object {
        #[arg(long)]
        device: String,
        #[arg(long)]
        key: PathBuf,
    },
}

/// Reads an owner key file.
fn load_key(path: &Path) -> Result<SigningKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed)
        .map_err(|_| format!("{}: not an owner key (32 bytes of hex)", path.display()))?;
    Ok(SigningKey::from_seed(&seed))
}

/// `witness owner keys`: a new owner key file; prints its public key.
fn make_key(path: &Path) -> CliResult {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no randomness from the OS: {e}"))?;
    write_private(path, hex::encode(seed).as_bytes())?;
    println!(
        "{}",
        hex::encode(SigningKey::from_seed(&seed).public_key().to_bytes())
    );
    Ok(())
}

pub(crate) async fn run(args: OwnerArgs) -> CliResult {
    let account = &args.account;
    // Every act but making a key is for the deployment of the data directory.
    let deployment = || -> Result<_, String> {
        let system = SystemInfo::load(&account.data_dir)?;
        let domain = system.domain()?;
        Ok((system, domain))
    };
    let answer = match &args.command {
        OwnerCommand::Keys { key } => return make_key(key),
        OwnerCommand::Pair {
            device,
            key,
            transfer_code,
            press_button,
        } => {
            let (system, _) = deployment()?;
            let id = device_id(device)?;
            let owner = load_key(key)?;
            if let Some(code) = transfer_code {
                let code = TransferCode::from_text(code)
                    .map_err(|e| format!("--transfer-code: not a transfer code ({e})"))?;
                if code.device_id != id {
                    return Err(
                        format!("the transfer code is for {}, not {id}", code.device_id).into(),
                    );
                }
            }
            let statement =
                pair(&system, id, &owner, transfer_code.as_deref(), *press_button).await?;
            let token = account_token(account, args.signup, &system).await?;
            post(
                &format!("{}/v1/devices/{id}/claim", system.gateway_url),
                &token,
                json!({"statement": statement}),
            )
            .await?
        }
        OwnerCommand::Sell {
            device,
            key,
            valid_hours,
        } => {
            let (system, domain) = deployment()?;
            let id = device_id(device)?;
            let owner = load_key(key)?;
            let leaf = owned_leaf(&system, id, &owner).await?;
            let expires_at =
                u32::try_from(crate::up::unix_now().saturating_add(u64::from(*valid_hours) * 3600))
                    .map_err(
                        |_| "--valid-hours: the expiry does not fit the protocol's u32 seconds",
                    )?;
            // The node's word on the binding's sequence is enough: a release of another
            // binding does not verify at the rollup, and the owner signs nothing else.
            let release = Release::sign(
                &owner,
                &domain,
                id,
                leaf.ownership_sequence.unwrap_or(0),
                expires_at,
            );
            let code = TransferCode {
                device_id: id,
                release,
            };
            println!("{}", code.to_text());
            eprintln!(
                "valid once, until {expires_at} (Unix time): whoever holds this code and the car \
                 can take it over; hand it over with the car"
            );
            return Ok(());
        }
        OwnerCommand::Prove { device, key } => {
            let (system, domain) = deployment()?;
            let id = device_id(device)?;
            let owner = load_key(key)?;
            // Signed for a throw-away response key: the gateway asks nothing with it.
            let mut response = [0u8; 32];
            getrandom::fill(&mut response)
                .map_err(|e| format!("no randomness from the OS: {e}"))?;
            let response = BackendSecretKey::derive(&response).public_key().to_bytes();
            let expires_at = u32::try_from(crate::up::unix_now().saturating_add(300))
                .map_err(|_| "the clock is past the protocol's u32 seconds")?;
            let query = OwnerQuery::sign(&owner, &domain, id, response, expires_at);
            let token = account_token(account, args.signup, &system).await?;
            post(
                &format!("{}/v1/devices/{id}/owner-proof", system.gateway_url),
                &token,
                json!({"owner_query": hex::encode(query.encode())}),
            )
            .await?
        }
        OwnerCommand::Object { device, key } => {
            let (system, domain) = deployment()?;
            let id = device_id(device)?;
            let owner = load_key(key)?;
            let leaf = owned_leaf(&system, id, &owner).await?;
            let pending = leaf
                .pending_recovery
                .ok_or_else(|| format!("no recovery is pending on {id}"))?;
            let objection = OwnerObjection::sign(&owner, &domain, id, pending.effective_at);
            let mut w = Writer::with_capacity(120);
            objection.encode(&mut w);
            let token = account_token(account, args.signup, &system).await?;
            post(
                &format!("{}/v1/devices/{id}/objection", system.gateway_url),
                &token,
                json!({"objection": hex::encode(w.finish())}),
            )
            .await?
        }
    };
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}

/// The device's leaf, which must name `owner` as its owner.
async fn owned_leaf(
    system: &SystemInfo,
    id: DeviceId,
    owner: &SigningKey,
) -> Result<LeafView, String> {
    let leaf = leaf_of(system, &id).await?;
    let key = hex::encode(owner.public_key().to_bytes());
    if leaf.owner.as_deref() != Some(key.as_str()) {
        return Err(format!(
            "{id} is not yours on the rollup: its owner is {}",
            leaf.owner.as_deref().unwrap_or("nobody")
        ));
    }
    Ok(leaf)
}

/// Asks the car for an ownership statement binding `owner` (PROTOCOL.md 8.4); answers its hex.
async fn pair(
    system: &SystemInfo,
    id: DeviceId,
    owner: &SigningKey,
    transfer_code: Option<&str>,
    press_button: bool,
) -> Result<String, String> {
    let http = reqwest::Client::new();
    let link = &system.local_link_url;
    if press_button {
        call(
            http.post(format!("{link}/devices/{id}/button"))
                .json(&json!({})),
        )
        .await?;
    }
    let mut body = json!({"owner_public_key": hex::encode(owner.public_key().to_bytes())});
    if let Some(code) = transfer_code {
        body["transfer_code"] = json!(code);
    }
    let answer = call(http.post(format!("{link}/devices/{id}/pair")).json(&body))
        .await
        .map_err(|e| format!("the car did not pair: {e}"))?;
    answer["statement"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("the car answered no statement: {answer}"))
}

async fn account_token(
    account: &Account,
    signup: bool,
    system: &SystemInfo,
) -> Result<String, String> {
    let user = account.user.as_deref().unwrap_or(&system.demo_user);
    let password = account
        .password
        .clone()
        .unwrap_or_else(|| system.demo_password.clone());
    if signup {
        let http = reqwest::Client::new();
        call(
            http.post(format!("{}/v1/auth/signup", system.gateway_url))
                .json(&json!({"username": user, "password": password})),
        )
        .await
        .map_err(|e| format!("signup as {user}: {e}"))?;
    }
    login(&system.gateway_url, user, &password).await
}

async fn post(url: &str, token: &str, body: Value) -> Result<Value, String> {
    call(
        reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .json(&body),
    )
    .await
}
