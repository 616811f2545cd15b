//! A device's history: its history notices (public outputs whose values are sealed, docs/
//! PROTOCOL.md 16.4) read from the node, and the owner's history-key query relayed to the
//! backend.
//!
//! The gateway is not trusted with either. It can neither open the notices nor the keys (both
//! are sealed: the values to per-era keys only the backend derives, the keys to the owner's
//! response key), and a client checks everything it is given itself: each notice's proof on
//! L1, and the chain of notices against the history accumulator of a leaf it has proven
//! (`device_proof` against a proven state notice, 17.2).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};
use witness_protocol::api::{InspectAnswer, InspectQuery, LeafView};
use witness_protocol::notice::HistoryNotice;

use super::devices::{parse_device_id, visible_device};
use super::{
    AppState, HexBytes, JsonBody, NodeUnavailable, NotJson, PathParam, PayloadTooLarge, unexpected,
};
use crate::auth::Auth;
use crate::error::{ErrorBody, GatewayError, Result};

/// Notices per page unless `limit` says otherwise.
pub const DEFAULT_NOTICES: usize = 50;
/// Most notices per page.
pub const MAX_NOTICES: usize = 200;

/// An owner-signed history-key query to relay to the backend.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryKeysRequest {
    /// Hex-encoded `OwnerQuery` (docs/PROTOCOL.md 8.6) for this device; the keys are sealed to
    /// its response key.
    #[schema(value_type = HexBytes)]
    pub owner_query: String,
}

/// The backend's answer to a history-key query, exactly as the backend gave it
/// (`witness_protocol::api::InspectAnswer`): `{"type":"history_keys","device_id","era",
/// "sealed"}` or `{"type":"error","error","detail"}`.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct HistoryKeysAnswer(pub InspectAnswer);

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

fn tag(value: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([value]))
}

impl utoipa::PartialSchema for HistoryKeysAnswer {
    fn schema() -> RefOr<Schema> {
        let keys = ObjectBuilder::new()
            .description(Some(
                "The keys, sealed (PROTOCOL.md 8.7) to the owner query's response key (AAD: the \
                 query's signature); they open to {device_id, odometer: [{era, key}], detail: \
                 [{era, key}]}",
            ))
            .property("type", tag("history_keys"))
            .property("device_id", string("Device id, 32 hex digits"))
            .property(
                "era",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .description(Some("The device's current ownership era")),
            )
            .property("sealed", string("The sealed keys, hex"))
            .required("type")
            .required("device_id")
            .required("era")
            .required("sealed");
        let refused = ObjectBuilder::new()
            .description(Some(
                "The backend refused the query (e.g. not_owner, expired_owner_query)",
            ))
            .property("type", tag("error"))
            .property("error", string("The backend's stable code"))
            .property("detail", string("Explanation"))
            .required("type")
            .required("error")
            .required("detail");
        Schema::OneOf(OneOfBuilder::new().item(keys).item(refused).build()).into()
    }
}

impl ToSchema for HistoryKeysAnswer {}

/// Relays the owner's history-key query (`{"type":"history_keys","owner_query":…}`, docs/
/// PROTOCOL.md 16.7) and returns the backend's answer unchanged, also when the backend refuses
/// (`type: error`, still 200: the relay worked). Only the account that claimed the device
/// through this gateway may relay; the gateway checks the query's device and signature first.
/// The answer is sealed to the query's response key: the gateway cannot open it.
#[utoipa::path(post, path = "/v1/devices/{id}/history-keys", tag = "devices",
    params(("id" = String, Path, pattern = "^(0x)?[0-9a-fA-F]{32}$",
        description = "Device id: 32 hex digits, with or without one `0x` prefix",
        example = "00112233445566778899aabbccddeeff")),
    request_body = HistoryKeysRequest, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = HistoryKeysAnswer,
         description = "The backend's answer, unchanged: history_keys, or error with its code"),
        (status = 400, body = ErrorBody,
         description = "invalid_request (bad device id, not JSON, a missing or unknown field, a \
                        query for another device), malformed (not hex, does not decode)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "The caller is not the device's owner here"),
        (status = 404, body = ErrorBody, description = "The device is not registered here"),
        PayloadTooLarge,
        NotJson,
        (status = 422, body = ErrorBody,
         description = "bad_signature: the query does not verify under its owner key"),
        NodeUnavailable,
    ))]
pub(super) async fn history_keys(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    PathParam(id): PathParam<String>,
    JsonBody(request): JsonBody<HistoryKeysRequest>,
) -> Result<Json<HistoryKeysAnswer>> {
    let device = visible_device(&state, &auth, &id).await?;
    if device.owner_account != Some(auth.0.id) {
        return Err(GatewayError::Forbidden(format!(
            "only the owner of device {} may relay its history-key queries",
            device.id
        )));
    }
    let (bytes, _) = super::devices::owner_query_for(&state, &id, &request.owner_query).await?;
    let inspect = InspectQuery::HistoryKeys {
        owner_query: Some(hex::encode(&bytes)),
        proof: None,
        response_key: None,
    };
    match state.ask(&inspect).await? {
        answer @ (InspectAnswer::HistoryKeys(_) | InspectAnswer::Error(_)) => {
            Ok(Json(HistoryKeysAnswer(answer)))
        }
        other => Err(unexpected(&other, "history_keys")),
    }
}

/// Paging of `GET /v1/devices/{id}/notices`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NoticesParams {
    /// The input to start at, inclusive: the previous page's `next_before` (default: the
    /// input of the device's latest notice, `leaf.history.last_input`).
    pub before: Option<u64>,
    /// Most notices in the page (1 to 200, default 50). The notices of one input are never
    /// split, so a page whose first input holds more than `limit` notices holds them all.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

/// One history notice of the device, as a Notice output of the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NoticeOutput {
    /// The input that emitted it.
    pub input_index: u64,
    /// Its global output index: prove it with `cartesi_getOutput` and
    /// `Application.validateOutput`.
    pub output_index: u64,
    /// The notice's payload (the `bytes` of `Notice(bytes)`), hex: a history notice
    /// (docs/PROTOCOL.md 16.4) whose reading values are sealed.
    pub payload: String,
}

/// A page of a device's history notices, newest first, as the gateway read them from its node.
///
/// Not to be trusted: the gateway and its node may omit, reorder or invent notices. A client
/// proves each notice on L1 and refolds the whole walk (to the notice with `position` 0)
/// against the history accumulator (`count`, `root`) of a leaf it has proven itself
/// (`device_proof` against a proven state notice, docs/PROTOCOL.md 16.4 and 17.2); `leaf`
/// here is the node's unproven word, for display and for knowing where to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceNotices {
    /// Device id, 32 hex digits.
    pub device_id: String,
    /// The device's current leaf as the node reports it (`witness_protocol::api::LeafView`),
    /// null when the rollup does not know the device yet. Unproven.
    #[schema(value_type = Option<Object>)]
    pub leaf: Option<LeafView>,
    /// Newest first; two notices of one input (an ownership change splits a device's entries)
    /// come newest first too.
    pub notices: Vec<NoticeOutput>,
    /// `before` for the next (older) page; null after the device's first notice.
    pub next_before: Option<u64>,
}

/// A device's history notices, newest first, walked from its leaf's latest notice through each
/// notice's `previous_input`. Public: the notices are public outputs and their values are
/// sealed. The client verifies everything itself (see `DeviceNotices`): the gateway is not
/// trusted.
#[utoipa::path(get, path = "/v1/devices/{id}/notices", tag = "public",
    params(("id" = String, Path, pattern = "^(0x)?[0-9a-fA-F]{32}$",
        description = "Device id: 32 hex digits, with or without one `0x` prefix",
        example = "00112233445566778899aabbccddeeff"), NoticesParams),
    responses(
        (status = 200, body = DeviceNotices,
         description = "A page, newest first; `next_before` continues it"),
        (status = 400, body = ErrorBody,
         description = "invalid_request: bad device id, before or limit, or an unknown query \
                        parameter"),
        (status = 404, body = ErrorBody,
         description = "Neither the rollup nor this gateway knows the device"),
        (status = 422, body = ErrorBody, description = "The backend refused the device query"),
        NodeUnavailable,
    ))]
pub(super) async fn notices(
    State(state): State<Arc<AppState>>,
    PathParam(id): PathParam<String>,
    params: std::result::Result<Query<NoticesParams>, QueryRejection>,
) -> Result<Json<DeviceNotices>> {
    let Query(params) = params.map_err(|e| GatewayError::InvalidRequest(e.body_text()))?;
    let limit = params.limit.unwrap_or(DEFAULT_NOTICES);
    if !(1..=MAX_NOTICES).contains(&limit) {
        return Err(GatewayError::InvalidRequest(format!(
            "limit must be within 1..={MAX_NOTICES}"
        )));
    }
    let id = parse_device_id(&id)?;
    let node = state.node()?;
    let query = InspectQuery::Device {
        device_id: id.to_hex(),
    };
    let leaf = match state.ask(&query).await? {
        InspectAnswer::Device(answer) => answer.leaf,
        other => return Err(unexpected(&other, "device")),
    };
    if leaf.is_none() && state.store.device(id).await?.is_none() {
        return Err(GatewayError::NotFound(format!(
            "device {id} is known neither to the rollup nor to this gateway"
        )));
    }
    let mut next = params
        .before
        .or_else(|| leaf.as_ref().and_then(|l| l.history.last_input));
    let mut notices = Vec::new();
    while let Some(input) = next {
        let mut mine = Vec::new();
        for output in node.outputs_of_input(input).await? {
            let Some(payload) = output.notice_payload() else {
                continue;
            };
            if let Ok(notice) = HistoryNotice::decode(&payload)
                && notice.device_id == id
            {
                mine.push((output.index, notice.previous_input, payload));
            }
        }
        // No notice of the device where one should be: the walk ends (the client sees the
        // gap against the accumulator).
        let Some(&(_, previous, _)) = mine.first() else {
            next = None;
            break;
        };
        if !notices.is_empty() && notices.len() + mine.len() > limit {
            break; // this input starts the next page
        }
        notices.extend(
            mine.into_iter()
                .rev()
                .map(|(output_index, _, payload)| NoticeOutput {
                    input_index: input,
                    output_index,
                    payload: hex::encode(payload),
                }),
        );
        // The input's first notice points to the device's previous input; a pointer that
        // does not go back would loop.
        next = previous.filter(|p| *p < input);
        if notices.len() >= limit {
            break;
        }
    }
    Ok(Json(DeviceNotices {
        device_id: id.to_hex(),
        leaf,
        notices,
        next_before: next,
    }))
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema as _;

    use super::*;

    #[test]
    fn the_relayed_answer_is_the_backends_json() {
        let answer = InspectAnswer::Error(witness_protocol::api::ErrorAnswer {
            error: "not_owner".into(),
            detail: "x".into(),
        });
        assert_eq!(
            serde_json::to_value(HistoryKeysAnswer(answer.clone())).ok(),
            serde_json::to_value(answer).ok()
        );
        let schema = serde_json::to_value(HistoryKeysAnswer::schema()).unwrap_or_default();
        assert_eq!(
            schema["oneOf"].as_array().map(Vec::len),
            Some(2),
            "{schema}"
        );
    }
}
