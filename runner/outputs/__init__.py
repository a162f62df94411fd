"""The run's outputs: metadata.jsonl, failures.jsonl, report.json, index.html, and progress.

Everything here works from plain records and values handed over by the scheduler; nothing
reads the state DB or talks to a provider.
"""

from runner.outputs.atomic import AtomicWriter, write_atomic
from runner.outputs.gallery import write_gallery
from runner.outputs.jsonl import write_failures, write_metadata
from runner.outputs.progress import ProgressDisplay, ProgressSnapshot
from runner.outputs.report import RunSummary, build_report, write_report

__all__ = [
    "AtomicWriter",
    "ProgressDisplay",
    "ProgressSnapshot",
    "RunSummary",
    "build_report",
    "write_atomic",
    "write_failures",
    "write_gallery",
    "write_metadata",
    "write_report",
]
