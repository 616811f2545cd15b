-- The Witness gateway, schema version 1 (PostgreSQL).
-- Times are milliseconds since the Unix epoch; ids and keys are raw bytes.
-- Applied by sqlx::migrate! (table _sqlx_migrations). IF NOT EXISTS lets a database created
-- by the gateway's former migration runner (table gateway_migrations) adopt it unchanged.

CREATE TABLE IF NOT EXISTS accounts (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT      NOT NULL UNIQUE,
    password_hash TEXT      NOT NULL,
    role          TEXT      NOT NULL CHECK (role IN ('owner', 'registrar', 'admin')),
    created_at    BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS sessions (
    token_hash BYTEA  PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_account ON sessions (account_id);

CREATE TABLE IF NOT EXISTS devices (
    id             BYTEA  PRIMARY KEY,
    model          BIGINT NOT NULL,
    public_key     BYTEA  NOT NULL,
    status         TEXT   NOT NULL CHECK (status IN ('active', 'revoked')),
    registered_by  BIGINT REFERENCES accounts (id),
    owner_account  BIGINT REFERENCES accounts (id),
    owner_key      BYTEA,
    owner_sequence BIGINT,
    last_counter   BIGINT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_owner ON devices (owner_account);
CREATE INDEX IF NOT EXISTS devices_registrar ON devices (registered_by);

CREATE TABLE IF NOT EXISTS registrars (
    key           BYTEA  PRIMARY KEY,
    last_sequence BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS inputs (
    id              BIGSERIAL PRIMARY KEY,
    payload         BYTEA   NOT NULL,
    message_count   BIGINT  NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('batched', 'sent', 'included')),
    scan_from_block BIGINT  NOT NULL,
    nonce           BIGINT,
    tx_hash         BYTEA,
    input_index     BIGINT UNIQUE,
    block_number    BIGINT,
    gas_used        BIGINT,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    last_error      TEXT,
    outcome_checked BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    sent_at         BIGINT,
    included_at     BIGINT
);
CREATE INDEX IF NOT EXISTS inputs_open ON inputs (id) WHERE state <> 'included';
CREATE INDEX IF NOT EXISTS inputs_unchecked ON inputs (input_index) WHERE state = 'included' AND outcome_checked = 0;

CREATE TABLE IF NOT EXISTS messages (
    id           BIGSERIAL PRIMARY KEY,
    kind         BIGINT NOT NULL,
    hash         BYTEA  NOT NULL UNIQUE,
    device_id    BYTEA,
    counter      BIGINT,
    body         BYTEA  NOT NULL,
    received_at  BIGINT NOT NULL,
    input_id     BIGINT REFERENCES inputs (id),
    position     BIGINT,
    outcome      TEXT,
    reason       TEXT
);
CREATE INDEX IF NOT EXISTS messages_pending ON messages (id) WHERE input_id IS NULL;
CREATE INDEX IF NOT EXISTS messages_input ON messages (input_id, position) WHERE input_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_device ON messages (device_id, id);
CREATE INDEX IF NOT EXISTS messages_rejected ON messages (id) WHERE outcome = 'rejected';
