from rest_framework import serializers


class AnswerQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, help_text="The question, as the customer wrote it.")
    lang = serializers.ChoiceField(choices=["en", "ru"], default="en", help_text="The reader's language.")


class LanguageQuerySerializer(serializers.Serializer):
    lang = serializers.ChoiceField(choices=["en", "ru"], default="en", help_text="The reader's language.")


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="Search words.")
    lang = serializers.ChoiceField(choices=["en", "ru"], default="en")
    category = serializers.SlugField(required=False, help_text="Only this section of the help centre.")


class ArticleHitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    category = serializers.CharField(help_text="The section's address.")
    kind = serializers.CharField()
    language = serializers.CharField(help_text="The language of the title and snippet.")
    title = serializers.CharField()
    url = serializers.CharField(help_text="The public page (empty for articles only staff see).")
    snippet = serializers.CharField(help_text="HTML: the matching text with <mark> around the matches.")
    score = serializers.FloatField()
    confidence = serializers.FloatField(help_text="0..1: how sure the engine is that this article answers.")


class AnswerSerializer(serializers.Serializer):
    question = serializers.CharField()
    language = serializers.CharField()
    read_as = serializers.CharField(help_text="The question as understood (typos, keyboard layout), when different.")
    confident = serializers.BooleanField(help_text="False: the engine does not know; hand over to a person.")
    confidence = serializers.FloatField()
    threshold = serializers.FloatField()
    articles = ArticleHitSerializer(many=True)


class ArticleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    category = serializers.CharField()
    kind = serializers.CharField()
    language = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField(help_text="Markdown.")
    body_html = serializers.CharField(help_text="The text rendered and sanitised.")
    url = serializers.CharField()
    updated_at = serializers.DateTimeField()


class DeflectionRateSerializer(serializers.Serializer):
    ticket_category = serializers.CharField()
    attempts = serializers.IntegerField(help_text="Ticket-form visits that were shown suggestions.")
    opened = serializers.IntegerField()
    solved = serializers.IntegerField(help_text="...that ended with an article solving the problem.")
    rate = serializers.FloatField(allow_null=True)


class DeflectionQuerySerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
