//! Sign up, sign in, sign out; admin account management.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AppState, JsonBody};
use crate::auth::{Auth, ClientIp, SESSION_COOKIE, check_password, check_username, new_token};
use crate::error::{ErrorBody, GatewayError, Result};
use crate::store::{Account, Role, now_ms};

/// Username and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// 3 to 64 letters, digits or `._@-`.
    #[schema(example = "alice")]
    pub username: String,
    /// 8 to 256 characters.
    #[schema(example = "correct horse battery")]
    pub password: String,
}

/// An account as shown to clients.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    /// Account id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Creation time (ms since the Unix epoch).
    pub created_at: i64,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        Self {
            id: a.id,
            username: a.username,
            role: a.role,
            created_at: a.created_at,
        }
    }
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// The signed-in account.
    pub account: AccountView,
    /// Bearer token (also set as the `witness_session` cookie).
    pub token: String,
    /// Expiry (ms since the Unix epoch).
    pub expires_at: i64,
}

/// An account an admin creates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// Role.
    pub role: Role,
}

fn cookie(state: &AppState, token: &str, max_age_s: u64) -> Result<HeaderValue> {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_s}{secure}"
    ))
    .map_err(|e| GatewayError::Internal(format!("cookie: {e}")))
}

async fn open_session(state: &AppState, account: Account, status: StatusCode) -> Result<Response> {
    let (token, hash) = new_token()?;
    let ttl = state.config.session_ttl;
    let expires_at = now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    state
        .store
        .create_session(hash, account.id, expires_at)
        .await?;
    let set_cookie = cookie(state, &token, ttl.as_secs())?;
    let body = SessionView {
        account: account.into(),
        token,
        expires_at,
    };
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie);
    Ok(response)
}

/// Creates an owner account and signs it in.
#[utoipa::path(post, path = "/v1/auth/signup", tag = "accounts", request_body = Credentials,
    responses(
        (status = 201, body = SessionView, description = "Created and signed in"),
        (status = 400, body = ErrorBody), (status = 409, body = ErrorBody, description = "username_taken"),
    ))]
pub(super) async fn signup(
    State(state): State<Arc<AppState>>,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<Response> {
    check_username(&credentials.username)?;
    check_password(&credentials.password)?;
    let hash = state.passwords.hash(credentials.password).await?;
    let account = state
        .store
        .create_account(&credentials.username, &hash, Role::Owner)
        .await?;
    open_session(&state, account, StatusCode::CREATED).await
}

/// Signs in. Five failures per minute for one username from one address answer 429.
#[utoipa::path(post, path = "/v1/auth/login", tag = "accounts", request_body = Credentials,
    responses(
        (status = 200, body = SessionView),
        (status = 401, body = ErrorBody, description = "invalid_credentials"),
        (status = 429, body = ErrorBody, description = "rate_limited"),
    ))]
pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<Response> {
    state.limiter.check(&credentials.username, ip)?;
    let found = state
        .store
        .account_by_username(&credentials.username)
        .await?;
    let (account, stored) = match found {
        Some((account, hash)) => (Some(account), Some(hash)),
        None => (None, None),
    };
    let ok = state.passwords.verify(credentials.password, stored).await?;
    match account.filter(|_| ok) {
        Some(account) => {
            state.limiter.succeeded(&credentials.username, ip);
            open_session(&state, account, StatusCode::OK).await
        }
        None => {
            state.limiter.failed(&credentials.username, ip);
            Err(GatewayError::InvalidCredentials)
        }
    }
}

/// Ends the session (cookie or bearer token).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "accounts",
    responses((status = 204, description = "Signed out")))]
pub(super) async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response> {
    if let Some(token) = crate::auth::presented_token(&headers) {
        state
            .store
            .delete_session(crate::auth::token_hash(&token))
            .await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, "", 0)?);
    Ok(response)
}

/// The signed-in account.
#[utoipa::path(get, path = "/v1/auth/me", tag = "accounts",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = ErrorBody)))]
pub(super) async fn me(Auth(account): Auth) -> Json<AccountView> {
    Json(account.into())
}

/// Creates an account with any role (admins only).
#[utoipa::path(post, path = "/v1/admin/accounts", tag = "accounts", request_body = NewAccount,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, body = AccountView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
pub(super) async fn create_account(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    JsonBody(new): JsonBody<NewAccount>,
) -> Result<(StatusCode, Json<AccountView>)> {
    auth.require_admin()?;
    check_username(&new.username)?;
    check_password(&new.password)?;
    let hash = state.passwords.hash(new.password).await?;
    let account = state
        .store
        .create_account(&new.username, &hash, new.role)
        .await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

/// Lists accounts (admins only).
#[utoipa::path(get, path = "/v1/admin/accounts", tag = "accounts",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<AccountView>), (status = 403, body = ErrorBody)))]
pub(super) async fn list_accounts(
    State(state): State<Arc<AppState>>,
    auth: Auth,
) -> Result<Json<Vec<AccountView>>> {
    auth.require_admin()?;
    Ok(Json(
        state
            .store
            .accounts()
            .await?
            .into_iter()
            .map(AccountView::from)
            .collect(),
    ))
}
