"""A CP-SAT model that takes one worker several seconds to prove, for tests that stop a search.

Shared by tests/test_interrupt.py (in a subprocess, with this folder on PYTHONPATH) and
tests/test_beside.py.
"""

from __future__ import annotations

import random

from ortools.sat.python import cp_model


def hard_model(n: int = 80, rows: int = 600) -> cp_model.CpModel:
    """n booleans under random knapsack rows, weights maximised (seeded: the same model).

    The default takes one worker about 7 s here; (110, 820) about 55 s.
    """
    model = cp_model.CpModel()
    rng = random.Random(1)
    x = [model.new_bool_var(f"x{i}") for i in range(n)]
    for _ in range(rows):
        model.add(sum(rng.choice([1, 2, 3]) * x[rng.randrange(n)] for _ in range(8)) <= rng.randrange(5, 12))
    model.maximize(sum(rng.randrange(1, 20) * v for v in x))
    return model
