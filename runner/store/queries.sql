-- Named queries for the state DB, loaded by runner.store.queries (procrastinate style).
-- Every state change is a compare-and-set: it names the state it expects the row to be in.

-- name: upsert_item
-- An item already known keeps its state and history; it only takes its new place (seq), its
-- latest meta and the manifest's generation (items missing from the current manifest do not run).
INSERT INTO items
    (item_id, seq, model, size, prompt, prompt_id, params, meta, repeat, n, created_at, gen)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (item_id) DO UPDATE
    SET seq = excluded.seq, gen = excluded.gen, meta = excluded.meta, prompt_id = excluded.prompt_id;

-- name: count_items
SELECT COUNT(*) FROM items;

-- name: mark_submitting
UPDATE items SET state = 'submitting', attempts = attempts + 1, reserved_usd = ?,
    error = NULL, updated_at = ?
WHERE item_id = ? AND state = 'pending';

-- name: mark_polling
UPDATE items SET state = 'polling', task_id = ?, poll_url = ?, task_started_at = ?, updated_at = ?
WHERE item_id = ? AND state = 'submitting';

-- name: mark_downloading
UPDATE items SET state = 'downloading', image_refs = ?, usage = ?, updated_at = ?
WHERE item_id = ? AND state = ?;

-- name: mark_done
UPDATE items SET state = 'done', usage = ?, cost_usd = ?, reserved_usd = 0, image_refs = NULL,
    error = NULL, finished_at = ?, updated_at = ?
WHERE item_id = ? AND state = ?;

-- name: mark_pending
-- Back to pending for another attempt (not_before persists the backoff across restarts).
-- refund: 1 when the attempt never reached the provider and must not be counted.
UPDATE items SET state = 'pending', attempts = attempts - ?, not_before = ?, error = ?,
    task_id = NULL, poll_url = NULL, task_started_at = NULL, reserved_usd = 0, updated_at = ?
WHERE item_id = ? AND state = ?;

-- name: mark_failed
UPDATE items SET state = 'failed', error = ?, reserved_usd = 0, finished_at = ?, updated_at = ?
WHERE item_id = ? AND state = ?;

-- name: mark_ambiguous
UPDATE items SET state = 'ambiguous', error = ?, updated_at = ?
WHERE item_id = ? AND state = ?;

-- name: insert_image
INSERT OR REPLACE INTO images
    (item_id, image_index, file_name, format, width, height, bytes, sha256, revised_prompt)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: bump_counter
INSERT INTO counters (name, value) VALUES (?, ?)
ON CONFLICT(name) DO UPDATE SET value = value + excluded.value;

-- name: set_meta
INSERT INTO meta (key, value) VALUES (?, ?)
ON CONFLICT(key) DO UPDATE SET value = excluded.value;

-- name: get_meta
SELECT value FROM meta WHERE key = ?;

-- name: counters
SELECT name, value FROM counters;

-- name: get_counter
SELECT value FROM counters WHERE name = ?;

-- name: runnable_after
-- Pending items in manifest order; the scheduler pages through with the last seq it saw.
SELECT * FROM items WHERE state = 'pending' AND gen = ? AND seq > ? ORDER BY seq LIMIT ?;

-- name: in_progress
SELECT * FROM items WHERE state IN ('polling', 'downloading') AND gen = ? ORDER BY seq;

-- name: stranded_submitting
SELECT item_id, reserved_usd FROM items WHERE state = 'submitting';

-- name: recover_resend
UPDATE items SET state = 'pending', error = ?, reserved_usd = 0, updated_at = ?
WHERE item_id = ? AND state = 'submitting';

-- name: recover_hold
UPDATE items SET state = 'ambiguous', error = ?, reserved_usd = 0, updated_at = ?
WHERE item_id = ? AND state = 'submitting';

-- name: counts_by_state
-- From the (state, gen, seq) index alone: 0.06 s over a million items, where also summing n read
-- every row (2.4 s) before a resumed run's first request and again for its report.
SELECT state, COUNT(*) FROM items WHERE gen = ? GROUP BY state;

-- name: done_by_model
SELECT model, COUNT(*) FROM items WHERE state = 'done' AND gen = ? GROUP BY model;

-- name: cost_by_model
SELECT model, SUM(cost_usd) FROM items WHERE state = 'done' AND cost_usd IS NOT NULL
AND gen = ? GROUP BY model ORDER BY model;

-- name: usage_rows
SELECT model, usage FROM items WHERE state = 'done' AND usage IS NOT NULL AND gen = ?;

-- name: spend
SELECT COALESCE(SUM(cost_usd), 0), COALESCE(SUM(reserved_usd), 0) FROM items;

-- name: image_count
SELECT COUNT(*) FROM images m JOIN items i ON i.item_id = m.item_id
WHERE i.state = 'done' AND i.gen = ?;

-- name: images_of
SELECT * FROM images WHERE item_id = ? ORDER BY image_index;

-- name: retry_failed
UPDATE items SET state = 'pending', attempts = 0, error = NULL, not_before = NULL, updated_at = ?
WHERE state = 'failed' AND gen = ?;

-- name: retry_ambiguous
UPDATE items SET state = 'pending', error = NULL, not_before = NULL, updated_at = ?
WHERE state = 'ambiguous' AND gen = ?;

-- name: retry_item
UPDATE items SET state = 'pending', attempts = 0, error = NULL, not_before = NULL, updated_at = ?
WHERE item_id = ? AND state IN ('failed', 'ambiguous');

-- name: insert_run
INSERT INTO runs (started_at, pid) VALUES (?, ?);

-- name: last_run
SELECT started_at, finished_at, exit_code FROM runs ORDER BY run_id DESC LIMIT 1;

-- name: finish_run
UPDATE runs SET finished_at = ?, exit_code = ? WHERE run_id = ?;

-- name: output_rows
-- The items of one state with their images (done items only), in manifest order straight from the
-- (state, gen, seq) index: outputs merge the states by seq rather than have SQLite sort a million
-- joined rows. Column order is runner.store.readers.OutputRow's.
SELECT i.seq, i.item_id, i.state, i.model, i.size, i.prompt, i.prompt_id, i.params, i.meta,
       i.repeat, i.attempts, i.task_id, i.cost_usd, i.usage, i.error, i.finished_at,
       m.image_index, m.file_name, m.format, m.width, m.height, m.bytes, m.sha256,
       m.revised_prompt
FROM items i LEFT JOIN images m ON m.item_id = i.item_id AND i.state = 'done'
WHERE i.state = ? AND i.gen = ?
ORDER BY i.seq;
