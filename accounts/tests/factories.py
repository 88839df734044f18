import datetime as dt

import factory
from django.utils import timezone

from accounts.models import AgentProfile, CustomerProfile, Organisation, Plan, Role, User


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    kind = Plan.Kind.SUPPORT_LEVEL
    level = 1


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    role = Role.CUSTOMER
    language = "en"
    password = factory.PostGenerationMethodCall("set_password", "secret-password")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class CustomerFactory(UserFactory):
    role = Role.CUSTOMER
    profile = factory.RelatedFactory("accounts.tests.factories.CustomerProfileFactory", factory_related_name="user")


class CustomerProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerProfile

    user = factory.SubFactory(UserFactory)
    customer_since = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=400))


class AgentFactory(UserFactory):
    role = Role.AGENT
    profile = factory.RelatedFactory("accounts.tests.factories.AgentProfileFactory", factory_related_name="user")


class AgentProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentProfile

    user = factory.SubFactory(UserFactory, role=Role.AGENT)
    display_name = factory.LazyAttribute(lambda o: o.user.username.title())
    languages = factory.LazyFunction(lambda: ["ru", "en"])


class ManagerFactory(UserFactory):
    role = Role.MANAGER
