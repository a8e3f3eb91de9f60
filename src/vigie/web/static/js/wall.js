/* The live wall: 2×2 or 3×3 tiles, each a camera played through Media Source from a WebSocket
 * (fallback: HLS through hls.js, loaded only when needed). The reason is asked once for the whole
 * viewing session; every tile's viewing is opened and closed in the register with it. */
"use strict";

(() => {
  const { t, el } = Vigie;
  const { AppendQueue, openSource, supported } = VigieMedia;
  const wall = document.getElementById("wall");
  const dialog = document.getElementById("reason-dialog");
  const reasonShown = document.getElementById("wall-reason-shown");
  const forceHls = new URLSearchParams(window.location.search).get("transport") === "hls";
  // Live edge: a player drifting behind the newest frame plays slightly faster to catch up (no
  // visible jump); far behind (a stall, a background tab), it jumps.
  const CATCH_UP_LAG = 0.3;
  const JUMP_LAG = 1.5;
  const STORE = "vigie.wall";
  let reason = null;
  let cameras = [];
  let tiles = [];
  let hlsLoading = null;

  const saved = (() => { try { return JSON.parse(localStorage.getItem(STORE)) || {}; } catch (_) { return {}; } })();
  let layout = saved.layout === 3 ? 3 : 2;

  /* The catalogue's sentence for an error code, else the server's own. */
  function explain(code, detail) {
    const key = "error." + code;
    return t(key) !== key ? t(key) : detail;
  }

  function save() {
    localStorage.setItem(STORE, JSON.stringify({ layout, cameras: tiles.map((tile) => tile.camera) }));
  }

  function loadHls() {
    if (window.Hls) return Promise.resolve(window.Hls);
    if (!hlsLoading) {
      hlsLoading = new Promise((resolve) => {
        const script = document.createElement("script");
        script.src = "/static/vendor/hls/hls.min.js";
        script.onload = () => resolve(window.Hls || null);
        script.onerror = () => resolve(null);
        document.head.append(script);
      });
    }
    return hlsLoading;
  }

  class Tile {
    constructor(index) {
      this.index = index;
      this.camera = null;
      this.video = el("video", { muted: true, autoplay: true, playsinline: true, "aria-label": t("wall.title") });
      this.video.muted = true; // the attribute alone does not always allow autoplay
      this.select = el("select", { "aria-label": t("wall.choose") });
      this.status = el("span", { class: "badge" });
      this.mask = el("span", { class: "badge warn", hidden: true }, t("wall.masked"));
      this.node = el("figure", { class: "tile", dataset: { state: "idle" } },
        this.video, el("figcaption", {}, this.select, this.status, this.mask));
      this.select.addEventListener("change", () => { this.assign(this.select.value || null); save(); });
      this.retry = null;
      this.backoff = 2000;
      this.timer = setInterval(() => this.keepLive(), 500);
    }

    options() {
      const choices = [el("option", { value: "" }, t("wall.choose"))];
      for (const camera of cameras) {
        choices.push(el("option", { value: camera.name, selected: camera.name === this.camera }, camera.name));
      }
      this.select.replaceChildren(...choices);
    }

    state(name, text) {
      this.node.dataset.state = name;
      this.status.textContent = text;
      this.status.className = "badge " + ({ live: "ok", offline: "bad", refused: "bad" }[name] || "");
    }

    assign(camera) {
      this.stop();
      this.camera = camera;
      this.backoff = 2000;
      if (camera && reason) this.start();
      else this.state("idle", "");
    }

    start() {
      this.stop();
      this.gotData = false;
      this.state("connecting", t("wall.connecting"));
      if (forceHls || !window.WebSocket || !window.MediaSource) this.startHls();
      else this.startSocket();
    }

    startSocket() {
      const scheme = window.location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${window.location.host}/api/live/${encodeURIComponent(this.camera)}/ws`);
      socket.binaryType = "arraybuffer";
      this.socket = socket;
      this.early = [];
      // The reason goes in the first message, never in the URL (URLs end up in server and proxy logs).
      socket.onopen = () => socket.send(JSON.stringify({ type: "open", reason }));
      socket.onmessage = (event) => {
        if (socket !== this.socket) return;
        if (typeof event.data === "string") this.control(JSON.parse(event.data));
        else this.media(event.data);
      };
      socket.onclose = (event) => { if (socket === this.socket) this.closed(event); };
    }

    async control(message) {
      if (message.type === "init") {
        this.mask.hidden = !message.masked;
        if (!supported(message.codec)) { this.fallback(); return; }
        if (!this.queue) {
          const mediaSource = await openSource(this.video);
          this.queue = new AppendQueue(mediaSource, message.codec, { sequence: true, keepSeconds: 20 });
          this.queue.video = this.video;
          for (const data of this.early) this.queue.push(data);
          this.early = [];
        } else {
          this.queue.changeCodec(message.codec);
        }
        this.state("live", t("wall.live"));
        this.backoff = 2000;
      } else if (message.type === "status") {
        this.state("waiting", t("wall.waiting"));
      } else if (message.type === "refused") {
        this.refusal = message;
      }
    }

    media(data) {
      this.gotData = true;
      if (this.queue) this.queue.push(data);
      else this.early.push(data);
    }

    closed(event) {
      this.socket = null;
      if (!this.camera || !reason) return;
      const code = event.code;
      if (code === 4409) { this.start(); return; } // masks changed: reopen, masked
      if (code === 4401) { window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname)); return; }
      if (code >= 4400 && code < 4500 && code !== 4404) {
        const text = this.refusal ? explain(this.refusal.code, this.refusal.detail) : t("error.forbidden");
        this.state("refused", text);
        return;
      }
      if (!this.gotData && code === 1006 && !this.triedHls) { this.fallback(); return; } // a proxy refuses WebSockets
      this.state("offline", code === 4503 ? t("error.not_live") : t("wall.offline"));
      this.later();
    }

    later() {
      clearTimeout(this.retry);
      this.retry = setTimeout(() => { if (this.camera && reason) this.start(); }, this.backoff);
      this.backoff = Math.min(this.backoff * 2, 30000);
    }

    fallback() {
      this.triedHls = true;
      this.stop();
      this.startHls();
    }

    async startHls() {
      this.state("connecting", t("wall.connecting") + " (" + t("wall.hls") + ")");
      const Hls = await loadHls();
      let opened;
      try {
        const response = await fetch(`/api/live/${encodeURIComponent(this.camera)}/sessions`, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-Requested-With": "vigie", "X-Vigie-Reason": encodeURIComponent(reason), Accept: "application/json" },
        });
        opened = await response.json();
        if (!response.ok) {
          this.state(response.status === 503 ? "offline" : "refused", explain(opened.code, opened.detail));
          if (response.status === 503) this.later();
          return;
        }
      } catch (_) {
        this.state("offline", t("wall.offline"));
        this.later();
        return;
      }
      this.session = opened.session;
      this.mask.hidden = !opened.masked;
      const session = opened.session;
      if (Hls && Hls.isSupported()) {
        const hls = new Hls({
          enableWorker: false, // a worker would need a blob: script, which the page's policy forbids
          liveSyncDurationCount: 2,
          xhrSetup: (xhr) => xhr.setRequestHeader("X-Vigie-Live-Session", session),
        });
        this.hls = hls;
        hls.on(Hls.Events.MANIFEST_PARSED, () => { this.video.play().catch(() => {}); });
        hls.on(Hls.Events.FRAG_BUFFERED, () => { this.gotData = true; this.state("live", t("wall.live") + " · HLS"); });
        hls.on(Hls.Events.ERROR, (_event, data) => {
          if (!data.fatal) return;
          this.stop();
          this.state("offline", t("wall.offline"));
          this.later();
        });
        hls.loadSource(opened.playlist);
        hls.attachMedia(this.video);
      } else if (this.video.canPlayType("application/vnd.apple.mpegurl")) {
        this.video.src = opened.playlist; // Safari's own HLS player: the session rides in each URI
        this.state("live", t("wall.live") + " · HLS");
      } else {
        this.state("refused", t("error.unsupported_media_type"));
      }
    }

    keepLive() {
      const video = this.video;
      if (!this.queue || !video.buffered.length) return;
      const end = video.buffered.end(video.buffered.length - 1);
      const lag = end - video.currentTime;
      if (lag > JUMP_LAG) video.currentTime = Math.max(video.buffered.start(video.buffered.length - 1), end - 0.1);
      video.playbackRate = lag > CATCH_UP_LAG ? 1.25 : 1.0;
      if (video.paused) video.play().catch(() => {});
    }

    stop() {
      clearTimeout(this.retry);
      if (this.socket) {
        const socket = this.socket;
        this.socket = null;
        socket.close(1000);
      }
      if (this.hls) { this.hls.destroy(); this.hls = null; }
      if (this.session) {
        // keepalive: the end of the viewing reaches the register even when the page is closing.
        fetch(`/api/live/${encodeURIComponent(this.camera)}/sessions/${encodeURIComponent(this.session)}`, {
          method: "DELETE", credentials: "same-origin", keepalive: true, headers: { "X-Requested-With": "vigie" },
        }).catch(() => {});
        this.session = null;
      }
      this.queue = null;
      this.early = [];
      this.refusal = null;
      this.video.removeAttribute("src");
      this.video.load();
      this.mask.hidden = true;
    }
  }

  function build() {
    for (const tile of tiles) { tile.stop(); clearInterval(tile.timer); }
    const wanted = saved.cameras || [];
    tiles = [];
    for (let index = 0; index < layout * layout; index += 1) {
      const tile = new Tile(index);
      const known = cameras.map((camera) => camera.name);
      tile.camera = wanted[index] && known.includes(wanted[index]) ? wanted[index] : (known[index] || null);
      tile.options();
      tiles.push(tile);
    }
    wall.dataset.layout = String(layout);
    wall.replaceChildren(...tiles.map((tile) => tile.node));
    for (const button of document.querySelectorAll("[data-layout]")) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.layout) === layout));
    }
    if (reason) for (const tile of tiles) if (tile.camera) tile.start();
    save();
  }

  function askReason() {
    for (const tile of tiles) tile.stop();
    reason = null;
    reasonShown.textContent = "";
    if (cameras.length) dialog.showModal();
  }

  document.getElementById("reason-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = document.getElementById("wall-reason").value.trim();
    if (value.length < 8) return;
    reason = value;
    reasonShown.textContent = t("wall.reason_shown").replace("{reason}", reason);
    dialog.close();
    for (const tile of tiles) if (tile.camera) tile.start();
  });
  document.getElementById("wall-change-reason").addEventListener("click", askReason);
  document.getElementById("wall-stop").addEventListener("click", () => {
    for (const tile of tiles) { tile.stop(); tile.state("idle", ""); }
    reason = null;
    reasonShown.textContent = t("wall.stopped");
  });
  for (const button of document.querySelectorAll("[data-layout]")) {
    button.addEventListener("click", () => {
      layout = Number(button.dataset.layout);
      saved.cameras = tiles.map((tile) => tile.camera);
      build();
    });
  }
  window.addEventListener("pagehide", () => { for (const tile of tiles) tile.stop(); });

  (async () => {
    try {
      const all = await Vigie.api("/api/cameras");
      cameras = all.filter((camera) => camera.live.relayed && camera.enabled && !camera.removed);
    } catch (error) {
      wall.replaceChildren(el("p", { class: "alert error" }, error.text ? error.text() : String(error)));
      return;
    }
    if (!cameras.length) {
      wall.replaceChildren(el("p", { class: "muted" }, t("wall.no_camera")));
      return;
    }
    build();
    dialog.showModal();
  })();
})();
