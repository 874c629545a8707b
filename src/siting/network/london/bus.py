"""Day buses and river buses from TfL's 2016 route stop sequences, with modelled hop times."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from siting.network.london.assumptions import LondonAssumptions
from siting.network.london.inputs import _input, _missing, _read_csv
from siting.network.london.patterns import _Mode, _Pattern

_CHARING_CROSS_BNG = (530047.0, 180413.0)


_BUS_COLUMNS = ["Route", "Run", "Sequence", "Stop_Code_LBSL", "Naptan_Atco", "Stop_Name",
                "Location_Easting", "Location_Northing", "Virtual_Bus_Stop"]


def _clean_stop_name(names: pd.Series) -> pd.Series:
    """Drop TfL's interchange symbols (<> tube, # rail, >R< river) and tidy spaces."""
    text = names.fillna("").astype(str)
    codes, distinct = pd.factorize(text)  # each name once: stops repeat along many routes
    text = pd.Series(distinct, dtype=text.dtype)
    text = text.str.replace(r"<>|>R<|#", " ", regex=True).str.replace(r"\s+", " ", regex=True)
    cleaned = text.str.strip().str.strip("/").str.strip().take(codes)
    cleaned.index = names.index
    return cleaned


def _buses(data_dir: Path, a: LondonAssumptions) -> tuple[_Mode, _Mode]:
    """Day bus routes and river buses from the 2016 stop sequences, with modelled hop times."""
    path = _input(data_dir, "bus_sequences")
    raw = _read_csv(data_dir, "bus_sequences", _BUS_COLUMNS, dtype=str, keep_default_na=False,
                    na_values=[""])
    raw = raw[raw["Run"].notna() & raw["Sequence"].notna()]  # the final 0x1A (DOS EOF) row
    seq = pd.DataFrame({
        "route": raw["Route"].astype(str).str.strip(),
        "run": pd.to_numeric(raw["Run"], errors="coerce"),
        "sequence": pd.to_numeric(raw["Sequence"], errors="coerce"),
        "x": pd.to_numeric(raw["Location_Easting"], errors="coerce"),
        "y": pd.to_numeric(raw["Location_Northing"], errors="coerce"),
        "virtual": raw["Virtual_Bus_Stop"].fillna("0").astype(str).str.strip() == "1",
        "name": _clean_stop_name(raw["Stop_Name"]),
        "naptan": raw["Naptan_Atco"].fillna("").astype(str).str.strip(),
        "lbsl": raw["Stop_Code_LBSL"].fillna("").astype(str).str.strip(),
    })
    bad = seq[["run", "sequence", "x", "y"]].isna().any(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise _missing(path, f"line {row}: Run, Sequence, Location_Easting or Location_Northing "
                             "is not a number")
    excluded = re.compile("|".join(f"(?:{p})" for p in a.bus_excluded_routes) or r"(?!)")
    river = re.compile(a.river_routes)
    seq = seq[~seq["route"].map(lambda r: bool(excluded.search(r)))]
    seq = seq[seq["run"].isin(list(a.bus_runs))]
    if not a.bus_keep_virtual_stops:
        seq = seq[~seq["virtual"]]
    seq = seq.assign(
        is_river=seq["route"].map(lambda r: bool(river.search(r))),
        stop_key=np.where(seq["naptan"] != "", seq["naptan"], "lbsl-" + seq["lbsl"]),
    )
    seq = seq.sort_values(["route", "run", "sequence"], kind="stable").reset_index(drop=True)
    seq["stop_id"] = np.where(seq["is_river"], "river:", "bus:") + seq["stop_key"]
    # A stop repeated at consecutive positions (stand + stop of one code) is one call.
    same = (seq["stop_id"] == seq["stop_id"].shift()) & (seq["route"] == seq["route"].shift()) \
        & (seq["run"] == seq["run"].shift())
    seq = seq[~same].reset_index(drop=True)
    trip = seq["route"] + ":" + seq["run"].astype(int).astype(str)
    first = trip != trip.shift()
    dist = np.hypot(seq["x"].diff(), seq["y"].diff()).where(~first, 0.0).to_numpy()
    mx = ((seq["x"] + seq["x"].shift()) / 2).to_numpy()
    my = ((seq["y"] + seq["y"].shift()) / 2).to_numpy()
    ring = np.hypot(mx - _CHARING_CROSS_BNG[0], my - _CHARING_CROSS_BNG[1]) / 1000.0
    speed = np.where(ring <= a.bus_central_radius_km, a.bus_speed_central_kmh,
                     np.where(ring <= a.bus_inner_radius_km, a.bus_speed_inner_kmh,
                              a.bus_speed_outer_kmh))
    hop_s = np.where(seq["is_river"],
                     dist * a.river_circuity / (a.river_speed_kmh / 3.6),
                     dist * a.bus_circuity / (speed / 3.6))
    seq["hop_s"] = np.where(first, 0.0, np.nan_to_num(hop_s))
    seq["trip"] = trip
    seq["t"] = np.rint(seq.groupby("trip", sort=False)["hop_s"].cumsum()).astype(int)
    sizes = seq.groupby("trip", sort=False)["stop_id"].transform("size")
    seq = seq[sizes >= 2]

    def mode_of(frame: pd.DataFrame, mode: str) -> _Mode:
        stops = (frame.sort_values(["stop_id", "route", "run", "sequence"], kind="stable")
                 .drop_duplicates("stop_id")[["stop_id", "name", "x", "y"]]
                 .rename(columns={"name": "stop_name"}).reset_index(drop=True))
        stops["stop_name"] = stops["stop_name"].where(stops["stop_name"] != "", stops["stop_id"])
        route_codes = sorted(frame["route"].unique())
        routes = pd.DataFrame({
            "route_id": [f"{mode}:{r}" for r in route_codes],
            "agency_id": "TfL",
            "route_short_name": route_codes,
            "route_long_name": "",
            "route_type": 4 if mode == "river" else 3,
        })
        ends = frame.groupby("route", sort=True)["name"].agg(["first", "last"])
        ends = ends.reindex(route_codes)
        routes["route_long_name"] = [f"{first} - {last}".title() for first, last in
                                     zip(ends["first"].tolist(), ends["last"].tolist(), strict=True)]
        patterns = []
        # one trip after another (trips in sorted order, each keeping its rows' order), read
        # as array slices: a pandas group per trip cost 0.5 s over London's 1,400 trips
        ordered = frame.sort_values("trip", kind="stable")
        keys = ordered["trip"].to_numpy(dtype=object)
        stop_ids = ordered["stop_id"].to_numpy(dtype=object)
        offsets = ordered["t"].to_numpy(dtype=np.int64)
        bounds = [*np.flatnonzero(keys[1:] != keys[:-1]) + 1, len(keys)] if len(keys) else []
        first = 0
        for last in bounds:
            route, run = str(keys[first]).rsplit(":", 1)
            minutes = (a.river_headway_min if mode == "river"
                       else a.bus_headway_by_route.get(route, a.bus_headway_min))
            times = tuple(offsets[first:last].tolist())
            patterns.append(_Pattern(mode, f"{mode}:{route}", f"{mode}:{route}:r{run}",
                                     0 if int(run) % 2 == 1 else 1,
                                     tuple(stop_ids[first:last].tolist()), times, times,
                                     round(minutes * 60)))
            first = last
        return _Mode(stops, routes, patterns)

    bus = mode_of(seq[~seq["is_river"]], "bus")
    river_mode = mode_of(seq[seq["is_river"]], "river")
    bus.notes = {"excluded_route_patterns": list(a.bus_excluded_routes),
                 "runs": list(a.bus_runs)}
    return bus, river_mode
