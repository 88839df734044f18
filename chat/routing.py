"""WebSocket routes; the live chat consumers register here."""

from django.urls import path

from chat import live
from chat.consumers import ChatConsumer

websocket_urlpatterns: list = [
    path("ws/chat/", ChatConsumer.as_asgi()),
    # The workspace's and the panel's live updates and presence (chat.live).
    path("ws/live/desk/", live.DeskConsumer.as_asgi()),
    path("ws/live/desk/tickets/<int:number>/", live.DeskTicketConsumer.as_asgi()),
    path("ws/live/panel/tickets/<int:number>/", live.PanelTicketConsumer.as_asgi()),
]
