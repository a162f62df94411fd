"""A loaded job: its settings, its pricer, and its items as a stream.

Items are never held in a list: ``iter_items`` walks prompts x cells x repeats afresh on every
call, so a million-item job costs memory for one prompt at a time (plus de-duplication digests).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

from runner.catalog import Pricer
from runner.manifest.promptset import PromptSet
from runner.manifest.variants import Cell, canonical_json
from runner.types import JobSettings, WorkItem

ITEM_ID_HEX = 24


def item_id(
    model: str, prompt: str, size: str | None, params: Mapping[str, Any], repeat: int
) -> str:
    """The stable id of what an item asks for: 24 hex chars of sha256 of canonical JSON.

    Meta and prompt ids are left out on purpose: relabelling a prompt must not re-run it.
    """
    body = {
        "model": model,
        "prompt": prompt,
        "size": size,
        "params": dict(params),
        "repeat": repeat,
    }
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()[:ITEM_ID_HEX]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class _CellIds:
    """A cell's canonical JSON split around the prompt, so each id costs one concatenation.

    Keys of canonical JSON sort as model, params, prompt, repeat, size.
    """

    cell: Cell
    head: str
    tails: tuple[str, ...]

    @classmethod
    def of(cls, cell: Cell) -> _CellIds:
        head = f'{{"model":{_dumps(cell.model)},"params":{cell.params_json},"prompt":'
        size = _dumps(cell.size)
        tails = tuple(f',"repeat":{r},"size":{size}}}' for r in range(cell.repeats))
        return cls(cell, head, tails)


@dataclass(frozen=True)
class Job:
    """A validated manifest, ready to plan or run."""

    settings: JobSettings
    pricer: Pricer
    fingerprint: str  # same fingerprint => same items (manifest, prompt files, catalog)
    warnings: tuple[str, ...]
    prompts: PromptSet = field(repr=False)
    cells: tuple[Cell, ...] = field(repr=False)
    prompt_count: int = 0  # distinct prompts
    text_tokens: int = 0  # estimated text tokens of all distinct prompts, summed

    def iter_items(self) -> Iterator[WorkItem]:
        """Every item, prompt-major (each prompt across all models), seq = 0, 1, 2, ..."""
        plans = [_CellIds.of(cell) for cell in self.cells]
        seq = 0
        for prompt in self.prompts:
            text_json = encode_basestring(prompt.text)  # json.dumps's own, 10x faster per call
            meta = dict(prompt.meta)
            for plan in plans:
                cell = plan.cell
                for repeat, tail in enumerate(plan.tails):
                    digest = hashlib.sha256((plan.head + text_json + tail).encode("utf-8"))
                    yield WorkItem(
                        item_id=digest.hexdigest()[:ITEM_ID_HEX],
                        seq=seq,
                        model=cell.model,
                        prompt=prompt.text,
                        size=cell.size,
                        params=dict(cell.params),
                        prompt_id=prompt.prompt_id,
                        meta=meta,
                        repeat=repeat,
                    )
                    seq += 1

    @property
    def items_per_prompt(self) -> int:
        return sum(cell.repeats for cell in self.cells)

    def count(self) -> int:
        """How many items ``iter_items`` yields, without expanding them."""
        return self.prompt_count * self.items_per_prompt

    def images(self) -> int:
        """How many images the job asks for (n summed over items)."""
        return self.prompt_count * sum(cell.repeats * cell.images for cell in self.cells)

    @property
    def models(self) -> tuple[str, ...]:
        """The job's model names, in manifest order, each once."""
        return tuple(dict.fromkeys(cell.model for cell in self.cells))
