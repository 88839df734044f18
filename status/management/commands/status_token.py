"""Monitoring tokens of the status API: `manage.py status_token create NAME --scope incidents`."""

from django.core.management.base import BaseCommand, CommandError

from helpdesk.errors import DomainError
from status import services
from status.models import MonitoringToken, TokenScope


class Command(BaseCommand):
    help = "Make, list or revoke the tokens the provider's monitoring uses for the status API."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a token and print its key (shown only now)")
        create.add_argument("name")
        create.add_argument("--scope", choices=TokenScope.values, default=TokenScope.INCIDENTS)
        create.add_argument("--days", type=int, default=None, help="expires after this many days (default: never)")
        sub.add_parser("list", help="the tokens, without their keys")
        revoke = sub.add_parser("revoke", help="revoke a token by its id")
        revoke.add_argument("id", type=int)

    def handle(self, *args, **options):
        if options["action"] == "create":
            try:
                token, key = services.monitoring_token_issue(
                    name=options["name"], scope=options["scope"], days=options["days"]
                )
            except DomainError as error:
                raise CommandError(error.message) from error
            self.stdout.write(f"token {token.id} ({token.scope}): {key}")
            self.stdout.write("Send it as `Authorization: Bearer <key>`; it is not shown again.")
        elif options["action"] == "list":
            for token in MonitoringToken.objects.order_by("id"):
                state = "revoked" if token.revoked_at else "live"
                self.stdout.write(f"{token.id}\t{token.name}\t{token.scope}\t{token.prefix}…\t{state}")
        else:
            token = MonitoringToken.objects.filter(pk=options["id"]).first()
            if token is None:
                raise CommandError(f"no token {options['id']}")
            services.monitoring_token_revoke(token=token)
            self.stdout.write(f"token {token.id} revoked")
