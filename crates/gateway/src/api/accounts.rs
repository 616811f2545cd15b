//! Sign up, sign in, sign out; admin account management.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AppState, JsonBody, NotJson, PayloadTooLarge, Unauthenticated};
use crate::auth::{Auth, ClientIp, SESSION_COOKIE, check_password, check_username, new_token};
use crate::error::{ErrorBody, GatewayError, Result};
use crate::store::{Account, Role, now_ms};

/// Username and password of a new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// 3 to 64 ASCII letters, digits or `._@-`.
    #[schema(example = "alice", pattern = "^[A-Za-z0-9._@-]{3,64}$")]
    pub username: String,
    /// 8 to 256 characters (Unicode code points).
    #[schema(example = "correct horse battery", min_length = 8, max_length = 256)]
    pub password: String,
}

/// Username and password to sign in with. Any strings: a name or password no account could
/// have is a wrong username or password (401).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The account's username.
    #[schema(example = "alice")]
    pub username: String,
    /// Its password.
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
    /// 3 to 64 ASCII letters, digits or `._@-`.
    #[schema(example = "registrar-2", pattern = "^[A-Za-z0-9._@-]{3,64}$")]
    pub username: String,
    /// 8 to 256 characters (Unicode code points).
    #[schema(example = "registrar-password", min_length = 8, max_length = 256)]
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
        (status = 201, body = SessionView, description = "Created and signed in (also sets the \
         `witness_session` cookie)"),
        (status = 400, body = ErrorBody,
         description = "invalid_request: not JSON, a missing or unknown field, or a username or \
                        password outside its rules"),
        (status = 409, body = ErrorBody, description = "username_taken"),
        PayloadTooLarge,
        NotJson,
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
#[utoipa::path(post, path = "/v1/auth/login", tag = "accounts", request_body = SignIn,
    responses(
        (status = 200, body = SessionView, description = "Signed in (also sets the \
         `witness_session` cookie)"),
        (status = 400, body = ErrorBody,
         description = "invalid_request: not JSON, or a missing or unknown field"),
        (status = 401, body = ErrorBody, description = "invalid_credentials"),
        PayloadTooLarge,
        NotJson,
        (status = 429, body = ErrorBody, description = "rate_limited (with Retry-After)",
         headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed"))),
    ))]
pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    JsonBody(credentials): JsonBody<SignIn>,
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

/// Ends the session of the cookie or bearer token sent with the request, if any, and clears
/// the cookie. Needs no valid session: signing out twice is no error.
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
    responses(
        (status = 200, body = AccountView),
        Unauthenticated,
    ))]
pub(super) async fn me(Auth(account): Auth) -> Json<AccountView> {
    Json(account.into())
}

/// Creates an account with any role (admins only).
#[utoipa::path(post, path = "/v1/admin/accounts", tag = "accounts", request_body = NewAccount,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, body = AccountView, description = "Created"),
        (status = 400, body = ErrorBody,
         description = "invalid_request: not JSON, a missing or unknown field, or a username or \
                        password outside its rules"),
        Unauthenticated,
        (status = 403, body = ErrorBody, description = "forbidden: not an admin"),
        (status = 409, body = ErrorBody, description = "username_taken"),
        PayloadTooLarge,
        NotJson,
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
    responses(
        (status = 200, body = Vec<AccountView>),
        Unauthenticated,
        (status = 403, body = ErrorBody, description = "forbidden: not an admin"),
    ))]
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
