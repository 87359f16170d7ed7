// The card field and the payment, by Stripe.js: it confirms the PaymentIntent in the page and
// runs 3-D Secure when the bank asks for it. The booking is confirmed by Stripe's webhook, which
// the return page waits for; this page only hands the buyer over to it.
(() => {
  "use strict";
  // The intent's statuses once the money is taken, or being taken.
  const TAKEN = ["succeeded", "processing", "requires_capture"];
  const form = document.getElementById("stripe-checkout");
  const stripe = Stripe(form.dataset.key);
  const card = stripe.elements().create("card");
  const button = form.querySelector("button[type=submit]");
  const problem = document.getElementById("card-errors");
  card.mount("#card-element");
  button.disabled = false;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    problem.textContent = "";
    const result = await stripe.confirmCardPayment(form.dataset.secret, {
      payment_method: { card },
    });
    const status = result.paymentIntent && result.paymentIntent.status;
    if (result.error || !TAKEN.includes(status)) {
      problem.textContent =
        (result.error && result.error.message) ||
        "Your card was not charged: your bank did not confirm the payment. Try again.";
      button.disabled = false;
      return;
    }
    window.location.assign(form.dataset.returnUrl);
  });
})();
