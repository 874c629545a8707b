/* siting map helpers: ward bands, counters, hubs and fixed panels, built from data embedded in
   the page. Every text in the data is HTML-escaped by siting.maps before it gets here. */
(function () {
  "use strict";
  var S = {};

  /* Panes keep the drawing order fixed whichever layers are switched on: wards at the bottom,
     then borough outlines and hub reach circles, then hub lines; markers stay above all. */
  S.panes = function (map) {
    var order = [["siting-wards", 410], ["siting-outlines", 420], ["siting-lines", 430]];
    order.forEach(function (item) {
      var pane = map.createPane(item[0]);
      pane.style.zIndex = String(item[1]);
      if (item[0] !== "siting-wards") { pane.style.pointerEvents = "none"; }
    });
  };

  /* Ward polygons for one measure (index m): fill by band, outline by the thresholds exceeded.
     Wards with stronger outlines are drawn last so their outlines are not covered. */
  S.wards = function (data, m, opts) {
    var features = data.features.slice().sort(function (a, b) {
      return a.properties.o[m] - b.properties.o[m];
    });
    var style = function (f) {
      var p = f.properties, line = opts.lines[p.o[m]];
      return {
        pane: "siting-wards", className: opts.cls, fillColor: opts.fills[p.b[m]],
        fillOpacity: opts.fillOpacity, color: line[0], weight: line[1], dashArray: line[2] || null,
        opacity: 1
      };
    };
    var layer = L.geoJSON({type: "FeatureCollection", features: features}, {
      style: style, pane: "siting-wards",
      onEachFeature: function (f, l) {
        l.bindTooltip(f.properties.t, {sticky: true, className: "siting-tip", direction: "auto"});
        l.on("add", function () {
          var el = l.getElement();
          if (el) { el.setAttribute("data-ward", f.properties.c); }
        });
        l.on("mouseover", function () {
          l.setStyle({weight: opts.lines[f.properties.o[m]][1] + 2, color: opts.hover, dashArray: null});
        });
        l.on("mouseout", function () { layer.resetStyle(l); });
      }
    });
    return layer;
  };

  /* Non-interactive outlines (borough boundaries). */
  S.outlines = function (data, style) {
    return L.geoJSON(data, {style: function () { return style; }, interactive: false,
                           pane: "siting-outlines"});
  };

  /* Point markers drawn with CSS (L.divIcon): items are [lat, lon, popupHtml, tooltipHtml,
     changed]; a changed item uses icon.changed (a ringed icon) instead of icon.html. */
  S.points = function (items, icon) {
    var group = L.featureGroup();
    items.forEach(function (it) {
      var marker = L.marker([it[0], it[1]], {
        icon: L.divIcon({className: icon.cls, html: it[4] === 1 ? icon.changed : icon.html,
                         iconSize: [icon.size, icon.size],
                         iconAnchor: [icon.size / 2, icon.size / 2],
                         popupAnchor: [0, -icon.size / 2], tooltipAnchor: [icon.size / 2, 0]}),
        riseOnHover: true, zIndexOffset: icon.z || 0
      });
      marker.bindPopup(it[2], {maxWidth: 340, className: "siting-popup"});
      if (it[3]) { marker.bindTooltip(it[3], {direction: "right", className: "siting-tip"}); }
      group.addLayer(marker);
    });
    return group;
  };

  /* DWO hubs: a marker each (items as for points, then the [lat, lon] of each ward served)
     and lines from the hub to the wards it serves. */
  S.hubs = function (items, icon, lineStyle) {
    var group = S.points(items, icon);
    items.forEach(function (it) {
      var ends = it[5] || [];
      if (ends.length) {
        var lines = ends.map(function (end) { return [[it[0], it[1]], end]; });
        group.addLayer(L.polyline(lines, L.Util.extend({interactive: false, pane: "siting-lines"},
                                                       lineStyle)));
      }
    });
    return group;
  };

  /* Circles of a fixed radius in metres around [lat, lon] points (walking reach). */
  S.circles = function (points, radius, style) {
    var group = L.featureGroup();
    points.forEach(function (p) {
      group.addLayer(L.circle(p, L.Util.extend({radius: radius, interactive: false,
                                                pane: "siting-outlines"}, style)));
    });
    return group;
  };

  /* A fixed panel (legend, title) as a Leaflet control; clicks and scrolls stay in the panel.
     Its <details> starts folded when the map is narrower than foldBelow pixels. */
  S.panel = function (map, position, cls, html, foldBelow) {
    var control = L.control({position: position});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", cls);
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      var details = div.querySelector("details");
      if (details && foldBelow && map.getContainer().clientWidth < foldBelow) { details.open = false; }
      return div;
    };
    control.addTo(map);
    return control;
  };

  /* Fit the wards between the title panel and the legend when the screen is wide enough. */
  S.fit = function (map, bounds) {
    var box = map.getContainer(), options = {};
    var info = box.querySelector(".siting-info"), legend = box.querySelector(".siting-legend");
    if (box.clientWidth >= 1000 && info && legend) {
      options.paddingTopLeft = [info.offsetWidth + 10, 10];
      options.paddingBottomRight = [legend.offsetWidth + 10, 10];
    }
    map.fitBounds(bounds, options);
  };

  /* A note shown only when basemap tiles fail to load (offline): data layers do not need them. */
  S.tileNote = function (map, tiles, html) {
    var div = L.DomUtil.create("div", "siting-tile-note", map.getContainer());
    div.setAttribute("role", "status");
    div.innerHTML = html + ' <button type="button" aria-label="Hide this note">×</button>';
    L.DomEvent.disableClickPropagation(div);
    div.querySelector("button").addEventListener("click", function () {
      div.style.display = "none";
      div.setAttribute("data-dismissed", "1");
    });
    tiles.on("tileerror", function () {
      if (!div.getAttribute("data-dismissed")) { div.style.display = "block"; }
    });
    return div;
  };

  /* Neighbourhood (LSOA) outlines coloured by band, drawn only from zoom level minZoom on, for
     the measure of the ward layer shown (index m follows the base layer chosen). */
  /* Decode one of Google's encoded polylines into [lon, lat] pairs (1e-5 degrees). */
  S.decode = function (text) {
    var points = [], index = 0, lat = 0, lon = 0;
    while (index < text.length) {
      var delta = [0, 0];
      for (var k = 0; k < 2; k++) {
        var shift = 0, result = 0, byte;
        do {
          byte = text.charCodeAt(index++) - 63;
          result |= (byte & 0x1f) << shift;
          shift += 5;
        } while (byte >= 0x20);
        delta[k] = (result & 1) ? ~(result >> 1) : (result >> 1);
      }
      lat += delta[0];
      lon += delta[1];
      points.push([lon / 1e5, lat / 1e5]);
    }
    return points;
  };

  S.lsoas = function (map, items, opts) {
    var m = 0, group = L.layerGroup(), layer = null, wanted = false, data = null;
    var features = function () {
      return {type: "FeatureCollection", features: items.map(function (it) {
        return {type: "Feature", properties: {b: it[1]}, geometry: {type: "MultiPolygon",
          coordinates: it[0].map(function (poly) { return poly.map(S.decode); })}};
      })};
    };
    var draw = function () {
      if (layer) { group.removeLayer(layer); layer = null; }
      if (!wanted || map.getZoom() < opts.minZoom) { return; }
      data = data || features();
      layer = L.geoJSON(data, {
        pane: "siting-outlines",
        style: function (f) {
          return {className: opts.cls, fillColor: opts.fills[f.properties.b[m]],
                  fillOpacity: opts.fillOpacity, color: "#555", weight: 0.6, opacity: 0.8};
        },
        interactive: false
      });
      group.addLayer(layer);
    };
    group.on("add", function () { wanted = true; draw(); });
    group.on("remove", function () { wanted = false; draw(); });
    map.on("zoomend", draw);
    map.on("baselayerchange", function (e) {
      var i = opts.layerNames.indexOf(e.name);
      if (i >= 0) { m = i; draw(); }
    });
    return group;
  };

  /* "Find your area": a search box over ward and neighbourhood names. Choosing one zooms the map
     to it and opens its card (travel times, nearest counter and hub, the journey). The card is
     built with textContent only, so no text from the data can become markup.
     places: [label, kind, [south, west, north, east], ward index or -1, lsoa index or -1,
     ward code to outline];
     cards.wards / cards.lsoas: per area [minutes per measure..., counter index per measure...,
     journey text per measure..., hub index, hub walk minutes]. */
  S.search = function (map, places, cards, opts) {
    var control = L.control({position: "topleft"});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "siting-search");
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      var label = L.DomUtil.create("label", "", div);
      label.textContent = opts.prompt;
      label.setAttribute("for", "siting-search-input");
      var input = L.DomUtil.create("input", "", div);
      input.type = "search";
      input.id = "siting-search-input";
      input.setAttribute("list", "siting-search-places");
      input.setAttribute("autocomplete", "off");
      input.placeholder = opts.placeholder;
      var list = L.DomUtil.create("datalist", "", div);
      list.id = "siting-search-places";
      places.forEach(function (p) {
        var option = document.createElement("option");
        option.value = p[0];
        list.appendChild(option);
      });
      var message = L.DomUtil.create("p", "siting-search-message", div);
      var card = L.DomUtil.create("div", "siting-card", div);
      card.setAttribute("role", "region");
      card.setAttribute("aria-live", "polite");
      card.style.display = "none";
      var find = function (text) {
        var q = text.trim().toLowerCase(), i, hit = null;
        if (!q) { return null; }
        for (i = 0; i < places.length && !hit; i++) {
          if (places[i][0].toLowerCase() === q) { hit = places[i]; }
        }
        for (i = 0; i < places.length && !hit; i++) {
          if (places[i][0].toLowerCase().indexOf(q) === 0) { hit = places[i]; }
        }
        for (i = 0; i < places.length && !hit; i++) {
          if (places[i][0].toLowerCase().indexOf(q) >= 0) { hit = places[i]; }
        }
        return hit;
      };
      var line = function (parent, label, value) {
        var p = document.createElement("p");
        var b = document.createElement("b");
        b.textContent = label;
        p.appendChild(b);
        p.appendChild(document.createTextNode(" " + value));
        parent.appendChild(p);
      };
      var show = function (place) {
        card.textContent = "";
        var h = document.createElement("h3");
        h.textContent = place[0];
        card.appendChild(h);
        var row = place[3] >= 0 ? cards.wards[place[3]] : cards.lsoas[place[4]];
        var n = opts.measures.length;
        for (var k = 0; k < n; k++) {
          var minutes = row[k], counter = row[n + k], journey = row[2 * n + k];
          var text = minutes === null ? opts.noCounter :
            minutes.toFixed(1) + " min" + (counter >= 0 ? " to " + opts.counters[counter] : "");
          line(card, opts.measures[k] + ":", text);
          if (journey) { line(card, opts.journeyLabel, journey); }
        }
        var hub = row[3 * n], walk = row[3 * n + 1];
        line(card, opts.hubLabel + ":", hub >= 0 ? opts.hubs[hub] + (walk === null ? "" :
             ", " + walk.toFixed(1) + " min walk") : opts.noHub);
        var note = document.createElement("p");
        note.className = "siting-card-note";
        note.textContent = opts.note;
        card.appendChild(note);
        card.style.display = "block";
        card.setAttribute("data-place", place[0]);
      };
      var go = function () {
        var place = find(input.value);
        if (!place) {
          message.textContent = input.value.trim() ? opts.notFound : "";
          card.style.display = "none";
          return;
        }
        message.textContent = "";
        var b = place[2], options = {animate: false, maxZoom: 15};
        if (map.getContainer().clientWidth >= 1000) {
          options.paddingTopLeft = [div.offsetWidth + 20, 20];
          options.paddingBottomRight = [20, 20];
        }
        map.fitBounds([[b[0], b[1]], [b[2], b[3]]], options);
        document.querySelectorAll("path.siting-chosen").forEach(function (el) {
          el.classList.remove("siting-chosen");
        });
        if (place[5]) {
          document.querySelectorAll('path[data-ward="' + CSS.escape(place[5]) + '"]').forEach(function (el) {
            el.classList.add("siting-chosen");
          });
        }
        show(place);
      };
      input.addEventListener("change", go);
      input.addEventListener("keydown", function (e) { if (e.key === "Enter") { go(); } });
      return div;
    };
    control.addTo(map);
    return control;
  };

  window.SitingMap = S;
}());
