"""Print the London network's assumptions as the Markdown table in docs/london-network.md.

The code (`LondonAssumptions`) is the source of truth; this regenerates the docs' table from it
(tests/test_london_network.py checks the two agree).

Run: python scripts/assumptions_table.py
"""

from __future__ import annotations

from typing import Any

from siting.network.london.assumptions import LondonAssumptions


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k} {v}" for k, v in value.items()) or "{}"
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value) or "()"
    return str(value)


def markdown() -> str:
    """The table's lines: header, rule and one row per assumption."""
    rows = ["| name | default | meaning | source |", "|---|---|---|---|"]
    for row in LondonAssumptions().table():
        cells = [f"`{row['name']}`", _value(row["value"]), row["doc"], row["source"]]
        rows.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
