"""Equity: people over the thresholds by fifths of ward deprivation, income and cars."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from siting.equity import PROFILES_FILE, UNMATCHED, render_equity, ward_equity

RANK = "(ID2010) - Rank of average score (within London) - 2010"
INCOME = "Median Household income estimate (2012/13)"
CARS = "Cars per household - 2011"


def _data_dir(tmp_path: Path) -> Path:
    # Five wards with profiles (ranks 1..5: W3 most deprived) plus a borough row that must not
    # match a ward; W6 has no profile.
    path = tmp_path / PROFILES_FILE
    path.parent.mkdir(parents=True)
    pd.DataFrame({
        "Ward name": ["w1", "w2", "w3", "w4", "w5", "Borough"],
        "New code": ["W1", "W2", "W3", "W4", "W5", "E09000099"],
        RANK: [4, 2, 1, 5, 3, None],
        INCOME: [30000, 20000, 10000, 50000, 40000, 1],
        CARS: [0.5, 0.4, 0.2, 1.2, 0.9, 0.0],
    }).to_csv(path, index=False)
    return tmp_path


def _wards() -> pd.DataFrame:
    return pd.DataFrame({
        "ward_code": ["W1", "W2", "W3", "W4", "W5", "W6"],
        "borough": ["A", "A", "B", "B", "B", "C"],
        "population": [100, 200, 300, 400, 500, 600],
        "pop_over_45_24h": [0, 50, 300, 0, 10, 7],
        "pop_over_45_any": [0, 0, 30, 0, 10, 7],
    })


def test_fifths_by_hand(tmp_path: Path) -> None:
    out = ward_equity(_data_dir(tmp_path), _wards(), [45])
    assert out["wards_matched"] == 5
    assert out["wards_unmatched"] == 1
    assert out["unmatched_by_borough"] == {"C": 1}
    groups = out["by"]["deprivation"]["groups"]
    # One ward per fifth, in rank order: W3 (rank 1), W2, W5, W1, W4; then W6 on its own.
    assert [g["group"] for g in groups] == ["1 (most deprived)", "2", "3", "4",
                                            "5 (least deprived)", UNMATCHED]
    assert [g["population"] for g in groups] == [300, 200, 500, 100, 400, 600]
    assert [g["pop_over_45_24h"] for g in groups] == [300, 50, 10, 0, 0, 7]
    assert groups[0]["share_over_45_24h"] == 1.0
    assert groups[1]["share_over_45_24h"] == 0.25
    assert groups[0]["range"] == [1.0, 1.0]
    assert groups[-1]["range"] is None
    # Income: W3 lowest (10,000) ... W4 highest; cars: W3 fewest ... W4 most.
    assert [g["population"] for g in out["by"]["income"]["groups"]][:5] == [300, 200, 100, 500, 400]
    assert [g["population"] for g in out["by"]["cars"]["groups"]][:5] == [300, 200, 100, 500, 400]
    text = "\n".join(render_equity(out, [45]))
    assert "| 1 (most deprived) | 1 | 300 | 300 (100.0%) | 30 (10.0%) |" in text
    assert "5 of 6 wards match" in text


def test_no_profiles_file(tmp_path: Path) -> None:
    out = ward_equity(tmp_path, _wards(), [45])
    assert out["available"] is False
    assert "Not computed" in render_equity(out, [45])[-1]


@pytest.mark.london
def test_london_matches_571_wards(london_dir: Path) -> None:
    from siting.data import load_wards
    from siting.scenario import DataFiles

    wards = load_wards(london_dir, DataFiles()).assign(population=1, pop_over_45_24h=0,
                                                       pop_over_45_any=0)
    out = ward_equity(london_dir, wards, [45])
    # SOURCES.md of the data: the 2015 profiles match 571 of the 630 wards; the 59 others are
    # every ward of Hackney (21), Tower Hamlets (20) and Kensington and Chelsea (18).
    assert out["wards_matched"] == 571
    assert out["unmatched_by_borough"] == {"Hackney": 21, "Kensington and Chelsea": 18,
                                           "Tower Hamlets": 20}
    for block in out["by"].values():
        assert sum(g["wards"] for g in block["groups"]) == 630
