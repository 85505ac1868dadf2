from django.urls import path

from tracking import api, views

app_name = "tracking"

urlpatterns = [
    path("t/events", api.events, name="events"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/report/<str:table>.csv", views.report_csv, name="report_csv"),
    path("dashboard/timeline/<str:token>/", views.timeline, name="timeline"),
]
