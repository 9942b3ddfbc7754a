"""Which schools get synthetic logs, and how they are cut into chunks.

- Allocation: ``n`` schools are shared across académies in proportion to their number of schools, with
  at least ``MIN_PER_ACADEMIE`` each (largest remainders; never more than an académie has).
- Within an académie: systematic sampling with a random start over the schools ordered by level then IPS,
  an implicit stratification that keeps the sample's level and IPS mix close to the académie's.
- Chunks: the sampled schools of one académie, in UAI order, cut every ``CHUNK_EVENTS`` expected events
  (a chunk holds about that many events, or one larger school), so memory stays bounded at any scale.
"""

from __future__ import annotations

import numpy as np
import polars as pl

MIN_PER_ACADEMIE = 3
CHUNK_EVENTS = 6_000_000


def allocate(counts: dict[str, int], n: int) -> dict[str, int]:
    """Schools to sample per académie: proportional to ``counts``, at least MIN_PER_ACADEMIE, sum ``n``."""
    codes = sorted(counts)
    cap = np.array([counts[c] for c in codes])
    floor_ = np.minimum(cap, MIN_PER_ACADEMIE)
    if n < floor_.sum():
        raise ValueError(f"--schools must be at least {int(floor_.sum())} ({MIN_PER_ACADEMIE} per académie)")
    n = min(n, int(cap.sum()))
    quota = n * cap / cap.sum()
    alloc = np.clip(np.floor(quota).astype(int), floor_, cap)
    while alloc.sum() != n:
        gap = quota - alloc
        if alloc.sum() < n:
            gap[alloc >= cap] = -np.inf
            alloc[np.argmax(gap)] += 1
        else:
            gap[alloc <= floor_] = np.inf
            alloc[np.argmin(gap)] -= 1
    return dict(zip(codes, alloc.tolist()))


def sample_schools(frame: pl.DataFrame, n: int | None, rng: np.random.Generator) -> np.ndarray:
    """Row indices (into ``frame``) of the sampled schools, sorted; ``n=None`` takes every school."""
    if n is None:
        return np.arange(frame.height)
    indexed = frame.select("academie_code", "level", "ips_model", "uai").with_row_index("row")
    counts = dict(indexed.group_by("academie_code").len().iter_rows())
    picked = []
    for code, k in allocate(counts, n).items():
        rows = indexed.filter(pl.col("academie_code") == code).sort("level", "ips_model", "uai")["row"].to_numpy()
        positions = np.floor((rng.random() + np.arange(k)) * len(rows) / k).astype(np.int64)
        picked.append(rows[positions])
    return np.sort(np.concatenate(picked))


def chunk_rows(rows: np.ndarray, expected_events: np.ndarray) -> list[np.ndarray]:
    """Cut consecutive ``rows`` each time the running total of expected events crosses a multiple of
    CHUNK_EVENTS."""
    chunk_id = np.floor(np.cumsum(expected_events) / CHUNK_EVENTS).astype(np.int64)
    cuts = np.flatnonzero(np.diff(chunk_id)) + 1
    return [piece for piece in np.split(rows, cuts) if len(piece)]
