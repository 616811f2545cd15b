//! Accounts and sessions: argon2id password hashes, random session tokens (stored as their
//! SHA-256), the `witness_session` cookie or `Authorization: Bearer`, and a per account+IP
//! limit on failed sign-ins.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use sha2::{Digest as _, Sha256};

use crate::api::AppState;
use crate::error::{GatewayError, Result};
use crate::store::{Account, Role};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "witness_session";

/// Argon2id hasher with the configured memory cost (t = 2, p = 1).
#[derive(Debug, Clone)]
pub struct Passwords {
    params: Params,
    /// A hash of a random password, verified against when the account does not exist so
    /// that both cases take the same time.
    dummy: String,
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out)
        .map_err(|e| GatewayError::Internal(format!("no OS randomness: {e}")))?;
    Ok(out)
}

impl Passwords {
    /// A hasher using `memory_kib` KiB per hash.
    pub fn new(memory_kib: u32) -> Result<Self> {
        let params = Params::new(memory_kib.max(Params::MIN_M_COST), 2, 1, None)
            .map_err(|e| GatewayError::Config(format!("argon2 parameters: {e}")))?;
        let mut passwords = Self {
            params,
            dummy: String::new(),
        };
        passwords.dummy = passwords.hash_blocking(&hex::encode(random_bytes::<16>()?))?;
        Ok(passwords)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash_blocking(&self, password: &str) -> Result<String> {
        let salt = SaltString::encode_b64(&random_bytes::<16>()?)
            .map_err(|e| GatewayError::Internal(format!("salt: {e}")))?;
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| GatewayError::Internal(format!("argon2: {e}")))
    }

    /// Hashes a password (on a blocking thread).
    pub async fn hash(&self, password: String) -> Result<String> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.hash_blocking(&password)).await?
    }

    /// Whether `password` matches `stored` (or, with `None`, spends the same time and
    /// answers false).
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let exists = stored.is_some();
            let stored = stored.unwrap_or_else(|| this.dummy.clone());
            let parsed = PasswordHash::new(&stored)
                .map_err(|e| GatewayError::Database(format!("stored password hash: {e}")))?;
            let ok = this
                .argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(ok && exists)
        })
        .await?
    }
}

/// A fresh session token (hex of 32 random bytes) and its SHA-256.
pub fn new_token() -> Result<(String, [u8; 32])> {
    let token = hex::encode(random_bytes::<32>()?);
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// SHA-256 of a token: what the database keeps.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Failed sign-ins per (username, IP) in a sliding window.
#[derive(Debug)]
pub struct LoginLimiter {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<(String, IpAddr), VecDeque<Instant>>>,
}

impl LoginLimiter {
    /// At most `max_failures` failures per `window`.
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, IpAddr), VecDeque<Instant>>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fails with 429 while the key is over its limit.
    pub fn check(&self, username: &str, ip: IpAddr) -> Result<()> {
        let now = Instant::now();
        let mut failures = self.lock();
        if let Some(times) = failures.get_mut(&(username.to_owned(), ip)) {
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) > self.window)
            {
                times.pop_front();
            }
            if times.len() >= self.max_failures {
                let oldest = times.front().copied().unwrap_or(now);
                let retry = self.window.saturating_sub(now.duration_since(oldest));
                return Err(GatewayError::RateLimited {
                    retry_after_s: retry.as_secs().max(1),
                });
            }
        }
        Ok(())
    }

    /// Records a failure.
    pub fn failed(&self, username: &str, ip: IpAddr) {
        let now = Instant::now();
        let mut failures = self.lock();
        if failures.len() > 100_000 {
            let window = self.window;
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) <= window)
            });
        }
        failures
            .entry((username.to_owned(), ip))
            .or_default()
            .push_back(now);
    }

    /// Forgets the failures after a successful sign-in.
    pub fn succeeded(&self, username: &str, ip: IpAddr) {
        self.lock().remove(&(username.to_owned(), ip));
    }
}

/// The client's IP address (the TCP peer; unspecified when not served over TCP).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = GatewayError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip()),
        ))
    }
}

/// The session token presented with a request, if any.
pub fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION)
        && let Ok(text) = value.to_str()
        && let Some(token) = text.strip_prefix("Bearer ")
    {
        return Some(token.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// A signed-in account (401 otherwise).
#[derive(Debug, Clone)]
pub struct Auth(pub Account);

/// The signed-in account, if any.
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<Account>);

impl FromRequestParts<Arc<AppState>> for MaybeAuth {
    type Rejection = GatewayError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self> {
        let Some(token) = presented_token(&parts.headers) else {
            return Ok(Self(None));
        };
        Ok(Self(state.store.session_account(token_hash(&token)).await?))
    }
}

impl FromRequestParts<Arc<AppState>> for Auth {
    type Rejection = GatewayError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self> {
        MaybeAuth::from_request_parts(parts, state)
            .await?
            .0
            .map(Self)
            .ok_or(GatewayError::Unauthenticated)
    }
}

impl Auth {
    /// Fails with 403 unless the account is a registrar or an admin.
    pub fn require_registrar(&self) -> Result<()> {
        match self.0.role {
            Role::Registrar | Role::Admin => Ok(()),
            Role::Owner => Err(GatewayError::Forbidden(
                "only registrars may relay registrar messages".into(),
            )),
        }
    }

    /// Fails with 403 unless the account is an admin.
    pub fn require_admin(&self) -> Result<()> {
        match self.0.role {
            Role::Admin => Ok(()),
            _ => Err(GatewayError::Forbidden("only admins may do this".into())),
        }
    }
}

/// Checks a username: 3 to 64 characters of letters, digits and `._@-`.
pub fn check_username(username: &str) -> Result<()> {
    let ok = (3..=64).contains(&username.chars().count())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(GatewayError::InvalidRequest(
            "username: 3 to 64 letters, digits or . _ @ -".into(),
        ))
    }
}

/// Checks a password: 8 to 256 characters.
pub fn check_password(password: &str) -> Result<()> {
    if (8..=256).contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(GatewayError::InvalidRequest(
            "password: 8 to 256 characters".into(),
        ))
    }
}
