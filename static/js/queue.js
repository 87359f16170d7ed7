// The queue page: while its WebSocket is open the server pushes the visitor's place, so the
// page's polling (its fallback) stands down; it asks again by itself whenever the socket drops.
(() => {
  const live = document.getElementById("queue-live");
  if (!live) return;
  let open = false;
  live.addEventListener("htmx:wsOpen", () => { open = true; });
  live.addEventListener("htmx:wsClose", () => { open = false; });
  document.body.addEventListener("htmx:beforeRequest", (event) => {
    if (open && event.detail.elt.hasAttribute("data-poll")) event.preventDefault();
  });
})();
