// Counts the hold down, warns (visibly and to screen readers) with a minute left and at zero.
// The server stays authoritative: at zero the page offers to start again, and paying after
// expiry is refused there.
(function () {
  const box = document.querySelector("[data-expires]");
  if (!box) return;
  const expires = parseInt(box.dataset.expires, 10) * 1000;
  const out = box.querySelector("[data-countdown]");
  const expired = document.querySelector(".countdown__expired");
  const warning = document.querySelector("[data-countdown-warning]");
  function tick() {
    const left = Math.max(0, Math.round((expires - Date.now()) / 1000));
    out.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    if (left > 0 && left <= 60 && !box.classList.contains("countdown--urgent")) {
      // Once, so a screen reader hears it once: its status region reads out the change.
      box.classList.add("countdown--urgent");
      warning.textContent = "Less than a minute left to pay before your seats are released.";
    }
    if (left === 0) {
      warning.textContent = "";
      box.hidden = true;
      expired.hidden = false;
      document.querySelectorAll(".pay-form button, .actions form:first-child button").forEach(function (b) { b.disabled = true; });
      return;
    }
    setTimeout(tick, 1000);
  }
  tick();
})();
