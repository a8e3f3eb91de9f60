/* The public transparency page: one SVG bar chart per figure, the last twelve months. */
"use strict";

(() => {
  const { t, lang, el } = Vigie;
  const SVG = "http://www.w3.org/2000/svg";
  const WIDTH = 420;
  const HEIGHT = 190;
  const PAD = { left: 36, right: 8, top: 18, bottom: 30 };
  const MONTHS = 12;
  const KINDS = ["camera", "bodycam"];
  const locale = lang === "fr" ? "fr-FR" : "en-GB";

  function svg(tag, attributes = {}, text = null) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== null) node.textContent = text;
    return node;
  }

  /* The value(s) of one month for one chart: a number, or {kind: number} for stacked charts. */
  function value(month, metric) {
    if (!month) return metric === "recordings" || metric === "hours_recorded" ? {} : 0;
    if (metric === "recordings") return month.recordings || {};
    if (metric === "hours_recorded") return month.hours_recorded || {};
    if (metric === "alerts_confirmed") return (month.alerts || {}).confirmed || 0;
    if (metric === "alerts_dismissed") return (month.alerts || {}).dismissed || 0;
    return month[metric] || 0;
  }

  function lastMonths(data) {
    const keys = data.months.map((month) => month.month).sort();
    const now = new Date();
    const current = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
    const last = keys.length && keys[keys.length - 1] > current ? keys[keys.length - 1] : current;
    let [year, month] = last.split("-").map(Number);
    const list = [];
    for (let i = 0; i < MONTHS; i += 1) {
      list.unshift(`${year}-${String(month).padStart(2, "0")}`);
      month -= 1;
      if (month === 0) { month = 12; year -= 1; }
    }
    return list;
  }

  function niceMax(value) {
    if (value <= 0) return 1;
    const power = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
    return 10 * power;
  }

  function format(number) {
    if (Number.isInteger(number)) return number.toLocaleString(locale);
    const digits = number < 0.1 ? 3 : number < 1 ? 2 : number < 10 ? 1 : 0;
    return number.toLocaleString(locale, { maximumFractionDigits: digits });
  }

  function chart(metric, months, byMonth) {
    const stacked = metric === "recordings" || metric === "hours_recorded";
    const rows = months.map((key) => {
      const raw = value(byMonth[key], metric);
      const parts = stacked ? KINDS.map((kind) => Number(raw[kind] || 0)) : [Number(raw)];
      return { key, parts, total: parts.reduce((a, b) => a + b, 0) };
    });
    const top = niceMax(Math.max(...rows.map((row) => row.total)));
    const plotW = WIDTH - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const slot = plotW / rows.length;
    const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", class: "bars",
      "aria-label": t("transparency." + metric) });
    for (const fraction of [0, 0.5, 1]) {
      const y = PAD.top + plotH * (1 - fraction);
      root.append(svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y, y2: y, class: "grid" }));
      root.append(svg("text", { x: PAD.left - 5, y: y + 4, "text-anchor": "end", class: "axis" }, format(top * fraction)));
    }
    rows.forEach((row, index) => {
      const x = PAD.left + index * slot + slot * 0.18;
      const width = slot * 0.64;
      let base = PAD.top + plotH;
      row.parts.forEach((part, kindIndex) => {
        const height = (part / top) * plotH;
        if (height > 0) {
          const bar = svg("rect", { x, y: base - height, width, height, class: `bar kind-${stacked ? KINDS[kindIndex] : "all"}` });
          bar.append(svg("title", {}, `${row.key} — ${stacked ? t("transparency." + KINDS[kindIndex]) + " : " : ""}${format(part)}`));
          root.append(bar);
          base -= height;
        }
      });
      if (row.total > 0) {
        root.append(svg("text", { x: x + width / 2, y: base - 4, "text-anchor": "middle", class: "value" }, format(row.total)));
      }
      const date = new Date(`${row.key}-01T00:00:00Z`);
      const label = date.toLocaleDateString(locale, { month: "short", timeZone: "UTC" });
      root.append(svg("text", { x: x + width / 2, y: HEIGHT - PAD.bottom + 14, "text-anchor": "middle", class: "axis" }, label));
      if (index === 0 || row.key.endsWith("-01")) {
        root.append(svg("text", { x: x + width / 2, y: HEIGHT - 4, "text-anchor": "middle", class: "axis" }, row.key.slice(0, 4)));
      }
    });
    const figure = [root];
    if (stacked) {
      figure.push(el("p", { class: "chart-legend" },
        el("i", { class: "swatch kind-camera" }), t("transparency.camera"), " ",
        el("i", { class: "swatch kind-bodycam" }), t("transparency.bodycam")));
    }
    return figure;
  }

  async function load() {
    const root = document.getElementById("transparency");
    try {
      const response = await fetch("/api/transparency", { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(response.statusText);
      const data = await response.json();
      const byMonth = Object.fromEntries(data.months.map((month) => [month.month, month]));
      const months = lastMonths(data);
      for (const figure of root.querySelectorAll("figure[data-metric]")) {
        figure.querySelector(".chart-body").replaceChildren(...chart(figure.dataset.metric, months, byMonth));
      }
      if (!data.months.length) root.before(el("p", { class: "muted" }, t("transparency.empty")));
    } catch (error) {
      root.replaceChildren(el("p", { class: "alert error" }, String(error)));
    }
  }

  load();
})();
