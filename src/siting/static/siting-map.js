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

  window.SitingMap = S;
}());
