//! The HTTP API: routes, shared state, OpenAPI document, operational endpoints.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, OnceCell};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;
use witness_chain::L1;
use witness_node_client::NodeClient;
use witness_protocol::api::{InspectAnswer, InspectQuery};
use witness_protocol::{BackendPublicKey, Domain};

use crate::auth::{LoginLimiter, Passwords};
use crate::config::GatewayConfig;
use crate::error::{ErrorBody, GatewayError, Result};
use crate::intake::{Committer, CounterSeeds, DeviceCache};
use crate::metrics::Metrics;
use crate::store::{Store, now_ms};

pub mod accounts;
pub mod devices;
pub mod history;
pub mod readings;

/// What every handler can reach.
#[derive(Debug)]
pub struct AppState {
    pub(crate) config: GatewayConfig,
    pub(crate) store: Store,
    pub(crate) committer: Committer,
    pub(crate) devices: Arc<DeviceCache>,
    /// Seeds the replay check of devices new to the gateway from the rollup.
    pub(crate) seeds: CounterSeeds,
    pub(crate) node: Option<NodeClient>,
    /// The chain client, signing as the gateway account (`None`: no deployment configured, or
    /// its RPC URL or key is invalid).
    pub(crate) chain: Option<L1>,
    pub(crate) backend_key: OnceCell<BackendPublicKey>,
    pub(crate) passwords: Passwords,
    pub(crate) limiter: LoginLimiter,
    pub(crate) metrics: Arc<Metrics>,
    /// Wakes the submitter when messages are acknowledged.
    pub(crate) wake_submitter: Arc<Notify>,
}

impl AppState {
    /// The node client, or 503.
    pub(crate) fn node(&self) -> Result<&NodeClient> {
        self.node.as_ref().ok_or_else(|| {
            GatewayError::Unavailable("this gateway is not connected to a rollups node".into())
        })
    }

    /// Asks the backend through the node (503 when the node fails).
    pub(crate) async fn ask(&self, query: &InspectQuery) -> Result<InspectAnswer> {
        Ok(self.node()?.inspect(query).await?.answer)
    }

    /// The registrars the rollup trusts now (hex keys), as the node's inspect `config` says;
    /// `None` without a node. A node that lies can only make the gateway relay a message the
    /// backend refuses, or refuse one it would take: the backend decides.
    pub(crate) async fn trusted_registrars(&self) -> Result<Option<Vec<String>>> {
        if self.node.is_none() {
            return Ok(None);
        }
        match self.ask(&InspectQuery::Config).await? {
            InspectAnswer::Config(config) => Ok(Some(config.registrars)),
            other => Err(unexpected(&other, "config")),
        }
    }

    /// The deployment signatures are checked for: the configured chain and application, and
    /// [`Self::backend_key`].
    pub(crate) async fn domain(&self) -> Result<Domain> {
        let app = self.config.app.ok_or_else(|| {
            GatewayError::Unavailable(
                "no deployment configured: the chain and application signatures are bound to \
                 are unknown"
                    .into(),
            )
        })?;
        Ok(app.domain(self.backend_key().await?))
    }

    /// The backend's public key: configured, or fetched once from the node's inspect
    /// `{"type":"config"}`.
    pub(crate) async fn backend_key(&self) -> Result<BackendPublicKey> {
        self.backend_key
            .get_or_try_init(|| async {
                if let Some(key) = &self.config.backend_public_key {
                    return Ok(key.clone());
                }
                let config = match self.ask(&InspectQuery::Config).await? {
                    InspectAnswer::Config(config) => config,
                    other => return Err(unexpected(&other, "config")),
                };
                crate::config::parse_backend_key(&config.backend_public_key)
                    .map_err(|e| GatewayError::Unavailable(e.to_string()))
            })
            .await
            .cloned()
    }
}

/// An answer of another kind than the query asked for: the backend's refusal (422 with its
/// code), or a node that answers something else (503).
pub(crate) fn unexpected(answer: &InspectAnswer, wanted: &str) -> GatewayError {
    match answer {
        InspectAnswer::Error(refused) => GatewayError::BackendRefused {
            code: refused.error.clone(),
            detail: refused.detail.clone(),
        },
        other => {
            let kind = serde_json::to_value(other)
                .ok()
                .and_then(|v| v["type"].as_str().map(str::to_owned))
                .unwrap_or_default();
            GatewayError::Unavailable(format!(
                "the rollup answered a {wanted} query with {kind:?}"
            ))
        }
    }
}

/// Bytes as hex in a JSON string (the document's `HexBytes`): an even number of hex digits,
/// at least two, with or without one `0x` prefix (the server also ignores surrounding
/// whitespace).
#[derive(Debug)]
pub struct HexBytes;

impl utoipa::PartialSchema for HexBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Bytes as hex: an even number of hex digits, with or without one 0x prefix",
            ))
            .pattern(Some(HEX_BYTES_PATTERN))
            .into()
    }
}

impl ToSchema for HexBytes {}

/// The pattern of [`HexBytes`].
const HEX_BYTES_PATTERN: &str = "^(0x)?([0-9a-fA-F]{2})+$";

/// Error answers that several operations give with the same words, each declared once: an
/// operation names them in its `responses(...)` beside its own statuses.
macro_rules! shared_errors {
    ($($(#[$doc:meta])* $name:ident: $status:literal, $description:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
                BTreeMap::from([($status.to_owned(), error_response($description))])
            }
        }
    )*};
}

shared_errors! {
    /// 401: no valid session.
    Unauthenticated: "401", "unauthenticated";
    /// 413 of a JSON body.
    PayloadTooLarge: "413", "payload_too_large";
    /// 415: a body that should be JSON is not.
    NotJson: "415", "unsupported_media_type: not application/json";
    /// 503 of a relayed query.
    NodeUnavailable: "503", "No node, or the node failed";
    /// 503 when a message cannot be verified yet.
    NoBackendKey: "503",
        "unavailable: no deployment is configured, or the backend key is not configured and the \
         node does not answer";
}

/// An answer with the error body, as `(status = .., body = ErrorBody, description = ..)`
/// declares it.
fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", body)
        .into()
}

/// A path parameter whose rejections (a percent-encoding that is not UTF-8) become
/// [`GatewayError`]s, answered with the error body like every other bad input.
#[derive(Debug)]
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = GatewayError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(GatewayError::InvalidRequest(rejection.body_text())),
        }
    }
}

/// A JSON body whose rejections become [`GatewayError`]s.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = GatewayError;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    GatewayError::PayloadTooLarge(rejection.body_text())
                }
                StatusCode::UNSUPPORTED_MEDIA_TYPE => GatewayError::UnsupportedMediaType {
                    got: content_type,
                    expected: "application/json",
                },
                _ => GatewayError::InvalidRequest(rejection.body_text()),
            }),
        }
    }
}

/// The OpenAPI document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "The Witness gateway",
        description = "Durable intake of sealed odometer readings, device registry and claims, \
                       submission to the rollup, and relayed queries. The gateway never sees a \
                       reading's value.",
        version = env!("CARGO_PKG_VERSION")
    ),
    paths(
        accounts::signup,
        accounts::login,
        accounts::logout,
        accounts::me,
        accounts::create_account,
        accounts::list_accounts,
        devices::registrar_messages,
        devices::list_devices,
        devices::device,
        devices::claim,
        devices::objection,
        devices::owner_proof,
        history::history_keys,
        history::notices,
        readings::intake,
        readings::receipt,
        readings::stats,
        readings::system,
        healthz,
        client_config,
        metrics,
    ),
    components(schemas(ErrorBody, HexBytes)),
    modifiers(&SecurityAddon),
    tags(
        (name = "accounts", description = "Sign up, sign in, roles"),
        (name = "devices", description = "Registry, claims, history notices and keys"),
        (name = "readings", description = "Intake and receipts"),
        (name = "public", description = "Public statistics and operations"),
    )
)]
pub struct ApiDoc;

#[derive(Debug)]
struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            utoipa::openapi::security::SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer <token>` with the `token` of POST /v1/auth/login \
                         or /v1/auth/signup",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            utoipa::openapi::security::SecurityScheme::ApiKey(ApiKey::Cookie(
                ApiKeyValue::with_description(
                    crate::auth::SESSION_COOKIE,
                    "The session cookie POST /v1/auth/login and /v1/auth/signup set (HttpOnly, \
                     SameSite=Strict); it carries the same token",
                ),
            )),
        );
    }
}

/// Where the dashboard finds the node, the chain and the devices' local link, and the
/// backend's public key.
#[utoipa::path(get, path = "/v1/config", tag = "public",
    responses((status = 200, description = "endpoints of the other parts", body = crate::config::ClientConfig)))]
async fn client_config(State(state): State<Arc<AppState>>) -> Json<crate::config::ClientConfig> {
    let mut config = state.config.client.clone();
    config.backend_public_key = state
        .backend_key()
        .await
        .ok()
        .map(|k| hex::encode(k.to_bytes()));
    Json(config)
}

/// Liveness: the database answers.
#[utoipa::path(get, path = "/healthz", tag = "public",
    responses(
        (status = 200, description = "ok", body = String, content_type = "text/plain",
         example = "ok"),
        (status = 503, body = ErrorBody, description = "unavailable: the database does not answer"),
    ))]
async fn healthz(State(state): State<Arc<AppState>>) -> Result<&'static str> {
    state
        .store
        .queue_stats()
        .await
        .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
    Ok("ok")
}

/// Prometheus metrics: intake rate, queue depth, submission lag, gas spent.
#[utoipa::path(get, path = "/metrics", tag = "public",
    responses((status = 200, description = "OpenMetrics text format", content_type = "application/openmetrics-text")))]
async fn metrics(State(state): State<Arc<AppState>>) -> Result<Response> {
    let queue = state.store.queue_stats().await?;
    let text = state.metrics.render(&queue, now_ms());
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

async fn api_not_found() -> GatewayError {
    GatewayError::NotFound("no such endpoint".into())
}

/// The full router.
pub fn router(state: Arc<AppState>) -> Router {
    let v1 = Router::new()
        .route("/v1/auth/signup", post(accounts::signup))
        .route("/v1/auth/login", post(accounts::login))
        .route("/v1/auth/logout", post(accounts::logout))
        .route("/v1/auth/me", get(accounts::me))
        .route(
            "/v1/admin/accounts",
            post(accounts::create_account).get(accounts::list_accounts),
        )
        .route("/v1/registrar/messages", post(devices::registrar_messages))
        .route("/v1/devices", get(devices::list_devices))
        .route("/v1/devices/{id}", get(devices::device))
        .route("/v1/devices/{id}/claim", post(devices::claim))
        .route("/v1/devices/{id}/objection", post(devices::objection))
        .route("/v1/devices/{id}/owner-proof", post(devices::owner_proof))
        .route("/v1/devices/{id}/history-keys", post(history::history_keys))
        .route("/v1/devices/{id}/notices", get(history::notices))
        .route("/v1/readings", post(readings::intake))
        .route("/v1/receipts/{hash}", get(readings::receipt))
        .route("/v1/stats", get(readings::stats))
        .route("/v1/config", get(client_config))
        .route("/v1/system", get(readings::system))
        .route("/v1/{*rest}", any(api_not_found))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }));
    let docs: Router<Arc<AppState>> = SwaggerUi::new("/docs")
        .url("/docs/openapi.json", ApiDoc::openapi())
        .into();
    let mut app = v1.merge(docs).layer(axum::extract::DefaultBodyLimit::max(
        state.config.max_body_bytes,
    ));
    app = match state.config.web_dir.clone().filter(|d| d.is_dir()) {
        Some(dir) => app.fallback_service(static_files(dir)),
        None => app.fallback(api_not_found),
    };
    app.with_state(state)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

fn static_files(dir: PathBuf) -> ServeDir<ServeFile> {
    // Unknown paths fall back to index.html (single-page app routing).
    ServeDir::new(&dir).fallback(ServeFile::new(dir.join("index.html")))
}
