import factory

from accounts.tests.factories import CustomerFactory
from queues.tests.factories import LineFactory
from tickets.models import Status, Ticket


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    subject = factory.Sequence(lambda n: f"Server {n} does not answer")
    body = "It stopped answering an hour ago."
    line = factory.SubFactory(LineFactory)
    customer = factory.SubFactory(CustomerFactory)
    status = Status.WAITING_AGENT
