"""The integration point with the provider's billing.

Charges and credits live in `BalanceEntry`, an append-only ledger. A provider whose billing
system holds the real balance sets `HELPDESK_BILLING_HOOK` to a dotted path of a function
`hook(entry)`; it is called after the transaction that recorded the entry commits (and
never for a rolled-back one), with the entry's `reference` as the idempotency key.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from queues.models import BalanceEntry

logger = logging.getLogger(__name__)


def charge_recorded(entry) -> None:
    hook_path = settings.BILLING_HOOK
    if not hook_path:
        return
    hook = import_string(hook_path)
    entry_id = entry.id

    def call():
        hook(BalanceEntry.objects.get(id=entry_id))
        logger.info("billing hook called for balance entry %s", entry_id)

    transaction.on_commit(call)
