import factory

from queues.models import Line


class LineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Line
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"line-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    kind = Line.Kind.TIER
    level = 1
