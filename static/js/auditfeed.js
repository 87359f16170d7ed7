// The back office's live audit feed: new rows from the staff WebSocket go on top of the table.
// Reconnects with backoff after any close, except when the server says "not staff".
(function () {
  const table = document.getElementById("audit-feed");
  if (!table) return;
  const rows = document.getElementById("audit-feed-rows");
  const status = document.getElementById("audit-feed-status");
  const forbidden = parseInt(status.dataset.forbidden, 10);
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  let delay = 1000;

  function connect() {
    const socket = new WebSocket(scheme + location.host + table.dataset.wsPath);
    socket.onopen = function () {
      delay = 1000;
      status.textContent = "Live.";
    };
    socket.onmessage = function (message) {
      const template = document.createElement("template");
      template.innerHTML = message.data.trim();
      const row = template.content.firstElementChild;
      if (row && !document.getElementById(row.id)) rows.prepend(row);
      while (rows.children.length > 200) rows.lastElementChild.remove();
    };
    socket.onclose = function (event) {
      if (event.code === forbidden) {
        // Retrying cannot help: this browser is not (or no longer) signed in as staff.
        status.textContent =
          "Not live: the feed is for staff only. Sign in with a staff account and reload the page.";
        return;
      }
      status.textContent = "Reconnecting…";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    };
  }
  connect();
})();
