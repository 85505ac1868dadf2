"""API keys in admin: made here (the key is shown once, on the page after saving), revoked
here; only the hash is kept."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from api.keys import key_create, key_revoke
from api.models import ApiKey, Scope


class ApiKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Give a key only what its integration needs.",
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes"]


class ApiKeyChangeForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix_shown", "scope_list", "created_at", "last_used_at", "state"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = ApiKeyChangeForm if obj else ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "scopes"]
        return ["name", "prefix_shown", "scope_list", "created_at", "last_used_at", "state"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["prefix_shown", "scope_list", "created_at", "last_used_at", "state"]

    @admin.display(description="Key starts")
    def prefix_shown(self, key: ApiKey) -> str:
        return f"qf_{key.prefix}…"

    @admin.display(description="Scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes)

    @admin.display(description="State", ordering="revoked_at")
    def state(self, key: ApiKey) -> str:
        if key.revoked_at:
            return f"Revoked {timezone.localtime(key.revoked_at):%Y-%m-%d %H:%M}"
        return "Active"

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = key_create(name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"])
        obj.pk, obj.prefix, obj.hashed_key = key.pk, key.prefix, key.hashed_key
        obj.created_at = key.created_at
        request._new_api_key = raw  # shown by response_add on this response only

    def response_add(self, request, obj, post_url_continue=None):
        # The key is in this page alone: no redirect, no message stored in a cookie.
        context = {
            **self.admin_site.each_context(request),
            "title": "Copy your new API key",
            "opts": self.opts,
            "key": obj,
            "raw": request._new_api_key,
            "changelist": reverse("admin:api_apikey_changelist"),
        }
        response = TemplateResponse(request, "api/admin/key_created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke (stops the key at once)", permissions=["change"])
    def revoke(self, request, queryset):
        active = list(queryset.filter(revoked_at=None))
        for key in active:
            key_revoke(key=key)
        self.message_user(
            request,
            f"{len(active)} key(s) revoked; requests with them now get 401.",
            messages.SUCCESS,
        )
