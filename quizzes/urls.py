from django.urls import path

from quizzes import views

app_name = "quizzes"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.intro, name="intro"),
    path("<slug:slug>/start/", views.start, name="start"),
    path("<slug:slug>/t/<str:token>/q/<int:question_id>/", views.step, name="step"),
]
