/* Recordings page: the list within one's scope, and playback behind a stated reason. */
"use strict";

(() => {
  const { t, api, el, formatTime, formatBytes } = Vigie;
  const table = document.getElementById("recordings-table");
  const body = table.querySelector("tbody");
  const canPlay = table.dataset.play === "1";
  const dialog = document.getElementById("player");
  let chosen = null;

  function row(recording) {
    const cells = [
      el("td", {}, recording.source),
      el("td", {}, t("recordings.kind." + recording.kind)),
      el("td", { class: "nowrap" }, formatTime(recording.start)),
      el("td", { class: "nowrap" }, formatTime(recording.end)),
      el("td", { class: "nowrap" }, formatBytes(recording.bytes)),
      el("td", {}, recording.status),
    ];
    if (canPlay) {
      const button = el("button", { type: "button", class: "button" }, t("recordings.play"));
      button.addEventListener("click", () => openPlayer(recording));
      cells.push(el("td", {}, button));
    }
    return el("tr", { dataset: { id: recording.id } }, ...cells);
  }

  function openPlayer(recording) {
    chosen = recording;
    const video = document.getElementById("player-video");
    video.hidden = true;
    video.removeAttribute("src");
    document.getElementById("play-error").hidden = true;
    dialog.showModal();
  }

  if (dialog) {
    document.getElementById("player-close").addEventListener("click", () => {
      document.getElementById("player-video").pause();
      dialog.close();
    });
    document.getElementById("play-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(event.target);
      const params = new URLSearchParams({ reason: data.get("reason") });
      if (data.get("purpose")) params.set("purpose", data.get("purpose"));
      const url = `/api/recordings/${encodeURIComponent(chosen.id)}/media?${params}`;
      // Ask once with HEAD-like semantics would double the register entry: the video element's own
      // request is the single audited access, so errors are read from a failed load.
      const video = document.getElementById("player-video");
      const problem = document.getElementById("play-error");
      video.onerror = async () => {
        problem.textContent = t("error.forbidden");
        problem.hidden = false;
      };
      video.src = url;
      video.hidden = false;
      video.play().catch(() => {});
    });
  }

  async function load() {
    try {
      const page = await api("/api/recordings?limit=200");
      if (!page.recordings.length) {
        body.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "muted" }, t("recordings.empty"))));
        return;
      }
      body.replaceChildren(...page.recordings.map(row));
    } catch (error) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 7 }, error.text ? error.text() : String(error))));
    }
  }

  load();
})();
