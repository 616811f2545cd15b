//! `witness owner …`: an owner's acts (PROTOCOL.md 8.4): pair with a car (the first owner,
//! or a buyer with the seller's transfer code), sell it (sign a release: the transfer code),
//! object to a registrar's recovery of it, or, once a recovery to one's key took effect, prove
//! the key to the gateway. The owner key is a file holding the Ed25519 seed
//! in hex (mode 0600), made by `witness owner keys`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use witness_protocol::api::LeafView;
use witness_protocol::codec::Writer;
use witness_protocol::{
    BackendSecretKey, DeviceId, OwnerObjection, OwnerQuery, Release, SigningKey, TransferCode,
};

use crate::CliResult;
use crate::keys::{new_key_file, random_bytes, read_key_file};
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
        #[command(flatten)]
        car: Car,
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
        #[command(flatten)]
        car: Car,
        /// How long the code stays valid, in hours.
        #[arg(long, default_value_t = 72)]
        valid_hours: u32,
    },
    /// After a registrar's recovery to this key took effect: the gateway account becomes the
    /// car's owner there (for its history and a later sale), on a signed proof of the key.
    Prove {
        #[command(flatten)]
        car: Car,
    },
    /// Object to the registrar's recovery pending on the car: it does not take effect.
    Object {
        #[command(flatten)]
        car: Car,
    },
}

/// The car an act is about and the owner key that signs it.
#[derive(Debug, Args)]
struct Car {
    /// The car's unit (device id).
    #[arg(long)]
    device: String,
    /// The owner key file (`witness owner keys`).
    #[arg(long)]
    key: PathBuf,
}

pub(crate) async fn run(args: OwnerArgs) -> CliResult {
    let account = &args.account;
    // Every act but making a key is about a car of the data directory's deployment, signed by
    // its owner.
    let context = |car: &Car| -> Result<_, String> {
        let system = SystemInfo::load(&account.data_dir)?;
        let domain = system.domain()?;
        Ok((
            system,
            domain,
            device_id(&car.device)?,
            read_key_file(&car.key)?,
        ))
    };
    let answer = match &args.command {
        OwnerCommand::Keys { key } => {
            let key = new_key_file(key)?;
            println!("{}", hex::encode(key.public_key().to_bytes()));
            return Ok(());
        }
        OwnerCommand::Pair {
            car,
            transfer_code,
            press_button,
        } => {
            let (system, _, id, owner) = context(car)?;
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
        OwnerCommand::Sell { car, valid_hours } => {
            let (system, domain, id, owner) = context(car)?;
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
        OwnerCommand::Prove { car } => {
            let (system, domain, id, owner) = context(car)?;
            // Signed for a throw-away response key: the gateway asks nothing with it.
            let response = BackendSecretKey::derive(&random_bytes()?)
                .public_key()
                .to_bytes();
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
        OwnerCommand::Object { car } => {
            let (system, domain, id, owner) = context(car)?;
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
