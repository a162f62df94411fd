"""The manifest's prompts as one de-duplicated stream, and the one pass that checks them all.

Two prompts with the same text would ask for the same items (an item's id does not depend on
meta), so later copies are skipped with a warning. De-duplication keeps a 16-byte digest per
distinct prompt: a 100,000-prompt file costs a few MB, never the prompt texts themselves.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runner.catalog import text_tokens
from runner.manifest.problems import KeyPath, ManifestError, Problem, format_key
from runner.manifest.prompts import (
    FILE_KINDS,
    FileSource,
    LiteralSource,
    Prompt,
    PromptSource,
    Template,
    TemplateSource,
    Where,
)
from runner.manifest.values import Manifest, PromptFile, PromptText
from runner.manifest.yamlpos import Located

# Problems shown per prompt source before the rest are only counted (a bad 100k-line file
# should not print 100k lines).
MAX_PROBLEMS_PER_SOURCE = 20
MAX_DUPLICATE_WARNINGS = 5


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class PromptSet:
    """Every prompt of a job, in manifest order, each distinct text once."""

    def __init__(self, sources: tuple[PromptSource, ...]) -> None:
        self.sources = sources

    def __iter__(self) -> Iterator[Prompt]:
        seen: set[bytes] = set()
        for source in self.sources:
            for entry in source.entries():
                if isinstance(entry, Problem):
                    raise ManifestError([entry])  # a file changed since the job was loaded
                key = _digest(entry.text)
                if key not in seen:
                    seen.add(key)
                    yield entry

    def digests(self) -> list[str | None]:
        """The sha256 of each file source's bytes, for the job's fingerprint."""
        return [source.digest() for source in self.sources]


@dataclass
class ScanResult:
    """What one checking pass over all prompts found."""

    count: int = 0  # distinct prompts
    text_tokens: int = 0  # their estimated text tokens, summed (for cost estimates)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Scan:
    """The state of one checking pass: counts, problems, first sighting of each text."""

    def __init__(self, check: Callable[[Prompt], str | None]) -> None:
        self.check = check
        self.result = ScanResult()
        # (origin, line) rather than a Where: a million prompts need not make a million objects
        self.first_seen: dict[bytes, tuple[Where, int]] = {}
        self.duplicates = 0

    def source(self, source: PromptSource) -> None:
        shown = hidden = 0
        for entry in source.entries():
            problem = entry if isinstance(entry, Problem) else self.prompt(entry)
            if problem is not None and shown < MAX_PROBLEMS_PER_SOURCE:
                shown += 1
                self.result.problems.append(problem)
            elif problem is not None:
                hidden += 1
        if hidden:
            message = f"{hidden:,} more problems in this prompt source are not shown"
            self.result.problems.append(source.where.problem(message))

    def prompt(self, prompt: Prompt) -> Problem | None:
        key = _digest(prompt.text)
        first = self.first_seen.get(key)
        if first is not None:
            self.duplicates += 1
            if self.duplicates <= MAX_DUPLICATE_WARNINGS:
                origin, line = first
                self.result.warnings.append(_duplicate(prompt.where, origin.at_line(line)))
            return None
        self.first_seen[key] = (prompt.origin, prompt.line)
        self.result.count += 1
        self.result.text_tokens += text_tokens(prompt.text)
        message = self.check(prompt)
        return None if message is None else prompt.where.problem(message)


def scan(prompts: PromptSet, check: Callable[[Prompt], str | None]) -> ScanResult:
    """Read every prompt once: count them, run ``check`` on each, note problems and duplicates."""
    state = _Scan(check)
    for source in prompts.sources:
        state.source(source)
    if state.duplicates > MAX_DUPLICATE_WARNINGS:
        state.result.warnings.append(f"{state.duplicates:,} duplicate prompts skipped in all")
    return state.result


def _duplicate(where: Where, first: Where) -> str:
    return (
        f"{where.file}:{where.line}: duplicate prompt skipped "
        f"(same text as {first.file}:{first.line})"
    )


def build_sources(
    manifest: Manifest,
    located: Located,
    base_dir: Path,
    skip: Mapping[str, set[int]] | None = None,
) -> tuple[tuple[PromptSource, ...], list[Problem]]:
    """One source per `prompts` entry; problems for templates and files that cannot work.

    ``skip["prompts"]`` lists entries already reported as malformed.
    """
    sources: list[PromptSource] = []
    problems: list[Problem] = []
    skipped = (skip or {}).get("prompts", set())
    for i, entry in enumerate(manifest.prompts):
        if i in skipped:
            continue
        path: KeyPath = ("prompts", i)
        if isinstance(entry, str):
            sources.append(LiteralSource(entry, _where(located, path)))
        elif isinstance(entry, PromptText):
            source, found = _text_source(entry, located, path)
            problems += found
            sources += [source] if source is not None else []
        else:
            source_or_problem = _file_source(entry, located, path, base_dir)
            if isinstance(source_or_problem, Problem):
                problems.append(source_or_problem)
            else:
                sources.append(source_or_problem)
    return tuple(sources), problems


def _where(located: Located, path: KeyPath) -> Where:
    pos = located.pos(path)
    return Where(located.file, pos.line, pos.column, format_key(path))


def _text_source(
    entry: PromptText, located: Located, path: KeyPath
) -> tuple[PromptSource | None, list[Problem]]:
    where = _where(located, (*path, "text"))
    if entry.vars is None:
        return LiteralSource(entry.text, where, entry.id, entry.meta), []
    template = Template(entry.text, entry.vars, entry.id, entry.meta or {})
    problems = [
        located.problem((*path, "text"), message)
        if var is None
        else located.problem((*path, "vars", var), message, of_key=True)
        for var, message in template.problems()
    ]
    return (None, problems) if problems else (TemplateSource(template, where), [])


def _file_source(
    entry: PromptFile, located: Located, path: KeyPath, base_dir: Path
) -> FileSource | Problem:
    file_path = (*path, "file")
    resolved = base_dir / entry.file
    display = os.path.normpath(os.path.join(os.path.dirname(located.file), entry.file))
    if resolved.suffix.lower() not in FILE_KINDS:
        kinds = ", ".join(FILE_KINDS)
        return located.problem(file_path, f"{entry.file}: prompt files must be {kinds}")
    if not resolved.is_file():
        return located.problem(file_path, f"{display}: no such file")
    return FileSource(resolved, display, _where(located, file_path), entry.meta)
