from django.apps import AppConfig


class MockGatewayConfig(AppConfig):
    name = "payments.mock"
    label = "mock_gateway"
    verbose_name = "Mock payment gateway (test mode)"
