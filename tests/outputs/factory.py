"""Builders for hand-made ItemRecords backed by real PNG files under an output directory."""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from runner.types import ErrorInfo, ItemRecord, ItemState, StoredImage, WorkItem


class Records:
    """Makes ItemRecords the way the store would hand them over, writing each image for real."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        (out_dir / "images").mkdir(parents=True, exist_ok=True)
        self._seq = itertools.count()

    def item(
        self,
        prompt: str = "a white cat",
        model: str = "dall-e-3",
        size: str | None = "1024x1024",
        params: Mapping[str, Any] | None = None,
        prompt_id: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> WorkItem:
        seq = next(self._seq)
        return WorkItem(
            item_id=f"{seq:04d}"
            + hashlib.sha256(repr((prompt, model, size)).encode()).hexdigest()[:12],
            seq=seq,
            model=model,
            prompt=prompt,
            size=size,
            params=dict(params if params is not None else {"size": size, "n": 1}),
            prompt_id=prompt_id,
            meta=dict(meta or {}),
        )

    def done(
        self,
        n_images: int = 1,
        cost_usd: float | None = 0.04,
        usage: Mapping[str, Any] | None = None,
        revised_prompt: str | None = None,
        attempts: int = 1,
        task_id: str | None = None,
        **item_args: Any,
    ) -> ItemRecord:
        item = self.item(**item_args)
        images = tuple(
            self.image(item.item_id, i, revised_prompt=revised_prompt) for i in range(n_images)
        )
        return ItemRecord(
            item=item,
            state=ItemState.DONE,
            attempts=attempts,
            task_id=task_id,
            cost_usd=cost_usd,
            usage=usage,
            finished_at=f"2024-05-01T12:00:{item.seq % 60:02d}+00:00",
            images=images,
        )

    def failed(
        self,
        error: ErrorInfo | None,
        state: ItemState = ItemState.FAILED,
        attempts: int = 5,
        **item_args: Any,
    ) -> ItemRecord:
        return ItemRecord(
            item=self.item(**item_args),
            state=state,
            attempts=attempts,
            error=error,
            finished_at="2024-05-01T12:30:00+00:00",
        )

    def pending(self, **item_args: Any) -> ItemRecord:
        return ItemRecord(item=self.item(**item_args), state=ItemState.PENDING)

    def image(self, item_id: str, index: int, revised_prompt: str | None = None) -> StoredImage:
        """Write a tiny real PNG (its size varies with the index) and describe it."""
        width, height = 3 + index, 2
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), (index * 40 % 256, 120, 200)).save(buffer, "PNG")
        data = buffer.getvalue()
        file_name = f"images/{item_id}-{index}.png"
        (self.out_dir / file_name).write_bytes(data)
        return StoredImage(
            item_id=item_id,
            image_index=index,
            file_name=file_name,
            format="png",
            width=width,
            height=height,
            nbytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            revised_prompt=revised_prompt,
        )
