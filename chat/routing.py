"""WebSocket routes; the live chat consumers register here."""

websocket_urlpatterns: list = []
