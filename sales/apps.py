from django.apps import AppConfig


class SalesConfig(AppConfig):
    """The sales workspace: views and templates over leads' services and selectors."""

    name = "sales"
    verbose_name = "Sales workspace"
