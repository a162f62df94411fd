"""A real run's output directory is a Hugging Face ``imagefolder`` dataset as it stands."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import metadata_rows


def test_quickstart_output_loads_with_load_dataset_imagefolder(
    quickstart_out: Path, tmp_path: Path
) -> None:
    """Every metadata row is one example whose decoded image and fields match the row."""
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset(
        "imagefolder",
        data_dir=str(quickstart_out),
        split="train",
        cache_dir=str(tmp_path / "hf-cache"),  # never the user's ~/.cache
    )
    rows = metadata_rows(quickstart_out)
    assert loaded.num_rows == len(rows) > 0
    assert set(loaded.column_names) == {"image"} | (set(rows[0]) - {"file_name"})
    by_key = {(row["item_id"], row["image_index"]): row for row in rows}
    seen = set()
    for example in loaded:
        key = (example["item_id"], example["image_index"])
        row = by_key[key]
        assert example["image"].size == (row["width"], row["height"])
        assert (example["prompt"], example["model"], example["sha256"]) == (
            row["prompt"],
            row["model"],
            row["sha256"],
        )
        seen.add(key)
    assert seen == set(by_key)
