from django.urls import path

from leads import views

app_name = "leads"

urlpatterns = [
    path("<slug:slug>/t/<str:token>/details/", views.details, name="details"),
    path("<slug:slug>/r/<str:token>/", views.result, name="result"),
    path("<slug:slug>/r/<str:token>/scorecard.pdf", views.result_pdf, name="result_pdf"),
    path("<slug:slug>/s/<str:share_token>/", views.share, name="share"),
    path("<slug:slug>/s/<str:share_token>/card.png", views.share_card, name="share_card"),
]
