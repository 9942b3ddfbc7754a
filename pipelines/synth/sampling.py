"""Which schools get synthetic logs, and how they are cut into chunks.

- Allocation: ``n`` schools are shared across académies in proportion to their number of schools, with
  at least a floor each (``MIN_PER_ACADEMIE`` by default; the demo asks 50 so that every académie's gaps,
  quintiles and funnels rest on enough schools), by largest remainders, never more than an académie has.
  Above the floor the sample is not self-weighting: the truth's ``sampling_weight`` says by how much.
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


def allocate(counts: dict[str, int], n: int, min_per_academie: int = MIN_PER_ACADEMIE) -> dict[str, int]:
    """Schools to sample per académie: at least ``min_per_academie`` (or all it has), the rest of ``n``
    shared in proportion to ``counts`` among the académies above the floor; largest remainders."""
    codes = sorted(counts)
    cap = np.array([counts[c] for c in codes], dtype=np.int64)
    floor_ = np.minimum(cap, min_per_academie)
    if n < floor_.sum():
        raise ValueError(f"--schools must be at least {int(floor_.sum())} ({min_per_academie} per académie)")
    if n >= cap.sum():
        return dict(zip(codes, cap.tolist()))
    # Académies whose proportional share falls below the floor get the floor; the others share what is
    # left in proportion (which only lowers their shares, so no share exceeds what an académie has).
    at_floor = np.zeros(len(cap), dtype=bool)
    while True:
        quota = np.where(at_floor, floor_, (n - floor_[at_floor].sum()) * cap / cap[~at_floor].sum())
        below = ~at_floor & (quota < floor_)
        if not below.any():
            break
        at_floor |= below
    alloc = np.floor(quota).astype(np.int64)
    alloc[np.argsort(alloc - quota, kind="stable")[: n - alloc.sum()]] += 1
    return dict(zip(codes, alloc.tolist()))


def sample_schools(
    frame: pl.DataFrame, n: int | None, rng: np.random.Generator, min_per_academie: int = MIN_PER_ACADEMIE
) -> np.ndarray:
    """Row indices (into ``frame``) of the sampled schools, sorted; ``n=None`` takes every school."""
    if n is None:
        return np.arange(frame.height)
    indexed = frame.select("academie_code", "level", "ips_model", "uai").with_row_index("row")
    counts = dict(indexed.group_by("academie_code").len().iter_rows())
    picked = []
    for code, k in allocate(counts, n, min_per_academie).items():
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
