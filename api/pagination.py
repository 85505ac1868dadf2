"""Cursor (keyset) pagination: a page starts after the last row of the one before, by
the list's whole order (which ends with the primary key), so rows added or changed
while a client pages through never make it skip or repeat one.

The cursor is signed: a client can pass it back, not make one up.
"""

from __future__ import annotations

from django.core import signing
from django.db.models import Q
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from core.text import clean_text

_SALT = "api.cursor"
BAD_CURSOR = "This cursor is not one this API gave out: use the 'next' link as it is."
OTHER_ORDER = "This cursor belongs to another sort order: start again without it."


class CursorParams(serializers.Serializer):
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500)


def _after(order: list[str], values: list) -> Q:
    """Rows that come after `values` in `order` (e.g. ["-score_percent", "-created_at",
    "-pk"]): greater on the first field that differs, in its direction."""
    after, ties = Q(), Q()
    for field, value in zip(order, values, strict=True):
        name = field.removeprefix("-")
        lookup = "lt" if field.startswith("-") else "gt"
        after |= ties & Q(**{f"{name}__{lookup}": value})
        ties &= Q(**{name: value})
    return after


class KeysetPagination(BasePagination):
    page_size = 50
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        params = CursorParams(
            data={
                k: clean_text(v)
                for k, v in request.query_params.items()
                if k in {"cursor", "limit"}
            }
        )
        params.is_valid(raise_exception=True)
        limit = params.validated_data.get("limit", self.page_size)
        order = [str(f) for f in queryset.query.order_by]
        model = queryset.model
        fields = [
            model._meta.pk
            if f.removeprefix("-") == "pk"
            else model._meta.get_field(f.removeprefix("-"))
            for f in order
        ]
        if params.validated_data.get("cursor"):  # an empty one is the first page
            values = self._decode(params.validated_data["cursor"], order, fields)
            queryset = queryset.filter(_after(order, values))
        rows = list(queryset[: limit + 1])
        self.request = request
        self.next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            values = [field.value_to_string(last) for field in fields]
            self.next_cursor = signing.dumps({"o": order, "v": values}, salt=_SALT, compress=True)
        return rows

    def _decode(self, cursor: str, order: list[str], fields) -> list:
        try:
            payload = signing.loads(cursor, salt=_SALT)
        except signing.BadSignature:
            raise serializers.ValidationError({"cursor": [BAD_CURSOR]}) from None
        if payload.get("o") != order:
            raise serializers.ValidationError({"cursor": [OTHER_ORDER]})
        return [field.to_python(value) for field, value in zip(fields, payload["v"], strict=True)]

    def get_next_link(self) -> str | None:
        if self.next_cursor is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), "cursor", self.next_cursor)

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "The next page (null on the last one): follow it as it is.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "Where the page starts: taken from the 'next' link.",
                "schema": {"type": "string", "maxLength": 2000},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Rows per page (1–{self.max_page_size}, default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
