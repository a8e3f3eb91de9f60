/* Place-and-time search on a map: click to set the centre, draw the circle, search, show tracks.
   Leaflet (vendored, BSD-2) draws; the data comes from the same JSON API as everyone else's. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Deferred scripts have all run by now: common.js (Vigie) and leaflet.js (L) are defined.
  const { t, api, el, formatTime } = Vigie;
  const box = document.getElementById("map");
  const form = document.getElementById("map-search");
  const results = document.getElementById("map-results");
  const problem = document.getElementById("map-error");
  const centre = [Number(box.dataset.lat), Number(box.dataset.lon)];

  const map = L.map(box, { zoomControl: true, attributionControl: true }).setView(centre, 15);
  let graticule = null;
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution || "" }).addTo(map);
  } else {
    drawGraticule();
    map.on("moveend", drawGraticule);
  }

  const camerasLayer = L.layerGroup().addTo(map);
  const tracksLayer = L.layerGroup().addTo(map);
  let circle = null;

  /* Offline base layer: a light grid of latitude/longitude lines so distances stay readable. */
  function drawGraticule() {
    if (graticule) graticule.remove();
    const bounds = map.getBounds();
    const span = Math.max(bounds.getNorth() - bounds.getSouth(), bounds.getEast() - bounds.getWest());
    const step = Math.pow(10, Math.floor(Math.log10(span / 4)));
    const lines = [];
    for (let lat = Math.floor(bounds.getSouth() / step) * step; lat <= bounds.getNorth(); lat += step) {
      lines.push([[lat, bounds.getWest()], [lat, bounds.getEast()]]);
    }
    for (let lon = Math.floor(bounds.getWest() / step) * step; lon <= bounds.getEast(); lon += step) {
      lines.push([[bounds.getSouth(), lon], [bounds.getNorth(), lon]]);
    }
    graticule = L.polyline(lines, { color: "#c2c8d0", weight: 1, interactive: false }).addTo(map);
  }

  function field(name) { return form.elements.namedItem(name); }

  function drawCircle() {
    const lat = Number(field("lat").value);
    const lon = Number(field("lon").value);
    const radius = Number(field("radius_m").value);
    if (!Number.isFinite(lat) || !Number.isFinite(lon) || !(radius > 0)) return;
    if (circle) circle.remove();
    circle = L.circle([lat, lon], { radius, color: "#1f5fbf", weight: 2, fillOpacity: 0.08 }).addTo(map);
  }

  map.on("click", (event) => {
    field("lat").value = event.latlng.lat.toFixed(6);
    field("lon").value = event.latlng.lng.toFixed(6);
    drawCircle();
  });
  for (const name of ["lat", "lon", "radius_m"]) field(name).addEventListener("input", drawCircle);

  /* The last 24 hours by default, in the browser's own time zone. */
  function localInput(date) {
    const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
    return shifted.toISOString().slice(0, 16);
  }
  if (!field("to").value) field("to").value = localInput(new Date());
  if (!field("from").value) field("from").value = localInput(new Date(Date.now() - 24 * 3600 * 1000));
  drawCircle();

  async function loadCameras() {
    if (box.dataset.cameras !== "1") return;
    try {
      const data = await api("/api/map/cameras");
      for (const feature of data.features) {
        const [lon, lat] = feature.geometry.coordinates;
        L.circleMarker([lat, lon], { radius: 6, color: "#5b3", weight: 2, fillOpacity: 0.7 })
          .bindTooltip(`${t("map.camera")} · ${feature.properties.name}`)
          .addTo(camerasLayer);
      }
    } catch (_) { /* cameras are context: the search works without them */ }
  }

  async function showTrack(hit, row) {
    for (const other of results.querySelectorAll(".map-hit")) other.setAttribute("aria-selected", "false");
    row.setAttribute("aria-selected", "true");
    tracksLayer.clearLayers();
    if (hit.kind === "camera") {
      const [lat, lon] = hit.position;
      L.circleMarker([lat, lon], { radius: 9, color: "#d60", weight: 3 }).addTo(tracksLayer);
      return;
    }
    try {
      const feature = await api(`/api/bodycam/recordings/${encodeURIComponent(hit.recording_id)}/track`);
      const points = feature.geometry.coordinates.map(([lon, lat]) => [lat, lon]);
      if (!points.length) return;
      const line = L.polyline(points, { color: "#d60", weight: 4 }).addTo(tracksLayer);
      const times = feature.properties.times;
      L.circleMarker(points[0], { radius: 5, color: "#d60", fillOpacity: 1 })
        .bindTooltip(formatTime(new Date(times[0] * 1000).toISOString())).addTo(tracksLayer);
      L.circleMarker(points[points.length - 1], { radius: 5, color: "#d60", fillOpacity: 0.3 })
        .bindTooltip(formatTime(new Date(times[times.length - 1] * 1000).toISOString())).addTo(tracksLayer);
      // The track itself fills the view (a short walk would be a dot at the circle's scale).
      map.fitBounds(line.getBounds(), { maxZoom: 19, padding: [40, 40], animate: false });
    } catch (error) {
      showProblem(error);
    }
  }

  function showProblem(error) {
    problem.textContent = error.text ? error.text() : String(error);
    problem.hidden = false;
  }

  function render(data) {
    results.replaceChildren();
    if (!data.results.length) {
      results.append(el("p", { class: "muted", id: "map-none" }, t("map.none")));
      return;
    }
    const body = el("tbody");
    for (const hit of data.results) {
      const spans = el("ul", { class: "map-spans" }, ...hit.spans.map((span) =>
        el("li", {}, `${formatTime(span.start)} → ${formatTime(span.end)} (${t("map.closest")} ${span.closest_m} m)`)));
      const row = el("tr", { class: "map-hit", tabindex: "0", dataset: { id: hit.recording_id } },
        el("td", {}, hit.kind === "camera" ? t("map.camera") : t("map.bodycam")),
        el("td", {}, hit.device || hit.source),
        el("td", {}, hit.officer || "—"),
        el("td", {}, spans));
      row.addEventListener("click", () => showTrack(hit, row));
      row.addEventListener("keydown", (event) => { if (event.key === "Enter") showTrack(hit, row); });
      body.append(row);
      if (hit.kind === "bodycam") continue;
      const [lat, lon] = hit.position;
      L.circleMarker([lat, lon], { radius: 7, color: "#d60", weight: 2 }).addTo(tracksLayer);
    }
    const head = el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, t("map.source")), el("th", { scope: "col" }, t("map.device")),
      el("th", { scope: "col" }, t("map.officer")), el("th", { scope: "col" }, t("map.spans"))));
    results.append(el("div", { class: "table-wrap" }, el("table", { class: "data", id: "map-table" }, head, body)));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.hidden = true;
    tracksLayer.clearLayers();
    drawCircle();
    const params = new URLSearchParams({
      lat: field("lat").value,
      lon: field("lon").value,
      radius_m: field("radius_m").value,
      from: new Date(field("from").value).toISOString(),
      to: new Date(field("to").value).toISOString(),
      reason: field("reason").value,
    });
    const purpose = field("purpose");
    if (purpose && purpose.value) params.set("purpose", purpose.value);
    results.replaceChildren(el("p", { class: "muted" }, t("common.loading")));
    try {
      render(await api(`/api/search?${params}`));
      if (circle) map.fitBounds(circle.getBounds(), { maxZoom: 18, animate: false });
    } catch (error) {
      results.replaceChildren();
      showProblem(error);
    }
  });

  loadCameras();
});
