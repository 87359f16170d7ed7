// The door page. Without this script the form still checks one ticket per submit; with it:
// - every scan answers in place (the form stays focused for the next one: a USB scanner types
//   the code and presses Enter);
// - the camera scans QR codes where the browser has the BarcodeDetector API;
// - offline: the showtime's ticket list and the public key are kept in IndexedDB, a scan is
//   checked here (signature, then the list), recorded, and uploaded when the network is back
//   ("Offline: 3 scans waiting"); a service worker keeps the page itself available.
(function () {
  const root = document.getElementById("door");
  if (!root) return;
  const form = root.querySelector("[data-scan-form]");
  const input = form.querySelector("#code");
  const doorName = form.querySelector("#door-name");
  const result = root.querySelector("[data-result]");
  const inCount = root.querySelector("[data-in]");
  const soldCount = root.querySelector("[data-sold]");
  const offlineNote = root.querySelector("[data-offline]");
  const undoBox = root.querySelector("[data-undo]");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const showtime = root.dataset.showtime;

  function newId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  const device = localStorage.getItem("door-device") || newId().slice(0, 12);
  localStorage.setItem("door-device", device);
  form.querySelector("[data-device]").value = device;
  doorName.value = localStorage.getItem("door-name") || doorName.value;
  doorName.addEventListener("change", () => localStorage.setItem("door-name", doorName.value));

  // IndexedDB: "lists" (a showtime's tickets, by showtime id) and "queue" (offline scans).
  const opened = new Promise((resolve, reject) => {
    const request = indexedDB.open("door", 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore("lists", { keyPath: "showtime" });
      request.result.createObjectStore("queue", { keyPath: "id" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  async function store(name, mode, action) {
    const db = await opened;
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(name, mode);
      const request = action(transaction.objectStore(name));
      transaction.oncomplete = () => resolve(request && request.result);
      transaction.onerror = () => reject(transaction.error);
    });
  }
  const put = (name, value) => store(name, "readwrite", (s) => s.put(value));
  const get = (name, key) => store(name, "readonly", (s) => s.get(key));
  const all = (name) => store(name, "readonly", (s) => s.getAll());
  const remove = (name, key) => store(name, "readwrite", (s) => s.delete(key));

  function unb64(text) {
    const base = text.replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(base + "===".slice((base.length + 3) % 4)), (c) => c.charCodeAt(0));
  }

  let list = null;
  let publicKey = null;
  async function loadList() {
    try {
      const response = await fetch(root.dataset.listUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const fresh = await response.json();
        const kept = await get("lists", Number(showtime));
        // Tickets this door admitted offline stay in until their upload says otherwise.
        const inHere = new Set(kept ? kept.tickets.filter((t) => t.in).map((t) => t.id) : []);
        fresh.tickets.forEach((t) => { t.in = t.in || inHere.has(t.id); });
        list = fresh;
        await put("lists", list);
      }
    } catch (error) { /* offline: use what was kept */ }
    if (!list) list = await get("lists", Number(showtime));
    if (list && window.crypto && crypto.subtle) {
      try {
        publicKey = await crypto.subtle.importKey("raw", unb64(list.public_key), { name: "Ed25519" }, false, ["verify"]);
      } catch (error) { publicKey = null; }
    }
  }

  function show(answer) {
    result.className = "door__result door__result--" + answer.status;
    result.textContent = answer.message;
    undoBox.hidden = !(answer.admitted && answer.ticket_id && !answer.offline);
    undoBox.dataset.ticket = answer.ticket_id || "";
  }
  function setCounts(counts) {
    if (counts.in !== undefined) inCount.textContent = counts.in;
    if (counts.sold !== undefined) soldCount.textContent = counts.sold;
  }
  const invalid = { status: "invalid", message: "Not a valid ticket" };

  async function checkHere(code) {
    const parts = code.split(".");
    if (parts.length !== 5 || parts[0] !== "T1") return invalid;
    if (publicKey) {
      let good = false;
      try {
        good = await crypto.subtle.verify("Ed25519", publicKey, unb64(parts[4]), new TextEncoder().encode(parts.slice(0, 4).join(".")));
      } catch (error) { good = false; }
      if (!good) return invalid;
    }
    if (!list) return { status: "invalid", message: "Offline, and no ticket list here yet" };
    if (parts[1] !== showtime) return { status: "wrong_showtime", message: "Wrong showtime: this ticket is for another showing" };
    const ticket = list.tickets.find((t) => String(t.id) === parts[2] && t.secret === parts[3]);
    if (!ticket) {
      const gone = list.void.find((t) => String(t.id) === parts[2] && t.secret === parts[3]);
      return gone ? { status: "void", message: "Void: " + gone.reason } : invalid;
    }
    if (ticket.in) return { status: "already", message: "Already checked in" + (ticket.at ? " at " + ticket.at : "") };
    ticket.in = true;
    ticket.at = new Date().toTimeString().slice(0, 5);
    await put("lists", list);
    await put("queue", { id: newId(), showtime: showtime, code: code, scanned_at: new Date().toISOString(), device: device, door: doorName.value });
    inCount.textContent = Number(inCount.textContent) + 1;
    return { status: "admit", message: "Admit: " + ticket.seat + " " + ticket.type, admitted: true, offline: true };
  }

  async function checkOnline(code) {
    const body = new FormData(form);
    body.set("code", code);
    const response = await fetch(form.action, { method: "POST", body: body, headers: { Accept: "application/json", "X-CSRFToken": csrf } });
    const answer = await response.json();
    if (answer.error) return { status: "invalid", message: answer.error };
    if (answer.admitted && list) {
      const ticket = list.tickets.find((t) => t.id === answer.ticket_id);
      if (ticket) { ticket.in = true; put("lists", list); }
    }
    return answer;
  }

  async function check(code) {
    let answer = null;
    if (navigator.onLine) {
      try { answer = await checkOnline(code); } catch (error) { answer = null; }
    }
    if (!answer) answer = await checkHere(code);
    show(answer);
    setCounts(answer);
    await showWaiting();
  }

  async function waiting() {
    return (await all("queue")).filter((scan) => scan.showtime === showtime);
  }
  async function showWaiting() {
    const n = (await waiting()).length;
    const scans = n + " scan" + (n === 1 ? "" : "s");
    offlineNote.hidden = navigator.onLine && n === 0;
    offlineNote.textContent = navigator.onLine ? "Uploading " + scans + "…" : "Offline: " + scans + " waiting";
  }

  let uploading = false;
  async function upload() {
    if (uploading || !navigator.onLine) return;
    uploading = true;
    try {
      const scans = await waiting();
      if (scans.length) {
        const payload = scans.map((s) => ({ id: s.id, code: s.code, scanned_at: s.scanned_at, device: s.device, door: s.door }));
        const response = await fetch(root.dataset.syncUrl, {
          method: "POST",
          body: JSON.stringify({ scans: payload }),
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
        });
        if (response.ok) {
          const answer = await response.json();
          for (const scan of scans) await remove("queue", scan.id);
          setCounts(answer);
          if (answer.conflicts.length) show({ status: "already", message: "Admitted twice: " + answer.conflicts.join("; ") });
        }
      }
    } catch (error) { /* still offline; the next "online" tries again */ }
    uploading = false;
    await showWaiting();
  }

  async function refreshCounts() {
    if (!navigator.onLine) return;
    try {
      const response = await fetch(root.dataset.countsUrl, { headers: { Accept: "application/json" } });
      if (response.ok) setCounts(await response.json());
    } catch (error) { /* offline */ }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = input.value.trim();
    input.value = "";
    input.focus();
    if (code) check(code);
  });
  root.querySelector("[data-undo-button]").addEventListener("click", async () => {
    const body = new FormData();
    body.set("ticket", undoBox.dataset.ticket);
    body.set("device", device);
    body.set("door", doorName.value);
    const response = await fetch(root.dataset.undoUrl, { method: "POST", body: body, headers: { Accept: "application/json", "X-CSRFToken": csrf } });
    const answer = await response.json();
    show(response.ok ? { status: "ready", message: "Check-in undone" } : { status: "invalid", message: answer.error });
    setCounts(answer);
    input.focus();
  });
  window.addEventListener("online", () => { showWaiting(); upload(); refreshCounts(); });
  window.addEventListener("offline", showWaiting);
  setInterval(refreshCounts, 5000);

  // The camera, where the browser can read QR codes itself.
  const cameraButton = root.querySelector("[data-camera]");
  const video = root.querySelector("[data-video]");
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    cameraButton.hidden = false;
    cameraButton.addEventListener("click", async () => {
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.hidden = false;
      await video.play();
      let last = "";
      let lastAt = 0;
      (async function look() {
        try {
          const codes = await detector.detect(video);
          const code = codes.length ? codes[0].rawValue : "";
          if (code && (code !== last || Date.now() - lastAt > 3000)) {
            last = code;
            lastAt = Date.now();
            await check(code);
          }
        } catch (error) { /* a frame it could not read */ }
        requestAnimationFrame(look);
      })();
    });
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/checkin/sw.js", { scope: "/checkin/" }).catch(() => {});
  }
  loadList()
    .then(upload)
    .then(showWaiting)
    .then(() => { root.dataset.ready = "yes"; });
})();
