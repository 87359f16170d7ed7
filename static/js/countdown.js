// Counts the hold down. The server stays authoritative: at zero the page offers to start again,
// and paying after expiry is refused there.
(function () {
  const box = document.querySelector("[data-expires]");
  if (!box) return;
  const expires = parseInt(box.dataset.expires, 10) * 1000;
  const out = box.querySelector("[data-countdown]");
  const expired = document.querySelector(".countdown__expired");
  function tick() {
    const left = Math.max(0, Math.round((expires - Date.now()) / 1000));
    out.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    if (left === 0) {
      box.hidden = true;
      expired.hidden = false;
      document.querySelectorAll(".pay-form button, .actions form:first-child button").forEach(function (b) { b.disabled = true; });
      return;
    }
    setTimeout(tick, 1000);
  }
  tick();
})();
