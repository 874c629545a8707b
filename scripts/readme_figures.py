"""Print README's scenario table from the summary.json files `siting run` wrote.

Usage: python scripts/readme_figures.py OUT_DIR [OUT_DIR ...]
(each OUT_DIR is a `siting run ... --out OUT_DIR` folder). README's figures are pasted from this
output, never typed by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _row(summary: dict) -> str:
    day = summary["measures"]
    window = summary["assumptions"]["transit"]["departure_window"]
    date = summary["assumptions"]["transit"]["service_date"]
    counters = summary["counters"]["counts"]
    hubs = summary["hubs"]["count"] if summary["hubs"]["enabled"] else "-"
    return (f"| {summary['scenario']['title']} | {date} {window} | "
            f"{counters['24h']} + {counters['daytime']} | "
            f"{day['24h']['population_over']['45']:,} | {day['24h']['population_over']['60']:,} | "
            f"{day['any']['population_over']['45']:,} | "
            f"{100 * day['24h']['share_within']['30']:.1f}% | "
            f"{100 * day['any']['share_within']['30']:.1f}% | {hubs} |")


def main(folders: list[str]) -> int:
    print("| scenario | departures | counters (24/7 + daytime) | people > 45 min from a 24/7 "
          "counter | > 60 min | people > 45 min from a counter open on arrival | within 30 min "
          "of a 24/7 counter | within 30 min of an open counter | DWO hubs |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for folder in folders:
        print(_row(json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
