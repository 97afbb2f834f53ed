"""Many ``random.Random.random()`` draws at once, the same values in the same order.

Rules: CPython's ``random.Random`` and numpy's legacy ``RandomState`` are the same Mersenne
Twister (MT19937) and make a double the same way (two 32-bit outputs, ``a >> 5`` and ``b >> 6``,
``(a * 2**26 + b) / 2**53``), so ``RandomState`` started from the generator's state gives exactly
the values ``n`` calls of ``random()`` would give; the generator then continues from the state
after them. A run's per-request draws (the connection set-ups) cost one numpy call per batch
instead of a Python call per request, and a seed's results stay as they were.
"""

from __future__ import annotations

import random

import numpy as np


def uniforms(rng: random.Random, n: int) -> np.ndarray:
    """``[rng.random() for _ in range(n)]`` as a float64 array; ``rng`` advances past them."""
    if n <= 0:
        return np.empty(0, dtype=np.float64)
    version, state, gauss = rng.getstate()
    twister = np.random.RandomState(0)  # its state is replaced at once
    twister.set_state(("MT19937", np.array(state[:-1], dtype=np.uint32), state[-1]))
    values = twister.random_sample(n)
    _, words, position, _, _ = twister.get_state()
    rng.setstate((version, (*words.tolist(), position), gauss))
    return values
