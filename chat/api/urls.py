from django.urls import path

from chat.api import views

urlpatterns = [
    path("chats/", views.ChatListView.as_view(), name="chat-list"),
    path("chats/<int:chat_id>/", views.ChatDetailView.as_view(), name="chat-detail"),
    path("chats/<int:chat_id>/messages/", views.ChatMessagesView.as_view(), name="chat-messages"),
    path("chats/<int:chat_id>/handoff/", views.ChatHandoffView.as_view(), name="chat-handoff"),
    path("chats/<int:chat_id>/accept/", views.ChatAcceptView.as_view(), name="chat-accept"),
    path("chats/<int:chat_id>/transfer/", views.ChatTransferView.as_view(), name="chat-transfer"),
    path("chats/<int:chat_id>/convert/", views.ChatConvertView.as_view(), name="chat-convert"),
    path("chats/<int:chat_id>/close/", views.ChatCloseView.as_view(), name="chat-close"),
    path("chats/<int:chat_id>/rate/", views.ChatRateView.as_view(), name="chat-rate"),
]
