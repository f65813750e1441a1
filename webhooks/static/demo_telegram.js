const chat = document.getElementById("chat");
const keyboard = document.getElementById("keyboard");

function bubble(cls, text) {
  const div = document.createElement("div");
  div.className = "msg " + cls;
  div.textContent = text;
  chat.appendChild(div);
  chat.scrollTop = chat.scrollHeight;
  return div;
}

function inlineButtons(div, id, rows) {
  div.querySelector(".inline")?.remove();
  if (!rows || !rows.length) return;
  const box = document.createElement("div");
  box.className = "inline";
  for (const row of rows) {
    const line = document.createElement("div");
    for (const b of row) {
      const button = document.createElement("button");
      button.textContent = b.text;
      button.dataset.data = b.data;
      button.addEventListener("click", () => post("send", {data: b.data, message_id: id}));
      line.appendChild(button);
    }
    box.appendChild(line);
  }
  div.appendChild(box);
}

function show(events) {
  for (const e of events) {
    document.getElementById("start")?.remove();
    if (e.type === "me") {
      bubble("me", e.text);
    } else if (e.type === "message") {
      const div = bubble("bot", e.text);
      div.dataset.id = e.id;
      inlineButtons(div, e.id, e.buttons);
      if (e.keyboard && e.keyboard.length) {
        keyboard.replaceChildren();
        for (const label of e.keyboard.flat()) {
          const button = document.createElement("button");
          button.textContent = label;
          button.addEventListener("click", () => say(label));
          keyboard.appendChild(button);
        }
      }
    } else if (e.type === "edit") {
      const div = chat.querySelector(`.bot[data-id="${e.id}"]`);
      if (div) { div.firstChild.textContent = e.text; inlineButtons(div, e.id, e.buttons); }
    } else if (e.type === "notice") {
      bubble("notice", e.text);
    }
  }
}

async function post(path, body) {
  const response = await fetch("/demo/telegram/" + path, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body || {}),
  });
  const data = await response.json();
  if (!response.ok) { bubble("notice", data.detail || "Fejl"); return; }
  await poll();
}

// The server keeps the chat (so a reload shows it again) and adds the status updates the
// worker pushes to the landlord; the page shows everything from the event it has not seen.
let seen = 0;
let polling = Promise.resolve();
function poll() {
  polling = polling.then(async () => {
    const response = await fetch("/demo/telegram/updates?since=" + seen);
    if (!response.ok) return;
    const data = await response.json();
    seen = data.next;
    show(data.events);
  }).catch(() => {});
  return polling;
}
poll();
setInterval(poll, 3000);

function say(text) { post("send", {text}); }

document.getElementById("start").addEventListener("click", (ev) => {
  ev.target.disabled = true; post("start");
});
document.getElementById("photo").addEventListener("click", () => {
  post("send", {photo: true});
});
document.getElementById("composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = document.getElementById("text");
  if (input.value.trim()) { say(input.value.trim()); input.value = ""; }
});
