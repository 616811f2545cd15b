//! Device registry (registrar messages), claims and device status.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;
use witness_protocol::api::{DeviceAnswer, InspectAnswer, InspectQuery};
use witness_protocol::codec::Reader;
use witness_protocol::{
    DeviceId, OwnerObjection, OwnerQuery, OwnershipStatement, RegistrarMessage, kind,
};

use super::{
    AppState, HexBytes, JsonBody, NoBackendKey, NodeUnavailable, NotJson, PathParam,
    PayloadTooLarge, Unauthenticated, unexpected,
};
use crate::auth::Auth;
use crate::error::{ErrorBody, GatewayError, Result};
use crate::intake::decode_hex;
use crate::store::{
    ClaimItem, DeviceRow, ObjectionItem, Receipt, RegistrarItem, Role, SubmissionCounts,
};

/// Most registrar messages per request.
const MAX_REGISTRAR_MESSAGES: usize = 1024;

/// Receipts of a device's latest envelopes in its detail.
const RECENT_RECEIPTS: i64 = 20;

/// Registrar-signed messages to relay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrarMessages {
    /// 1 to 1024 hex-encoded `RegistrarMessage`s (docs/PROTOCOL.md), each with or without a
    /// `0x` prefix. More than 1024 answer 413.
    #[schema(min_items = 1, max_items = 1024, value_type = Vec<HexBytes>)]
    pub messages: Vec<String>,
}

/// Receipts of queued messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipts {
    /// One per message, in request order.
    pub receipts: Vec<Receipt>,
}

/// An ownership statement signed by the device.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    /// Hex-encoded `OwnershipStatement` binding the claimer's owner key, for the device of the
    /// path.
    #[schema(value_type = HexBytes)]
    pub statement: String,
}

/// The receipt of a claim.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimResponse {
    /// The queued statement's receipt.
    pub receipt: Receipt,
}

/// The owner's objection to a pending ownership recovery.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionRequest {
    /// Hex-encoded `OwnerObjection` (docs/PROTOCOL.md 8.4.2) for the device of the path,
    /// signed by its owner.
    #[schema(value_type = HexBytes)]
    pub objection: String,
}

/// Proof that the caller holds the device's owner key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerProofRequest {
    /// Hex-encoded `OwnerQuery` (docs/PROTOCOL.md 8.6) for the device of the path, signed by
    /// the owner key and not expired.
    #[schema(value_type = HexBytes)]
    pub owner_query: String,
}

/// A device as the gateway knows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    /// 32 hex digits.
    pub device_id: String,
    /// Model id.
    pub model: u32,
    /// `active` or `revoked` (as relayed through this gateway).
    pub status: &'static str,
    /// The device's current Ed25519 key, hex.
    pub public_key: String,
    /// Owner key bound by the last claim relayed here, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_key: Option<String>,
    /// Whether the caller's account made the last claim.
    pub owned_by_you: bool,
    /// Registration time at this gateway (ms).
    pub registered_at: i64,
}

/// A device with its submission state and the rollup's public view.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceDetail {
    /// The gateway's record.
    pub device: DeviceView,
    /// Where its envelopes are on their way to the rollup.
    pub submission: SubmissionCounts,
    /// The receipts of its latest envelopes, newest first (at most 20): those `pending` or
    /// `submitted` are not on chain yet. `submission` counts all of them.
    #[schema(max_items = 20)]
    pub receipts: Vec<Receipt>,
    /// The rollup's current view of the device (inspect `{"type":"device"}`:
    /// `witness_protocol::api::DeviceAnswer`, `{device_id, exists, input_index, leaf}` with
    /// `leaf` a `LeafView` or null), if the node answered. Unproven: for display only.
    #[schema(value_type = Option<Object>)]
    pub rollup: Option<DeviceAnswer>,
    /// Why `rollup` is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollup_error: Option<String>,
}

fn view(device: &DeviceRow, account_id: i64) -> DeviceView {
    DeviceView {
        device_id: device.id.to_hex(),
        model: device.model,
        status: if device.active { "active" } else { "revoked" },
        public_key: hex::encode(device.public_key),
        owner_key: device.owner_key.map(hex::encode),
        owned_by_you: device.owner_account == Some(account_id),
        registered_at: device.created_at,
    }
}

pub(super) fn parse_device_id(text: &str) -> Result<DeviceId> {
    DeviceId::from_hex(text).map_err(|_| {
        GatewayError::InvalidRequest(format!("{text:?} is not a device id (32 hex digits)"))
    })
}

/// Whether `account` may see `device`: its owner, the registrar that registered it, admins.
fn may_see(account: &crate::store::Account, device: &DeviceRow) -> bool {
    match account.role {
        Role::Admin => true,
        Role::Registrar => {
            device.registered_by == Some(account.id) || device.owner_account == Some(account.id)
        }
        Role::Owner => device.owner_account == Some(account.id),
    }
}

pub(super) async fn visible_device(state: &AppState, auth: &Auth, id: &str) -> Result<DeviceRow> {
    let id = parse_device_id(id)?;
    let device = state
        .store
        .device(id)
        .await?
        .ok_or_else(|| GatewayError::NotFound(format!("device {id} is not registered here")))?;
    if !may_see(&auth.0, &device) {
        return Err(GatewayError::Forbidden(format!("device {id} is not yours")));
    }
    Ok(device)
}

/// Relays registrar-signed messages: verified against the backend key, recorded (register,
/// revoke, rotate) and queued for the rollup. All or nothing: the first bad message refuses
/// the request with its index.
#[utoipa::path(post, path = "/v1/registrar/messages", tag = "devices",
    request_body = RegistrarMessages, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 202, body = Receipts, description = "Stored durably and queued"),
        (status = 400, body = ErrorBody,
         description = "invalid_request (not JSON, a missing or unknown field, no messages, the \
                        same message twice), malformed (with index: not hex, does not decode)"),
        Unauthenticated,
        (status = 403, body = ErrorBody, description = "forbidden: not a registrar or an admin"),
        (status = 409, body = ErrorBody, description = "already_registered, stale_sequence (with index)"),
        (status = 413, body = ErrorBody,
         description = "payload_too_large: more than 1024 messages, or the body is too large"),
        NotJson,
        (status = 422, body = ErrorBody,
         description = "bad_signature (with index), untrusted_registrar (with index: the rollup's \
                        registrar set, as the node reports it, does not hold the signer)"),
        NoBackendKey,
    ))]
pub(super) async fn registrar_messages(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    JsonBody(request): JsonBody<RegistrarMessages>,
) -> Result<(StatusCode, Json<Receipts>)> {
    auth.require_registrar()?;
    if request.messages.is_empty() {
        return Err(GatewayError::InvalidRequest("no messages".into()));
    }
    if request.messages.len() > MAX_REGISTRAR_MESSAGES {
        return Err(GatewayError::PayloadTooLarge(format!(
            "at most {MAX_REGISTRAR_MESSAGES} messages per request"
        )));
    }
    let domain = state.domain().await?;
    let trusted = state.trusted_registrars().await?;
    let mut items = Vec::with_capacity(request.messages.len());
    for (index, text) in request.messages.iter().enumerate() {
        let bytes = decode_hex(text, index)?;
        let mut reader = Reader::new(&bytes);
        let message = RegistrarMessage::read(&mut reader)
            .and_then(|m| reader.finish().map(|()| m))
            .map_err(|e| GatewayError::Malformed {
                index,
                reason: e.code(),
            })?;
        message
            .verify(&domain)
            .map_err(|_| GatewayError::BadSignature {
                index,
                signer: "registrar",
            })?;
        let registrar = hex::encode(message.registrar.to_bytes());
        if trusted.as_ref().is_some_and(|t| !t.contains(&registrar)) {
            return Err(GatewayError::UntrustedRegistrar { index, registrar });
        }
        let mut body = vec![kind::REGISTRAR];
        body.extend_from_slice(&bytes);
        items.push(RegistrarItem {
            hash: Sha256::digest(&body).into(),
            message,
            body,
        });
    }
    let ids: Vec<DeviceId> = items
        .iter()
        .filter_map(|i| i.message.action.device_id())
        .collect();
    let receipts = state.store.commit_registrar(auth.0.id, items).await?;
    for id in &ids {
        state.devices.invalidate(id);
    }
    state.wake_submitter.notify_one();
    Ok((StatusCode::ACCEPTED, Json(Receipts { receipts })))
}

/// The caller's devices: owners see what they claimed, registrars what they registered
/// (and claimed), admins everything.
#[utoipa::path(get, path = "/v1/devices", tag = "devices",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = Vec<DeviceView>),
        Unauthenticated,
    ))]
pub(super) async fn list_devices(
    State(state): State<Arc<AppState>>,
    auth: Auth,
) -> Result<Json<Vec<DeviceView>>> {
    let account = &auth.0;
    let mut devices = match account.role {
        Role::Admin => state.store.devices(None, false).await?,
        Role::Owner => state.store.devices(Some(account.id), true).await?,
        Role::Registrar => {
            let mut registered = state.store.devices(Some(account.id), false).await?;
            for owned in state.store.devices(Some(account.id), true).await? {
                if !registered.iter().any(|d| d.id == owned.id) {
                    registered.push(owned);
                }
            }
            registered
        }
    };
    devices.sort_by_key(|d| (d.created_at, d.id));
    Ok(Json(devices.iter().map(|d| view(d, account.id)).collect()))
}

/// One device: the gateway's record, its envelopes' state and latest receipts, the rollup's view.
#[utoipa::path(get, path = "/v1/devices/{id}", tag = "devices",
    params(("id" = String, Path, pattern = "^(0x)?[0-9a-fA-F]{32}$",
        description = "Device id: 32 hex digits, with or without one `0x` prefix",
        example = "00112233445566778899aabbccddeeff")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = DeviceDetail),
        (status = 400, body = ErrorBody, description = "invalid_request: not a device id"),
        Unauthenticated,
        (status = 403, body = ErrorBody, description = "forbidden: not the caller's device"),
        (status = 404, body = ErrorBody, description = "not_found: not registered here"),
    ))]
pub(super) async fn device(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    PathParam(id): PathParam<String>,
) -> Result<Json<DeviceDetail>> {
    let device = visible_device(&state, &auth, &id).await?;
    let submission = state.store.submission_counts(device.id).await?;
    let receipts = state
        .store
        .recent_receipts(device.id, RECENT_RECEIPTS)
        .await?;
    let query = InspectQuery::Device {
        device_id: device.id.to_hex(),
    };
    let (rollup, rollup_error) = match state.ask(&query).await {
        Ok(InspectAnswer::Device(answer)) => (Some(answer), None),
        Ok(other) => (None, Some(unexpected(&other, "device").to_string())),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(Json(DeviceDetail {
        device: view(&device, auth.0.id),
        submission,
        receipts,
        rollup,
        rollup_error,
    }))
}

/// Claims a device with a statement the device signed binding the caller's owner key
/// (pairing or sale). The previous owner's access through this gateway ends.
#[utoipa::path(post, path = "/v1/devices/{id}/claim", tag = "devices",
    params(("id" = String, Path, pattern = "^(0x)?[0-9a-fA-F]{32}$",
        description = "Device id: 32 hex digits, with or without one `0x` prefix",
        example = "00112233445566778899aabbccddeeff")),
    request_body = ClaimRequest, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 202, body = ClaimResponse, description = "Recorded and queued"),
        (status = 400, body = ErrorBody,
         description = "invalid_request (not a device id, not JSON, a missing or unknown field, \
                        a statement for another device), malformed (not hex, does not decode)"),
        Unauthenticated,
        (status = 404, body = ErrorBody, description = "not_found: not registered here"),
        (status = 409, body = ErrorBody, description = "already_claimed, stale_sequence"),
        PayloadTooLarge,
        NotJson,
        (status = 422, body = ErrorBody, description = "bad_signature, device_revoked"),
        NoBackendKey,
    ))]
pub(super) async fn claim(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    PathParam(id): PathParam<String>,
    JsonBody(request): JsonBody<ClaimRequest>,
) -> Result<(StatusCode, Json<ClaimResponse>)> {
    let (bytes, statement) = message_for(
        &id,
        &request.statement,
        "statement",
        OwnershipStatement::read,
        |s| s.device_id,
    )?;
    let domain = state.domain().await?;
    let mut body = vec![kind::OWNERSHIP];
    body.extend_from_slice(&bytes);
    let item = ClaimItem {
        hash: Sha256::digest(&body).into(),
        statement,
        body,
        domain,
    };
    let receipt = state.store.commit_claim(auth.0.id, item).await?;
    state.wake_submitter.notify_one();
    Ok((StatusCode::ACCEPTED, Json(ClaimResponse { receipt })))
}

/// Relays the owner's objection to a pending ownership recovery (PROTOCOL.md 8.4.2). Any
/// account may relay it: the rollup decides on the owner's signature and on the recovery it
/// names; the gateway checks the signature and, when it knows the device's owner, that the
/// objection is the owner's, so it pays no gas for what the rollup would refuse.
#[utoipa::path(post, path = "/v1/devices/{id}/objection", tag = "devices",
    params(("id" = String, Path, pattern = "^(0x)?[0-9a-fA-F]{32}$",
        description = "Device id: 32 hex digits, with or without one `0x` prefix",
        example = "00112233445566778899aabbccddeeff")),
    request_body = ObjectionRequest, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 202, body = ClaimResponse, description = "Queued (again: the same receipt)"),
        (status = 400, body = ErrorBody,
         description = "invalid_request (not a device id, not JSON, a missing or unknown field, \
                        an objection for another device), malformed (not hex, does not decode)"),
        Unauthenticated,
        (status = 404, body = ErrorBody, description = "not_found: not registered here"),
        (status = 409, body = ErrorBody,
         description = "not_owner: the key is not the owner this gateway knows"),
        PayloadTooLarge,
        NotJson,
        (status = 422, body = ErrorBody, description = "bad_signature"),
        NoBackendKey,
    ))]
pub(super) async fn objection(
    State(state): State<Arc<AppState>>,
    _auth: Auth,
    PathParam(id): PathParam<String>,
    JsonBody(request): JsonBody<ObjectionRequest>,
) -> Result<(StatusCode, Json<ClaimResponse>)> {
    let (bytes, objection) = message_for(
        &id,
        &request.objection,
        "objection",
        OwnerObjection::read,
        |o| o.device_id,
    )?;
    by_owner(objection.verify(&state.domain().await?))?;
    let mut body = vec![kind::OBJECTION];
    body.extend_from_slice(&bytes);
    let item = ObjectionItem {
        hash: Sha256::digest(&body).into(),
        objection,
        body,
    };
    let receipt = state.store.commit_objection(item).await?;
    state.wake_submitter.notify_one();
    Ok((StatusCode::ACCEPTED, Json(ClaimResponse { receipt })))
}

/// The caller proves it holds the owner key the rollup bound (a recovery took effect,
/// PROTOCOL.md 8.4.2, so no ownership statement was relayed here): its account becomes the
/// device's owner at this gateway, for its history and a later sale. The gateway takes the
/// owner from its node's leaf: a node that lies can only let a key holder relay queries and
/// releases the rollup refuses.
#[utoipa::path(post, path = "/v1/devices/{id}/owner-proof", tag = "devices",
    params(("id" = String, Path, pattern = "^(0x)?[0-9a-fA-F]{32}$",
        description = "Device id: 32 hex digits, with or without one `0x` prefix",
        example = "00112233445566778899aabbccddeeff")),
    request_body = OwnerProofRequest, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = DeviceView, description = "The device, now the caller's here"),
        (status = 400, body = ErrorBody,
         description = "invalid_request (not a device id, not JSON, a missing or unknown field, \
                        a query for another device), malformed (not hex, does not decode)"),
        Unauthenticated,
        (status = 404, body = ErrorBody, description = "not_found: not registered here"),
        (status = 409, body = ErrorBody,
         description = "not_owner: the rollup's leaf names another owner; query_expired"),
        PayloadTooLarge,
        NotJson,
        (status = 422, body = ErrorBody, description = "bad_signature"),
        NodeUnavailable,
    ))]
pub(super) async fn owner_proof(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    PathParam(id): PathParam<String>,
    JsonBody(request): JsonBody<OwnerProofRequest>,
) -> Result<Json<DeviceView>> {
    let (_, query) = owner_query_for(&state, &id, &request.owner_query).await?;
    if crate::store::expired(query.expires_at, crate::store::now_ms()) {
        return Err(GatewayError::conflict(
            "query_expired",
            format!("the query expired at {}", query.expires_at),
        ));
    }
    let id = query.device_id;
    let mut device = state
        .store
        .device(id)
        .await?
        .ok_or_else(|| GatewayError::NotFound(format!("device {id} is not registered here")))?;
    let asked = InspectQuery::Device {
        device_id: id.to_hex(),
    };
    let owner = match state.ask(&asked).await? {
        InspectAnswer::Device(answer) => answer.leaf.and_then(|leaf| leaf.owner),
        other => return Err(unexpected(&other, "device")),
    };
    let key = query.owner.to_bytes();
    if owner.as_deref() != Some(hex::encode(key).as_str()) {
        return Err(GatewayError::conflict(
            "not_owner",
            "the rollup's leaf, as the node reports it, names another owner key",
        ));
    }
    state.store.adopt_owner(auth.0.id, id, key).await?;
    (device.owner_account, device.owner_key) = (Some(auth.0.id), Some(key));
    Ok(Json(view(&device, auth.0.id)))
}

/// An owner query (PROTOCOL.md 8.6) about the path's device whose signature verifies under
/// its owner key: its bytes and the query. Whether that key owns the device is the rollup's.
pub(super) async fn owner_query_for(
    state: &AppState,
    path_id: &str,
    hex: &str,
) -> Result<(Vec<u8>, OwnerQuery)> {
    let (bytes, query) = message_for(path_id, hex, "query", OwnerQuery::read, |q| q.device_id)?;
    by_owner(query.verify(&state.domain().await?))?;
    Ok((bytes, query))
}

/// The verdict on a signature of the message's owner key: one that does not verify is 422
/// `bad_signature`.
fn by_owner(verified: witness_protocol::Result<()>) -> Result<()> {
    verified.map_err(|_| GatewayError::BadSignature {
        index: 0,
        signer: "owner",
    })
}

/// Decodes one hex-encoded message (exactly one: nothing may follow) that must be about the
/// device of the path; answers its bytes and the message.
fn message_for<T>(
    path_id: &str,
    hex: &str,
    what: &str,
    read: impl FnOnce(&mut Reader<'_>) -> witness_protocol::Result<T>,
    device_of: impl FnOnce(&T) -> DeviceId,
) -> Result<(Vec<u8>, T)> {
    let id = parse_device_id(path_id)?;
    let bytes = decode_hex(hex, 0)?;
    let mut reader = Reader::new(&bytes);
    let message = read(&mut reader)
        .and_then(|m| reader.finish().map(|()| m))
        .map_err(|e| GatewayError::Malformed {
            index: 0,
            reason: e.code(),
        })?;
    let about = device_of(&message);
    if about != id {
        return Err(GatewayError::InvalidRequest(format!(
            "the {what} is for device {about}, not {id}"
        )));
    }
    Ok((bytes, message))
}
