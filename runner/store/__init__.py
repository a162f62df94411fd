"""The state DB: the run's single source of truth (see store.py for the write discipline)."""

from runner.store.lock import DirectoryLocked, DirLock, is_locked
from runner.store.readers import Totals, connect_ro, done_by_model, iter_records, read_totals
from runner.store.store import SchemaTooNew, StaleState, Store, open_store

STATE_DB = "state.sqlite"  # the checkpoint's file name inside an output directory

__all__ = [
    "STATE_DB",
    "DirLock",
    "DirectoryLocked",
    "SchemaTooNew",
    "StaleState",
    "Store",
    "Totals",
    "connect_ro",
    "done_by_model",
    "is_locked",
    "iter_records",
    "open_store",
    "read_totals",
]
