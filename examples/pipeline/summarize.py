"""Downstream step: images and cost per model, as CSV, from a run's metadata.jsonl."""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict


def main(metadata_path: str) -> None:
    images: dict[str, int] = defaultdict(int)
    cost: dict[str, float] = defaultdict(float)
    with open(metadata_path, encoding="utf-8") as rows:
        for line in rows:
            row = json.loads(line)
            images[row["model"]] += 1
            cost[row["model"]] += row["cost_usd"] or 0.0
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["model", "images", "cost_usd"])
    for model in sorted(images):
        out.writerow([model, images[model], f"{cost[model]:.6f}"])


if __name__ == "__main__":
    main(sys.argv[1])
