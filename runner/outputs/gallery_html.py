"""HTML rendering of the gallery: inline CSS, no script, no external reference.

It must open from ``file://`` on a machine without network, so images are linked relatively
(``images/...``) and nothing is fetched from a CDN. Every piece of text passes through
:func:`esc`: prompts, params and error messages are user or provider text.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from runner.outputs.jsonl import error_of, image_cost, sorted_images
from runner.types import ItemRecord, ItemState, StoredImage

if TYPE_CHECKING:
    from runner.outputs.gallery import ColumnKey, GalleryData, PromptRow

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{margin:0 0 .5em}h2{margin:1.5em 0 .5em}
table{border-collapse:collapse}
th,td{border:1px solid #ddd;padding:6px;vertical-align:top;text-align:left;background:#fff}
.summary tbody{display:flex;flex-wrap:wrap;gap:.4em}
.summary tr{display:flex}.summary th{background:#eee}
.summary td.n{text-align:right;font-variant-numeric:tabular-nums}
.grid th.prompt{max-width:22em;font-weight:normal}
.pid{font-family:monospace;color:#555}
.vars{margin-top:.4em;color:#555}
figure{margin:0 0 8px;max-width:256px}
figure img{max-width:100%;height:auto;display:block;background:#eee}
figcaption{font-size:12px;color:#444;word-break:break-word}
.state{font-size:12px;padding:2px 6px;border-radius:3px;display:inline-block;margin-bottom:4px}
.failed{background:#fdd}.ambiguous{background:#ffe6b3}.pending{background:#e8e8e8}
.note{color:#555;font-style:italic}
.failures td{font-size:12px;max-width:40em;word-break:break-word}
"""


def esc(value: Any) -> str:
    """Text as safe HTML (quotes too, so it can go in attributes)."""
    return html.escape(str(value), quote=True)


def render_page(data: GalleryData, job: str) -> str:
    """The whole page as one string; equal data gives an equal string."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(job)} · gallery</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{esc(job)}</h1>",
        *_summary(data),
        *_grid(data),
        *_failures(data),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(data: GalleryData) -> Iterable[str]:
    counts = data.counts
    rows = [
        ("items", counts.total),
        ("done", counts.done),
        ("failed", counts.failed),
        ("ambiguous", counts.ambiguous),
        ("pending", counts.other),
        ("images", data.images),
    ]
    yield '<table class="summary"><tbody>'
    for label, value in rows:
        yield f'<tr><th>{label}</th><td class="n">{value:,}</td></tr>'
    for model in sorted(data.cost_by_model):
        cost = money(data.cost_by_model[model])
        yield f'<tr><th>cost {esc(model)}</th><td class="n">{cost}</td></tr>'
    total = sum(data.cost_by_model.values())
    yield f'<tr><th>cost total</th><td class="n">{money(total)}</td></tr>'
    if data.unpriced_models:
        names = ", ".join(esc(m) for m in sorted(data.unpriced_models))
        yield f"<tr><th>unpriced models</th><td>{names}</td></tr>"
    yield "</tbody></table>"


def _grid(data: GalleryData) -> Iterable[str]:
    yield "<h2>Images</h2>"
    if not data.rows:
        yield '<p class="note">No items yet.</p>'
        return
    columns = _ordered_columns(data.columns)
    sized = _models_with_several_sizes(columns)
    yield '<table class="grid"><thead><tr><th>prompt</th>'
    for model, size in columns:
        label = f"{esc(model)}<br>{esc(size)}" if model in sized else esc(model)
        yield f"<th>{label}</th>"
    yield "</tr></thead><tbody>"
    for row in data.rows.values():
        yield from _grid_row(row, columns, sized)
    yield "</tbody></table>"
    if data.hidden_prompts:
        yield _cap_note(data)


def _cap_note(data: GalleryData) -> str:
    return (
        f'<p class="note">Showing the first {len(data.rows):,} prompts. '
        f"{len(data.hidden_prompts):,} more prompts ({data.hidden_items:,} items, "
        f"{data.hidden_images:,} images) are left out of this page; "
        "metadata.jsonl lists every image.</p>"
    )


def _grid_row(row: PromptRow, columns: list[ColumnKey], sized: set[str]) -> Iterable[str]:
    yield f'<tr><th class="prompt">{_prompt_header(row.record)}</th>'
    for model, size in columns:
        # repeats of one prompt x model x size share the cell: one figure per image
        records = row.cells.get((model, size), [])
        yield f"<td>{''.join(_cell_entry(r) for r in records)}</td>"
    yield "</tr>"


def _prompt_header(record: ItemRecord) -> str:
    item = record.item
    parts = [esc(item.prompt)]
    if item.prompt_id:
        parts.append(f'<div class="pid">{esc(item.prompt_id)}</div>')
    if item.meta:
        parts.append(f'<div class="vars">{esc(format_params(item.meta))}</div>')
    return "".join(parts)


def _cell_entry(record: ItemRecord) -> str:
    if record.state is ItemState.DONE:
        return "".join(_figure(record, image) for image in sorted_images(record))
    state = record.state.value
    if record.state in (ItemState.FAILED, ItemState.AMBIGUOUS):
        title = esc(error_of(record).message)
        return f'<div class="state {state}" title="{title}">{state}</div>'
    return f'<div class="state pending">{esc(state)}</div>'  # pending or in flight


def _figure(record: ItemRecord, image: StoredImage) -> str:
    src = esc(quote(image.file_name))
    alt = esc(record.item.prompt)
    caption = [esc(format_params(record.item.params)), f"cost {money(image_cost(record))}"]
    if image.revised_prompt:
        caption.append(f"revised: {esc(image.revised_prompt)}")
    return (
        f'<figure><a href="{src}"><img src="{src}" alt="{alt}" loading="lazy" '
        f'width="{image.width}" height="{image.height}"></a>'
        f"<figcaption>{'<br>'.join(caption)}</figcaption></figure>"
    )


def _failures(data: GalleryData) -> Iterable[str]:
    yield f"<h2>Failures ({data.failures_total:,})</h2>"
    if not data.failures:
        yield '<p class="note">None.</p>'
        return
    yield (
        '<table class="failures"><thead><tr><th>item</th><th>state</th><th>model</th>'
        "<th>size</th><th>prompt</th><th>error</th><th>attempts</th></tr></thead><tbody>"
    )
    for record in data.failures:
        yield _failure_row(record)
    yield "</tbody></table>"
    if data.failures_total > len(data.failures):
        left = data.failures_total - len(data.failures)
        yield f'<p class="note">{left:,} more failures are listed in failures.jsonl.</p>'


def _failure_row(record: ItemRecord) -> str:
    item, error = record.item, error_of(record)
    reason = ", ".join(
        str(part) for part in (error.kind.value, error.http_status, error.code) if part is not None
    )
    cells = (item.item_id, record.state.value, item.model, item.size or "", item.prompt)
    tds = "".join(f"<td>{esc(c)}</td>" for c in cells)
    return f"<tr>{tds}<td>{esc(reason)}: {esc(error.message)}</td><td>{record.attempts}</td></tr>"


def format_params(params: Mapping[str, Any]) -> str:
    """``k=v`` pairs in key order; non-string values as JSON so types stay visible."""
    return ", ".join(f"{k}={_param_value(params[k])}" for k in sorted(params, key=str))


def money(value: float | None) -> str:
    """Dollars with enough digits for per-image prices; "unpriced" when unknown."""
    if value is None:
        return "unpriced"
    return f"${value:,.2f}" if abs(value) >= 100 else f"${value:.4f}"


def _param_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _ordered_columns(seen: Mapping[ColumnKey, None]) -> list[ColumnKey]:
    """Models in first-seen order, each model's sizes in first-seen order."""
    by_model: dict[str, list[ColumnKey]] = {}
    for column in seen:
        by_model.setdefault(column[0], []).append(column)
    return [column for columns in by_model.values() for column in columns]


def _models_with_several_sizes(columns: list[ColumnKey]) -> set[str]:
    models = [model for model, _ in columns]
    return {model for model in models if models.count(model) > 1}
