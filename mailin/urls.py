from django.urls import path

from mailin import views

desk_patterns = [
    path("", views.DeskMail.as_view(), name="desk-mail"),
    path("kept/<int:pk>/dismiss/", views.DeskMailDismiss.as_view(), name="desk-mail-dismiss"),
    path("addresses/<int:pk>/clear/", views.DeskMailClearAddress.as_view(), name="desk-mail-clear-address"),
]
