/* Media Source helpers shared by the live wall and recorded playback, and the playback of a time range.
 *
 * Footage is fetched ONCE per viewing (one request = one register entry) and fed to a Media Source
 * as it arrives, so playback starts before the download ends. The player never learns the reason
 * back from the server: it only sends it.
 */
"use strict";

const VigieMedia = (() => {
  const { t, ApiError } = Vigie;

  /* RFC 6381 codec string from an init segment's avcC box (profile, compatibility, level). */
  function codecOf(bytes) {
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    for (let i = 0; i + 8 <= view.length; i += 1) {
      if (view[i] === 0x61 && view[i + 1] === 0x76 && view[i + 2] === 0x63 && view[i + 3] === 0x43) { // "avcC"
        const hex = (n) => n.toString(16).padStart(2, "0");
        return `avc1.${hex(view[i + 5])}${hex(view[i + 6])}${hex(view[i + 7])}`;
      }
    }
    return null;
  }

  function supported(codec) {
    return Boolean(window.MediaSource) && MediaSource.isTypeSupported(`video/mp4; codecs="${codec}"`);
  }

  /* Appends buffers one at a time (a SourceBuffer takes one append at a time) and trims old data. */
  class AppendQueue {
    constructor(mediaSource, codec, { sequence = false, keepSeconds = 30 } = {}) {
      this.mediaSource = mediaSource;
      this.buffer = mediaSource.addSourceBuffer(`video/mp4; codecs="${codec}"`);
      // Live: timestamps restart when the camera reconnects or a GOP is masked; play them in arrival order.
      if (sequence) this.buffer.mode = "sequence";
      this.codec = codec;
      this.keepSeconds = keepSeconds;
      this.pending = [];
      this.failed = false;
      this.buffer.addEventListener("updateend", () => this.next());
      this.buffer.addEventListener("error", () => { this.failed = true; });
    }

    push(data) {
      if (this.failed) return;
      this.pending.push(data);
      this.next();
    }

    changeCodec(codec) {
      if (codec === this.codec) return;
      if (typeof this.buffer.changeType === "function") this.buffer.changeType(`video/mp4; codecs="${codec}"`);
      this.codec = codec;
    }

    next() {
      if (this.buffer.updating || this.failed || this.mediaSource.readyState !== "open") return;
      const video = this.video;
      if (video && this.buffer.buffered.length && video.currentTime - this.buffer.buffered.start(0) > this.keepSeconds * 2) {
        this.buffer.remove(0, video.currentTime - this.keepSeconds); // memory stays bounded on a long viewing
        return;
      }
      const data = this.pending.shift();
      if (!data) return;
      try {
        this.buffer.appendBuffer(data);
      } catch (error) {
        if (error.name === "QuotaExceededError") {
          this.pending.unshift(data);
          if (video) this.buffer.remove(0, Math.max(0, video.currentTime - 2));
        } else {
          this.failed = true;
        }
      }
    }

    finish() {
      const close = () => {
        if (this.buffer.updating || this.pending.length) { setTimeout(close, 100); return; }
        if (this.mediaSource.readyState === "open") {
          try { this.mediaSource.endOfStream(); } catch (_) { /* already ended */ }
        }
      };
      close();
    }
  }

  /* A Media Source attached to a video element; resolves once it can take a SourceBuffer. */
  function openSource(video) {
    const mediaSource = new MediaSource();
    const url = URL.createObjectURL(mediaSource);
    return new Promise((resolve) => {
      mediaSource.addEventListener("sourceopen", () => {
        URL.revokeObjectURL(url);
        resolve(mediaSource);
      }, { once: true });
      video.src = url;
    });
  }

  async function readError(response) {
    let body = {};
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    return new ApiError(response.status, body.code || "http_error", body.detail || response.statusText);
  }

  /* Fetch a footage URL once and play it through Media Source as it arrives. */
  async function playFootage(video, url, headers = {}) {
    const controller = new AbortController();
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "vigie", ...headers },
      signal: controller.signal,
    });
    if (response.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      throw new ApiError(401, "not_authenticated", "not authenticated");
    }
    if (!response.ok) throw await readError(response);
    const reader = response.body.getReader();
    let head = new Uint8Array(0);
    let codec = null;
    // The init segment (with the codec) comes first; gather bytes until it is complete.
    while (!codec) {
      const { value, done } = await reader.read();
      if (done) break;
      const joined = new Uint8Array(head.length + value.length);
      joined.set(head);
      joined.set(value, head.length);
      head = joined;
      codec = codecOf(head);
    }
    if (!codec || !supported(codec)) throw new ApiError(415, "unsupported_media_type", "codec not supported here");
    const mediaSource = await openSource(video);
    const queue = new AppendQueue(mediaSource, codec, { keepSeconds: 600 });
    queue.video = video;
    queue.push(head);
    video.play().catch(() => { /* paused until the user presses play */ });
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        queue.push(value);
      }
      queue.finish();
    })().catch(() => queue.finish());
    return { stop: () => controller.abort(), headers: response.headers };
  }

  return { codecOf, supported, AppendQueue, openSource, playFootage, t };
})();
