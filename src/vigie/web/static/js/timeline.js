/* A camera's timeline drawn as SVG: recorded runs in green, gaps in red with their cause on hover.
 * A click on a recorded run opens playback from that moment, after a reason is given. */
"use strict";

(() => {
  const { t, api, formatTime, lang } = Vigie;
  const section = document.getElementById("timeline");
  const camera = section.dataset.camera;
  const canPlay = section.dataset.play === "1";
  const controls = document.getElementById("timeline-controls");
  const summary = document.getElementById("timeline-summary");
  const dialog = document.getElementById("player");
  const SVG = "http://www.w3.org/2000/svg";
  const HEIGHT = 120;
  const BAR_Y = 34;
  const BAR_H = 46;
  const PLAY_SECONDS = 10 * 60; // one playback request asks for ten minutes at most
  let player = null;
  let chosen = null;
  let refresh = null;

  function svg(tag, attributes = {}, text = null) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== null) node.textContent = text;
    return node;
  }

  function duration(seconds) {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = Math.round(seconds % 60);
    return h ? `${h} h ${String(m).padStart(2, "0")} min` : m ? `${m} min ${String(s).padStart(2, "0")} s` : `${s} s`;
  }

  function tickStep(spanHours) {
    if (spanHours <= 1) return 10 * 60;
    if (spanHours <= 6) return 3600;
    if (spanHours <= 24) return 2 * 3600;
    return 24 * 3600;
  }

  function tickLabel(date, spanHours) {
    const locale = lang === "fr" ? "fr-FR" : "en-GB";
    if (spanHours > 24) return date.toLocaleDateString(locale, { weekday: "short", day: "2-digit", month: "2-digit" });
    return date.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  }

  function range() {
    const data = new FormData(controls);
    const spanHours = Number(data.get("span")) || 24;
    const untilText = data.get("until");
    const live = !untilText;
    const until = live ? new Date() : new Date(untilText);
    return { from: new Date(until.getTime() - spanHours * 3600e3), to: until, spanHours, live };
  }

  function draw(timeline, view) {
    const width = Math.max(480, section.clientWidth - 32);
    const span = view.to - view.from;
    const x = (moment) => ((new Date(moment) - view.from) / span) * width;
    const root = svg("svg", {
      viewBox: `0 0 ${width} ${HEIGHT}`, width, height: HEIGHT, role: "img", class: "timeline-svg",
      "aria-label": `${t("timeline.title")} ${camera}`,
    });
    root.append(svg("rect", { x: 0, y: BAR_Y, width, height: BAR_H, class: "tl-empty" }));
    const step = tickStep(view.spanHours) * 1000;
    const offset = -new Date(view.from).getTimezoneOffset() * 60e3; // ticks on local round hours
    for (let tick = Math.ceil((view.from.getTime() + offset) / step) * step - offset; tick <= view.to; tick += step) {
      const at = x(tick);
      root.append(svg("line", { x1: at, x2: at, y1: BAR_Y - 6, y2: BAR_Y + BAR_H + 4, class: "tl-tick" }));
      root.append(svg("text", { x: at + 3, y: BAR_Y - 10, class: "tl-label" }, tickLabel(new Date(tick), view.spanHours)));
    }
    let recorded = 0;
    for (const run of timeline.segments) {
      const left = Math.max(0, x(run.start));
      const right = Math.min(width, x(run.end));
      recorded += (new Date(run.end) - new Date(run.start)) / 1000;
      const rect = svg("rect", {
        x: left, y: BAR_Y, width: Math.max(1, right - left), height: BAR_H,
        class: canPlay ? "tl-run playable" : "tl-run", tabindex: canPlay ? 0 : -1,
      });
      rect.dataset.start = run.start;
      rect.dataset.end = run.end;
      rect.dataset.tip = `${t("timeline.recorded")} — ${formatTime(run.start)} → ${formatTime(run.end)}`;
      rect.append(svg("title", {}, rect.dataset.tip));
      root.append(rect);
    }
    let gapSeconds = 0;
    for (const gap of timeline.gaps) {
      const left = Math.max(0, x(gap.start));
      const right = Math.min(width, x(gap.end));
      gapSeconds += (new Date(gap.end) - new Date(gap.start)) / 1000;
      const cause = t("timeline.cause." + gap.cause);
      const rect = svg("rect", {
        x: left, y: BAR_Y - 2, width: Math.max(2, right - left), height: BAR_H + 4, class: "tl-gap",
      });
      rect.dataset.cause = gap.cause;
      rect.dataset.tip = `${t("timeline.gap")} — ${cause === "timeline.cause." + gap.cause ? gap.cause : cause}\n`
        + `${formatTime(gap.start)} → ${formatTime(gap.end)} (${duration((new Date(gap.end) - new Date(gap.start)) / 1000)})`;
      rect.append(svg("title", {}, rect.dataset.tip));
      root.append(rect);
    }
    if (view.live) root.append(svg("line", { x1: width - 1, x2: width - 1, y1: BAR_Y - 8, y2: BAR_Y + BAR_H + 8, class: "tl-now" }));
    root.append(svg("text", { x: 0, y: HEIGHT - 8, class: "tl-label" }, formatTime(view.from)));
    root.append(svg("text", { x: width, y: HEIGHT - 8, class: "tl-label", "text-anchor": "end" }, formatTime(view.to)));
    if (canPlay) {
      root.addEventListener("click", (event) => {
        const target = event.target.closest("rect.playable");
        if (!target) return;
        const box = root.getBoundingClientRect();
        const at = new Date(view.from.getTime() + ((event.clientX - box.left) / box.width) * span);
        openPlayer(at, target.dataset.start, target.dataset.end);
      });
      root.addEventListener("keydown", (event) => {
        const target = event.target.closest("rect.playable");
        if (target && (event.key === "Enter" || event.key === " ")) {
          event.preventDefault();
          openPlayer(new Date(target.dataset.start), target.dataset.start, target.dataset.end);
        }
      });
    }
    // An immediate tooltip (an SVG title shows late, and not at all on touch screens).
    const tip = Vigie.el("div", { class: "tl-tip", role: "tooltip", hidden: true });
    root.addEventListener("mousemove", (event) => {
      const target = event.target.closest("rect[data-tip]");
      if (!target) { tip.hidden = true; return; }
      const box = section.getBoundingClientRect();
      tip.textContent = target.dataset.tip;
      tip.className = "tl-tip" + (target.dataset.cause ? " gap" : "");
      tip.style.left = `${Math.min(event.clientX - box.left + 12, box.width - 260)}px`;
      tip.style.top = `${event.clientY - box.top + 14}px`;
      tip.hidden = false;
    });
    root.addEventListener("mouseleave", () => { tip.hidden = true; });
    section.replaceChildren(root, tip);
    if (!timeline.segments.length && !timeline.gaps.length) {
      section.append(Vigie.el("p", { class: "muted" }, t("timeline.empty")));
    }
    summary.textContent = t("timeline.summary")
      .replace("{recorded}", duration(recorded))
      .replace("{gaps}", duration(gapSeconds))
      .replace("{count}", String(timeline.gaps.length));
  }

  async function load() {
    const view = range();
    const params = new URLSearchParams({ from: view.from.toISOString(), to: view.to.toISOString() });
    try {
      const timeline = await api(`/api/cameras/${encodeURIComponent(camera)}/timeline?${params}`);
      draw(timeline, view);
    } catch (error) {
      section.replaceChildren(Vigie.el("p", { class: "alert error" }, error.text ? error.text() : String(error)));
    }
    clearTimeout(refresh);
    if (view.live && !(dialog && dialog.open)) refresh = setTimeout(load, 15000); // the right edge is "now"
  }

  function openPlayer(at, runStart, runEnd) {
    const start = new Date(Math.max(new Date(runStart).getTime(), Math.min(at.getTime(), new Date(runEnd).getTime() - 1000)));
    const end = new Date(Math.min(new Date(runEnd).getTime(), start.getTime() + PLAY_SECONDS * 1000));
    chosen = { from: start.toISOString(), to: end.toISOString() };
    document.getElementById("play-range").textContent = t("timeline.play_range")
      .replace("{from}", formatTime(chosen.from)).replace("{to}", formatTime(chosen.to));
    const video = document.getElementById("player-video");
    video.hidden = true;
    document.getElementById("play-error").hidden = true;
    dialog.showModal();
  }

  if (dialog) {
    const video = document.getElementById("player-video");
    document.getElementById("player-close").addEventListener("click", () => {
      if (player) player.stop();
      player = null;
      video.pause();
      video.removeAttribute("src");
      dialog.close();
      load();
    });
    document.getElementById("play-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(event.target);
      const params = new URLSearchParams(chosen);
      // The reason (and purpose) in headers, not the URL: proxies and servers log URLs.
      const stated = { "X-Vigie-Reason": encodeURIComponent(data.get("reason")) };
      if (data.get("purpose")) stated["X-Vigie-Purpose"] = encodeURIComponent(data.get("purpose"));
      const problem = document.getElementById("play-error");
      problem.hidden = true;
      if (player) player.stop();
      try {
        video.hidden = false;
        player = await VigieMedia.playFootage(video, `/api/cameras/${encodeURIComponent(camera)}/playback?${params}`,
          stated);
      } catch (error) {
        video.hidden = true;
        problem.textContent = error.text ? error.text() : String(error);
        problem.hidden = false;
      }
    });
  }

  controls.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  window.addEventListener("resize", () => { clearTimeout(refresh); refresh = setTimeout(load, 300); });
  load();
})();
