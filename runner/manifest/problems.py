"""Problems found in a manifest, each pointing at the file, line and column to fix.

A run that dies at 3 a.m. on a typo is the failure this layer exists to prevent, so every check
collects Problems instead of raising at the first one, and ManifestError carries them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong, at a 1-based line and column of ``file``; ``key`` is a dotted key path."""

    file: str
    line: int
    column: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.key}: {self.message}"


class ManifestError(Exception):
    """The manifest cannot be run; ``problems`` lists every problem found, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def format_key(path: KeyPath) -> str:
    """``("models", 0, "params", "n")`` as ``models[0].params.n``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(document)"


def sort_problems(problems: Iterable[Problem], manifest: str) -> list[Problem]:
    """The manifest's problems first, then each prompt file's, each by line and column."""
    unique = dict.fromkeys(problems)  # one check can reach the same node twice (YAML aliases)
    return sorted(unique, key=lambda p: (p.file != manifest, p.file, p.line, p.column))


def show(value: Any) -> str:
    """A value as a message shows it after "got"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
