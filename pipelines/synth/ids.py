"""Vectorized identifiers: fixed-width ASCII byte matrices turned into Arrow string arrays without building
one Python string per row."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UUID_DASHES = (8, 13, 18, 23)


def strings_from_matrix(matrix: np.ndarray) -> pa.StringArray:
    """An Arrow string array whose row i is the ASCII bytes of ``matrix[i]`` (uint8, shape (n, width))."""
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    data = np.ascontiguousarray(matrix).reshape(-1)
    if offsets[-1] < 2**31:
        return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)])
    return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def strings_from_list(values: list[str] | tuple[str, ...]) -> pa.StringArray:
    """A (small) Arrow string array from Python strings, built from buffers (pa.array on a list would
    import pandas, which costs seconds when bytecode caching is off)."""
    encoded = [v.encode("utf-8") for v in values]
    offsets = np.concatenate([[0], np.cumsum([len(e) for e in encoded])]).astype(np.int32)
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])


def uuid4_matrix(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random version-4 UUIDs as a (n, 36) ASCII matrix (lower-case hex with dashes)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = np.empty((n, 32), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[raw >> 4]
    hexed[:, 1::2] = _HEX[raw & 0x0F]
    out = np.empty((n, 36), dtype=np.uint8)
    src = 0
    dst = 0
    for dash in (*_UUID_DASHES, 36):
        width = dash - dst
        out[:, dst:dash] = hexed[:, src : src + width]
        src += width
        if dash < 36:
            out[:, dash] = ord("-")
        dst = dash + 1
    return out


# ASCII of 0000..9999, four bytes per number (a uint32 each, so one gather copies four digits).
_FOUR_DIGITS = np.frombuffer("".join(f"{i:04d}" for i in range(10_000)).encode("ascii"), dtype=np.uint32)


def counter_matrix(prefix: str, values: np.ndarray, digits: int) -> np.ndarray:
    """Rows ``prefix`` followed by ``values`` zero-padded to ``digits`` digits, as an ASCII matrix."""
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    width = len(head) + digits
    out = np.empty((len(values), width), dtype=np.uint8)
    out[:, : len(head)] = head
    rest = values.astype(np.int64)
    if len(values) and rest.max() >= 10**digits:
        raise ValueError(f"counter over {digits} digits")
    end = width
    while end > len(head):
        block = _FOUR_DIGITS[rest % 10_000].view(np.uint8).reshape(-1, 4)
        take = min(4, end - len(head))
        out[:, end - take : end] = block[:, 4 - take :]
        rest //= 10_000
        end -= take
    return out
