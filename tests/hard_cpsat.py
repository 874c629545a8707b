"""A CP-SAT model that takes one worker several seconds to prove, for tests that stop a search.

Shared by tests/test_interrupt.py (in a subprocess, with this folder on PYTHONPATH) and
tests/test_beside.py.
"""

from __future__ import annotations

import random

from ortools.sat.python import cp_model


def hard_model() -> cp_model.CpModel:
    """80 booleans under 600 random knapsack rows, weights maximised (seeded: the same model)."""
    model = cp_model.CpModel()
    rng = random.Random(1)
    x = [model.new_bool_var(f"x{i}") for i in range(80)]
    for _ in range(600):
        model.add(sum(rng.choice([1, 2, 3]) * x[rng.randrange(80)] for _ in range(8)) <= rng.randrange(5, 12))
    model.maximize(sum(rng.randrange(1, 20) * v for v in x))
    return model
