from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = _("Chat")

    def ready(self) -> None:
        # Ticket changes reach the agents' and customers' pages once committed (chat.broadcast).
        from chat import broadcast  # the app registry must be ready before it imports models
        from tickets import events  # (idem: models are loaded only now)

        if broadcast.publish not in events.EVENT_HOOKS:
            events.EVENT_HOOKS.append(broadcast.publish)
