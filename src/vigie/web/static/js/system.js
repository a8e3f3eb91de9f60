/* System status page (no personal data, no image): catalog, vault, register heads. */
"use strict";

(() => {
  const { t, api, el, formatTime, formatBytes } = Vigie;
  const root = document.getElementById("system-cards");

  function card(title, ok, ...lines) {
    return el("div", { class: "card" },
      el("h2", {}, title, " ", el("span", { class: "badge " + (ok ? "ok" : "bad") }, ok ? "OK" : "!")),
      ...lines.map((line) => el("p", {}, line)));
  }

  async function load() {
    try {
      const health = await api("/api/health/details");
      root.replaceChildren(
        card(t("system.catalog"), health.catalog.ok, health.catalog.dialect, `${t("system.version")}: ${health.version}`),
        card(t("system.vault"), health.vault.ok, `${t("system.free_space")}: ${formatBytes(health.vault.free_bytes)}`),
        card(t("system.audit"), true, `${health.audit.entries} ${t("audit.entries")}`,
          `${t("system.last_checkpoint")}: ${formatTime(health.audit.last_checkpoint_at)}`),
      );
    } catch (error) {
      root.replaceChildren(el("p", { class: "alert error" }, error.text ? error.text() : String(error)));
    }
  }

  load();
})();
