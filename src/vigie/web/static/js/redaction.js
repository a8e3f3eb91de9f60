/* Redaction review: step through the redacted copy frame by frame, see what was hidden, decide.
   Images are footage: they are fetched only after a reason is stated (one register entry for the
   stills, one for the video). The decision needs its own reason; the server refuses an approval
   by the person who made the redaction (four eyes). */
"use strict";

(() => {
  const { t, api, el, formatTime, ApiError } = Vigie;

  /* -- /redactions: the list --------------------------------------------------------------------- */
  const table = document.getElementById("redactions-table");
  if (table) {
    const body = table.querySelector("tbody");
    api("/api/redactions").then((rows) => {
      if (!rows.length) {
        body.replaceChildren(el("tr", {}, el("td", { colspan: 8, class: "muted" }, t("redactions.empty"))));
        return;
      }
      body.replaceChildren(...rows.map((row) => el("tr", { dataset: { id: row.id, status: row.status } },
        el("td", { class: "nowrap" }, formatTime(row.created_at)),
        el("td", {}, row.source),
        el("td", { class: "mono" }, row.recording_id.slice(0, 8)),
        el("td", {}, String(row.frames)),
        el("td", {}, row.faces_found === 0 ? el("span", { class: "badge warn" }, "0") : String(row.faces_found)),
        el("td", {}, row.created_by),
        el("td", {}, t("redactions.status." + row.status)),
        el("td", {}, el("a", { class: "button", href: `/redactions/${encodeURIComponent(row.id)}` },
          t("redactions.open"))))));
    }).catch((error) => {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 8 }, error.text ? error.text() : String(error))));
    });
  }

  /* -- /redactions/{id}: the review -------------------------------------------------------------- */
  const root = document.getElementById("redaction-review");
  if (!root) return;
  const id = root.dataset.id;
  const api_base = `/api/redactions/${encodeURIComponent(id)}`;
  const stage = document.getElementById("review-stage");
  const still = document.getElementById("still");
  const stillBoxes = document.getElementById("still-boxes");
  const strip = document.getElementById("still-strip");
  const info = document.getElementById("still-info");
  const video = document.getElementById("redaction-video");
  const videoBoxes = document.getElementById("video-boxes");
  const videoInfo = document.getElementById("video-info");
  let detail = null;
  let stills = [];
  let videoWidth = 0;
  let current = 0;
  let reason = "";

  function drawBoxes(target, boxes, naturalWidth, shownWidth, shownHeight) {
    target.width = shownWidth;
    target.height = shownHeight;
    const context = target.getContext("2d");
    context.clearRect(0, 0, shownWidth, shownHeight);
    if (!naturalWidth) return;
    const scale = shownWidth / naturalWidth;
    context.strokeStyle = "#e0a84f";
    context.lineWidth = 2;
    context.setLineDash([5, 3]);
    for (const [x, y, w, h] of boxes) context.strokeRect(x * scale, y * scale, w * scale, h * scale);
  }

  function show(index) {
    if (!stills.length) return;
    current = (index + stills.length) % stills.length;
    const item = stills[current];
    still.onload = () => drawBoxes(stillBoxes, item.boxes, videoWidth, still.naturalWidth, still.naturalHeight);
    still.src = item.jpeg;
    still.alt = `${t("redactions.frame")} ${item.index + 1}`;
    info.textContent = `${t("redactions.frame")} ${item.index + 1} / ${detail.frames} · ${t("redactions.time")} ` +
      `${item.t.toFixed(2)} s · ${t("redactions.boxes")} : ${item.boxes.length}`;
    for (const node of strip.children) node.classList.toggle("current", Number(node.dataset.position) === current);
  }

  async function loadStills() {
    const count = Math.min(48, Math.max(1, detail.frames));
    const response = await fetch(`${api_base}/stills?count=${count}&width=480`, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "vigie", Accept: "application/json", "X-Vigie-Reason": encodeURIComponent(reason) },
    });
    if (!response.ok) {
      let problem = {};
      try { problem = await response.json(); } catch (_) { /* not JSON */ }
      throw new ApiError(response.status, problem.code || "http_error", problem.detail || response.statusText);
    }
    const data = await response.json();
    stills = data.stills;
    videoWidth = data.video_width;
    strip.replaceChildren(...stills.map((item, position) => {
      const button = el("button", { type: "button", class: "still-thumb", dataset: { position },
        "aria-label": `${t("redactions.frame")} ${item.index + 1}` },
        el("img", { src: item.jpeg, alt: "" }),
        el("span", { class: item.boxes.length ? "badge ok" : "badge" }, String(item.boxes.length)));
      button.addEventListener("click", () => show(position));
      return el("li", { dataset: { position } }, button);
    }));
    stage.hidden = false;
    show(0);
  }

  /* The derivative in a player that steps one frame at a time, the frame's boxes drawn over it. */
  function boxesAt(time) {
    let best = null;
    for (const frame of detail.frame_list) {
      if (best === null || Math.abs(frame.t - time) < Math.abs(best.t - time)) best = frame;
    }
    return best;
  }

  function overlayVideo() {
    const frame = boxesAt(video.currentTime);
    if (!frame) return;
    drawBoxes(videoBoxes, frame.boxes, video.videoWidth, video.clientWidth, video.clientHeight);
    videoInfo.textContent = `${t("redactions.frame")} ${frame.index + 1} / ${detail.frames} · ` +
      `${t("redactions.boxes")} : ${frame.boxes.length}`;
  }

  function step(direction) {
    video.pause();
    const period = 1 / (detail.fps || 25);
    video.currentTime = Math.max(0, Math.min(video.duration || 0, video.currentTime + direction * period));
  }

  document.getElementById("redaction-reason").addEventListener("submit", async (event) => {
    event.preventDefault();
    reason = String(new FormData(event.target).get("reason")).trim();
    try {
      detail = await detailReady;
      await loadStills();
      event.target.hidden = true;
      video.src = `${api_base}/video?reason=${encodeURIComponent(reason)}`;
    } catch (error) {
      info.textContent = error.text ? error.text() : String(error);
      stage.hidden = false;
    }
  });
  document.getElementById("still-prev").addEventListener("click", () => show(current - 1));
  document.getElementById("still-next").addEventListener("click", () => show(current + 1));
  document.addEventListener("keydown", (event) => {
    if (stage.hidden || event.target.matches("input, textarea")) return;
    if (event.key === "ArrowLeft") show(current - 1);
    if (event.key === "ArrowRight") show(current + 1);
  });
  document.getElementById("video-prev").addEventListener("click", () => step(-1));
  document.getElementById("video-next").addEventListener("click", () => step(1));
  video.addEventListener("seeked", overlayVideo);
  video.addEventListener("loadeddata", overlayVideo);

  const decision = document.getElementById("redaction-decision");
  if (decision) {
    const message = document.getElementById("decision-message");
    const decide = async (verb) => {
      const text = document.getElementById("decision-reason").value.trim();
      if (text.length < 8) {
        message.textContent = t("error.reason_too_short");
        message.className = "alert error";
        message.hidden = false;
        return;
      }
      try {
        const row = await api(`${api_base}/${verb}`, { method: "POST", body: { reason: text } });
        document.getElementById("redaction-status").textContent = t("redactions.status." + row.status);
        message.textContent = t("redactions.decided");
        message.className = "alert notice";
        for (const button of decision.querySelectorAll("button")) button.disabled = true;
      } catch (error) {
        message.textContent = error.text ? error.text() : String(error);
        message.className = "alert error";
      }
      message.hidden = false;
    };
    const approve = document.getElementById("redaction-approve");
    if (approve) approve.addEventListener("click", () => decide("approve"));
    document.getElementById("redaction-reject").addEventListener("click", () => decide("reject"));
  }

  const detailReady = api(api_base);
  detailReady.then((data) => { detail = data; }).catch(() => { /* shown when the reviewer starts */ });
})();
