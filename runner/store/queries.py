"""Loads the named SQL queries from queries.sql, so SQL reads as SQL and Python names it."""

from __future__ import annotations

from importlib import resources


def _parse(text: str) -> dict[str, str]:
    queries: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("-- name: "):
            if name:
                queries[name] = "\n".join(lines).strip()
            name, lines = line.removeprefix("-- name: ").strip(), []
        elif name and not line.startswith("--"):
            lines.append(line)
    if name:
        queries[name] = "\n".join(lines).strip()
    return queries


Q: dict[str, str] = _parse(resources.files(__package__).joinpath("queries.sql").read_text("utf-8"))
