"""The gallery in a real browser: index.html from file:// shows every image of the run."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

import pytest

from .cdp import CHROMIUM, chromium
from .conftest import metadata_rows

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: run scripts/install-browser.sh"
)

# Every <img> is made to load now: with loading="lazy", images further below the fold than
# Chromium's lazy-load margin never start in a window nobody scrolls (the quickstart's 20 fit in
# it; a bigger gallery would not). decode() waits for each one; its rejection is caught so that a
# broken image is reported in the result rather than thrown.
IMAGES_SCRIPT = """
(async () => {
  const images = Array.from(document.images);
  images.forEach((img) => { img.loading = "eager"; });
  await Promise.all(images.map((img) => img.decode().catch(() => null)));
  return {
    allLoaded: images.every((img) => img.complete && img.naturalWidth > 0),
    images: images.map((img) => ({
      src: img.getAttribute("src"),
      loaded: img.complete && img.naturalWidth > 0,
      width: img.naturalWidth,
      height: img.naturalHeight,
    })),
  };
})()
"""


@pytest.fixture
def chromium_stderr(tmp_path: Path) -> Iterator[IO[bytes]]:
    """Chromium's own messages, kept in a file for when a test fails."""
    with (tmp_path / "chromium.log").open("wb") as log:
        yield log


async def gallery_images(out: Path, profile: Path, stderr: IO[bytes]) -> dict[str, Any]:
    async with asyncio.timeout(60), chromium(profile, stderr) as browser:
        page = await browser.open_page((out / "index.html").as_uri())
        result: dict[str, Any] = await browser.evaluate(page, IMAGES_SCRIPT)
        return result


@pytest.mark.asyncio
async def test_every_gallery_image_loads_in_chromium(
    quickstart_out: Path, tmp_path: Path, chromium_stderr: IO[bytes]
) -> None:
    """Each <img> decodes, one per metadata.jsonl row, at the size the row records."""
    result = await gallery_images(quickstart_out, tmp_path / "profile", chromium_stderr)
    rows = metadata_rows(quickstart_out)
    images = result["images"]
    broken = [img["src"] for img in images if not img["loaded"]]
    assert broken == []
    assert result["allLoaded"] is True
    assert len(images) == len(rows) > 0
    shown = {unquote(img["src"]): (img["width"], img["height"]) for img in images}
    assert shown == {row["file_name"]: (row["width"], row["height"]) for row in rows}
