"""Counter-network optimiser: per-counter travel times, one 24/7 counter per borough, extra sites.

The consultation's open questions (MOPAC/MPS Public Access and Engagement Strategy, 2017): which
counter of each borough should be its 24/7 counter, what each of the draft's five swaps cost, and
which low-cost extra sites would bring most residents within 45 (or 60) minutes.

Travel times. For every origin (LSOA population-weighted centroid) and every candidate site, one
backward profile search from that site alone (`siting.travel`, the same engine and network as
`siting run`) gives the public-transport minutes for every departure of the scenario's window;
``t[i, c]`` is their median (p50, unreachable departures counted as infinitely long, NaN when the
median is unreachable). Sites are treated as always open. The matrix is cached on disk.

One 24/7 counter per borough (CP-SAT). Binary ``y[c]`` per candidate, ``sum(y[c] for c in
borough b) == 1`` for every borough. Residents use the nearest chosen counter in any borough, and a
plan is judged on ``m[i] = min over chosen c of t[i, c]``.

* For origin i let ``D_1 < D_2 < ... < D_K`` be its distinct candidate times (NaN and anything
  beyond ``cap`` count as ``cap`` minutes) and ``S_k = {c : t[i, c] <= D_k}``. Then
  ``m[i] = D_1 + sum_k (D_{k+1} - D_k) * [no chosen counter in S_k]`` (the radius formulation of
  the p-median problem, Elloumi 2010). One Boolean ``u[S] >= 1 - sum(y[c] for c in S)`` per
  distinct set S, shared by every origin and breakpoint with that set, carries the indicator:
  the objective's positive weights push it to exactly the indicator.
* A set S holding *every* candidate of some borough always contains a chosen counter, so its
  indicator is 0: each origin's breakpoints stop there. This is what makes the restriction to
  each origin's nearest candidates exact, not a heuristic: whatever the choice, the nearest
  chosen counter is among the candidates up to the first point where one borough is exhausted.
* ``objective='overT'`` minimises the population over T minutes,
  ``sum_i pop_i * [no chosen c with t[i, c] <= T]`` (the same ``u`` variables with
  ``S = {c : t[i, c] <= T}``); ``objective='median'`` minimises ``sum_i pop_i * m[i]`` (the
  p-median objective: the population-weighted mean of each origin's median minutes).
* Ties (many choices give the same population over 45 minutes) are broken lexicographically:
  after the primary optimum, a second solve fixes it and minimises the p-median objective.

Caveat: the median over departures of the minimum over counters is at most the minimum of the
per-counter medians, so ``m[i]`` slightly overstates the trip a resident makes when two counters
compete, and the matrix is made on the frequency services' exact timetable. The plans are
therefore also re-evaluated as `siting run` computes its 24/7 measure (the chosen set together,
on the scenario's phase draws) and both figures are reported.

Low-cost alternatives (maximal covering location problem, Church & ReVelle 1974). Given the
scenario's 24/7 counters, origins already within T are covered; binary ``x[s]`` per candidate
site, ``sum x <= k``, and ``z[S] <= sum(x[s] for s in S)`` for each distinct set
``S = {s : t[i, s] <= T}`` of the uncovered origins (origins with the same set merged, their
people summed); maximise ``(n_sites + 1) * sum(pop * z) - sum x``: the most people gained, then
the fewest sites (so no site is added that gains nobody).

CP-SAT runs with a fixed seed and one worker by default, so the result is deterministic.
"""

from __future__ import annotations

from siting.optimise.alternatives import AlternativesPlan, optimise_alternatives
from siting.optimise.counters import (
    BASELINE_24H,
    DEFAULT_CANDIDATE_RULE,
    NAMED_ONLY_IN_FINAL,
    STRATEGY_SWAPS,
    CounterPlan,
    Objective,
    default_candidates,
    optimise_counters,
    strategy_choices,
)
from siting.optimise.matrix import TimeMatrix, per_counter_times, scenario_network, site_times
from siting.optimise.models import (
    CoverChoice,
    GroupChoice,
    choose_one_per_group,
    max_cover,
    nearest_minutes,
    population_over,
)
from siting.optimise.outputs import write_outputs

__all__ = [
    "BASELINE_24H",
    "DEFAULT_CANDIDATE_RULE",
    "NAMED_ONLY_IN_FINAL",
    "STRATEGY_SWAPS",
    "AlternativesPlan",
    "CounterPlan",
    "CoverChoice",
    "GroupChoice",
    "Objective",
    "TimeMatrix",
    "choose_one_per_group",
    "default_candidates",
    "max_cover",
    "nearest_minutes",
    "optimise_alternatives",
    "optimise_counters",
    "per_counter_times",
    "population_over",
    "scenario_network",
    "site_times",
    "strategy_choices",
    "write_outputs",
]
