// Keeps the "n selected · £total" line in step with the ticked seats. The form works without it.
(function () {
  const form = document.getElementById("seat-form");
  if (!form) return;
  const price = parseFloat(form.dataset.price);
  const count = form.querySelector("[data-selected-count]");
  const total = form.querySelector("[data-selected-total]");
  function update() {
    const n = form.querySelectorAll('input[name="seats"]:checked').length;
    count.textContent = n;
    total.textContent = (n * price).toFixed(2);
  }
  form.addEventListener("change", update);
  update();
})();
