// htmx swaps no error response and the page would say nothing. A 503 from this site means it is
// very busy (or cannot reach its data): its message goes to a status region, and the same
// request is sent again from the same element after its Retry-After. Polling elements ask again
// by themselves. Any later successful swap clears the message.
(function () {
  const region = document.createElement("div");
  region.className = "busy-toast";
  region.setAttribute("role", "status");
  document.body.append(region);

  document.addEventListener("htmx:responseError", (event) => {
    const { xhr, elt, target, requestConfig } = event.detail;
    if (xhr.status !== 503) return;
    const seconds = parseInt(xhr.getResponseHeader("Retry-After"), 10) || 5;
    const message = new DOMParser().parseFromString(xhr.responseText, "text/html").body.textContent;
    region.textContent = message.trim() || "We're very busy right now: trying again soon…";
    if (/\bevery\b/.test(elt.getAttribute("hx-trigger") || "")) return;
    setTimeout(() => {
      htmx.ajax(requestConfig.verb, requestConfig.path, { source: elt, target: target });
    }, seconds * 1000);
  });
  document.addEventListener("htmx:afterSwap", () => { region.textContent = ""; });
})();
