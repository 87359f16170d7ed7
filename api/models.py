from django.conf import settings
from django.db import models


class IdempotentRequest(models.Model):
    """A POST sent with an `Idempotency-Key`: the key claimed, then the first answer, which a
    retry with the same key gets again (api.idempotency)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body")
    status = models.PositiveSmallIntegerField(null=True, help_text="Empty while being answered")
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="one_answer_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status or 'being answered'})"


class ApiToken(models.Model):
    """A personal API token: staff make one in the back office and see it once; only its SHA-256
    is kept (the token is random and long, so a fast hash is enough, as GitHub's are). Its scopes
    are a subset of what its owner's roles may do, checked again on every use (api.auth)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What it is for, e.g. “box-office till 2”")
    prefix = models.CharField(max_length=16, help_text="The token's start, to recognise it by")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until revoked")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
