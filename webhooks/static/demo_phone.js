(function () {
  const who = document.getElementById("who");
  const thread = document.getElementById("thread");
  const body = document.getElementById("body");
  const error = document.getElementById("error");
  const urls = document.getElementById("phone").dataset;
  let busy = false;

  function render(messages) {
    thread.textContent = "";
    for (const m of messages) {
      const div = document.createElement("div");
      div.className = "bubble " + (m.direction === "in" ? "in" : "out");
      div.textContent = m.body || "(tom besked)";
      thread.appendChild(div);
    }
    thread.scrollTop = thread.scrollHeight;
  }

  async function refresh() {
    const r = await fetch(urls.messagesUrl + "?phone=" + encodeURIComponent(who.value));
    if (r.ok) render((await r.json()).messages);
  }

  async function send(text, picture) {
    if (busy) return;
    busy = true;
    error.textContent = "";
    try {
      const r = await fetch(urls.sendUrl, {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({phone: who.value, body: text, picture: !!picture}),
      });
      if (!r.ok) error.textContent = "Kunne ikke sende (HTTP " + r.status + ")";
      await refresh();
    } finally {
      busy = false;
    }
  }

  document.getElementById("compose").addEventListener("submit", function (e) {
    e.preventDefault();
    const text = body.value;
    body.value = "";
    send(text, false);
  });
  body.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      document.getElementById("compose").requestSubmit();
    }
  });
  for (const b of document.querySelectorAll(".quick button[data-text]")) {
    b.addEventListener("click", function () { send(b.dataset.text, false); });
  }
  document.getElementById("picture").addEventListener("click", function () { send("", true); });
  who.addEventListener("change", refresh);
  refresh();
  setInterval(refresh, 3000);
})();
