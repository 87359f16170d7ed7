// The seat map page. The form works without any of this; the script adds:
// - the "n selected · £total" line;
// - live updates: the selection survives every update, a selected seat that someone else takes
//   is unticked with a notice beside the button, announced, kept until dismissed;
// - reconnecting after ANY close (htmx's ws extension retries only abnormal closes), with
//   backoff, and a small live / reconnecting indicator.
(function () {
  const form = document.getElementById("seat-form");
  const map = document.getElementById("seatmap");
  if (!map) return;
  const notice = document.querySelector("[data-seat-notice]");
  const status = map.querySelector("[data-live-status]");
  let selection = new Set();

  function ticked() {
    return Array.from(map.querySelectorAll('input[name="seats"]:checked'), (input) => input.value);
  }

  function updateSummary() {
    if (!form) return;
    const n = ticked().length;
    form.querySelector("[data-selected-count]").textContent = n;
    form.querySelector("[data-selected-total]").textContent = (n * parseFloat(form.dataset.price)).toFixed(2);
  }

  function showNotice(text) {
    if (!notice) return;
    notice.querySelector("[data-seat-notice-text]").textContent = text;
    notice.hidden = false;
  }
  if (notice) {
    notice.querySelector("[data-seat-notice-close]").addEventListener("click", () => {
      notice.hidden = true;
      notice.querySelector("[data-seat-notice-text]").textContent = "";
    });
  }

  function setStatus(state, text) {
    if (!status) return;
    status.dataset.liveStatus = state;
    status.querySelector("[data-live-text]").textContent = text;
  }

  map.addEventListener("change", updateSummary);
  map.addEventListener("htmx:wsBeforeMessage", () => { selection = new Set(ticked()); });
  map.addEventListener("htmx:wsAfterMessage", () => {
    const lost = [];
    selection.forEach((label) => {
      const input = map.querySelector(`#seat-${label} input`);
      if (input) input.checked = true;
      else lost.push(label);
    });
    if (lost.length) showNotice(`Seat ${lost.join(", ")} was just taken by someone else.`);
    updateSummary();
  });

  let retries = 0;
  map.addEventListener("htmx:wsOpen", () => { retries = 0; setStatus("live", "Live"); });
  map.addEventListener("htmx:wsClose", (event) => {
    const code = event.detail.event.code;
    if (code === 4404) { setStatus("offline", "This showtime is no longer available"); return; }
    // 4429: this network or session has too many live maps open; one may close, so keep trying.
    setStatus("reconnecting", code === 4429 ? "Too many live maps open here; retrying…" : "Reconnecting…");
    // htmx reconnects by itself after abnormal closes; clean ones (1000, 1001, ...) are ours.
    if ([1006, 1011, 1012, 1013].includes(code)) return;
    const delay = Math.min(30000, 500 * 2 ** retries++) * (0.5 + Math.random() / 2);
    setTimeout(() => event.detail.socketWrapper.reconnect(), delay);
  });
  updateSummary();
})();
