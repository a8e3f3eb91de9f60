/* Shared helpers of Vigie's pages: messages, API calls, formatting. No framework, no dependency. */
"use strict";

const Vigie = (() => {
  const node = document.getElementById("vigie-messages");
  const messages = node ? JSON.parse(node.textContent) : {};
  const lang = document.body.dataset.lang || "fr";

  function t(key) {
    return messages[key] || key;
  }

  class ApiError extends Error {
    constructor(status, code, detail) {
      super(detail);
      this.status = status;
      this.code = code;
    }
    /* The translated message when the catalogue knows the code, else the server's sentence. */
    text() {
      const key = "error." + this.code;
      return messages[key] || this.message;
    }
  }

  /* Calls the API with the session cookie; the header marks a same-origin script (CSRF check). */
  async function api(path, options = {}) {
    const init = {
      method: options.method || "GET",
      credentials: "same-origin",
      headers: { "X-Requested-With": "vigie", Accept: "application/json" },
    };
    if (options.body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      throw new ApiError(401, "not_authenticated", "not authenticated");
    }
    if (!response.ok) {
      let body = {};
      try { body = await response.json(); } catch (_) { /* not JSON */ }
      throw new ApiError(response.status, body.code || "http_error", body.detail || response.statusText);
    }
    if (response.status === 204) return null;
    return response.json();
  }

  function formatTime(value) {
    if (!value) return t("common.none");
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return value;
    return date.toLocaleString(lang === "fr" ? "fr-FR" : "en-GB", {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  }

  function formatBytes(count) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = Number(count) || 0;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit ? value.toFixed(1) : String(value)) + " " + units[unit];
  }

  /* Builds an element; text goes through textContent, never innerHTML. */
  function el(tag, attributes = {}, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") element.className = value;
      else if (name === "dataset") Object.assign(element.dataset, value);
      else element.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
  }

  function localTimes(root = document) {
    for (const node of root.querySelectorAll("time[data-local-time]")) {
      node.textContent = formatTime(node.getAttribute("datetime"));
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    localTimes();
    const logout = document.getElementById("logout");
    if (logout) {
      logout.addEventListener("click", async () => {
        try { await api("/logout", { method: "POST" }); } catch (_) { /* the session is gone either way */ }
        window.location.assign("/login?bye=1");
      });
    }
  });

  return { t, api, ApiError, formatTime, formatBytes, el, lang };
})();
