/* Accounts page: list, and for administrators create / disable / enable / reset. */
"use strict";

(() => {
  const { t, api, el, formatTime } = Vigie;
  const table = document.getElementById("users-table");
  const body = table.querySelector("tbody");
  const manage = table.dataset.manage === "1";
  const secretBox = document.getElementById("user-secret");

  function showSecrets(enrolment) {
    secretBox.replaceChildren(
      el("p", {}, t("users.created_secret")),
      el("p", {}, `${t("users.username")}: ${enrolment.user.username}`),
      enrolment.password ? el("p", {}, `${t("users.password")}: ${enrolment.password}`) : null,
      el("p", {}, `${t("users.totp_secret")}: ${enrolment.totp_secret}`),
      el("p", {}, enrolment.totp_uri),
    );
    secretBox.hidden = false;
  }

  function status(user) {
    if (user.disabled) return t("users.disabled");
    if (user.locked_until && new Date(user.locked_until) > new Date()) return t("users.locked");
    return t("users.active");
  }

  async function act(user, verb) {
    if (verb === "disable" && !window.confirm(t("users.confirm_disable"))) return;
    if (verb === "reset" && !window.confirm(t("users.confirm_reset"))) return;
    try {
      const result = await api(`/api/users/${encodeURIComponent(user.username)}/${verb}`, { method: "POST", body: {} });
      if (verb === "reset") showSecrets(result);
      load();
    } catch (error) {
      window.alert(error.text ? error.text() : String(error));
    }
  }

  function row(user) {
    const cells = [
      el("td", { class: "mono" }, user.username),
      el("td", {}, user.full_name || ""),
      el("td", { class: "mono" }, user.matricule || ""),
      el("td", {}, t("role." + user.role)),
      el("td", {}, user.unit || "*"),
      el("td", {}, status(user)),
      el("td", { class: "nowrap" }, formatTime(user.last_login_at)),
    ];
    if (manage) {
      const toggle = user.disabled ? "enable" : "disable";
      const toggleButton = el("button", { type: "button", class: "button" + (user.disabled ? "" : " danger") }, t("users." + toggle));
      toggleButton.addEventListener("click", () => act(user, toggle));
      const resetButton = el("button", { type: "button", class: "button" }, t("users.reset"));
      resetButton.addEventListener("click", () => act(user, "reset"));
      cells.push(el("td", { class: "nowrap" }, toggleButton, " ", resetButton));
    }
    return el("tr", { dataset: { username: user.username } }, ...cells);
  }

  async function load() {
    try {
      const users = await api("/api/users");
      body.replaceChildren(...users.map(row));
    } catch (error) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 8 }, error.text ? error.text() : String(error))));
    }
  }

  const form = document.getElementById("user-create");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = Object.fromEntries([...new FormData(form).entries()].filter(([, value]) => value !== ""));
      try {
        const enrolment = await api("/api/users", { method: "POST", body: data });
        form.reset();
        showSecrets(enrolment);
        load();
      } catch (error) {
        window.alert(error.text ? `${error.text()} ${error.message}` : String(error));
      }
    });
  }

  load();
})();
