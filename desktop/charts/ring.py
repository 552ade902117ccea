"""A fixed-size ring buffer of (time, value) samples backed by numpy."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class RingBuffer:
    def __init__(self, capacity: int = 720) -> None:
        self.capacity = capacity
        self._t = np.zeros(capacity, dtype=np.float64)
        self._v = np.zeros(capacity, dtype=np.float64)
        self._next = 0
        self._count = 0

    def append(self, t: float, value: float) -> None:
        self._t[self._next] = t
        self._v[self._next] = value
        self._next = (self._next + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)

    def __len__(self) -> int:
        return self._count

    def arrays(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Samples in time order (copies)."""
        if self._count < self.capacity:
            return self._t[: self._count].copy(), self._v[: self._count].copy()
        order = np.r_[self._next : self.capacity, 0 : self._next]
        return self._t[order], self._v[order]
