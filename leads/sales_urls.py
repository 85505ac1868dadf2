from django.urls import path

from leads import sales

app_name = "sales"

urlpatterns = [
    path("", sales.inbox, name="inbox"),
    path("export.csv", sales.export, name="export"),
    path("leads/<int:pk>/", sales.lead_detail, name="lead"),
    path("leads/<int:pk>/status", sales.lead_status, name="status"),
    path("leads/<int:pk>/owner", sales.lead_owner, name="owner"),
    path("leads/<int:pk>/notes", sales.lead_note, name="notes"),
]
