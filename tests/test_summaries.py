"""The run path's summaries without the long table: per-origin summaries and ward measures.

Both must give exactly what the long-table / per-ward pandas paths give (analysts keep those),
checked by hand, against a plain reference with hypothesis, and on a real feed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siting.analysis import _ward_measures
from siting.network.gtfs import busiest_date, read_feed
from siting.network.transit import TransitNetwork
from siting.network.walk import WalkModel
from siting.travel import Targets, Window, profile_search, summarise, summarise_served


def _long(served: np.ndarray, target: np.ndarray, departures: np.ndarray, ids: list[str],
          target_ids: list[str]) -> pd.DataFrame:
    """The long table `Profiles.evaluate` would build from the same arrays."""
    reached = served >= 0
    minutes = np.where(reached, (served - departures[None, :]) / 60.0, np.nan)
    counter = np.asarray(target_ids, dtype=object)[np.maximum(target, 0)]
    counter[~reached] = None
    n_dep = len(departures)
    return pd.DataFrame({"origin_id": np.repeat(ids, n_dep), "departure_s": np.tile(departures, len(ids)),
                         "minutes": minutes.ravel(), "counter_id": pd.Series(counter.ravel(), dtype="str")})


def test_summarise_served_by_hand() -> None:
    # Departures 0, 60, 120, 180 s; served times in seconds (-1 = never), targets b=0, a=1.
    # o2: 600, 1260, never, 1980 -> minutes [10, 20, inf, 30] sorted [10, 20, 30, inf]:
    #     p50 at position 1.5 -> (20 + 30) / 2 = 25; p0 = 10; mode b (2 of 3 reachable).
    # o1: never, never, 420, never -> [5, inf, inf, inf]: p50 on inf -> NaN; p0 = 5; mode a.
    # o3: 420, 600, 660, 720 -> [7, 9, 9, 9]: p50 = 9; targets b, a, a, b tie -> lowest id a.
    departures = np.array([0, 60, 120, 180])
    served = np.array([[600, 1260, -1, 1980], [-1, -1, 420, -1], [420, 600, 660, 720]])
    target = np.array([[0, 0, -1, 0], [-1, -1, 1, -1], [0, 1, 1, 0]])
    got = summarise_served(served, target, departures, ["o2", "o1", "o3"], ["b", "a"], (0, 50))
    assert got["origin_id"].tolist() == ["o1", "o2", "o3"]  # sorted by id
    assert got["minutes_p0"].tolist() == [5.0, 10.0, 7.0]
    np.testing.assert_array_equal(got["minutes_p50"].to_numpy(), [np.nan, 25.0, 9.0])
    assert got["nearest_counter"].tolist() == ["a", "b", "a"]
    # An origin that never arrives has no nearest counter, as in the long-table path.
    never = summarise_served(np.full((1, 2), -1), np.full((1, 2), -1), departures[:2], ["x"], ["b"])
    assert never["minutes_p50"].isna().all()
    assert never["nearest_counter"].isna().all()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 7), st.integers(1, 4), st.integers(0, 2**32 - 1),
       st.lists(st.floats(0, 100), min_size=1, max_size=3))
def test_summarise_served_equals_the_long_table(n_o: int, n_dep: int, n_t: int, seed: int,
                                                percentiles: list[float]) -> None:
    rng = np.random.default_rng(seed)
    departures = np.arange(n_dep) * 60 + 25200
    reached = rng.random((n_o, n_dep)) < 0.7
    served = np.where(reached, departures[None, :] + rng.integers(0, 5, (n_o, n_dep)) * 90, -1)
    target = np.where(reached, rng.integers(0, n_t, (n_o, n_dep)), -1)
    ids = [f"o{i}" for i in rng.permutation(n_o)]
    target_ids = [f"t{i}" for i in rng.permutation(n_t)]
    want = summarise(_long(served, target, departures, ids, target_ids), percentiles)
    got = summarise_served(served, target, departures, ids, target_ids, percentiles)
    # summarise_served interpolates in seconds, summarise in minutes: equal to float rounding
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=0)


def test_profiles_summarise_equals_evaluate_on_a_real_feed(feeds_dir: Path) -> None:
    feed = read_feed(feeds_dir / "newport-20230613_gtfs.zip")
    network = TransitNetwork.build(feed, busiest_date(feed), 7 * 3600, 11 * 3600, WalkModel(),
                                   min_change_seconds=60)
    busy = np.argsort(-np.bincount(network.dep_stop, minlength=network.n_stops), kind="stable")
    targets = Targets.from_arrays(["z-centre", "a-east", "m-west"], network.stop_xy[busy[[0, 7, 19]]],
                                  [np.nan, 8 * 3600, np.nan], [np.nan, 9 * 3600, np.nan])
    rng = np.random.default_rng(3)
    origins = network.stop_xy[rng.choice(network.n_stops, 150, replace=False)] + rng.uniform(-300, 300, (150, 2))
    ids = [f"p{i:03d}" for i in rng.permutation(150)]
    window = Window(7 * 3600, 9 * 3600, 60)
    profiles = profile_search(network, targets, max_access_minutes=10.0)
    want = summarise(profiles.evaluate(origins, ids, window), (50, 80))
    got = profiles.summarise(origins, ids, window, (50, 80))
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=0)
    assert got["minutes_p50"].notna().sum() > 50
    # repeated ids pool their departures, as the long table does
    twice = [*ids[:-1], ids[0]]
    pd.testing.assert_frame_equal(profiles.summarise(origins, twice, window),
                                  summarise(profiles.evaluate(origins, twice, window)))


# ----------------------------------------------------------------------------- ward measures


def test_ward_measures_by_hand() -> None:
    # W1: LSOAs (10 min, 100 people, c1), (20 min, 300, c2), (unreachable, 50, none)
    #     minutes = (10*100 + 20*300) / 400 = 17.5; nearest c2 (300 > 100);
    #     over 15: 300 + 50 (unreachable counts) = 350; over 25: 50.
    # W2: (30, 0, c1), (40, 0, c2): no people -> plain mean 35; c1 and c2 tie at 0 -> lowest c1;
    #     over 15 and 25: 0 people.
    # W3: one unreachable LSOA of 70 -> NaN minutes, nearest '', over 15/25: 70.
    lsoas = pd.DataFrame({
        "ward_code": ["W2", "W1", "W1", "W3", "W1", "W2"],
        "minutes_24h": [30.0, 10.0, 20.0, np.nan, np.nan, 40.0],
        "nearest_24h_counter": ["c1", "c1", "c2", None, None, "c2"],
        "population": [0, 100, 300, 70, 50, 0],
    })
    got = _ward_measures(lsoas, "24h", [15, 25]).set_index("ward_code")
    assert got.index.tolist() == ["W1", "W2", "W3"]
    assert got.loc["W1", "minutes_24h"] == 17.5
    assert got.loc["W2", "minutes_24h"] == 35.0
    assert np.isnan(got.loc["W3", "minutes_24h"])
    assert got["nearest_24h_counter"].tolist() == ["c2", "c1", ""]
    assert got["pop_over_15_24h"].tolist() == [350, 0, 70]
    assert got["pop_over_25_24h"].tolist() == [50, 0, 70]


def _reference(lsoas: pd.DataFrame, thresholds: list[int]) -> pd.DataFrame:
    """The per-ward loop the grouped version replaced (plain Python, one ward at a time)."""
    rows = []
    for code, group in lsoas.groupby("ward_code", sort=True):
        values, people = group["minutes_24h"].to_numpy(), group["population"].to_numpy()
        ok = ~np.isnan(values)
        if not ok.any():
            minutes = np.nan
        elif people[ok].sum() == 0:
            minutes = float(values[ok].mean())
        else:
            minutes = float(np.average(values[ok], weights=people[ok]))
        by_counter = group.groupby("nearest_24h_counter", sort=True)["population"].sum()
        row = {"ward_code": code, "minutes_24h": minutes,
               "nearest_24h_counter": str(by_counter.sort_values(ascending=False, kind="stable").index[0])
               if len(by_counter) else ""}
        for t in thresholds:
            row[f"pop_over_{t}_24h"] = int(people[~ok | (values > t)].sum())
        rows.append(row)
    return pd.DataFrame(rows)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_ward_measures_match_the_per_ward_loop(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    reached = rng.random(n) < 0.8
    lsoas = pd.DataFrame({
        "ward_code": rng.choice(["E1", "E2", "E3", "E4"], n),
        "minutes_24h": np.where(reached, rng.uniform(0, 90, n), np.nan),
        "nearest_24h_counter": pd.Series(np.where(reached, rng.choice(["a", "b", "c"], n), None), dtype=object),
        "population": rng.choice([0, 1, 1500, 2000], n),
    })
    got = _ward_measures(lsoas, "24h", [45, 60])
    pd.testing.assert_frame_equal(got, _reference(lsoas, [45, 60]), check_exact=True, check_dtype=False)


@pytest.mark.parametrize("measure", ["24h", "any"])
def test_ward_measures_on_london(london_final, measure: str) -> None:  # type: ignore[no-untyped-def]
    lsoas = pd.DataFrame(london_final.lsoas.drop(columns="geometry"))
    frame = lsoas[["ward_code", f"minutes_{measure}", f"nearest_{measure}_counter", "population"]]
    frame.columns = ["ward_code", "minutes_24h", "nearest_24h_counter", "population"]
    got = _ward_measures(lsoas, measure, [45, 60])
    want = _reference(frame, [45, 60])
    want.columns = got.columns
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_dtype=False)
    assert len(got) == 630
