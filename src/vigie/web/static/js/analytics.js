/* Analytics settings: cameras and the legal bases that allow each event type (list, record, revoke).
   Recording or revoking a basis is audited by the server; this page only collects what the law asks:
   the text reference, the authorisation and an end date, for one lawful event type at a time. */
"use strict";

(() => {
  const { t, api, el, formatTime } = Vigie;

  function typeLabel(type) { return t("event.type." + type); }
  function stateLabel(state) { return t("analytics.state." + state); }

  /* -- /analytics: the cameras ----------------------------------------------------------------- */
  const camerasTable = document.getElementById("analytics-cameras");
  if (camerasTable) {
    const body = camerasTable.querySelector("tbody");
    api("/api/analytics/cameras").then((cameras) => {
      if (!cameras.length) {
        body.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted" }, t("common.none"))));
        return;
      }
      body.replaceChildren(...cameras.map((camera) => el("tr", { dataset: { camera: camera.camera } },
        el("td", {}, camera.camera),
        el("td", {}, camera.unit || t("dashboard.unit_all")),
        el("td", {}, camera.in_force.length ? camera.in_force.map(typeLabel).join(", ")
          : el("span", { class: "muted" }, t("analytics.none_in_force"))),
        el("td", {}, camera.status ? stateLabel(camera.status.state) : "—"),
        el("td", {}, el("a", { class: "button", href: `/analytics/cameras/${encodeURIComponent(camera.camera)}` },
          t("analytics.open"))))));
    }).catch((error) => {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 5 }, error.text ? error.text() : String(error))));
    });
  }

  /* -- /analytics/cameras/{camera}: status and legal bases ------------------------------------- */
  const root = document.getElementById("analytics-camera");
  if (!root) return;
  const camera = root.dataset.camera;
  const base = `/api/analytics/cameras/${encodeURIComponent(camera)}`;
  const message = document.getElementById("analytics-message");
  const basesBody = document.querySelector("#bases-table tbody");

  function say(text, ok) {
    message.textContent = text;
    message.className = "alert " + (ok ? "notice" : "error");
    message.hidden = false;
  }

  function status(data) {
    const node = document.getElementById("analytics-status");
    const parts = [];
    if (!data.in_force.length) parts.push(t("analytics.bases_empty"));
    else parts.push(`${t("analytics.in_force")} : ${data.in_force.map(typeLabel).join(", ")}.`);
    if (data.status) {
      parts.push(`${t("analytics.state")} : ${stateLabel(data.status.state)}` +
        (data.status.detail ? ` (${data.status.detail})` : "") + ".");
    } else if (!data.worker) {
      parts.push(t("analytics.worker_absent"));
    }
    node.textContent = parts.join(" ");
    node.dataset.state = data.status ? data.status.state : "none";
  }

  function revokeCell(basis) {
    if (basis.state !== "in_force" && basis.state !== "future") return el("td", {});
    const input = el("input", { minlength: 8, maxlength: 1000, required: true,
      "aria-label": t("analytics.basis.revoke_reason"), placeholder: t("analytics.basis.revoke_reason") });
    const form = el("form", { class: "row-actions", hidden: true }, input,
      el("button", { type: "submit", class: "button danger" }, t("analytics.basis.revoke")));
    const open = el("button", { type: "button", class: "button danger" }, t("analytics.basis.revoke"));
    open.addEventListener("click", () => { open.hidden = true; form.hidden = false; input.focus(); });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api(`/api/analytics/bases/${basis.id}/revoke`, { method: "POST", body: { reason: input.value.trim() } });
        say(t("analytics.basis.revoked_ok"), true);
        load();
      } catch (error) {
        say(error.text ? error.text() : String(error), false);
      }
    });
    return el("td", {}, open, form);
  }

  function basisRow(basis) {
    return el("tr", { dataset: { id: basis.id, state: basis.state } },
      el("td", {}, typeLabel(basis.event_type)),
      el("td", {}, basis.text_reference),
      el("td", {}, basis.authorisation),
      el("td", { class: "nowrap" }, formatTime(basis.valid_from)),
      el("td", { class: "nowrap" }, formatTime(basis.valid_until)),
      el("td", {}, basis.created_by),
      el("td", {}, el("span", { class: `badge basis-${basis.state}` }, t("analytics.basis." + basis.state))),
      revokeCell(basis));
  }

  async function load() {
    try {
      const data = await api(base);
      status(data);
      basesBody.replaceChildren(...(data.bases.length ? data.bases.map(basisRow)
        : [el("tr", {}, el("td", { colspan: 8, class: "muted" }, t("analytics.bases_empty")))]));
    } catch (error) {
      say(error.text ? error.text() : String(error), false);
    }
  }

  const form = document.getElementById("basis-form");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      try {
        await api(`${base}/bases`, { method: "POST", body: {
          event_type: data.get("event_type"),
          text_reference: String(data.get("text_reference")).trim(),
          authorisation: String(data.get("authorisation")).trim(),
          valid_until: data.get("valid_until"),
        } });
        say(t("analytics.basis.saved"), true);
        form.reset();
        load();
      } catch (error) {
        say(error.text() === t("error.basis_refused") ? `${error.text()} ${error.message}` : error.text(), false);
      }
    });
  }

  load();
  window.setInterval(load, 15000); // the worker's status changes on its own (connects, errors, reloads)
})();
