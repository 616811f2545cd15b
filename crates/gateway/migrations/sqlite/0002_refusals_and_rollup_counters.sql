-- The Witness gateway, schema version 2 (SQLite): whole-input refusals and counters seeded
-- from the rollup.

-- How many inputs carrying the message the backend refused as a whole, and the reason of the
-- last such refusal. A refusal that can pass later (`unauthorized_sender`) puts the message
-- back in the outbox (input_id NULL) up to 5 times; the next one rejects it.
ALTER TABLE messages ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN last_refusal TEXT;

-- The device's last consumed counter on the rollup, as the node reported it when the gateway
-- first saw an envelope of the device without a counter of its own (replay check: the
-- gateway refuses counters up to max(last_counter, rollup_counter)).
ALTER TABLE devices ADD COLUMN rollup_counter INTEGER;

-- Pending messages other than envelopes (what the submitter may still send while the rollup
-- does not authorize it to send envelopes).
CREATE INDEX IF NOT EXISTS messages_pending_statements ON messages (id)
    WHERE input_id IS NULL AND kind <> 1;
