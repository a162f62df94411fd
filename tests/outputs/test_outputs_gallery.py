"""index.html: a self-contained, escaped, deterministic and capped gallery page."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from runner.outputs import RunSummary, write_gallery
from runner.types import ErrorInfo, ErrorKind, ItemRecord, ItemState

from .factory import Records

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Page(HTMLParser):
    """Collects what the tests look at: tag attributes, table rows and visible text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attrs.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(" ".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None and data.strip():
            self._cell.append(data.strip())

    def srcs(self, tag: str, attr: str) -> list[str]:
        return [a[attr] or "" for t, a in self.attrs if t == tag and attr in a]

    def tables(self, css_class: str) -> int:
        return sum(1 for t, a in self.attrs if t == "table" and a.get("class") == css_class)


def summary(**changes: object) -> RunSummary:
    base = RunSummary(
        job="cats-v1",
        started_at=START,
        finished_at=START + timedelta(seconds=5),
        items_total=0,
        done=0,
        failed=0,
        ambiguous=0,
        pending=0,
        images=0,
        cost_by_model={},
        usage_by_model={},
        requests={"generations": 1},
        possible_duplicate_charges=0,
        exit_code=0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def sample(records: Records) -> list[ItemRecord]:
    """Two prompts (one a template) x dall-e-3 (one size) and gpt-image-1 (two sizes)."""
    cat: dict[str, Any] = {
        "prompt": "a cat in pixel art style",
        "meta": {"animal": "cat", "style": "pixel art"},
    }
    fox: dict[str, Any] = {"prompt": "a fox", "prompt_id": "hero"}
    gpt: dict[str, Any] = {"model": "gpt-image-1", "params": {"quality": "high", "n": 2}}
    return [
        records.done(**cat, params={"style": "vivid"}, revised_prompt="A tiny cat", cost_usd=0.04),
        records.done(**cat, **gpt, n_images=2, cost_usd=0.5),
        records.done(**cat, **gpt, size="1536x1024", n_images=2, cost_usd=None),
        records.done(**fox, cost_usd=0.04),
        records.failed(
            ErrorInfo(ErrorKind.INVALID, "rejected by the safety system", 400, "content_policy"),
            **fox,
            **gpt,
        ),
        records.failed(None, state=ItemState.AMBIGUOUS, **fox, **gpt, size="1536x1024"),
        records.pending(prompt="a bird"),
    ]


def render(out_dir: Path, recs: list[ItemRecord], **kwargs: int) -> str:
    write_gallery(out_dir, summary(), recs, **kwargs)
    return (out_dir / "index.html").read_text(encoding="utf-8")


def test_gallery_is_self_contained_with_existing_relative_images(
    out_dir: Path, records: Records
) -> None:
    """No remote reference, no script; every image link is relative and names a real file."""
    text = render(out_dir, sample(records))
    page = Page(text)
    assert not re.search(r"https?://", text)
    assert "<script" not in text.lower()
    assert not page.srcs("link", "href")
    srcs = page.srcs("img", "src") + page.srcs("a", "href")
    assert len(page.srcs("img", "src")) == 6  # 1 + 2 + 2 + 1 images of done items
    for src in srcs:
        assert src.startswith("images/")
        assert (out_dir / unquote(src)).is_file()


def test_gallery_summary_counts_and_cost_by_model(out_dir: Path, records: Records) -> None:
    """The summary table gives items by state, images, cost per model and unpriced models."""
    rows = Page(render(out_dir, sample(records))).rows
    table = {row[0]: row[1] for row in rows if len(row) == 2}
    assert table["items"] == "7"
    assert (table["done"], table["failed"], table["ambiguous"], table["pending"]) == (
        "4",
        "1",
        "1",
        "1",
    )
    assert table["images"] == "6"
    assert table["cost dall-e-3"] == "$0.0800"
    assert table["cost gpt-image-1"] == "$0.5000"
    assert table["cost total"] == "$0.5800"
    assert table["unpriced models"] == "gpt-image-1"


def test_gallery_grid_rows_are_prompts_and_columns_models_and_sizes(
    out_dir: Path, records: Records
) -> None:
    """Rows follow the prompts' order with their vars; a model with two sizes gets two columns."""
    page = Page(render(out_dir, sample(records)))
    header = next(row for row in page.rows if row and row[0] == "prompt")
    assert header == ["prompt", "dall-e-3", "gpt-image-1 1024x1024", "gpt-image-1 1536x1024"]
    grid = page.rows[page.rows.index(header) + 1 :][:3]
    assert [row[0] for row in grid] == [
        "a cat in pixel art style animal=cat, style=pixel art",
        "a fox hero",
        "a bird",
    ]
    cat, fox, bird = grid
    assert "style=vivid" in cat[1]
    assert "revised: A tiny cat" in cat[1]
    assert cat[2].count("n=2, quality=high") == 2  # one caption per image of the n=2 item
    assert "cost $0.2500" in cat[2]
    assert "cost unpriced" in cat[3]
    assert (fox[2], fox[3]) == ("failed", "ambiguous")
    assert bird[1:] == ["pending", "", ""]


def test_gallery_failures_table_gives_reasons(out_dir: Path, records: Records) -> None:
    """Each failed or ambiguous item is listed with its state, model and error."""
    page = Page(render(out_dir, sample(records)))
    assert page.tables("failures") == 1
    assert "Failures (2)" in "".join(page.text)
    listed = [row for row in page.rows if len(row) == 7 and row[1] in ("failed", "ambiguous")]
    assert [row[1:4] for row in listed] == [
        ["failed", "gpt-image-1", "1024x1024"],
        ["ambiguous", "gpt-image-1", "1536x1024"],
    ]
    assert listed[0][5] == "invalid, 400, content_policy: rejected by the safety system"
    assert listed[1][5].startswith("ambiguous: ")


def test_gallery_escapes_user_text(out_dir: Path, records: Records) -> None:
    """A prompt holding markup is shown as text, never as a tag or an attribute break-out."""
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    recs = [
        records.done(prompt=evil, meta={"v": "<b>"}, revised_prompt=evil, params={"q": '"><i>'}),
        records.failed(ErrorInfo(ErrorKind.INVALID, evil), prompt=evil),
    ]
    text = render(out_dir, recs)
    assert "<script" not in text
    assert "<b>" not in text
    assert "<i>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    page = Page(text)
    assert [a.get("onerror") for t, a in page.attrs if t == "img"] == [None]
    assert evil in "".join(page.text)  # the visible text is exactly the user's


def test_gallery_is_byte_identical_and_untouched_for_same_records(
    out_dir: Path, records: Records
) -> None:
    """The same records, even with another run's times and counters, leave index.html as is."""
    recs = sample(records)
    assert write_gallery(out_dir, summary(), recs) is True
    path = out_dir / "index.html"
    first, mtime = path.read_bytes(), path.stat().st_mtime_ns
    later = summary(
        started_at=START + timedelta(days=1),
        finished_at=START + timedelta(days=1, hours=2),
        requests={"generations": 99, "polls": 12},
        exit_code=1,
    )
    assert write_gallery(out_dir, later, iter(recs)) is False
    assert path.read_bytes() == first
    assert path.stat().st_mtime_ns == mtime


def test_gallery_changes_when_records_change(out_dir: Path, records: Records) -> None:
    """A newly done item rewrites the page (so the byte-identity test above can fail)."""
    recs = sample(records)
    write_gallery(out_dir, summary(), recs)
    assert write_gallery(out_dir, summary(), [*recs, records.done(prompt="new")]) is True
    page = Page((out_dir / "index.html").read_text(encoding="utf-8"))
    assert any(row and row[0] == "new" for row in page.rows)


def test_gallery_caps_rows_with_a_note(out_dir: Path, records: Records) -> None:
    """Past max_prompts, prompts are left out of the grid and a note says how many."""
    recs = [records.done(prompt=f"prompt {i}", n_images=2, params={"n": 2}) for i in range(5)]
    recs.append(records.done(prompt="prompt 0", model="gpt-image-1"))  # a shown row's item
    recs.append(records.done(prompt="prompt 4", model="gpt-image-1"))  # a hidden row's item
    page = Page(render(out_dir, recs, max_prompts=2))
    heads = [row[0] for row in page.rows if row and row[0].startswith("prompt ")]
    assert heads == ["prompt 0", "prompt 1"]
    assert len(page.srcs("img", "src")) == 2 + 2 + 1
    text = " ".join(" ".join(page.text).split())
    assert "Showing the first 2 prompts. 3 more prompts (4 items, 7 images) are left out" in text
    table = {row[0]: row[1] for row in page.rows if len(row) == 2}
    assert (table["items"], table["images"]) == ("7", "12")  # totals still count everything


def test_gallery_caps_failures_table(out_dir: Path, records: Records) -> None:
    """The failures table is capped too, pointing at failures.jsonl for the rest."""
    recs = [records.failed(ErrorInfo(ErrorKind.INVALID, "no"), prompt=f"p{i}") for i in range(4)]
    page = Page(render(out_dir, recs, max_prompts=3))
    assert sum(1 for row in page.rows if len(row) == 7 and row[1] == "failed") == 3
    assert "1 more failures are listed in failures.jsonl" in " ".join(page.text)


def test_gallery_empty_run(out_dir: Path) -> None:
    """No records yet: a valid page saying so, with zero totals."""
    page = Page(render(out_dir, []))
    assert "No items yet." in page.text
    assert {row[0]: row[1] for row in page.rows if len(row) == 2}["items"] == "0"
