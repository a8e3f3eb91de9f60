/* Zone drawing on a camera's picture: polygons (forbidden, density, direction + arrow), saved via the API.
   Coordinates are the picture's own pixels; the server validates them against the picture's size
   (a point outside is refused with the zone's name). The picture is the camera's masked snapshot,
   fetched with a stated reason; roles that see no images draw on a grid of the same size. */
"use strict";

(() => {
  const { t, api, el, ApiError } = Vigie;
  const root = document.getElementById("analytics-camera");
  const canvas = document.getElementById("zones-canvas");
  if (!root || !canvas) return;
  const camera = root.dataset.camera;
  const context = canvas.getContext("2d");
  const draft = document.getElementById("zone-draft");
  const hint = document.getElementById("zone-hint");
  const list = document.getElementById("zones-list");
  const message = document.getElementById("zones-message");
  const abandonedAfter = document.getElementById("abandoned-after");
  const COLOURS = { forbidden: "#e0615a", density: "#e0a84f", direction: "#4fa3e0" };

  let frame = { width: 640, height: 360 };
  let picture = null; // an Image once the masked snapshot is loaded
  let zones = [];
  let points = []; // the polygon being drawn
  let arrow = null; // null, or [] / [[x, y]] while the arrow of a direction zone is being placed
  let pendingZone = null;

  function say(text, ok) {
    message.textContent = text;
    message.className = "alert " + (ok ? "notice" : "error");
    message.hidden = false;
  }

  function resize(width, height) {
    frame = { width, height };
    canvas.width = width;
    canvas.height = height;
    document.getElementById("zones-size").textContent = `${t("analytics.zones.size")} : ${width} × ${height}`;
  }

  function drawArrow(from, to, colour) {
    const [x0, y0] = from;
    const [x1, y1] = to;
    const angle = Math.atan2(y1 - y0, x1 - x0);
    const head = Math.max(8, frame.width / 60);
    context.strokeStyle = colour;
    context.fillStyle = colour;
    context.lineWidth = Math.max(2, frame.width / 320);
    context.beginPath();
    context.moveTo(x0, y0);
    context.lineTo(x1, y1);
    context.stroke();
    context.beginPath();
    context.moveTo(x1, y1);
    context.lineTo(x1 - head * Math.cos(angle - 0.45), y1 - head * Math.sin(angle - 0.45));
    context.lineTo(x1 - head * Math.cos(angle + 0.45), y1 - head * Math.sin(angle + 0.45));
    context.closePath();
    context.fill();
  }

  function centre(polygon) {
    const x = polygon.reduce((sum, p) => sum + p[0], 0) / polygon.length;
    const y = polygon.reduce((sum, p) => sum + p[1], 0) / polygon.length;
    return [x, y];
  }

  function draw() {
    const { width, height } = frame;
    if (picture) {
      context.drawImage(picture, 0, 0, width, height);
    } else {
      context.fillStyle = "#0b1015";
      context.fillRect(0, 0, width, height);
      context.strokeStyle = "#2a3642";
      context.lineWidth = 1;
      for (let step = 1; step < 10; step += 1) {
        context.beginPath();
        context.moveTo((width * step) / 10, 0);
        context.lineTo((width * step) / 10, height);
        context.moveTo(0, (height * step) / 10);
        context.lineTo(width, (height * step) / 10);
        context.stroke();
      }
    }
    const font = Math.max(12, Math.round(width / 50));
    context.font = `${font}px system-ui, sans-serif`;
    for (const zone of zones) {
      const colour = COLOURS[zone.kind] || "#fff";
      context.beginPath();
      zone.polygon.forEach(([x, y], index) => (index ? context.lineTo(x, y) : context.moveTo(x, y)));
      context.closePath();
      context.fillStyle = colour + "40";
      context.fill();
      context.strokeStyle = colour;
      context.lineWidth = Math.max(2, width / 320);
      context.stroke();
      const [cx, cy] = centre(zone.polygon);
      if (zone.kind === "direction" && zone.direction) {
        const length = Math.min(width, height) / 8;
        const norm = Math.hypot(zone.direction[0], zone.direction[1]) || 1;
        const dx = (zone.direction[0] / norm) * length;
        const dy = (zone.direction[1] / norm) * length;
        drawArrow([cx - dx / 2, cy - dy / 2], [cx + dx / 2, cy + dy / 2], colour);
      }
      context.fillStyle = "#fff";
      context.fillText(zone.name, cx + 4, cy - 4);
    }
    if (points.length) {
      const colour = COLOURS[draft.elements.kind.value];
      context.strokeStyle = colour;
      context.fillStyle = colour;
      context.lineWidth = Math.max(2, width / 320);
      context.setLineDash([6, 4]);
      context.beginPath();
      points.forEach(([x, y], index) => (index ? context.lineTo(x, y) : context.moveTo(x, y)));
      if (pendingZone) context.closePath();
      context.stroke();
      context.setLineDash([]);
      for (const [x, y] of points) {
        context.beginPath();
        context.arc(x, y, Math.max(3, width / 200), 0, 2 * Math.PI);
        context.fill();
      }
    }
    if (arrow && arrow.length === 1) {
      context.fillStyle = COLOURS.direction;
      context.beginPath();
      context.arc(arrow[0][0], arrow[0][1], Math.max(4, width / 160), 0, 2 * Math.PI);
      context.fill();
    }
  }

  function renderList() {
    if (!zones.length) {
      list.replaceChildren(el("li", { class: "muted" }, t("analytics.zones.list_empty")));
      return;
    }
    list.replaceChildren(...zones.map((zone, index) => {
      const remove = el("button", { type: "button", class: "button ghost" }, t("analytics.zones.delete"));
      remove.addEventListener("click", () => { zones.splice(index, 1); renderList(); draw(); });
      const extra = zone.kind === "density" && zone.max_people ? ` ≤ ${zone.max_people}` : "";
      return el("li", { dataset: { kind: zone.kind } },
        el("span", { class: `swatch zone-${zone.kind}` }),
        el("span", {}, `${zone.name} — ${t("analytics.zones.kind." + zone.kind)}${extra}`), remove);
    }));
  }

  function pointOf(event) {
    const box = canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * frame.width;
    const y = ((event.clientY - box.top) / box.height) * frame.height;
    return [Math.round(Math.min(frame.width, Math.max(0, x))), Math.round(Math.min(frame.height, Math.max(0, y)))];
  }

  canvas.addEventListener("click", (event) => {
    const point = pointOf(event);
    if (arrow) {
      arrow.push(point);
      if (arrow.length === 2) {
        const [[x0, y0], [x1, y1]] = arrow;
        if (x0 === x1 && y0 === y1) { arrow = []; draw(); return; }
        pendingZone.direction = [x1 - x0, y1 - y0];
        finish(pendingZone);
      }
      draw();
      return;
    }
    points.push(point);
    hint.textContent = `${points.length} point(s)`;
    draw();
  });

  function finish(zone) {
    zones.push(zone);
    points = [];
    arrow = null;
    pendingZone = null;
    hint.textContent = "";
    const next = zones.length + 1;
    draft.elements.name.value = `zone-${next}`;
    renderList();
    draw();
  }

  document.getElementById("zone-close").addEventListener("click", () => {
    if (points.length < 3 || !draft.elements.name.value.trim()) {
      hint.textContent = t("analytics.zones_intro");
      return;
    }
    const kind = draft.elements.kind.value;
    const zone = { name: draft.elements.name.value.trim(), kind, polygon: points.slice() };
    if (kind === "density") zone.max_people = Math.max(1, Number(draft.elements.max_people.value) || 1);
    if (kind === "direction") {
      pendingZone = zone;
      arrow = [];
      hint.textContent = t("analytics.zones.arrow");
      draw();
      return;
    }
    finish(zone);
  });
  document.getElementById("zone-undo").addEventListener("click", () => { points.pop(); draw(); });
  document.getElementById("zone-clear").addEventListener("click", () => {
    points = []; arrow = null; pendingZone = null; hint.textContent = ""; draw();
  });
  draft.elements.kind.addEventListener("change", () => {
    draft.querySelector('[data-for="density"]').hidden = draft.elements.kind.value !== "density";
    draw();
  });

  document.getElementById("zones-save").addEventListener("click", async () => {
    const body = { width: frame.width, height: frame.height, zones };
    if (abandonedAfter.value !== "") body.abandoned_after = Number(abandonedAfter.value);
    try {
      await api(`/api/analytics/cameras/${encodeURIComponent(camera)}/zones`, { method: "PUT", body });
      say(t("analytics.zones.saved"), true);
    } catch (error) {
      // The server names the zone and the problem (e.g. a point outside the picture).
      say(error instanceof ApiError ? `${error.text()} ${error.message}` : String(error), false);
    }
  });

  /* Zones keep their place when the picture's size differs from the one they were drawn on. */
  function adopt(width, height) {
    if (width === frame.width && height === frame.height) return;
    const sx = width / frame.width;
    const sy = height / frame.height;
    zones = zones.map((zone) => ({
      ...zone,
      polygon: zone.polygon.map(([x, y]) => [Math.round(x * sx), Math.round(y * sy)]),
      ...(zone.direction ? { direction: [zone.direction[0] * sx, zone.direction[1] * sy] } : {}),
    }));
    points = [];
    resize(width, height);
  }

  const pictureForm = document.getElementById("zones-picture");
  if (pictureForm) {
    pictureForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const reason = String(new FormData(pictureForm).get("reason")).trim();
      try {
        const response = await fetch(`/api/cameras/${encodeURIComponent(camera)}/snapshot`, {
          credentials: "same-origin",
          headers: { "X-Requested-With": "vigie", "X-Vigie-Reason": encodeURIComponent(reason) },
        });
        if (!response.ok) {
          let problem = {};
          try { problem = await response.json(); } catch (_) { /* not JSON */ }
          throw new ApiError(response.status, problem.code || "http_error", problem.detail || response.statusText);
        }
        const blob = await response.blob();
        const url = await new Promise((resolve) => {
          const reader = new FileReader();
          reader.onload = () => resolve(reader.result);
          reader.readAsDataURL(blob);
        });
        const image = new Image();
        image.onload = () => { picture = image; adopt(image.naturalWidth, image.naturalHeight); draw(); };
        image.src = url;
      } catch (error) {
        say(`${t("analytics.zones.no_picture")} ${error.text ? error.text() : String(error)}`, false);
      }
    });
  }

  api(`/api/analytics/cameras/${encodeURIComponent(camera)}`).then((data) => {
    const setup = data.setup;
    resize(data.frame[0], data.frame[1]);
    zones = (setup.zones || []).map((zone) => ({ ...zone }));
    if (setup.abandoned_after !== null && setup.abandoned_after !== undefined) {
      abandonedAfter.value = String(setup.abandoned_after);
    }
    draft.elements.name.value = `zone-${zones.length + 1}`;
    draft.querySelector('[data-for="density"]').hidden = draft.elements.kind.value !== "density";
    renderList();
    draw();
  }).catch((error) => say(error.text ? error.text() : String(error), false));
})();
