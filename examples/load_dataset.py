"""Load a run's output as a Hugging Face dataset (the `imagefolder` convention).

.venv/bin/python examples/load_dataset.py out/quickstart
"""

from __future__ import annotations

import sys

from datasets import load_dataset


def main(out_dir: str) -> int:
    dataset = load_dataset("imagefolder", data_dir=out_dir, split="train")
    print(f"{dataset.num_rows} images; columns: {', '.join(dataset.column_names)}")
    first = dataset[0]
    print(f"first: {first['model']} {first['image'].size} {first['prompt']!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "out/quickstart"))
