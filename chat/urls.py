"""The chat's pages: the customer's widget (panel and public help centre) and the agents' console."""

from django.urls import path

from chat import views

panel_patterns: list = [
    path("", views.PanelChat.as_view(), name="panel-chat"),
]
desk_patterns: list = [
    path("", views.DeskConsole.as_view(), name="desk-chat"),
    path("<int:chat_id>/context/", views.DeskChatContext.as_view(), name="desk-chat-context"),
]
public_patterns: list = [
    path("", views.PublicChat.as_view(), name="chat"),
]
