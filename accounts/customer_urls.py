from django.urls import path

from accounts import customer_views

urlpatterns = [
    path("lookup/", customer_views.DeskCustomerLookup.as_view(), name="desk-customer-lookup"),
    path("<int:pk>/", customer_views.DeskCustomerDetail.as_view(), name="desk-customer"),
]
