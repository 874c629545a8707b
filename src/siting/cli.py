"""Command-line entry point: thin subcommands that call the library; user mistakes exit 2."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from siting._errors import SitingError
from siting.cli_parser import build_parser

__all__ = ["main"]

log = logging.getLogger("siting")


def _cmd_validate(args: argparse.Namespace) -> int:
    from siting.data import resolve_data_dir
    from siting.scenario import load_scenario

    data_dir = resolve_data_dir(args.data_dir) if not args.no_data else None
    seen: set[tuple[str, str]] = set()
    for path in args.scenarios:
        scenario = load_scenario(path, data_dir=data_dir)
        _read_inputs(scenario, data_dir, full=True, seen=seen)
        served = ""
        if data_dir is not None:
            from siting.hub_plan import check_hub_inputs
            from siting.network.scenario_network import check_service

            facts = check_service(scenario, data_dir, Path(args.cache_dir))
            check_hub_inputs(scenario, data_dir)
            if "study_area" in facts:
                served = (f", service {facts['service_hours']} on {facts['service_date']}, "
                          f"{facts['study_area']['share_wards_served']:.1%} of wards near a stop")
        print(f"ok  {path}  ({scenario.id}: {len(scenario.counters.open_24h)} 24/7, "
              f"{len(scenario.counters.open_daytime)} daytime counters, "
              f"{len(scenario.constraints)} constraints{served})")
    return 0


def _cmd_network_export(args: argparse.Namespace) -> int:
    from siting.data import resolve_data_dir
    from siting.network.export import export_network
    from siting.scenario import load_scenario

    data_dir = resolve_data_dir(args.data_dir)
    scenario = load_scenario(args.scenario, data_dir=data_dir)
    written = export_network(scenario, data_dir, Path(args.cache_dir), Path(args.file))
    print(f"wrote {written} (GTFS of {scenario.id}'s network, transit.feed "
          f"{scenario.transit.feed!r})")
    return 0


def _cmd_counters(args: argparse.Namespace) -> int:
    from siting.data import load_counters

    counters = load_counters()
    columns = ["counter_id", "borough", "name", "position", "daily_crime_reports_may2017"]
    print(counters[columns].to_string(index=False))
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    from siting.fetch import fetch_all

    target = Path(args.data_dir or "data")
    target.mkdir(parents=True, exist_ok=True)
    report = fetch_all(target, mirror=args.mirror, only=args.only or None, force=args.force,
                       progress=not args.quiet)
    print(report)
    return 0


def _read_inputs(scenario: Any, data_dir: Path | None, *, full: bool,
                 seen: set[tuple[str, str]] | None = None) -> None:
    """Read the inputs that are cheap to read, so a bad file fails before any long work.

    Always the candidate CSV and the PTAI table; with ``full`` (validate) also the data layers
    and a user GTFS feed. ``seen`` skips files already read for an earlier scenario.
    """
    from siting.candidates import read_user_sites

    seen = set() if seen is None else seen

    def once(kind: str, path: Path) -> bool:
        key = (kind, str(path))
        fresh = key not in seen
        seen.add(key)
        return fresh

    hubs = scenario.hubs
    if hubs.enabled and hubs.candidate_csv and scenario.source is not None:
        read_user_sites(scenario.source.parent / hubs.candidate_csv, dict(hubs.costs))
    if data_dir is None:
        return
    from siting.data import load_boroughs, load_lsoas, load_ptai, load_wards

    files = scenario.data
    if full and scenario.transit.feed != "london-modelled" and once("feed", data_dir / scenario.transit.feed):
        from siting.network.gtfs import read_feed

        read_feed(data_dir / scenario.transit.feed)
    if (data_dir / files.ptai).is_file() and once("ptai", data_dir / files.ptai):
        load_ptai(data_dir, files)
    if full:
        for kind, loader in (("wards", load_wards), ("lsoas", load_lsoas), ("boroughs", load_boroughs)):
            rel = getattr(files, kind) + (f"#{files.population}" if kind == "lsoas" else "")
            if once(kind, data_dir / rel):
                loader(data_dir, files)


def _load(path: str, args: argparse.Namespace) -> Any:
    """Read and validate a scenario and its cheap inputs (before any long work)."""
    from siting.data import resolve_data_dir
    from siting.scenario import load_scenario

    data_dir = resolve_data_dir(args.data_dir)
    scenario = load_scenario(path, data_dir=data_dir)
    _read_inputs(scenario, data_dir, full=False)
    return scenario


def _analyse(scenario: Any, args: argparse.Namespace) -> Any:
    """Analyse a loaded scenario, or reuse its stored Analysis."""
    from siting.data import resolve_data_dir
    from siting.network.feed_step import start_feed
    from siting.reuse import stored

    data_dir, cache_dir = resolve_data_dir(args.data_dir), Path(args.cache_dir)
    # Unless the analysis is stored, its feed starts building now, in a child, while this
    # process imports the rest of siting; a command that makes a map imports the map module
    # while the feed is being built.
    feed_step = None if stored(scenario, data_dir, cache_dir) else start_feed(scenario, data_dir,
                                                                              cache_dir)
    makes_map = getattr(args, "command", "") in ("run", "map") and not getattr(args, "no_map", False)
    maps = ("siting.maps",) if makes_map else ()
    with feed_step or contextlib.nullcontext():
        from siting.reuse import analyse_or_reuse

        analysis, reused = analyse_or_reuse(scenario, data_dir, cache_dir=cache_dir,
                                            progress=not args.quiet, preload=maps,
                                            feed_step=feed_step)
    if reused and not args.quiet:
        print(f"{scenario.id}: reusing the stored analysis (same scenario settings, data and "
              f"code; in {args.cache_dir})", file=sys.stderr)
    from siting.check import warn_uncovered

    warn_uncovered(analysis)  # once per command, and not for wards the scenario records
    return analysis


def _run_one(path: str, args: argparse.Namespace) -> Any:
    """Validate a scenario and analyse it, or reuse its stored Analysis (run, map and compare)."""
    return _analyse(_load(path, args), args)


_OUT_FIX = "Choose another folder with --out (or outputs.dir in the scenario), or move the file in the way."
_MAP_FIX = "Set outputs.map in the scenario to a writable .html path, or pass --no-map."


def _check_folder(path: Path, what: str = "output folder") -> None:
    from siting._atomic import check_target

    check_target(path, folder=True, what=what, fix=_OUT_FIX)


def _check_map(path: Path, *, index: bool = True) -> None:
    from siting._atomic import check_target

    check_target(path, folder=False, what="map", fix=_MAP_FIX)
    if index:
        check_target(path.parent / "index.html", folder=False, what="map index", fix=_MAP_FIX)


def _stage_map(analysis: Any, map_path: Path, outputs: Any, *, new_sites: Sequence[str] = (),
               page: str | None = None) -> None:
    """Stage the scenario's map (``page`` if already made) and the refreshed maps/index.html
    into an output set."""
    from siting.maps import write_index, write_map

    map_path = map_path.absolute()
    if page is None:
        write_map(analysis, map_path, new_sites=new_sites, into=outputs)
    else:
        outputs.write_text(map_path, page)
    index = map_path.parent / "index.html"
    listed = sorted(({p.absolute() for p in map_path.parent.glob("*.html")} | {map_path}) - {index})
    write_index(listed, index, into=outputs, read_from={map_path: outputs.staged(map_path)})


def _cmd_run(args: argparse.Namespace) -> int:
    from siting._atomic import OutputSet
    from siting.map_page import map_page_beside

    scenarios = [_load(path, args) for path in args.scenarios]
    for scenario in scenarios:  # every output target, before any work starts
        _check_folder(Path(args.out) if args.out else scenario.out_dir)
        if not args.no_map:
            _check_map(scenario.map_path)
    for scenario in scenarios:
        analysis = _analyse(scenario, args)  # first: it starts the feed before these imports
        from siting.check import evaluate
        from siting.report import summary, write_outputs

        out_dir = Path(args.out) if args.out else analysis.scenario.out_dir
        results = evaluate(analysis)
        # Tables, report, map and index are one unit: all of them are replaced, or none.
        # The map page is made in two forked children while this process writes the tables.
        with OutputSet() as outputs, (contextlib.nullcontext() if args.no_map
                                      else map_page_beside(analysis)) as map_page:
            write_outputs(analysis, out_dir, constraint_results=results, into=outputs)
            if map_page is not None:
                _stage_map(analysis, analysis.scenario.map_path, outputs, page=map_page())
            outputs.commit()
        map_path = analysis.scenario.map_path
        figures = summary(analysis)
        print(_headline(analysis.scenario.id, figures, out_dir))
        if not args.no_map:
            print(f"  map: {map_path} (all maps: {map_path.parent / 'index.html'})")
        hub = analysis.hub_figures
        if hub.get("status"):
            # Solve time varies run to run, so it is printed here and kept out of the reports.
            print(f"  DWO hubs: {hub['hubs']} (CP-SAT {hub['status']}, cost {hub['objective_cost']:g}, "
                  f"bound {hub['best_bound']:g}, gap {hub['gap']:.1%}, walk tie-break "
                  f"{hub.get('tie_break_status', '-')}, solved in {hub['solve_seconds']:.2f} s)")
    return 0


def _headline(scenario_id: str, figures: dict[str, Any], out_dir: Path) -> str:
    measures = figures.get("measures", {})
    parts = [f"{scenario_id}: wrote {out_dir}/"]
    for measure, label in (("24h", "nearest 24/7 counter"), ("any", "nearest open counter")):
        m = measures.get(measure, {})
        over = m.get("population_over", {})
        if over:
            parts.append(f"  {label}: " + ", ".join(f"{int(v):,} people over {k} min" for k, v in over.items()))
    return "\n".join(parts)


def _write_index(folder: Path) -> Path:
    """maps/index.html listing every map in the folder (residents' entry point), atomically."""
    from siting.maps import write_index

    index = folder / "index.html"
    return write_index(sorted(p for p in folder.glob("*.html") if p != index), index)


def _cmd_check(args: argparse.Namespace) -> int:
    from siting.check import check_scenarios
    from siting.data import resolve_data_dir

    code, text = check_scenarios(args.scenarios, resolve_data_dir(args.data_dir), Path(args.cache_dir),
                                 as_json=args.json)
    print(text)
    return code


def _cmd_compare(args: argparse.Namespace) -> int:
    from siting._atomic import OutputSet, check_target
    from siting.compare import compare

    scenarios = [_load(args.base, args), _load(args.other, args)]
    if args.markdown:
        check_target(Path(args.markdown), folder=False, what="--markdown file",
                     fix="Choose another --markdown path.")
    base, other = (_analyse(s, args) for s in scenarios)
    comparison = compare(base, other)
    if args.markdown:
        with OutputSet() as outputs:
            outputs.write_text(Path(args.markdown), comparison.to_markdown())
            outputs.commit()
    print(comparison.to_text())
    return 0


def _cmd_map(args: argparse.Namespace) -> int:
    from siting._atomic import OutputSet, check_target
    from siting.maps import write_compare_map

    if args.compare:
        pair = [_load(p, args) for p in args.compare]
        out = Path(args.out or f"maps/compare-{pair[0].id}-vs-{pair[1].id}.html")
        check_target(out, folder=False, what="comparison map", fix="Choose another --out path.")
        base, other = (_analyse(s, args) for s in pair)
        print(write_compare_map(base, other, out))
        _write_index(out.parent)
        return 0
    scenarios = [_load(p, args) for p in args.scenarios]
    for scenario in scenarios:
        _check_map(scenario.map_path)
    written = []
    for scenario in scenarios:
        analysis = _analyse(scenario, args)
        with OutputSet() as outputs:
            _stage_map(analysis, scenario.map_path, outputs)
            outputs.commit()
        written.append(scenario.map_path)
    if written:
        written.append(written[-1].parent / "index.html")
    print("\n".join(str(p) for p in written))
    return 0


def _cmd_grid(args: argparse.Namespace) -> int:
    """Travel times on a grid (or the scenario's origins), their isochrones, and optionally the map."""
    import resource
    import time

    from siting.data import resolve_data_dir
    from siting.grid import read_origins, scenario_grid, write_grid
    from siting.isochrones import isochrones
    from siting.scenario import load_scenario

    clock, cpu = time.perf_counter(), time.process_time()
    data_dir = resolve_data_dir(args.data_dir)
    scenario = load_scenario(args.scenario, data_dir=data_dir)
    origins = None
    if args.cell is None and scenario.origins:
        origins = read_origins((scenario.source or Path()).parent / scenario.origins)
    cell = (args.cell or 100.0) if origins is None else None
    grid = scenario_grid(scenario, data_dir, cell_m=cell or 100.0, cache_dir=Path(args.cache_dir),
                         origins=origins, counters=args.counter, chunk=args.chunk)
    label = "-".join(args.counter) if args.counter else "nearest"
    stem = "origins" if origins is not None else f"grid-{cell:g}m"
    if args.counter:
        stem += f"-{label}"
    iso = (isochrones(grid.cells, cell_m=cell, minutes=args.isochrones, label=label,
                      measures=("24h",) if args.counter else ("24h", "any"))
           if cell is not None and args.isochrones else None)
    out_dir = Path(args.out) if args.out else scenario.out_dir
    written = write_grid(grid, out_dir, isochrones=iso, stem=stem, gpkg=not args.no_gpkg)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in grid.timings.items())
    measures = len(set(grid.cells.columns) & {"minutes_24h", "minutes_any"})
    print(f"{scenario.id}: {len(grid.cells):,} {'cells' if cell else 'origins'} x "
          f"{len(grid.window.departures)} departures x {measures} measures ({steps}); total "
          f"{time.perf_counter() - clock:.1f} s wall, {time.process_time() - cpu:.1f} CPU-s, peak memory "
          f"{peak_gb:.2f} GB")
    if args.map:
        from siting.maps import write_map

        analysis = _run_one(args.scenario, args)
        written.append(write_map(analysis, scenario.map_path, grid=grid, isochrones=iso))
    print("\n".join(f"wrote {p}" for p in written))
    return 0


def _cmd_optimise(args: argparse.Namespace) -> int:
    from siting.analysis import analyse
    from siting.data import resolve_data_dir
    from siting.maps import write_map
    from siting.optimise import optimise_alternatives, optimise_counters, write_outputs
    from siting.scenario import load_scenario

    data_dir = resolve_data_dir(args.data_dir)
    scenario = load_scenario(args.scenario, data_dir=data_dir)
    _read_inputs(scenario, data_dir, full=False)
    cache = Path(args.cache_dir)
    out_dir = Path(args.out) if args.out else scenario.out_dir
    _check_folder(out_dir)
    _check_folder(Path("maps"), what="map folder")
    if args.what == "counters":
        plan: Any = optimise_counters(scenario, data_dir, cache_dir=cache, objective=args.objective,
                                      progress=not args.quiet)
        chosen = list(plan.plans["chosen"])
        suffix, what = f"optimal-counters-{args.objective}", f"the optimal 24/7 counters ({args.objective})"
        daytime = [c for c in scenario.counters.open_daytime if c not in chosen]
    else:
        plan = optimise_alternatives(scenario, data_dir, cache_dir=cache, k=args.k,
                                     threshold=args.threshold, progress=not args.quiet)
        last = plan.table.iloc[-1]
        extra = [s for s in str(last["sites"]).split(";") if s and not s.startswith("library:")]
        chosen = [*scenario.counters.open_24h, *[s for s in extra if s not in scenario.counters.open_24h]]
        suffix, what = f"alternatives-{args.threshold}min", f"{len(extra)} extra sites open all day"
        daytime = [c for c in scenario.counters.open_daytime if c not in chosen]
    written = write_outputs(plan, out_dir)
    # The map shows the plan as a scenario of its own, like `siting run` does.
    variant = scenario.model_copy(update={
        "id": f"{scenario.id}-{suffix}",
        "title": f"{scenario.title}: {what}",
        "counters": scenario.counters.model_copy(update={
            "open_24h": chosen, "open_daytime": daytime,
            "hours": {k: v for k, v in scenario.counters.hours.items() if k in daytime}}),
    })
    analysis = analyse(variant, data_dir, cache_dir=cache, progress=not args.quiet)
    new_sites = [c for c in chosen if c not in scenario.counters.open_24h]
    written.append(write_map(analysis, Path("maps") / f"{variant.id}.html", new_sites=new_sites))
    written.append(_write_index(Path("maps")))
    print(plan.to_markdown())
    print("\n".join(f"wrote {p}" for p in written))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    """Uncertainty sweep (or counter sweeps) of one scenario on Dask; see docs/sweep.md."""
    from siting.data import resolve_data_dir
    from siting.scenario import load_scenario
    from siting.sweep import check_applicable, dask_client
    from siting.sweep_run import counter_sweep, scenario_sweep
    from siting.sweep_summary import write_counter_sweep, write_sweep

    data_dir = resolve_data_dir(args.data_dir)
    scenario = load_scenario(args.scenario, data_dir=data_dir)
    if args.seed is not None:
        scenario = scenario.model_copy(update={
            "uncertainty": scenario.uncertainty.model_copy(update={"seed": args.seed})})
    if not (args.close_each or args.open_each):
        check_applicable(scenario)  # before a cluster starts
    out_dir = Path(args.out) if args.out else scenario.out_dir
    cache = Path(args.cache_dir)
    with dask_client(args.scheduler, workers=args.workers) as client:
        for action, wanted in (("close", args.close_each), ("open", args.open_each)):
            if wanted:
                table = counter_sweep(scenario, data_dir, cache, client, action=action,
                                      progress=not args.quiet)
                path = write_counter_sweep(table, out_dir, action=action)
                print(f"wrote {path}")
                print(table.head(10).to_string(index=False))
        if args.close_each or args.open_each:
            return 0
        summary, timings = scenario_sweep(scenario, data_dir, cache, client, samples=args.samples,
                                          robust=args.robust, progress=not args.quiet)
    written = write_sweep(summary, out_dir)
    if not args.no_map:
        from siting.sweep_map import write_sweep_map

        written.append(write_sweep_map(summary, scenario, data_dir,
                                       Path("maps") / f"{scenario.id}-sweep.html"))
    head = summary.facts["headline"]
    print(f"{scenario.id}: {summary.facts['samples']} samples in {timings['wall_s']:.0f} s "
          f"(median task {timings['task_median_s']:.1f} s); wrote {out_dir}/")
    for key in [k for k in head if k.startswith("people_over_")]:
        b = head[key]
        print(f"  {key}: median {b['median']:,.0f} (10-90%: {b['p10']:,.0f}-{b['p90']:,.0f}; "
              f"deterministic {b.get('deterministic', float('nan')):,.0f})")
    print("\n".join(f"wrote {p}" for p in written))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (see docs/guarantees.md).

    0 ok; 1 a constraint failed (`check`); 2 bad input or an output that cannot be written;
    130 interrupted by Ctrl-C (SIGINT); 143 stopped by SIGTERM. Interrupted runs leave the
    previous outputs as they were and no temporary files.
    """
    # numpy asks the kernel for 2 MB transparent huge pages for every array of 4 MB or more.
    # On the 2-core VM this project is measured on, a fresh huge page costs far more to fault
    # in than the 4 KB pages actually written (docs/travel-model.md, "Memory pages"): the
    # London travel step's system time fell from 2.9-3.7 s to 0.4 s without them. The command
    # owns its process, so it turns them off before numpy is first imported (nothing above
    # imports it); a NUMPY_MADVISE_HUGEPAGE set by the user is kept.
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    # Freed memory is kept for the next phase draw instead of being faulted in again
    # (`siting._malloc`).
    from siting._malloc import keep_freed_memory

    keep_freed_memory()
    from siting._signals import Interrupted, handling

    parser = build_parser({
        "validate": _cmd_validate, "run": _cmd_run, "check": _cmd_check, "compare": _cmd_compare,
        "map": _cmd_map, "optimise": _cmd_optimise, "grid": _cmd_grid, "sweep": _cmd_sweep,
        "counters": _cmd_counters, "network export": _cmd_network_export,
        "data fetch": _cmd_fetch,
    })
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * args.verbose if not args.quiet else logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    with handling():
        try:
            return int(args.func(args))
        except SitingError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
        except Interrupted as exc:
            print(f"interrupted ({exc}); outputs not yet committed were discarded", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print("interrupted (SIGINT); outputs not yet committed were discarded", file=sys.stderr)
            return 130


def entry() -> None:
    """The `siting` command: `main`, then exit without tearing the interpreter down.

    By then every output is written, committed and closed. The exit handlers still run
    (logging's flush, multiprocessing's and the thread pools' joins); what is skipped is
    Python freeing each of the run's objects one by one, about 0.5 s after a London run (the
    operating system frees the memory at once). With another Python thread still running, the
    usual exit waits for it.
    """
    code = main()
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()
           if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (siting ... | head)
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
