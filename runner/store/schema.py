"""The state DB's schema as an ordered list of migrations, tracked in ``PRAGMA user_version``.

A newer runner must resume a job an older one started, so the schema only ever moves forward: add a
migration at the end, never edit one that has shipped.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value REAL NOT NULL);
    CREATE TABLE items (
        item_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        model TEXT NOT NULL,
        size TEXT,
        prompt TEXT NOT NULL,
        prompt_id TEXT,
        params TEXT NOT NULL,
        meta TEXT NOT NULL,
        repeat INTEGER NOT NULL,
        n INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before REAL,
        task_id TEXT,
        poll_url TEXT,
        task_started_at REAL,
        image_refs TEXT,
        usage TEXT,
        cost_usd REAL,
        reserved_usd REAL NOT NULL DEFAULT 0,
        error TEXT,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        updated_at REAL,
        gen INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX items_state_gen_seq ON items (state, gen, seq);
    CREATE TABLE images (
        item_id TEXT NOT NULL REFERENCES items (item_id),
        image_index INTEGER NOT NULL,
        file_name TEXT NOT NULL,
        format TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        revised_prompt TEXT,
        PRIMARY KEY (item_id, image_index)
    );
    CREATE TABLE runs (
        run_id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        exit_code INTEGER,
        pid INTEGER NOT NULL
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
