/* Fixed cameras: health badges (refreshed every few seconds), position, authorisation; admin actions. */
"use strict";

(() => {
  const { t, api, el, formatTime } = Vigie;
  const table = document.getElementById("cameras-table");
  const body = table.querySelector("tbody");
  const canManage = table.dataset.manage === "1";
  const canWatch = table.dataset.live === "1";
  const COLUMNS = 11;

  function explain(error) {
    return error.text ? error.text() : String(error);
  }

  function badge(camera) {
    if (camera.removed) return el("span", { class: "badge" }, t("cameras.removed"));
    if (!camera.enabled) return el("span", { class: "badge" }, t("cameras.disabled"));
    const state = camera.health.state;
    const kind = state === "online" ? (camera.health.cause ? "warn" : "ok") : ["offline", "unknown"].includes(state) ? "bad" : "";
    const label = t("cameras.state." + state);
    const node = el("span", { class: `badge ${kind}`, dataset: { state } }, label === "cameras.state." + state ? state : label);
    const cause = camera.health.cause ? t("timeline.cause." + camera.health.cause) : "";
    if (cause) node.title = [cause, camera.health.detail].filter(Boolean).join(" — ");
    return node;
  }

  function keyframeAge(camera) {
    const age = camera.health.last_keyframe_age_seconds;
    if (age === null || age === undefined) return t("common.none");
    const text = age < 120 ? t("cameras.ago").replace("{n}", age.toFixed(age < 10 ? 1 : 0)) : formatTime(camera.health.last_keyframe_at);
    return el("span", { class: age > 10 && camera.health.state === "online" ? "late" : "", title: formatTime(camera.health.last_keyframe_at) }, text);
  }

  function position(camera) {
    if (camera.latitude === null || camera.longitude === null) return t("common.none");
    const text = `${camera.latitude.toFixed(5)}, ${camera.longitude.toFixed(5)}`;
    return camera.heading === null ? text : `${text} · ${t("cameras.heading_short").replace("{n}", Math.round(camera.heading))}`;
  }

  function bitrate(value) {
    if (value === null || value === undefined) return t("common.none");
    return value >= 1e6 ? `${(value / 1e6).toFixed(2)} Mb/s` : `${Math.round(value / 1e3)} kb/s`;
  }

  async function change(camera, method, payload) {
    try {
      if (method === "DELETE") {
        if (!window.confirm(t("cameras.confirm_remove"))) return;
        await api(`/api/cameras/${encodeURIComponent(camera.name)}`, { method });
      } else {
        await api(`/api/cameras/${encodeURIComponent(camera.name)}`, { method, body: payload });
      }
    } catch (error) {
      window.alert(explain(error));
    }
    load();
  }

  function actions(camera) {
    const links = [el("a", { class: "button", href: `/cameras/${encodeURIComponent(camera.name)}/timeline` }, t("cameras.timeline"))];
    if (canWatch && camera.live.relayed && !camera.removed) links.push(el("a", { class: "button", href: "/live" }, t("cameras.watch")));
    if (canManage && !camera.removed) {
      const toggle = el("button", { type: "button", class: "button" }, camera.enabled ? t("cameras.disable") : t("cameras.enable"));
      toggle.addEventListener("click", () => change(camera, "PATCH", { enabled: !camera.enabled }));
      const remove = el("button", { type: "button", class: "button danger" }, t("cameras.remove"));
      remove.addEventListener("click", () => change(camera, "DELETE"));
      links.push(toggle, remove);
    }
    return el("div", { class: "row-actions" }, ...links);
  }

  function row(camera) {
    const online = camera.health.state === "online";
    return el("tr", { dataset: { camera: camera.name } },
      el("td", {}, el("strong", {}, camera.name)),
      el("td", {}, badge(camera)),
      el("td", { class: "nowrap" }, online && camera.health.fps !== null ? camera.health.fps.toFixed(1) : t("common.none")),
      el("td", { class: "nowrap" }, online ? bitrate(camera.health.bitrate) : t("common.none")),
      el("td", { class: "nowrap" }, keyframeAge(camera)),
      el("td", { class: "nowrap mono" }, position(camera)),
      el("td", { class: "wrap" }, camera.authorisation || t("common.none")),
      el("td", {}, camera.unit || t("common.none")),
      el("td", { class: "nowrap" }, camera.retention || t("cameras.default_retention")),
      el("td", {}, camera.masks ? el("span", { class: "badge warn" }, `${camera.masks} · ${t("cameras.masked")}`) : t("common.none")),
      el("td", {}, actions(camera)),
    );
  }

  let timer = null;
  async function load() {
    clearTimeout(timer);
    try {
      const cameras = await api("/api/cameras");
      body.replaceChildren(...(cameras.length ? cameras.map(row)
        : [el("tr", {}, el("td", { colspan: COLUMNS, class: "muted" }, t("cameras.empty")))]));
    } catch (error) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: COLUMNS }, explain(error))));
    }
    timer = setTimeout(load, 5000); // the recorder measures health every few seconds
  }

  const form = document.getElementById("camera-add");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const payload = {};
      for (const [name, value] of data.entries()) {
        if (value === "") continue;
        payload[name] = ["latitude", "longitude", "heading"].includes(name) ? Number(value)
          : name === "retention_days" ? Number.parseInt(value, 10) : value;
      }
      const problem = document.getElementById("camera-error");
      problem.hidden = true;
      try {
        await api("/api/cameras", { method: "POST", body: payload });
        form.reset();
        load();
      } catch (error) {
        problem.textContent = error.message || explain(error);
        problem.hidden = false;
      }
    });
  }

  load();
})();
