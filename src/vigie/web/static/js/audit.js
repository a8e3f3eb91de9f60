/* The access register page: filters, paging, integrity check, export links. */
"use strict";

(() => {
  const { t, api, el, formatTime } = Vigie;
  const form = document.getElementById("audit-filters");
  const body = document.querySelector("#audit-table tbody");
  const info = document.getElementById("page-info");
  const previous = document.getElementById("page-prev");
  const next = document.getElementById("page-next");
  const pageSize = 50;
  let offset = 0;

  function filters() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form).entries()) {
      if (!value) continue;
      // datetime-local has no zone: it is the workstation's local time, sent as UTC.
      params.set(name, name === "from" || name === "to" ? new Date(value).toISOString() : value);
    }
    return params;
  }

  function updateExports(params) {
    for (const [id, format] of [["export-csv", "csv"], ["export-json", "json"]]) {
      const link = document.getElementById(id);
      if (!link) continue;
      const query = new URLSearchParams(params);
      query.set("format", format);
      link.href = "/api/audit/export?" + query.toString();
    }
  }

  /* People's roles in the register's language; technical actors (system, local-admin) as they are. */
  function roleLabel(role) {
    const label = t("role." + role);
    return label === "role." + role ? role : label;
  }

  function row(entry) {
    const outcome = el("span", { class: "outcome " + entry.outcome }, t("audit.outcome." + entry.outcome));
    const objects = (entry.object_type ? entry.object_type + " " : "") + entry.object_ids.join(", ");
    const actor = entry.matricule ? `${entry.actor} (${entry.matricule})` : entry.actor;
    return el("tr", { dataset: { id: entry.id } },
      el("td", { class: "mono" }, entry.id),
      el("td", { class: "nowrap" }, el("time", { datetime: entry.at }, formatTime(entry.at))),
      el("td", {}, actor),
      el("td", { title: entry.role }, roleLabel(entry.role)),
      el("td", {}, entry.unit || ""),
      el("td", { class: "mono" }, entry.action),
      el("td", {}, outcome),
      el("td", { class: "mono" }, objects),
      el("td", {}, entry.reason || (entry.details && entry.details.why) || ""),
      el("td", {}, entry.procedure || ""),
      el("td", { class: "mono" }, entry.client || ""),
    );
  }

  async function load() {
    const params = filters();
    updateExports(params);
    params.set("offset", String(offset));
    params.set("limit", String(pageSize));
    body.replaceChildren(el("tr", {}, el("td", { colspan: 11, class: "muted" }, t("common.loading"))));
    try {
      const page = await api("/api/audit?" + params.toString());
      body.replaceChildren(...page.entries.map(row));
      const last = Math.min(page.offset + page.entries.length, page.total);
      info.textContent = page.total ? `${page.offset + 1}–${last} / ${page.total} ${t("audit.entries")}` : `0 ${t("audit.entries")}`;
      previous.disabled = page.offset === 0;
      next.disabled = last >= page.total;
    } catch (error) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 11 }, el("span", { class: "alert error" }, error.text ? error.text() : String(error)))));
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); offset = 0; load(); });
  previous.addEventListener("click", () => { offset = Math.max(0, offset - pageSize); load(); });
  next.addEventListener("click", () => { offset += pageSize; load(); });

  document.getElementById("audit-verify").addEventListener("click", async () => {
    const badge = document.getElementById("audit-integrity");
    badge.className = "badge";
    badge.textContent = t("common.loading");
    try {
      const result = await api("/api/audit/verify");
      badge.className = "badge " + (result.intact ? "ok" : "bad");
      badge.textContent = result.intact
        ? `${t("audit.intact")} (${result.entries} ${t("audit.entries")})`
        : `${t("audit.tampered")}: ${result.problems.map((p) => p.object + " — " + p.detail).join("; ")}`;
    } catch (error) {
      badge.className = "badge bad";
      badge.textContent = error.text ? error.text() : String(error);
    }
  });

  load();
})();
