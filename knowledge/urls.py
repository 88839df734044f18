from django.urls import path

from knowledge import views

urlpatterns = [
    path("contact/", views.ContactView.as_view(), name="contact"),
    path("follow/<str:token>/", views.FollowView.as_view(), name="follow"),
]
