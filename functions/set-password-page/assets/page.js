(() => {
  const form = document.getElementById("set-password");
  if (!form) return;
  const status = document.getElementById("status");
  const input = document.getElementById("password");
  const toggle = document.getElementById("toggle");
  const submit = document.getElementById("submit");
  const text = JSON.parse(document.body.dataset.messages);
  const minLength = Number(form.dataset.minLength);
  const token = new URLSearchParams(window.location.search).get("token");

  const say = (message, kind) => {
    status.className = kind;
    status.textContent = message;
  };

  toggle.addEventListener("click", () => {
    const show = input.type === "password";
    input.type = show ? "text" : "password";
    toggle.setAttribute("aria-pressed", String(show));
    toggle.textContent = show ? text.hide : text.show;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = input.value;
    // The server counts Unicode scalar values after NFKC; so does this check.
    if ([...password.normalize("NFKC")].length < minLength) {
      say(text.tooShort, "error");
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    submit.disabled = true;
    say(text.working, "info");
    try {
      const response = await fetch("confirm", {
        method: "POST",
        headers: { "Content-Type": "application/vnd.api+json" },
        body: JSON.stringify({ token, password }),
        credentials: "omit",
        cache: "no-store",
      });
      if (response.status === 204) {
        form.hidden = true;
        say(text.success, "success");
        return;
      }
      let code = "";
      try {
        code = (await response.json()).errors[0].code;
      } catch (_) {
        code = "";
      }
      const byStatus = { 410: text.expired, 409: text.alreadySet, 429: text.tooMany };
      say(byStatus[response.status] || text.reasons[code] || text.failed, "error");
      if (response.status === 410 || response.status === 409) form.hidden = true;
    } catch (_) {
      say(text.failed, "error");
    } finally {
      submit.disabled = false;
    }
  });
})();
