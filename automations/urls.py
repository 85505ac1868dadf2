from django.urls import path

from automations import views

app_name = "automations"

urlpatterns = [
    path("leads/<int:lead_id>/deliveries/", views.lead_deliveries, name="lead_deliveries"),
    path("deliveries/<int:delivery_id>/resend/", views.delivery_resend, name="delivery_resend"),
    path("leads/<int:lead_id>/person.json", views.person_export, name="person_export"),
    path("reconciliation/", views.crm_reconciliation, name="crm_reconciliation"),
    path(
        "reconciliation/replay/",
        views.crm_reconciliation_replay,
        name="crm_reconciliation_replay",
    ),
]
