"""Image files under <out>/images/, each written atomically before its item may be marked done."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runner.outputs.atomic import write_atomic
from runner.types import DecodedImage, StoredImage

IMAGES_DIR = "images"


def image_name(item_id: str, index: int, image: DecodedImage) -> str:
    """The file's path relative to the output directory; the extension is the real format."""
    return f"{IMAGES_DIR}/{item_id}-{index}.{image.extension}"


def write_images(out_dir: Path, item_id: str, images: Sequence[DecodedImage]) -> list[StoredImage]:
    """Writes (temp file, fsync, rename) every image of one item; runs in a worker thread."""
    (out_dir / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    stored = []
    for index, image in enumerate(images):
        name = image_name(item_id, index, image)
        write_atomic(out_dir / name, image.data)
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
