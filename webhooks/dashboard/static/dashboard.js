// Progressive enhancement only: every form works without this file.
// Choosing a ready answer puts its text in the message box, so it can be edited before sending.
document.addEventListener("DOMContentLoaded", () => {
  const ready = document.getElementById("ready");
  const body = document.getElementById("message-body");
  if (!ready || !body) return;
  ready.addEventListener("change", () => {
    const option = ready.selectedOptions[0];
    if (option && option.dataset.text) body.value = option.dataset.text;
  });
});
