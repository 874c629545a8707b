"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, with the network blocked.

Only file:// and localhost requests are allowed, so a map that loads cleanly here works offline;
blocked basemap tile requests (and the console errors they cause) are recorded separately.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

__all__ = ["CHROMIUM_ARGS", "MapPage", "chromium_path", "launch", "open_map", "visible_point"]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TILE_HOSTS = ("tile.openstreetmap.org",)
"""Basemap hosts: their blocked requests are expected offline."""

_VISIBLE_POINT = """
(selector) => {
  for (const el of document.querySelectorAll(selector)) {
    const r = el.getBoundingClientRect();
    for (let i = 1; i < 12; i++) {
      for (let j = 1; j < 12; j++) {
        const x = r.left + r.width * i / 12, y = r.top + r.height * j / 12;
        if (x < 0 || y < 0 || x >= window.innerWidth || y >= window.innerHeight) continue;
        if (document.elementFromPoint(x, y) === el) return [x, y];
      }
    }
  }
  return null;
}
"""


def chromium_path() -> Path | None:
    """Debian's Chromium (or $SITING_CHROMIUM), None when missing."""
    env = os.environ.get("SITING_CHROMIUM")
    candidates = (env,) if env else ("/usr/bin/chromium", shutil.which("chromium"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@contextmanager
def launch(executable: Path) -> Iterator[Any]:
    """A headless Chromium browser (Playwright's sync API)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS,
                                     headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class MapPage:
    """An opened map page and what happened while it loaded."""

    page: Any
    context: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    load_seconds: float = float("nan")

    def close(self) -> None:
        """Close the page's browser context."""
        self.context.close()


def _local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("file", "data", "blob", "about") or parsed.hostname in (
        "localhost", "127.0.0.1", "::1")


def _tile(url: str) -> bool:
    return (urlparse(url).hostname or "") in TILE_HOSTS


def open_map(browser: Any, path: Path, *, ready_selector: str, width: int = 1280,
             height: int = 800) -> MapPage:
    """Open a map file offline; wait for `ready_selector`; record errors, dialogs and blocked URLs."""
    context = browser.new_context(viewport={"width": width, "height": height})
    result = MapPage(page=None, context=context)

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if _local(url):
            request_route.continue_()
        else:
            result.blocked.append(url)
            request_route.abort("internetdisconnected")

    def console(message: Any) -> None:
        if message.type != "error":
            return
        source = (message.location or {}).get("url", "")
        if _tile(source) or ("ERR_INTERNET_DISCONNECTED" in message.text and source in result.blocked):
            return
        result.errors.append(f"console: {message.text} ({source})")

    def dialog(opened: Any) -> None:
        result.dialogs.append(f"{opened.type}: {opened.message}")
        opened.dismiss()

    context.route("**/*", route)
    page = context.new_page()
    result.page = page
    page.on("pageerror", lambda exc: result.errors.append(f"pageerror: {exc}"))
    page.on("console", console)
    page.on("dialog", dialog)
    start = time.perf_counter()
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_selector(ready_selector, state="attached", timeout=30_000)
    result.load_seconds = time.perf_counter() - start
    return result


def visible_point(page: Any, selector: str) -> tuple[float, float] | None:
    """A point where an element matching `selector` is the topmost element, if any."""
    point = page.evaluate(_VISIBLE_POINT, selector)
    return None if point is None else (float(point[0]), float(point[1]))
