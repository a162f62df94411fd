"""Image files under <out>/images/, each written atomically and durably before its item is done.

Durability is group-committed, like the state DB: items hand their decoded images to one
:class:`ImageWriter`, which writes them (temp file, rename) and makes each batch durable with one
syncfs(2) in a worker thread, instead of two fsyncs per file. Where the files are created depends
on what the kernel makes it cost: see :class:`ImageWriter`.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from runner.groupcommit import GroupCommit
from runner.outputs.atomic import sync_filesystem
from runner.types import DecodedImage, StoredImage

IMAGES_DIR = "images"
# Images up to this size (all of one item's) are written on the event loop, larger ones in the
# writer's thread: page-cache writes of a few hundred KiB take well under a millisecond.
INLINE_WRITE_BYTES = 256 * 1024
# Above this (a moving average per item), creating files is slow in the kernel and the writer's
# thread, where the syscalls overlap the event loop's work, is the cheaper place: ext4 takes up to
# ten times longer within minutes of thousands of deletions (perf: recently_deleted()).
SLOW_INLINE_WRITE_S = 250e-6
PROBE_EVERY = 64  # while writes go to the thread, every 64th is written inline to re-measure


def image_name(item_id: str, index: int, image: DecodedImage) -> str:
    """The file's path relative to the output directory; the extension is the real format."""
    return f"{IMAGES_DIR}/{item_id}-{index}.{image.extension}"


def stored_image(item_id: str, index: int, image: DecodedImage) -> StoredImage:
    return StoredImage(
        item_id=item_id,
        image_index=index,
        file_name=image_name(item_id, index, image),
        format=image.format,
        width=image.width,
        height=image.height,
        nbytes=image.nbytes,
        sha256=image.sha256,
    )


def write_file(directory: str, name: str, data: bytes) -> None:
    """Temp file beside ``directory/name``, then rename: a reader never sees half an image.

    The temp name is fixed per image: only this process (it holds the output directory's lock)
    writes here, and temp files a killed run left behind are swept at the next start. Paths are
    strings: on the event loop, pathlib's objects cost more than the syscalls.
    """
    path, tmp = f"{directory}/{name}", f"{directory}/.{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    os.replace(tmp, path)


@dataclass(slots=True)
class _Order:
    """One item's images, waiting to be written; the thread fills in the outcome."""

    item_id: str
    images: Sequence[DecodedImage]
    stored: list[StoredImage] = field(default_factory=list)
    error: OSError | None = None
    written: bool = False

    def write(self, images_dir: str) -> None:
        """Writes the files (not yet durable); a failure is kept for the caller, not raised."""
        try:
            for index, image in enumerate(self.images):
                stored = stored_image(self.item_id, index, image)
                write_file(images_dir, stored.file_name.rpartition("/")[2], image.data)
                self.stored.append(stored)
        except OSError as exc:
            self.error = exc
        self.written = True


def _write_and_sync(out_dir: Path, orders: list[_Order]) -> None:
    """Runs in a worker thread: the orders not yet written, then one sync covering them all."""
    for order in orders:
        if not order.written:
            order.write(f"{out_dir}/{IMAGES_DIR}")
    try:
        sync_filesystem(out_dir)
    except OSError as exc:
        for order in orders:
            order.error = order.error or exc


class ImageWriter:
    """Writes each item's images durably, sharing thread hops and syncs between items.

    ``await writer.write(item_id, images)`` returns once the files are renamed into place and
    synced to disk, so the caller may record the item done. One writer task takes whatever is
    queued each time it is free: a batch grows while the previous one is being synced.

    Small images are written on the event loop itself: four syscalls (~50 us) cost less than
    handing the GIL to a thread and back for each (B1: 150 us of loop time per item in a thread).
    Unless the kernel is slow at it: while writing on the loop averages more than
    ``SLOW_INLINE_WRITE_S`` per item, the files are created by the writer's thread instead.
    """

    def __init__(self, out_dir: Path) -> None:
        self._out_dir = out_dir
        self._images_dir = str(out_dir / IMAGES_DIR)
        self._syncs = GroupCommit(self._write_batch)
        self._inline_s = 0.0  # moving average of one item's write on the event loop
        self._small = 0  # small orders seen, for the periodic re-measure
        (out_dir / IMAGES_DIR).mkdir(parents=True, exist_ok=True)

    async def write(self, item_id: str, images: Sequence[DecodedImage]) -> list[StoredImage]:
        if self._syncs.closing:
            raise RuntimeError("the image writer is closed")
        order = _Order(item_id, images)
        if self._write_inline(order):
            started = time.perf_counter()
            order.write(self._images_dir)
            self._inline_s += (time.perf_counter() - started - self._inline_s) / 16
        await self._syncs.submit(order)
        if order.error is not None:
            raise order.error
        return order.stored

    def _write_inline(self, order: _Order) -> bool:
        if sum(image.nbytes for image in order.images) > INLINE_WRITE_BYTES:
            return False
        self._small += 1
        return self._inline_s <= SLOW_INLINE_WRITE_S or self._small % PROBE_EVERY == 0

    async def _write_batch(self, batch: list[_Order]) -> None:
        await anyio.to_thread.run_sync(_write_and_sync, self._out_dir, batch)


@asynccontextmanager
async def open_image_writer(out_dir: Path) -> AsyncIterator[ImageWriter]:
    """An :class:`ImageWriter` whose writer task lives as long as the block."""
    writer = ImageWriter(out_dir)
    async with writer._syncs.running():
        yield writer
