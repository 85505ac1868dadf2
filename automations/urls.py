from django.urls import path

from automations import views

app_name = "automations"

urlpatterns = [
    path("leads/<int:lead_id>/deliveries/", views.lead_deliveries, name="lead_deliveries"),
]
