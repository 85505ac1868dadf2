from django.urls import path

from leads import views

app_name = "leads"

urlpatterns = [
    path("<slug:slug>/t/<str:token>/details/", views.details, name="details"),
    path("<slug:slug>/r/<str:token>/", views.result, name="result"),
]
