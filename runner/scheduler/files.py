"""Image files under <out>/images/, each written atomically before its item may be marked done."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from runner.client import decode_b64_image
from runner.outputs.atomic import sync_filesystem, write_atomic
from runner.types import DecodedImage, ImageRef, StoredImage

IMAGES_DIR = "images"


def image_name(item_id: str, index: int, image: DecodedImage) -> str:
    """The file's path relative to the output directory; the extension is the real format."""
    return f"{IMAGES_DIR}/{item_id}-{index}.{image.extension}"


def write_images(out_dir: Path, item_id: str, images: Sequence[DecodedImage]) -> list[StoredImage]:
    """Writes (temp file, rename) every image of one item; runs in a worker thread.

    No fsync here: the store syncs the filesystem once per group commit, before the commit that
    marks these images done (see ``durable``), instead of twice per file.
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


def durable(out_dir: Path) -> Callable[[], None]:
    """The barrier that makes written images durable: one syncfs of the output's filesystem."""
    return partial(sync_filesystem, out_dir)
