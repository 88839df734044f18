from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from helpdesk.request_cache import forget


def _membership_changed(**kwargs) -> None:
    # A request that changes who belongs to a line reads the lines anew (helpdesk.request_cache).
    forget()


class QueuesConfig(AppConfig):
    name = "queues"
    verbose_name = _("Lines and queues")

    def ready(self) -> None:
        from queues.models import LineMembership  # models load only once the app registry is ready

        post_save.connect(_membership_changed, sender=LineMembership, dispatch_uid="queues.membership.saved")
        post_delete.connect(_membership_changed, sender=LineMembership, dispatch_uid="queues.membership.deleted")
