"""Prompt sources: manifest strings, templates, and .txt/.jsonl/.csv files, read lazily.

A job may hold millions of prompts, so sources are re-read on every pass instead of kept in
memory; each yields Prompts, or Problems pointing at the file and line that is wrong.
"""

from __future__ import annotations

import abc
import csv
import hashlib
import itertools
import json
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from runner.manifest.problems import Problem

FILE_KINDS = (".txt", ".jsonl", ".csv")


@dataclass(frozen=True, slots=True)
class Where:
    """Where a prompt was written: a manifest node, or a prompt file's line."""

    file: str
    line: int
    column: int
    key: str

    def problem(self, message: str) -> Problem:
        return Problem(self.file, self.line, self.column, self.key, message)

    def at_line(self, line: int) -> Where:
        """A line of the prompt file this place names; 0: this place itself."""
        return Where(self.file, line, 1, self.key) if line else self


@dataclass(frozen=True, slots=True)
class Prompt:
    """One prompt text with its id and meta (template vars, file fields, explicit meta)."""

    text: str
    prompt_id: str | None
    meta: Mapping[str, Any]
    origin: Where  # the `prompts` entry, or for a prompt file the file (see FileSource.origin)
    line: int = 0  # the prompt file's line; kept apart so that no Where is made per prompt

    @property
    def where(self) -> Where:
        """Where the prompt was written."""
        return self.origin.at_line(self.line)


Entry = Prompt | Problem


class PromptSource(abc.ABC):
    """One entry of the manifest's `prompts` list."""

    def __init__(self, where: Where) -> None:
        self.where = where

    @abc.abstractmethod
    def entries(self) -> Iterator[Entry]:
        """The prompts in order (re-reads files on every call), with problems in line."""

    def digest(self) -> str | None:
        """sha256 of the bytes this source reads from disk, if any."""
        return None


def _prompt(
    text: str, prompt_id: str | None, meta: Mapping[str, Any], origin: Where, line: int = 0
) -> Entry:
    text = text.strip()
    if not text:
        return origin.at_line(line).problem("empty prompt")
    for what, value in (("prompt", text), ("id", prompt_id)):
        if value is not None and not value.isascii() and _unencodable(value):
            # a JSON or YAML "\ud800" escape: no provider (nor item id) can take it
            return origin.at_line(line).problem(f"{what} holds a lone surrogate, not text")
    return Prompt(text, prompt_id, meta, origin, line)


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class LiteralSource(PromptSource):
    """A prompt written in the manifest (a string, or {id, text, meta})."""

    def __init__(
        self,
        text: str,
        where: Where,
        prompt_id: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(where)
        self.text, self.prompt_id, self.meta = text, prompt_id, dict(meta or {})

    def entries(self) -> Iterator[Entry]:
        yield _prompt(self.text, self.prompt_id, self.meta, self.where)


@dataclass(frozen=True)
class Template:
    """A `{text, vars}` entry: ``text`` with ``{name}`` placeholders, one prompt per combination."""

    text: str
    vars: Mapping[str, list[Any]]
    prompt_id: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def problems(self) -> list[tuple[str | None, str]]:
        """(var name or None for the text, message) for everything wrong with the template."""
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(self.text) if f is not None]
        except ValueError as exc:
            return [(None, f"bad placeholder ({exc}); write {{{{ and }}}} for literal braces")]
        out: list[tuple[str | None, str]] = []
        for name in dict.fromkeys(fields):
            if not name.isidentifier():
                out.append((None, f"placeholder {{{name}}} must be a var name, like {{animal}}"))
            elif name not in self.vars:
                declared = ", ".join(self.vars) or "none"
                out.append(
                    (None, f"placeholder {{{name}}} is not declared in vars (declared: {declared})")
                )
        for name, values in self.vars.items():
            if name not in fields:
                out.append(
                    (name, f"var `{name}` is not used in text, so every prompt would repeat")
                )
            elif not values:
                out.append((name, f"var `{name}` has no values"))
        return out or self._trial()

    def _trial(self) -> list[tuple[str | None, str]]:
        try:
            self.text.format_map({name: "" for name in self.vars})
        except (ValueError, KeyError, IndexError, AttributeError) as exc:
            return [(None, f"cannot fill the template: {exc}")]
        return []


class TemplateSource(PromptSource):
    """A checked Template, expanded as the product of its vars in the order declared."""

    def __init__(self, template: Template, where: Where) -> None:
        super().__init__(where)
        self.template = template

    def entries(self) -> Iterator[Entry]:
        tpl = self.template
        names = list(tpl.vars)
        for k, combo in enumerate(itertools.product(*tpl.vars.values())):
            values = dict(zip(names, combo, strict=True))
            prompt_id = None if tpl.prompt_id is None else f"{tpl.prompt_id}-{k}"
            yield _prompt(
                tpl.text.format_map(values), prompt_id, {**values, **tpl.meta}, self.where
            )


class FileSource(PromptSource):
    """A prompt file; ``display`` is its path as problems show it."""

    def __init__(
        self, path: Path, display: str, where: Where, meta: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(where)
        self.path, self.display, self.meta = path, display, dict(meta or {})
        self.origin = Where(display, 0, 1, where.key)  # the file; its lines are at_line(n)

    def at(self, line: int) -> Where:
        return self.origin.at_line(line)

    def entries(self) -> Iterator[Entry]:
        reader = {".txt": self._txt, ".jsonl": self._jsonl, ".csv": self._csv}[
            self.path.suffix.lower()
        ]
        try:
            with self.path.open("rb") as stream:
                yield from reader(stream)
        except OSError as exc:
            yield self.where.problem(f"cannot read {self.display}: {exc.strerror or exc}")

    def digest(self) -> str | None:
        sha = hashlib.sha256()
        try:
            with self.path.open("rb") as stream:
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    sha.update(chunk)
        except OSError:
            return None  # entries() reports the problem
        return sha.hexdigest()

    def _decoded(self, stream: BinaryIO) -> Iterator[tuple[int, str | Problem]]:
        for number, raw in enumerate(stream, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, self.at(number).problem("not valid UTF-8")
                continue
            yield number, text.removeprefix("\ufeff") if number == 1 else text

    def _txt(self, stream: BinaryIO) -> Iterator[Entry]:
        for number, line in self._decoded(stream):
            if isinstance(line, Problem):
                yield line
                continue
            text = line.strip()
            if text and not text.startswith("#"):
                yield Prompt(text, None, self.meta, self.origin, number)

    def _jsonl(self, stream: BinaryIO) -> Iterator[Entry]:
        for number, line in self._decoded(stream):
            if isinstance(line, Problem) or not line.strip():
                if isinstance(line, Problem):
                    yield line
                continue
            yield self._json_row(line, number)

    def _json_row(self, line: str, number: int) -> Entry:
        try:
            row = json.loads(line)
        except ValueError as exc:
            return self.at(number).problem(f"not valid JSON: {exc}")
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str):
            return self.at(number).problem('each line must be an object with a string "prompt"')
        prompt_id = row.pop("id", None)
        text = row.pop("prompt")
        meta = {**self.meta, **row}
        prompt_id = None if prompt_id is None else str(prompt_id)
        return _prompt(text, prompt_id, meta, self.origin, number)

    def _csv(self, stream: BinaryIO) -> Iterator[Entry]:
        lines = self._csv_lines(stream)
        reader = csv.reader(lines)
        header = next(reader, None)
        if header is None or "prompt" not in header:
            columns = ", ".join(header or []) or "none"
            yield self.at(1).problem(
                f"needs a header row with a `prompt` column (columns: {columns})"
            )
            return
        start = reader.line_num + 1
        for row in reader:
            yield from self._csv_row(header, row, start)
            start = reader.line_num + 1
        yield from lines.problems

    def _csv_lines(self, stream: BinaryIO) -> _CsvLines:
        return _CsvLines(self._decoded(stream))

    def _csv_row(self, header: list[str], row: list[str], number: int) -> Iterator[Entry]:
        if not any(cell.strip() for cell in row):
            return
        if len(row) > len(header):
            message = f"{len(row)} cells but the header has {len(header)} columns"
            yield self.at(number).problem(message)
            return
        cells = dict(zip(header, row, strict=False))
        text = cells.pop("prompt", "")
        prompt_id = cells.pop("id", None) or None
        yield _prompt(text, prompt_id, {**self.meta, **cells}, self.origin, number)


class _CsvLines:
    """Decoded lines for csv.reader; undecodable lines become empty and are kept as problems."""

    def __init__(self, decoded: Iterable[tuple[int, str | Problem]]) -> None:
        self._decoded = iter(decoded)
        self.problems: list[Problem] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        _, line = next(self._decoded)
        if isinstance(line, Problem):
            self.problems.append(line)
            return "\n"
        return line
