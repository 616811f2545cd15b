//! Durable state: accounts, sessions, the device registry, the outbox of acknowledged
//! messages and the rollup inputs built from it.
//!
//! One [`Store`] over SQLite (default; a file under the data directory, WAL,
//! `synchronous=FULL`) or PostgreSQL (by URL), through sqlx's `Any` driver: every statement
//! is written once (`queries.rs`), and the few things that truly differ (connection settings,
//! the schema's column types, how a write transaction starts, row locks, the submitter lock)
//! sit in `dialect.rs`. SQLite's group commit runs the same statement texts through rusqlite,
//! behind the one seam of `exec.rs`, which says why. Every write follows the same shape: load
//! the rows involved inside a transaction (locked `FOR UPDATE` on PostgreSQL, serialized by
//! `BEGIN IMMEDIATE` on SQLite), decide with the pure functions of `logic.rs`, apply the resulting
//! effects, commit. An HTTP answer that acknowledges something is only sent after
//! that commit returned.

use serde::Serialize;
use sqlx::AnyPool;
use utoipa::ToSchema;
use witness_protocol::DeviceId;

use self::dialect::Dialect;
use crate::error::{GatewayError, Result};

mod dialect;
mod exec;
pub(crate) mod logic;
mod queries;

pub use logic::{ClaimItem, IntakeEnvelope, IntakeJob, JobOutcome, ObjectionItem, RegistrarItem};

/// Message kinds in the outbox (the protocol's kind bytes).
pub(crate) mod kind {
    pub(crate) const ENVELOPE: i64 = witness_protocol::kind::ENVELOPE as i64;
    pub(crate) const REGISTRAR: i64 = witness_protocol::kind::REGISTRAR as i64;
    pub(crate) const OWNERSHIP: i64 = witness_protocol::kind::OWNERSHIP as i64;
    pub(crate) const OBJECTION: i64 = witness_protocol::kind::OBJECTION as i64;
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Whether a protocol expiry (seconds since the Unix epoch: a release's, a query's) is before
/// `now_ms` (milliseconds, as [`now_ms`] gives).
pub(crate) fn expired(expires_at: u32, now_ms: i64) -> bool {
    i64::from(expires_at) * 1000 < now_ms
}

/// u64 values (counters, block numbers, nonces) are stored bit-for-bit in signed 64-bit
/// columns; the database never orders or compares them.
pub(crate) fn to_db(v: u64) -> i64 {
    v as i64
}

pub(crate) fn from_db(v: i64) -> u64 {
    v as u64
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Claims devices and reads their history (everyone who signs up).
    Owner,
    /// Relays registrar-signed messages.
    Registrar,
    /// Administers the gateway: everything a registrar may, plus accounts and system status.
    Admin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Registrar => "registrar",
            Self::Admin => "admin",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "owner" => Ok(Self::Owner),
            "registrar" => Ok(Self::Registrar),
            "admin" => Ok(Self::Admin),
            other => Err(GatewayError::Database(format!("unknown role {other:?}"))),
        }
    }
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Database id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Creation time (ms).
    pub created_at: i64,
}

/// A device as the gateway knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    /// The device.
    pub id: DeviceId,
    /// Model id.
    pub model: u32,
    /// Current Ed25519 key (as relayed by registrars).
    pub public_key: [u8; 32],
    /// Whether the gateway still accepts its readings.
    pub active: bool,
    /// The registrar account that relayed the registration.
    pub registered_by: Option<i64>,
    /// The account that claimed it last.
    pub owner_account: Option<i64>,
    /// The owner key bound by the last claim.
    pub owner_key: Option<[u8; 32]>,
    /// Sequence of the last ownership statement.
    pub owner_sequence: Option<u64>,
    /// Last counter accepted by the gateway.
    pub last_counter: Option<u64>,
    /// The device's last consumed counter on the rollup, as the node reported it when the
    /// gateway had no counter of its own for the device (see [`Store::seed_rollup_counter`]).
    pub rollup_counter: Option<u64>,
    /// Registration time (ms).
    pub created_at: i64,
}

/// Where an acknowledged message is on its way to the rollup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// Stored durably, not yet in a transaction on chain.
    Pending,
    /// In a transaction that was sent, not yet seen mined.
    Submitted,
    /// In a mined input; the node has not reported on it yet.
    Included,
    /// The backend processed the input and did not refuse the message.
    Attested,
    /// The backend refused the message (see `reason`).
    Rejected,
}

/// The full story of one acknowledged message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Receipt {
    /// SHA-256 of the envelope (for other messages: of their encoding), hex.
    pub envelope_hash: String,
    /// Current status.
    pub status: ReceiptStatus,
    /// Message kind: `envelope`, `registrar`, `ownership` or `objection`.
    pub kind: &'static str,
    /// The device concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// First counter of the envelope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counter: Option<u64>,
    /// When the gateway acknowledged it (ms since the Unix epoch).
    pub received_at: i64,
    /// The `addInput` transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
    /// Index of the rollup input that carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_index: Option<u64>,
    /// Block of the `addInput` transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_number: Option<u64>,
    /// Position of the message in its input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_index: Option<u64>,
    /// Why the backend refused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How many inputs carrying it the backend refused as a whole (nothing of them applied);
    /// absent when none was. After a refusal that can pass later (`unauthorized_sender`: the
    /// gateway's account was not authorized when the input was processed) the message is
    /// pending again and goes in a later input, at most 5 times; the refusal after that
    /// rejects it.
    #[serde(skip_serializing_if = "is_zero")]
    #[schema(minimum = 1)]
    pub input_refusals: u64,
    /// The reason of the last such refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_input_refusal: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// How many times a message goes back to pending after an input carrying it was refused as a
/// whole for a reason that can pass later: the refusal after that rejects it, so an input the
/// rollup keeps refusing is not paid for forever.
pub const MAX_REQUEUES: u64 = 5;

/// A receipt row as read from the database.
#[derive(Debug, Clone)]
pub(crate) struct ReceiptRow {
    pub hash: Vec<u8>,
    pub kind: i64,
    pub device_id: Option<Vec<u8>>,
    pub counter: Option<i64>,
    pub received_at: i64,
    pub position: Option<i64>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub input_state: Option<String>,
    pub tx_hash: Option<Vec<u8>>,
    pub input_index: Option<i64>,
    pub block_number: Option<i64>,
    pub refusals: i64,
    pub last_refusal: Option<String>,
}

impl ReceiptRow {
    pub(crate) fn status(&self) -> ReceiptStatus {
        match (
            self.outcome.as_deref(),
            self.input_state.as_deref(),
            self.input_index,
        ) {
            (Some("rejected"), _, _) => ReceiptStatus::Rejected,
            (Some("attested"), _, _) => ReceiptStatus::Attested,
            (_, Some("included"), Some(_)) => ReceiptStatus::Included,
            (_, Some("sent"), _) => ReceiptStatus::Submitted,
            _ => ReceiptStatus::Pending,
        }
    }

    pub(crate) fn into_receipt(self) -> Receipt {
        let status = self.status();
        let submitted = status != ReceiptStatus::Pending;
        Receipt {
            envelope_hash: hex::encode(&self.hash),
            status,
            kind: kind_name(self.kind),
            device_id: self.device_id.map(hex::encode),
            counter: self.counter.map(from_db),
            received_at: self.received_at,
            tx_hash: self
                .tx_hash
                .filter(|_| submitted)
                .map(|h| format!("0x{}", hex::encode(h))),
            input_index: self.input_index.map(from_db),
            block_number: self.block_number.map(from_db),
            message_index: self.position.filter(|_| submitted).map(from_db),
            reason: self.reason,
            input_refusals: from_db(self.refusals),
            last_input_refusal: self.last_refusal,
        }
    }
}

/// Submission state of one device's envelopes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct SubmissionCounts {
    /// Envelopes acknowledged by the gateway.
    pub accepted: u64,
    /// Not yet sent.
    pub pending: u64,
    /// Sent, not yet seen mined.
    pub submitted: u64,
    /// Mined, not yet processed by the node.
    pub included: u64,
    /// Processed and not refused.
    pub attested: u64,
    /// Refused by the backend.
    pub rejected: u64,
    /// Last counter accepted by the gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_counter: Option<u64>,
    /// When the last envelope was acknowledged (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_received_at: Option<i64>,
}

/// A rollup input row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRow {
    /// Database id.
    pub id: i64,
    /// The exact payload given to `addInput`.
    pub payload: Vec<u8>,
    /// Number of messages in it.
    pub message_count: i64,
    /// `batched`, `sent` or `included`.
    pub state: String,
    /// Chain head when it was built: it cannot be on chain below this block.
    pub scan_from_block: u64,
    /// The nonce reserved for its transaction (persisted before the first broadcast).
    pub nonce: Option<u64>,
    /// The last transaction hash broadcast for it.
    pub tx_hash: Option<[u8; 32]>,
    /// Its index in the application's inputs once included.
    pub input_index: Option<u64>,
}

/// Pending messages the submitter may pack next.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// `(message id, encoded message)`, in acceptance order.
    pub messages: Vec<(i64, Vec<u8>)>,
    /// Receipt time of the oldest one (ms).
    pub oldest_received_at: Option<i64>,
    /// Whether more pending messages exist beyond the batch (it is full).
    pub full: bool,
}

/// Queue figures for `/v1/system` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct QueueStats {
    /// Messages acknowledged and not yet in a sent transaction.
    pub pending_messages: u64,
    /// Messages in a transaction sent but not yet mined.
    pub submitted_messages: u64,
    /// Messages in mined inputs (a message sent again after its input was refused as a whole
    /// counts once per input).
    pub included_messages: u64,
    /// Messages the backend refused.
    pub rejected_messages: u64,
    /// Receipt time of the oldest message not yet mined (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_unincluded_at: Option<i64>,
    /// Inputs mined.
    pub inputs_included: u64,
    /// Gas used by all mined inputs.
    pub gas_used_total: u64,
    /// Index of the last mined input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_input_index: Option<u64>,
}

/// A message the backend refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Rejection {
    /// Message hash, hex.
    pub hash: String,
    /// `envelope`, `registrar` or `ownership`.
    pub kind: &'static str,
    /// The device, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// First counter (envelopes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counter: Option<u64>,
    /// The input that carried it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_index: Option<u64>,
    /// The backend's reason code.
    pub reason: String,
}

pub(crate) fn kind_name(kind: i64) -> &'static str {
    match kind {
        kind::ENVELOPE => "envelope",
        kind::REGISTRAR => "registrar",
        kind::OBJECTION => "objection",
        _ => "ownership",
    }
}

/// The backend's verdict on the messages of one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputOutcome {
    /// The backend refused the whole input (`input_refused`: nothing of it applied), with
    /// this reason.
    pub input_refused: Option<String>,
    /// With `input_refused`: the refusal can pass later, so the input's messages go back to
    /// pending (each at most [`MAX_REQUEUES`] times) instead of being rejected.
    pub requeue: bool,
    /// Refused messages: `(position, reason)`.
    pub rejected: Vec<(u64, String)>,
}

/// The gateway's database: SQLite or PostgreSQL, chosen by [`Store::open`]'s URL. Its
/// queries (`queries.rs`) are written once for both.
#[derive(Debug, Clone)]
pub struct Store {
    dialect: Dialect,
    /// Writes. On SQLite its one connection serializes every write transaction.
    writer: AnyPool,
    /// Reads. On SQLite, read-only connections that WAL lets run beside the writer; on
    /// PostgreSQL the same pool as `writer`.
    reader: AnyPool,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`: `postgres://...` or
    /// `postgresql://...` for PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a plain path for
    /// SQLite.
    pub async fn open(url: &str) -> Result<Self> {
        Dialect::open(url).await
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.dialect.name()
    }

    /// Takes the lock that makes this process the one submitter of the database; `None`
    /// while another process holds it. Released when dropped (or when the process dies).
    pub async fn try_submitter_lock(&self) -> Result<Option<SubmitterLock>> {
        self.dialect.try_submitter_lock(&self.writer).await
    }
}

/// Proof that this process is the database's one submitter (see
/// [`Store::try_submitter_lock`]).
#[derive(Debug)]
pub enum SubmitterLock {
    /// An exclusive lock on `<database>.submitter.lock`.
    File(std::fs::File),
    /// A session-level advisory lock held by this (pool-detached) connection.
    Postgres(sqlx::AnyConnection),
}

fn device_id_from(bytes: &[u8]) -> Result<DeviceId> {
    Ok(DeviceId(array(bytes, "device id")?))
}

fn array<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N]> {
    bytes
        .try_into()
        .map_err(|_| GatewayError::Database(format!("{what}: expected {N} bytes")))
}
