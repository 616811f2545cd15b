-- The Witness gateway, schema version 1 (SQLite).
-- Times are milliseconds since the Unix epoch; ids and keys are raw bytes.
-- Applied by sqlx::migrate! (table _sqlx_migrations). IF NOT EXISTS lets a database created
-- by the gateway's former migration runner (table gateway_migrations) adopt it unchanged.

CREATE TABLE IF NOT EXISTS accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'registrar', 'admin')),
    created_at    INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS sessions (
    token_hash BLOB    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_account ON sessions (account_id);

-- Devices as the gateway knows them (from registrar messages it relayed).
CREATE TABLE IF NOT EXISTS devices (
    id             BLOB    PRIMARY KEY,
    model          INTEGER NOT NULL,
    public_key     BLOB    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('active', 'revoked')),
    registered_by  INTEGER REFERENCES accounts (id),
    owner_account  INTEGER REFERENCES accounts (id),
    owner_key      BLOB,
    owner_sequence INTEGER,
    -- Counter of the last reading the gateway accepted (replay check).
    last_counter   INTEGER,
    created_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_owner ON devices (owner_account);
CREATE INDEX IF NOT EXISTS devices_registrar ON devices (registered_by);

-- Highest sequence relayed per registrar key.
CREATE TABLE IF NOT EXISTS registrars (
    key           BLOB    PRIMARY KEY,
    last_sequence INTEGER NOT NULL
);

-- Rollup inputs built by the submitter. The payload is stored before anything is sent.
CREATE TABLE IF NOT EXISTS inputs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    payload         BLOB    NOT NULL,
    message_count   INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('batched', 'sent', 'included')),
    scan_from_block INTEGER NOT NULL,
    nonce           INTEGER,
    tx_hash         BLOB,
    input_index     INTEGER UNIQUE,
    block_number    INTEGER,
    gas_used        INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    outcome_checked INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    included_at     INTEGER
);
CREATE INDEX IF NOT EXISTS inputs_open ON inputs (id) WHERE state <> 'included';
CREATE INDEX IF NOT EXISTS inputs_unchecked ON inputs (input_index) WHERE state = 'included' AND outcome_checked = 0;

-- The outbox: every message the gateway acknowledged, in acceptance order.
CREATE TABLE IF NOT EXISTS messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         INTEGER NOT NULL,
    hash         BLOB    NOT NULL UNIQUE,
    device_id    BLOB,
    counter      INTEGER,
    body         BLOB    NOT NULL,
    received_at  INTEGER NOT NULL,
    input_id     INTEGER REFERENCES inputs (id),
    position     INTEGER,
    outcome      TEXT,
    reason       TEXT
);
CREATE INDEX IF NOT EXISTS messages_pending ON messages (id) WHERE input_id IS NULL;
CREATE INDEX IF NOT EXISTS messages_input ON messages (input_id, position) WHERE input_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_device ON messages (device_id, id);
CREATE INDEX IF NOT EXISTS messages_rejected ON messages (id) WHERE outcome = 'rejected';
