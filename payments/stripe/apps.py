from django.apps import AppConfig


class StripeGatewayConfig(AppConfig):
    name = "payments.stripe"
    label = "stripe_gateway"
    verbose_name = "Stripe"
