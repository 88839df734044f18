from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatusConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "status"
    verbose_name = _("Service status")

    def ready(self):
        # Models and services may be imported only once the apps are loaded, which is now.
        from status.services import ticket_filed
        from tickets.services import TICKET_FILED_HOOKS  # (idem: models are loaded only now)

        # Filing a ticket links it to the incident of the service it names (status.services).
        if ticket_filed not in TICKET_FILED_HOOKS:
            TICKET_FILED_HOOKS.append(ticket_filed)
