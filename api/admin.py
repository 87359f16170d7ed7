"""API tokens in the back office: staff make their own (the secret is shown once, on the page
that answers the form, and never stored), see when each was last used, and revoke them."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone

from api.auth import SCOPES, allowed_scopes, issue
from api.models import ApiToken


class TokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        help_text="What the token may do: only what your roles allow, checked again on each use.",
        error_messages={"required": "Choose at least one scope."},
    )

    class Meta:
        model = ApiToken
        fields = ["name", "scopes", "expires_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "scope_list",
        "created_at",
        "expires_at",
        "last_used_at",
        "state",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    readonly_fields = [
        "name",
        "prefix",
        "scope_list",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def get_queryset(self, request):
        """Each their own tokens; a superuser sees everyone's (to revoke a leaked one)."""
        tokens = super().get_queryset(request).select_related("user")
        return tokens if request.user.is_superuser else tokens.filter(user=request.user)

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return ["user", *shown] if request.user.is_superuser else shown

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        kwargs.update(form=TokenForm, fields=None)
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["scopes"].choices = [
            (scope, f"{scope}: {SCOPES[scope][1]}") for scope in allowed_scopes(request.user)
        ]
        return form

    def get_fields(self, request, obj=None):
        return ["name", "scopes", "expires_at"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted: its last use stays on record

    def save_model(self, request, obj, form, change):
        if change:
            return
        obj.user = request.user
        obj.scopes = form.cleaned_data["scopes"]
        request.new_token_secret = issue(obj)

    def response_add(self, request, obj, post_url_continue=None):
        """The one page that ever shows the secret."""
        context = {
            **self.admin_site.each_context(request),
            "title": f"Your new API token “{obj.name}”",
            "opts": self.model._meta,
            "token": obj,
            "secret": request.new_token_secret,
        }
        response = TemplateResponse(request, "api/token_made.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.display(description="scopes")
    def scope_list(self, token: ApiToken) -> str:
        return ", ".join(token.scopes)

    @admin.display(description="state")
    def state(self, token: ApiToken) -> str:
        if token.revoked_at:
            return "revoked"
        if token.expires_at and token.expires_at <= timezone.now():
            return "expired"
        return "active"

    @admin.action(description="Revoke the chosen tokens", permissions=["change"])
    def revoke(self, request, queryset):
        tokens = list(queryset.filter(revoked_at__isnull=True))
        ApiToken.objects.filter(pk__in=[token.pk for token in tokens]).update(
            revoked_at=timezone.now()
        )
        for token in tokens:
            self.log_change(request, token, "Revoked")
        messages.success(request, f"Revoked {len(tokens)} token(s); they stop working now.")
