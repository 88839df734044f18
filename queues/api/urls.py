from django.urls import path

from queues.api import views

urlpatterns = [
    path("tickets/<int:number>/queue/", views.TicketStandingView.as_view(), name="ticket-queue"),
    path("tickets/<int:number>/boost/", views.TicketBoostView.as_view(), name="ticket-boost"),
    path("queue/", views.QueueOverviewView.as_view(), name="queue-overview"),
    path("queue/take-next/", views.TakeNextView.as_view(), name="queue-take-next"),
    path("balance/", views.BalanceView.as_view(), name="balance"),
]
