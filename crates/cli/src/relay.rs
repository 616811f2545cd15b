//! Talking to the services of a system on behalf of a person: the gateway (sign-in, posts)
//! and the node (a device's leaf, where its word is enough because the rollup decides).

use serde_json::{Value, json};
use witness_node_client::{NodeClient, NodeEndpoints};
use witness_protocol::DeviceId;
use witness_protocol::api::{InspectAnswer, InspectQuery, LeafView};

use crate::system::SystemInfo;

/// A device id given on the command line.
pub(crate) fn device_id(text: &str) -> Result<DeviceId, String> {
    DeviceId::from_hex(text).map_err(|_| format!("{text:?} is not a device id (32 hex digits)"))
}

/// The device's leaf as the node reports it (unchecked: for what the caller is about to sign
/// or send, where a lie makes the rollup refuse, never for a verdict).
pub(crate) async fn leaf_of(system: &SystemInfo, device: &DeviceId) -> Result<LeafView, String> {
    let node = NodeClient::new(NodeEndpoints::new(
        &system.node_inspect_url,
        &system.node_rpc_url,
        &system.application,
    ));
    let answer = node
        .inspect(&InspectQuery::Device {
            device_id: device.to_hex(),
        })
        .await
        .map_err(|e| format!("the node did not answer about {device}: {e}"))?;
    match answer.answer {
        InspectAnswer::Device(d) => d
            .leaf
            .ok_or_else(|| format!("{device} is not registered on the rollup")),
        other => Err(format!("the node answered {other:?}")),
    }
}

/// Signs in to the gateway; answers the bearer token.
pub(crate) async fn login(gateway: &str, user: &str, password: &str) -> Result<String, String> {
    let answer = call(
        reqwest::Client::new()
            .post(format!("{gateway}/v1/auth/login"))
            .json(&json!({"username": user, "password": password})),
    )
    .await
    .map_err(|e| format!("login as {user} failed: {e}"))?;
    answer["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("login as {user}: no token in {answer}"))
}

/// Sends a request; a refusal becomes an error carrying the service's status and answer.
pub(crate) async fn call(request: reqwest::RequestBuilder) -> Result<Value, String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(answer)
    } else {
        Err(format!("{status}: {answer}"))
    }
}
