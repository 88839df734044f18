from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0015_sender_verified"),
    ]

    operations = [
        migrations.AddField(
            model_name="eventoutbox",
            name="attempts",
            field=models.PositiveSmallIntegerField(db_default=0, default=0, verbose_name="attempts"),
        ),
        migrations.AddField(
            model_name="eventoutbox",
            name="last_error",
            field=models.TextField(blank=True, db_default="", default="", verbose_name="last error"),
        ),
        migrations.AddField(
            model_name="eventoutbox",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="next attempt at"),
        ),
        migrations.AddField(
            model_name="eventoutbox",
            name="parked_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="parked at"),
        ),
        migrations.AddIndex(
            model_name="eventoutbox",
            index=models.Index(
                condition=models.Q(("parked_at__isnull", False)), fields=["parked_at"], name="tickets_outbox_parked"
            ),
        ),
    ]
