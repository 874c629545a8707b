"""The `siting` command line's arguments: every command, its options and their help."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

from siting import __version__

__all__ = ["Command", "build_parser"]

Command = Callable[[argparse.Namespace], int]


def build_parser(commands: Mapping[str, Command]) -> argparse.ArgumentParser:
    """The `siting` parser; ``commands`` maps each command ("network export" for a
    subcommand's action) to the function that runs it."""
    parser = argparse.ArgumentParser(
        prog="siting",
        description="Public-transport access to police front counters and DWO hub siting "
        "(London 2017 Public Access Strategy).",
    )
    parser.add_argument("--version", action="version", version=f"siting {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors; no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    def data_dir_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", help="data directory (default: $SITING_DATA_DIR, else ./data)")

    p = add("validate", commands["validate"], "Check scenario files; exit 0 if all are valid, 2 if not.")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    data_dir_arg(p)
    p.add_argument("--no-data", action="store_true", help="do not check that data files exist "
                   "(nor the transit service, which needs them)")
    p.add_argument("--cache-dir", default=".cache/siting", help="network cache, where the "
                   "modelled network is built once to read its service hours (default .cache/siting)")

    def scenario_args(p: argparse.ArgumentParser, *, many: bool = True) -> None:
        if many:
            p.add_argument("scenarios", nargs="+", metavar="SCENARIO")
        p.add_argument("--cache-dir", default=".cache/siting", help="network cache (default .cache/siting)")
        data_dir_arg(p)

    p = add("run", commands["run"], "Compute travel times, hubs, tables, report and map for scenarios.")
    scenario_args(p)
    p.add_argument("--out", help="output folder (default: the scenario's outputs.dir, else out/<id>)")
    p.add_argument("--no-map", action="store_true", help="skip the HTML map")

    p = add("check", commands["check"], "Check each scenario's constraints: exit 0 all hold, 1 any fails, 2 bad input.")
    scenario_args(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add("compare", commands["compare"], "Compare two scenarios: counters, wards crossing 45/60 minutes, people.")
    p.add_argument("base", metavar="BASE")
    p.add_argument("other", metavar="OTHER")
    p.add_argument("--markdown", metavar="FILE", help="also write the comparison as Markdown")
    scenario_args(p, many=False)

    p = add("map", commands["map"], "Write the Folium map of scenarios (and maps/index.html), or a comparison map.")
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO")
    p.add_argument("--compare", nargs=2, metavar=("BASE", "OTHER"), help="map wards whose band changed")
    p.add_argument("--out", help="output HTML for --compare")
    scenario_args(p, many=False)

    p = add("optimise", commands["optimise"], "Optimise the counter network: one 24/7 counter per borough, "
            "or k low-cost alternatives for people far from a counter.")
    p.add_argument("what", choices=["counters", "alternatives"])
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--objective", choices=["over45", "over60", "median"], default="over45",
                   help="counters: what to minimise (default: population over 45 minutes)")
    p.add_argument("--k", type=int, default=10, help="alternatives: how many extra sites (1..k)")
    p.add_argument("--threshold", type=int, default=45, help="alternatives: minutes to bring people within")
    p.add_argument("--out", help="output folder (default: the scenario's outputs.dir, else out/<id>)")
    scenario_args(p, many=False)

    p = add("grid", commands["grid"], "Travel times from a grid of cells over London (or the scenario's "
            "origins) to the nearest counter, both measures, with isochrones; GeoParquet/GeoPackage.")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--cell", type=float, default=None,
                   help="cell size in metres (default 100; without it a scenario's `origins` file is used)")
    p.add_argument("--counter", action="append", metavar="ID",
                   help="times to this counter alone (repeatable), whatever its status")
    p.add_argument("--isochrones", type=float, nargs="*", default=[15, 30, 45, 60], metavar="MIN",
                   help="isochrone limits in minutes (default 15 30 45 60; none to skip)")
    p.add_argument("--chunk", type=int, default=8192, help="origins per chunk (memory bound)")
    p.add_argument("--no-gpkg", action="store_true", help="GeoParquet only")
    p.add_argument("--map", action="store_true", help="also run the scenario and write its map "
                   "with the grid and isochrone layers")
    p.add_argument("--out", help="output folder (default: the scenario's outputs.dir, else out/<id>)")
    scenario_args(p, many=False)

    p = add("sweep", commands["sweep"], "How sure is the headline? Sample the scenario's uncertain "
            "assumptions on Dask: bands, chances per ward, sensitivity; or close/open each counter.")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--samples", type=int, help="samples (default: uncertainty.samples, 64)")
    p.add_argument("--seed", type=int, help="sampling seed (default: uncertainty.seed)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler (default: "
                   "$DASK_SCHEDULER_ADDRESS, else a local cluster)")
    p.add_argument("--workers", type=int, help="local cluster workers (default: one per core)")
    p.add_argument("--close-each", action="store_true", help="close each open 24/7 counter in turn")
    p.add_argument("--open-each", action="store_true", help="reopen each closed counter 24/7 in turn")
    p.add_argument("--robust", type=float, metavar="SHARE",
                   help="also find the cheapest hub plan covering wards in SHARE of samples "
                   "(default: hubs.robust)")
    p.add_argument("--out", help="output folder (default: the scenario's outputs.dir, else out/<id>)")
    p.add_argument("--no-map", action="store_true", help="skip the sweep map")
    scenario_args(p, many=False)

    add("counters", commands["counters"], "List the front-counter registry (ids to use in scenarios).")

    network = sub.add_parser("network", help="Work with a scenario's transit network.",
                             description="Work with a scenario's transit network.")
    network_sub = network.add_subparsers(dest="network_command", required=True, metavar="ACTION")
    p = network_sub.add_parser("export", help="Write the scenario's network as a plain GTFS zip.",
                               description="Write the scenario's network (the modelled London "
                               "network, built if needed) as a plain GTFS zip with "
                               "frequencies.txt and transfers.txt, for R5, OpenTripPlanner or "
                               "gtfs-kit.")
    p.set_defaults(func=commands["network export"])
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("file", metavar="FILE.zip")
    p.add_argument("--cache-dir", default=".cache/siting", help="network cache (default .cache/siting)")
    data_dir_arg(p)

    data = sub.add_parser("data", help="Get the open data.", description="Get the open data.")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = data_sub.add_parser("fetch", help="Download the official open sources, with checksums.",
                            description="Download the official open sources into the data "
                            "directory, verifying sha256 checksums.")
    p.set_defaults(func=commands["data fetch"])
    p.add_argument("--data-dir", help="where to put the data (default ./data)")
    p.add_argument("--mirror", help="fetch {MIRROR}/{path} instead of the upstream URLs")
    p.add_argument("--only", action="append", metavar="NAME", help="fetch only this source (repeatable)")
    p.add_argument("--force", action="store_true", help="download again even if present")
    return parser
