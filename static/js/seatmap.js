// The seat map page. The form works without any of this; the script adds:
// - the "n selected · total as Adult tickets" line (the default type, plus each category's
//   supplement);
// - live updates: the selection survives every update, a selected seat that someone else takes
//   is unticked with a notice beside the button, announced, kept until dismissed;
// - at most data-max seats ticked, with a notice when one more is tried; "Best available" sends
//   the seats it replaces, for its answer to name them;
// - one Tab stop for the whole grid (a roving tabindex that survives live updates), arrow keys
//   between seats, Enter toggles like Space;
// - the list mode (fetched when it is opened) keeps up with the map: seats taken since it came
//   are disabled there;
// - reconnecting after ANY close (htmx's ws extension retries only abnormal closes), with
//   backoff, and a small live / reconnecting indicator;
// - live messages in order, whoever sent them: each seat shows the version it came with
//   (data-v, or its map's), and a message's seat replaces it only when newer (seats/broadcast.py);
// - on a phone, "Zoom in" to bigger seats that scroll sideways, opened on the middle of the hall,
//   and "Whole hall" back to the hall fitted to the width;
// - "kept for wheelchair users" (the legend's entry, the note above the map) said only while
//   some seat on the map is kept.
(function () {
  const form = document.getElementById("seat-form");
  const map = document.getElementById("seatmap");
  if (!map) return;
  const notice = document.querySelector("[data-seat-notice]");
  const status = map.querySelector("[data-live-status]");
  if (status) status.hidden = false;
  let selection = new Set();

  function ticked() {
    return Array.from(map.querySelectorAll('input[name="seats"]:checked'), (input) => input.value);
  }

  // The price of each ticked seat as the default ticket type, with its category's supplement
  // (data-supplements="premium=3.00 vip=6.50"), in cents; written in the page's currency format
  // (data-money is zero formatted: "£0.00").
  const supplements = Object.fromEntries(
    (form && form.dataset.supplements ? form.dataset.supplements.trim().split(/\s+/) : [])
      .filter(Boolean)
      .map((pair) => pair.split("="))
      .map(([kind, amount]) => [kind, Math.round(parseFloat(amount) * 100)])
  );
  function seatCents(label) {
    const seat = document.getElementById("seat-" + label);
    const kinds = seat ? Array.from(seat.classList, (name) => name.replace(/^seat--/, "")) : [];
    const kind = kinds.find((name) => name in supplements);
    return Math.round(parseFloat(form.dataset.price) * 100) + (kind ? supplements[kind] : 0);
  }
  function updateSummary() {
    if (!form) return;
    const labels = ticked();
    form.querySelector("[data-selected-count]").textContent = labels.length;
    const total = form.querySelector("[data-selected-total]");
    if (!total) return;
    const cents = labels.reduce((sum, label) => sum + seatCents(label), 0);
    total.textContent = form.dataset.money.replace("0.00", (cents / 100).toFixed(2));
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

  // Roving tabindex: only the seat `roving` names is in the Tab order. Live updates replace seat
  // elements with server markup that has no tabindex, so every update re-applies it.
  let roving = null;
  let hadFocus = false;

  function seatInput(label) {
    return label ? map.querySelector(`#seat-${label} input`) : null;
  }

  function gridInputs(scope) {
    return Array.from((scope || map).querySelectorAll(".seatrow .seat input"));
  }

  function centre(element) {
    const box = element.getBoundingClientRect();
    return box.left + box.width / 2;
  }

  function nearest(inputs, x) {
    let best = null;
    inputs.forEach((input) => {
      if (!best || Math.abs(centre(input) - x) < Math.abs(centre(best) - x)) best = input;
    });
    return best;
  }

  // The selectable seat closest to `seat` (an element of the grid): in its row, else the next rows.
  function closestInput(seat) {
    const rows = Array.from(map.querySelectorAll(".seatrow:not(.seatrow--aisle)"));
    const at = rows.indexOf(seat.closest(".seatrow"));
    const x = centre(seat);
    for (let distance = 0; distance < rows.length; distance++) {
      for (const index of [at + distance, at - distance]) {
        const inputs = rows[index] ? gridInputs(rows[index]) : [];
        if (inputs.length) return nearest(inputs, x);
      }
    }
    return null;
  }

  function applyRoving() {
    let input = seatInput(roving);
    if (!input) {
      const seat = roving && document.getElementById(`seat-${roving}`);
      input = (seat && closestInput(seat)) || map.querySelector(".seat input:checked") || map.querySelector(".seat input");
    }
    gridInputs().forEach((other) => { other.tabIndex = other === input ? 0 : -1; });
    roving = input ? input.value : null;
    return input;
  }

  function moveTo(input) {
    if (!input) return;
    const previous = seatInput(roving);
    if (previous) previous.tabIndex = -1;
    input.tabIndex = 0;
    roving = input.value;
    input.focus();
  }

  function target(input, key) {
    const row = input.closest(".seatrow");
    const inRow = gridInputs(row);
    const at = inRow.indexOf(input);
    if (key === "ArrowLeft") return inRow[at - 1];
    if (key === "ArrowRight") return inRow[at + 1];
    if (key === "Home") return inRow[0];
    if (key === "End") return inRow[inRow.length - 1];
    const rows = Array.from(map.querySelectorAll(".seatrow:not(.seatrow--aisle)"));
    const step = key === "ArrowUp" ? -1 : 1;
    for (let index = rows.indexOf(row) + step; rows[index]; index += step) {
      const inputs = gridInputs(rows[index]);
      if (inputs.length) return nearest(inputs, centre(input));
    }
    return null;
  }

  map.addEventListener("keydown", (event) => {
    const input = event.target;
    if (!input.matches(".seatrow .seat input")) return;
    if (event.key === "Enter") {
      event.preventDefault();
      input.click();
    } else if (["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"].includes(event.key)) {
      event.preventDefault();
      moveTo(target(input, event.key));
    }
  });
  map.addEventListener("focusin", (event) => {
    if (event.target.matches(".seatrow .seat input") && event.target.value !== roving) moveTo(event.target);
  });

  // The list mode is server-rendered when opened; the map is live, so the list follows the map.
  const list = document.getElementById("seat-list");
  function syncList() {
    if (!list) return;
    list.querySelectorAll('input[name="seats"]').forEach((input) => {
      const seat = document.getElementById(`seat-${input.value}`);
      if (!seat) return;
      const gridInput = seat.querySelector("input");
      input.disabled = !gridInput;
      if (!gridInput) input.checked = false;
      const name = input.parentElement.querySelector("[data-seat-name]");
      const said = (gridInput || seat).getAttribute("aria-label");
      if (name.textContent !== said) name.textContent = said;
    });
  }
  if (list) list.addEventListener("htmx:afterSwap", syncList);

  // The version a seat shows: its own, or that of the full map it came with; 0 for a map an HTTP
  // answer rendered (the page, a refused hold), which carries none.
  function version(element) {
    const stamped = element.closest("[data-v]");
    return stamped ? Number(stamped.dataset.v) : 0;
  }

  // A refused hold's answer swaps in the map as that request saw it. Once the socket has given
  // the map versions, what it shows is as new or newer: keep it, and take from the answer only
  // its marks (the seats in the way) and the selection the server kept.
  function markFrom(rows) {
    rows.querySelectorAll(".seat[id]").forEach((incoming) => {
      const seat = document.getElementById(incoming.id);
      if (!seat) return;
      seat.classList.toggle("seat--conflict", incoming.classList.contains("seat--conflict"));
      const input = seat.querySelector("input");
      const kept = incoming.querySelector("input");
      if (input) input.checked = Boolean(kept && kept.hasAttribute("checked"));
    });
  }

  map.addEventListener("htmx:oobBeforeSwap", (event) => {
    const target = event.detail.target;
    const incoming = event.detail.fragment.firstElementChild;
    if (!incoming) return;
    const stamped = Number(incoming.dataset.v || 0);
    if (target.id === "seatmap-rows") {
      // The socket's full map (stamped) is a resync: it replaces everything.
      if (!stamped && version(target)) {
        event.detail.shouldSwap = false;
        markFrom(incoming);
      }
    } else if (target.matches(".seat") && (stamped ? stamped <= version(target) : version(target))) {
      event.detail.shouldSwap = false;
    }
  });

  // No more than one booking may hold: the seat that goes past it is unticked, and the bar says
  // why (the server refuses the same, for pages without this script).
  const most = form ? Number(form.dataset.max) : 0;
  map.addEventListener("change", (event) => {
    const input = event.target;
    if (most && input.checked && ticked().length > most) {
      input.checked = false;
      showNotice(`You can pick up to ${most} seats in one booking.`);
    }
    updateSummary();
  });

  // Best available replaces what is ticked: the request carries it, so the answer can say which.
  const best = document.querySelector("[data-best-form]");
  if (best) {
    best.addEventListener("submit", () => {
      best.querySelectorAll('input[name="seats"]').forEach((input) => input.remove());
      ticked().forEach((label) => {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = "seats";
        input.value = label;
        best.appendChild(input);
      });
    });
  }
  // The socket's full map (on every connect) mostly repeats the map the page shows: htmx would
  // swap in and process all its seats (a long task on a phone); only the seats that differ are
  // replaced, and the map takes its version, which is all the swap would have changed.
  function resync(message) {
    const template = document.createElement("template");
    template.innerHTML = message;
    const incoming = template.content.firstElementChild;
    const rows = document.getElementById("seatmap-rows");
    if (!incoming || incoming.id !== "seatmap-rows" || !incoming.dataset.v || !rows) return false;
    incoming.removeAttribute("hx-swap-oob");
    const seats = incoming.querySelectorAll(".seat[id]");
    if (seats.length !== rows.querySelectorAll(".seat[id]").length) {
      rows.replaceWith(incoming);
      return true;
    }
    seats.forEach((seat) => {
      const shown = document.getElementById(seat.id);
      if (!shown) return;
      // A seat's state and name are its tag, class and title (its input's tabindex is the page's).
      const same = shown.tagName === seat.tagName && shown.className === seat.className
        && shown.title === seat.title;
      if (same) return;
      seat.removeAttribute("hx-swap-oob");
      shown.replaceWith(seat);
    });
    rows.dataset.v = incoming.dataset.v;
    return true;
  }
  map.addEventListener("htmx:wsBeforeMessage", (event) => {
    selection = new Set(ticked());
    hadFocus = document.activeElement && document.activeElement.matches(".seatrow .seat input");
    if (resync(event.detail.message)) {
      event.preventDefault();
      afterMessage();
    }
  });
  map.addEventListener("htmx:wsAfterMessage", afterMessage);
  function afterMessage() {
    const lost = [];
    selection.forEach((label) => {
      const input = seatInput(label);
      if (input) input.checked = true;
      else lost.push(label);
    });
    if (lost.length) showNotice(`Seat ${lost.join(", ")} was just taken by someone else.`);
    const input = applyRoving();
    if (hadFocus && input && document.activeElement !== input) input.focus();
    syncList();
    updateSummary();
    showKept();
  }

  const keptNotes = document.querySelectorAll("[data-legend-kept], [data-kept-note]");
  function showKept() {
    const kept = Boolean(map.querySelector(".seatrow .seat--kept"));
    keptNotes.forEach((note) => { note.hidden = !kept; });
  }

  // Holding through htmx: a refusal (4xx) carries the message and the map as this request saw
  // them, swapped in by id; htmx leaves 4xx responses alone unless told. The selection is the
  // server's answer (the rest of what was picked stays ticked, or the seats offered instead).
  if (form) {
    form.addEventListener("htmx:beforeSwap", (event) => {
      const code = event.detail.xhr.status;
      if (code >= 400 && code < 500) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });
    form.addEventListener("htmx:afterSettle", () => {
      applyRoving();
      syncList();
      updateSummary();
      showKept();
    });
  }

  // The zoomed hall opens on its middle: the middle row's middle cell, centred both ways.
  const zoom = map.querySelector("[data-seatmap-zoom]");
  function showMiddle() {
    const rows = Array.from(map.querySelectorAll(".seatrow:not(.seatrow--aisle)"));
    const row = rows[Math.floor((rows.length - 1) / 2)];
    const cells = row ? row.querySelectorAll(".seat, .cell") : [];
    const middle = cells[Math.floor((cells.length - 1) / 2)];
    if (middle) middle.scrollIntoView({ block: "center", inline: "center" });
  }
  const topbar = document.querySelector(".topbar");
  function keepBelowTopbar() {
    map.style.setProperty("--above", `${topbar ? topbar.offsetHeight : 0}px`);
  }
  if (zoom) {
    keepBelowTopbar();
    window.addEventListener("resize", keepBelowTopbar);
    zoom.hidden = false;
    zoom.addEventListener("click", () => {
      const zoomed = !map.classList.contains("seatmap--zoomed");
      map.classList.toggle("seatmap--zoomed", zoomed);
      // The button says what it does now. A toggle button (aria-pressed) must keep one label
      // (WAI-ARIA APG, Button), and "Zoom in, pressed" read as an order to zoom in again.
      zoom.textContent = zoomed ? "Whole hall" : "Zoom in";
      if (zoomed) showMiddle();
      else map.scrollIntoView({ block: "nearest" });
    });
  }

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
  applyRoving();
  updateSummary();
})();
