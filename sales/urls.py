from django.urls import path

from sales import views

app_name = "sales"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("export.csv", views.export, name="export"),
    path("leads/<int:pk>/", views.lead_detail, name="lead"),
    path("leads/<int:pk>/status", views.lead_status, name="status"),
    path("leads/<int:pk>/owner", views.lead_owner, name="owner"),
    path("leads/<int:pk>/notes", views.lead_note, name="notes"),
]
