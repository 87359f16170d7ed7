// Names for a screen reader that Django admin's own scripts leave out of the widgets they build
// (the two-box picker at the page's load, autocomplete boxes when jQuery is ready, inline rows
// later), put in as soon as each widget is in the page.
(function () {
  function name() {
    // The magnifier in a two-box picker's filter label: a name is allowed on it only as an image.
    for (const icon of document.querySelectorAll(".search-label-icon[aria-label]:not([role])")) {
      icon.setAttribute("role", "img");
    }
    // An autocomplete box is named by its field's label (and, once chosen, by its value).
    for (const select of document.querySelectorAll("select.admin-autocomplete")) {
      const label = document.querySelector(`label[for="${select.id}"]`);
      const box = select.nextElementSibling;
      if (!label || !box || !box.classList.contains("select2")) continue;
      label.id ||= `${select.id}_label`;
      for (const part of box.querySelectorAll(".select2-selection--single")) {
        const shown = part.querySelector(".select2-selection__rendered");
        const names = shown ? `${label.id} ${shown.id}` : label.id;
        if (part.getAttribute("aria-labelledby") !== names) part.setAttribute("aria-labelledby", names);
      }
      for (const part of box.querySelectorAll(
        ".select2-selection__rendered:not([aria-labelledby]), .select2-search__field:not([aria-labelledby])",
      )) {
        part.setAttribute("aria-labelledby", label.id);
      }
    }
  }
  name();
  new MutationObserver(name).observe(document.body, { childList: true, subtree: true });
})();
