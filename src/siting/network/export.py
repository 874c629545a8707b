"""Export a scenario's network as a plain GTFS zip that R5, OpenTripPlanner or gtfs-kit can read.

The modelled London network is an ordinary GTFS folder (frequencies.txt, transfers.txt...);
this writes its GTFS files, and only those, into one zip, byte-identical for the same inputs.
Reliability allowances, change time and walking are not part of GTFS: they are scenario
settings, so running the export back through `transit.feed` with the same settings gives the
same figures.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from siting._errors import ScenarioError
from siting.network.scenario_network import scenario_feed
from siting.scenario import Scenario

__all__ = ["GTFS_FILES", "export_network", "write_gtfs_zip"]

GTFS_FILES = (
    "agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt", "calendar.txt",
    "calendar_dates.txt", "frequencies.txt", "transfers.txt", "shapes.txt", "feed_info.txt",
)
"""The GTFS Schedule files copied when present (anything else, e.g. notes, is left out)."""

_EPOCH = (1980, 1, 1, 0, 0, 0)
"""Fixed member timestamp, so the same files always give the same zip bytes."""


def write_gtfs_zip(source: Path, out: Path) -> Path:
    """Zip the GTFS files of a feed folder or zip `source` into `out` (atomically)."""
    source, out = Path(source), Path(out)
    if out.suffix.lower() != ".zip":
        raise ScenarioError(f"{out}: the export must be a .zip file (GTFS tools read a zip); "
                            "give a name ending in .zip.")
    if out.exists() and out.is_dir():
        raise ScenarioError(f"{out}: is a folder; give the path of a .zip file to write.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in _members(source):
                info = zipfile.ZipInfo(name, date_time=_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
        tmp.replace(out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def _members(source: Path) -> list[tuple[str, bytes]]:
    if source.is_dir():
        return [(name, (source / name).read_bytes()) for name in GTFS_FILES
                if (source / name).is_file()]
    with zipfile.ZipFile(source) as archive:
        by_base = {Path(n).name: n for n in archive.namelist() if not n.endswith("/")}
        return [(name, archive.read(by_base[name])) for name in GTFS_FILES if name in by_base]


def export_network(scenario: Scenario, data_dir: Path, cache_dir: Path, out: Path) -> Path:
    """Write the scenario's network (the modelled London one, built if needed, or its own feed)
    as a plain GTFS zip at `out`."""
    feed = scenario_feed(scenario, Path(data_dir), Path(cache_dir))
    if feed.path is None:
        source = str(scenario.source) if scenario.source else "scenario"
        raise ScenarioError(f"{source}: field `transit.feed` = 'none': a walk-only scenario has "
                            "no network to export. Set transit.feed to 'london-modelled' or a "
                            "GTFS feed.")
    return write_gtfs_zip(feed.path, Path(out))
