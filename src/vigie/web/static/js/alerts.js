/* Alert queue: alerts arrive live (Server-Sent Events), each awaits a human decision with a comment.
   The reason for viewing alert images is asked once per watching session (sessionStorage: it ends
   with the tab) and sent with every snapshot and review as X-Vigie-Reason; the register keeps it.
   Nothing automatic happens here: the page only shows alerts and records decisions. */
"use strict";

(() => {
  const { t, el, formatTime, ApiError } = Vigie;
  const queue = document.getElementById("alert-queue");
  if (!queue) return;
  const empty = document.getElementById("alerts-empty");
  const count = document.getElementById("alerts-count");
  const historyBody = document.querySelector("#alert-history tbody");
  const liveBadge = document.getElementById("alerts-live");
  const reasonForm = document.getElementById("alerts-reason");
  const reasonSet = document.getElementById("alerts-reason-set");
  const canReview = queue.dataset.review === "1";
  const REASON_KEY = "vigie.alerts.reason";
  const cards = new Map(); // event id -> card element
  const pending = new Map(); // event id -> the alert shown in that card
  const inHistory = new Set();

  const reason = () => sessionStorage.getItem(REASON_KEY) || "";

  /* fetch with the session cookie, the CSRF header and the stated reason (percent-encoded UTF-8). */
  async function request(path, { method = "GET", body, accept = "application/json" } = {}) {
    const headers = { "X-Requested-With": "vigie", Accept: accept };
    if (reason()) headers["X-Vigie-Reason"] = encodeURIComponent(reason());
    const init = { method, credentials: "same-origin", headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      throw new ApiError(401, "not_authenticated", "not authenticated");
    }
    if (!response.ok) {
      let problem = {};
      try { problem = await response.json(); } catch (_) { /* not JSON */ }
      throw new ApiError(response.status, problem.code || "http_error", problem.detail || response.statusText);
    }
    return response;
  }

  function label(type) { return t("event.type." + type); }
  function score(value) { return Math.round(Number(value) * 100) + " %"; }

  function updateCount() {
    count.textContent = String(cards.size);
    empty.hidden = cards.size > 0;
    document.title = (cards.size ? `(${cards.size}) ` : "") + document.title.replace(/^\(\d+\) /, "");
  }

  /* The snapshot is footage: fetched only once a reason is stated, shown as a data: URL (CSP). */
  async function loadSnapshot(alert, holder) {
    if (!alert.has_snapshot) {
      holder.replaceChildren(el("span", { class: "muted" }, t("alerts.no_snapshot")));
      return;
    }
    if (!reason()) {
      holder.replaceChildren(el("span", { class: "muted" }, t("alerts.reason")));
      return;
    }
    try {
      const response = await request(`/api/events/${encodeURIComponent(alert.id)}/snapshot`, { accept: "image/jpeg" });
      const blob = await response.blob();
      const url = await new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(reader.result);
        reader.onerror = () => reject(reader.error);
        reader.readAsDataURL(blob);
      });
      holder.replaceChildren(el("img", { src: url, alt: t("alerts.snapshot"), "data-testid": "alert-snapshot" }));
    } catch (error) {
      holder.replaceChildren(el("span", { class: "alert error" }, error.text ? error.text() : String(error)));
    }
  }

  function card(alert) {
    const snapshot = el("div", { class: "alert-snapshot" });
    const problem = el("p", { class: "alert error", role: "alert", hidden: true });
    const comment = el("textarea", {
      rows: 2, maxlength: 2000, required: true, placeholder: t("alerts.comment_placeholder"),
      "aria-label": t("alerts.comment"), class: "alert-comment",
    });
    const facts = el("dl", { class: "facts" },
      el("dt", {}, t("alerts.camera")), el("dd", {}, alert.camera),
      el("dt", {}, t("alerts.time")), el("dd", {}, formatTime(alert.start)),
      el("dt", {}, t("alerts.score")), el("dd", {}, score(alert.score)),
      alert.recording_id ? el("dt", {}, t("alerts.recording")) : null,
      alert.recording_id ? el("dd", { class: "mono" }, alert.recording_id.slice(0, 8)) : null,
    );
    const body = el("div", { class: "alert-body" },
      el("header", {}, el("strong", { class: "alert-type" }, label(alert.type)),
        el("span", { class: "badge warn" }, score(alert.score))),
      facts);
    if (canReview) {
      const decide = async (decision) => {
        const text = comment.value.trim();
        if (!text) {
          problem.textContent = t("alerts.comment_required");
          problem.hidden = false;
          comment.focus();
          return;
        }
        if (!reason()) {
          problem.textContent = t("error.reason_required");
          problem.hidden = false;
          document.getElementById("alerts-reason-input").focus();
          return;
        }
        for (const button of body.querySelectorAll("button")) button.disabled = true;
        try {
          const response = await request(`/api/events/${encodeURIComponent(alert.id)}/review`, {
            method: "POST", body: { decision, comment: text },
          });
          reviewed(await response.json());
        } catch (error) {
          problem.textContent = error.text ? error.text() : String(error);
          problem.hidden = false;
          for (const button of body.querySelectorAll("button")) button.disabled = false;
          if (error.code === "already_reviewed") loadLists();
        }
      };
      const confirm = el("button", { type: "button", class: "button primary", "data-decision": "confirmed" },
        t("alerts.confirm"));
      const dismiss = el("button", { type: "button", class: "button", "data-decision": "dismissed" },
        t("alerts.dismiss"));
      confirm.addEventListener("click", () => decide("confirmed"));
      dismiss.addEventListener("click", () => decide("dismissed"));
      body.append(el("label", {}, t("alerts.comment"), comment), el("div", { class: "toolbar" }, confirm, dismiss),
        problem);
    }
    const node = el("article", { class: "alert-card", dataset: { id: alert.id, type: alert.type },
      "aria-label": `${label(alert.type)} — ${alert.camera}` }, snapshot, body);
    loadSnapshot(alert, snapshot);
    return node;
  }

  function addPending(alert, fresh = false) {
    if (alert.status !== "pending" || cards.has(alert.id) || inHistory.has(alert.id)) return;
    const node = card(alert);
    if (fresh) node.classList.add("fresh");
    cards.set(alert.id, node);
    pending.set(alert.id, alert);
    queue.prepend(node);
    updateCount();
  }

  function historyRow(alert) {
    return el("tr", { dataset: { id: alert.id } },
      el("td", { class: "nowrap" }, formatTime(alert.start)),
      el("td", {}, alert.camera),
      el("td", {}, label(alert.type)),
      el("td", { class: "nowrap" }, score(alert.score)),
      el("td", {}, el("span", { class: `outcome ${alert.status === "confirmed" ? "refused" : "allowed"}` },
        t("alerts." + alert.status))),
      el("td", {}, alert.reviewed_by || ""),
      el("td", {}, alert.review_comment || ""));
  }

  function reviewed(alert) {
    const node = cards.get(alert.id);
    if (node) {
      node.remove();
      cards.delete(alert.id);
      pending.delete(alert.id);
      updateCount();
    }
    if (inHistory.has(alert.id)) return;
    inHistory.add(alert.id);
    const placeholder = historyBody.querySelector("tr.placeholder");
    if (placeholder) placeholder.remove();
    historyBody.prepend(historyRow(alert));
  }

  async function loadLists() {
    try {
      const [waiting, done] = await Promise.all([
        (await request("/api/events?status=pending&limit=200")).json(),
        (await request("/api/events?status=reviewed&limit=50")).json(),
      ]);
      for (const alert of done) if (cards.has(alert.id)) reviewed(alert);
      for (const alert of waiting.slice().reverse()) addPending(alert);
      if (!historyBody.children.length) {
        for (const alert of done) { inHistory.add(alert.id); historyBody.append(historyRow(alert)); }
      }
      if (!historyBody.children.length) {
        historyBody.append(el("tr", { class: "placeholder" },
          el("td", { colspan: 7, class: "muted" }, t("alerts.history_empty"))));
      }
      updateCount();
    } catch (error) {
      liveBadge.textContent = error.text ? error.text() : String(error);
      liveBadge.className = "badge bad";
    }
  }

  function connect() {
    const source = new EventSource("/api/events/stream");
    source.addEventListener("ready", () => {
      liveBadge.textContent = "● " + t("alerts.live");
      liveBadge.className = "badge ok";
      loadLists(); // what happened while the stream was down
    });
    source.addEventListener("alert", (message) => addPending(JSON.parse(message.data), true));
    source.addEventListener("review", (message) => reviewed(JSON.parse(message.data)));
    source.addEventListener("end", () => { source.close(); window.location.reload(); });
    source.onerror = () => {
      liveBadge.textContent = t("alerts.offline");
      liveBadge.className = "badge warn";
    };
  }

  function showReason() {
    const stated = reason();
    reasonForm.hidden = Boolean(stated);
    reasonSet.hidden = !stated;
    document.getElementById("alerts-reason-text").textContent = stated;
  }

  reasonForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = document.getElementById("alerts-reason-input").value.trim();
    if (text.length < 8) return;
    sessionStorage.setItem(REASON_KEY, text);
    showReason();
    // Now the images may be fetched: reload the snapshots of the alerts already listed.
    for (const [id, node] of cards) loadSnapshot(pending.get(id), node.querySelector(".alert-snapshot"));
  });
  document.getElementById("alerts-change-reason").addEventListener("click", () => {
    sessionStorage.removeItem(REASON_KEY);
    showReason();
    document.getElementById("alerts-reason-input").focus();
  });

  showReason();
  connect();
})();
