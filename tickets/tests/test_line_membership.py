"""Which lines an agent's tickets come from: all their lines for seeing, the active ones for taking."""

import pytest

from helpdesk.errors import DomainError
from queues.selectors import active_line_ids
from tickets import services
from tickets.selectors import member_line_ids, tickets_visible_to
from tickets.tests.helpers import make_ticket


@pytest.mark.django_db
def test_a_closed_line_stays_visible_to_its_members_but_gives_no_tickets_to_take(customer, line, agent):
    ticket = make_ticket(customer)
    line.is_active = False
    line.save(update_fields=["is_active"])

    assert member_line_ids(agent) == [line.id]
    assert active_line_ids(agent) == []
    # The ticket it still holds is the agent's to see and work on until it is moved on...
    assert list(tickets_visible_to(agent)) == [ticket]
    # ...but the queue no longer hands out its tickets.
    with pytest.raises(DomainError):
        services.ticket_take_next(agent=agent)
