"""Image files under <out>/images/, each written atomically before its item may be marked done."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import anyio

from runner.client import decode_b64_image
from runner.outputs.atomic import sync_filesystem, write_atomic
from runner.types import DecodedImage, ImageRef, StoredImage

IMAGES_DIR = "images"


def image_name(item_id: str, index: int, image: DecodedImage) -> str:
    """The file's path relative to the output directory; the extension is the real format."""
    return f"{IMAGES_DIR}/{item_id}-{index}.{image.extension}"


def write_images(out_dir: Path, item_id: str, images: Sequence[DecodedImage]) -> list[StoredImage]:
    """Writes (temp file, rename) every image of one item; runs in a worker thread.

    No fsync here: the caller awaits a :class:`SharedSync` before recording them done, one
    filesystem sync for every item waiting at the time instead of two fsyncs per file.
    """
    (out_dir / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    stored = []
    for index, image in enumerate(images):
        name = image_name(item_id, index, image)
        write_atomic(out_dir / name, image.data, sync=False)
        stored.append(
            StoredImage(
                item_id=item_id,
                image_index=index,
                file_name=name,
                format=image.format,
                width=image.width,
                height=image.height,
                nbytes=image.nbytes,
                sha256=image.sha256,
            )
        )
    return stored


def decode_and_write(out_dir: Path, item_id: str, refs: Sequence[ImageRef]) -> list[StoredImage]:
    """Inline (b64) answers: decode and write in one worker-thread hop, not two."""
    return write_images(out_dir, item_id, [decode_b64_image(r.b64_json or "") for r in refs])


class SharedSync:
    """Makes written images durable with one syncfs shared by everyone waiting at the time.

    Group commit for the filesystem: a caller's files are written before it calls; a sync that
    *starts* after that covers them, so callers arriving while one runs wait for the next one,
    and all of them share it. It runs outside the state DB's writer, so commits of other items
    (a next request's intent) never queue behind a filesystem flush.
    """

    def __init__(self, out_dir: Path) -> None:
        self._out_dir = out_dir
        self._lock = anyio.Lock()
        self._issued = 0  # tickets handed out: one per call
        self._synced = 0  # every ticket up to this one is durable

    async def __call__(self, limiter: anyio.CapacityLimiter | None = None) -> None:
        self._issued += 1
        ticket = self._issued
        async with self._lock:
            if self._synced >= ticket:
                return
            covered = self._issued
            await anyio.to_thread.run_sync(sync_filesystem, self._out_dir, limiter=limiter)
            self._synced = covered
