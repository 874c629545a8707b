"""The map page of `siting run`, made beside the tables in two forked children.

One child makes the page with a placeholder where the search box's data goes; the other makes
that data, the costliest part of the page (`siting.maps.search_arguments`). The parent fills the
placeholder: the page is byte for byte the one `siting.maps.map_html` makes in one go.
"""

from __future__ import annotations

import contextlib
import importlib
import secrets
from collections.abc import Callable, Iterator
from typing import Any

from siting._beside import Forked

__all__ = ["filled", "map_page_beside", "search_slot"]


@contextlib.contextmanager
def map_page_beside(analysis: Any) -> Iterator[Callable[[], str]]:
    """Start both children; the block gets a function that waits for them and returns the page.

    Leaving the block stops a child still running (as `Forked` does).
    """
    for name in ("siting.maps", "siting.report"):  # once here, inherited by both children
        importlib.import_module(name)
    slot = search_slot()
    with Forked(_page, analysis, slot) as page, Forked(_search, analysis) as search:
        yield lambda: filled(page.result(), slot, search.result())


def _page(analysis: Any, search: str) -> str:
    """The page: the ward table travels inside it (wards.csv's text), so a map shared on its
    own still has it; ``search`` stands where the search box's data goes."""
    from siting.maps import map_html
    from siting.report import ward_csv

    return map_html(analysis, csv_text=ward_csv(analysis), search=search)


def _search(analysis: Any) -> str:
    from siting.maps import search_arguments

    return search_arguments(analysis)


def search_slot() -> str:
    """A placeholder no page holds by chance: 128 random bits (replaced before writing)."""
    return f"/*siting-search-{secrets.token_hex(16)}*/"


def filled(page: str, slot: str, search: str) -> str:
    """The page with its search placeholder replaced by the search box's data."""
    if page.count(slot) != 1:
        raise RuntimeError(f"the map page holds its search placeholder {page.count(slot)} "
                           "times, not once")
    return page.replace(slot, search)
