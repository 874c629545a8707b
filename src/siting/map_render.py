"""The map pages' HTML plumbing (escaping, inlined Leaflet, stable ids): offline, byte-identical."""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, cast

import folium
import pandas as pd
from branca.element import Element, Figure, MacroElement
from folium.map import Layer

from siting._atomic import OutputSet
from siting._errors import DataError

__all__ = ["ScriptFn", "render_html"]


# ---------------------------------------------------------------------------------------------
# Text of values from the input data


def _e(value: Any) -> str:
    """HTML-escaped text of a value from the input data ('' for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def _js(value: Any) -> str:
    """JSON for a <script> block: no '<', '>' or '&' so no text can close the script."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                       ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, code)
    return text


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _minutes_text(value: Any) -> str:
    return "no counter reached" if _missing(value) or not math.isfinite(float(value)) \
        else f"{float(value):.1f} min"


def _int_text(value: Any) -> str:
    return "no data" if _missing(value) else f"{round(float(value)):,}"


def _clock(seconds: Any) -> str:
    if _missing(seconds):
        return ""
    total = round(float(seconds)) // 60
    return f"{total // 60:02d}:{total % 60:02d}"


# ---------------------------------------------------------------------------------------------
# Leaflet and the siting helpers, inlined


def _asset(name: str) -> str:
    return resources.files("siting").joinpath(f"static/{name}").read_text(encoding="utf-8")


def _inline_css(name: str) -> str:
    """A vendored stylesheet with its images inlined as data: URIs."""
    css = _asset(name)

    def data_uri(match: re.Match[str]) -> str:
        image = resources.files("siting").joinpath(f"static/leaflet-{match.group(1)}").read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(image).decode('ascii')})"

    return re.sub(r"url\(images/([a-z0-9-]+\.png)\)", data_uri, css)


def _assets_html() -> str:
    """Leaflet and the siting helpers, inlined so the page needs no CDN."""
    licence = _asset("leaflet-LICENSE.txt").replace("*/", "* /")
    js_leaflet = (f"/* Leaflet licence (siting/static/leaflet-LICENSE.txt):\n{licence}*/\n"
                  + re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", _asset("leaflet.js")))
    parts = {"leaflet.css": _inline_css("leaflet.css"), "siting-map.css": _asset("siting-map.css"),
             "leaflet.js": js_leaflet, "siting-map.js": _asset("siting-map.js")}
    for name, text in parts.items():
        lowered = text.lower()
        if "</script" in lowered or "</style" in lowered:
            raise DataError(f"siting/static/{name} contains a closing tag and cannot be inlined; "
                            "re-vendor the original file (see siting/static/README.md).")
    return (f"<style>\n{parts['leaflet.css']}\n</style>\n<style>\n{parts['siting-map.css']}\n</style>\n"
            f"<script>\n{parts['leaflet.js']}\n</script>\n<script>\n{parts['siting-map.js']}\n</script>\n")


# ---------------------------------------------------------------------------------------------
# Folium elements that write their text as is (never re-parsed by Jinja: data may hold '{{')


class _Raw(Element):
    """Text added to the page verbatim."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Raw"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


ScriptFn = Callable[[str, str], str]
"""Builds a script from (map variable name, own variable name), known only when rendering."""


class _Block(MacroElement):
    """Header HTML and/or a script (data, panels) added to the page verbatim."""

    def __init__(self, *, header: str = "", script: ScriptFn | None = None, name: str = "Block") -> None:
        super().__init__()
        self._name = name
        self.header = header
        self.script = script

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        figure = cast(Figure, self.get_root())
        if self.header:
            figure.header.add_child(_Raw(self.header), name=self.get_name())
        if self.script is not None:
            text = self.script(self._parent.get_name(), self.get_name())  # type: ignore[union-attr]
            figure.script.add_child(_Raw(text + "\n"), name=self.get_name())


class _JsLayer(Layer):
    """A Leaflet layer made by a JS expression; listed in the LayerControl under `name`."""

    def __init__(self, name: str, expr: Callable[[str], str], *, overlay: bool = True,
                 show: bool = True, kind: str = "Layer") -> None:
        super().__init__(name=html.escape(name), overlay=overlay, control=True, show=show)
        self._name = kind
        self.expr = expr

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        map_name = self._parent.get_name()  # type: ignore[union-attr]
        text = f"var {self.get_name()} = {self.expr(map_name)};\n"
        if self.show:
            text += f"{self.get_name()}.addTo({map_name});\n"
        cast(Figure, self.get_root()).script.add_child(_Raw(text), name=self.get_name())


class _OfflineMap(folium.Map):
    """folium.Map without its CDN scripts and styles (Leaflet is inlined by `_assets_html`)."""

    default_js: list[tuple[str, str]] = []  # noqa: RUF012 (folium's class attribute)
    default_css: list[tuple[str, str]] = []  # noqa: RUF012


def _number_ids(root: Element) -> None:
    """Replace folium's random element ids by their order in the tree (deterministic HTML)."""
    counter = 0
    stack = [root]
    while stack:
        element = stack.pop(0)
        element._id = str(counter)
        counter += 1
        stack[0:0] = list(element._children.values())


def render_html(fmap: folium.Map) -> str:
    """The complete HTML page of a map built by this module."""
    page = fmap.get_root().render()
    page = page.replace("<html>", '<html lang="en">', 1)
    return "\n".join(line.rstrip() for line in page.splitlines()) + "\n"


def _write(text: str, path: Path | str, into: OutputSet | None = None) -> Path:
    """Write a page atomically, or stage it into a caller's output set (committed together)."""
    path = Path(path)
    if into is not None:
        into.write_text(path, text)
        return path
    with OutputSet() as outputs:
        outputs.write_text(path, text)
        outputs.commit()
    return path
