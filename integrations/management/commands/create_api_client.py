"""`manage.py create_api_client NAME [--scopes read write] [--webhook-url URL [--webhook-secret S] [--all-bases]]`

Prints the bearer token once (only its SHA-256 hash is stored), and the webhook secret if one was
generated.
"""

from django.core.management.base import BaseCommand, CommandError

from billing.errors import BillingError
from integrations import services
from integrations.models import ApiClient


class Command(BaseCommand):
    help = "Create an API client system and print its bearer token once."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--scopes", nargs="+", choices=ApiClient.SCOPES, default=list(ApiClient.SCOPES),
                            help="Scopes (default: read write).")
        parser.add_argument("--webhook-url", help="Subscribe this URL to status notifications.")
        parser.add_argument("--webhook-secret", help="HMAC secret for the notifications (generated if omitted).")
        parser.add_argument("--all-bases", action="store_true",
                            help="Notify about every invoice basis, not only the ones this client touched.")

    def handle(self, *args, name, scopes, webhook_url=None, webhook_secret=None, all_bases=False, **options):
        try:
            client, token = services.api_client_create(name=name, scopes=scopes)
            sub = None
            if webhook_url:
                sub = services.subscription_create(client=client, url=webhook_url, secret=webhook_secret,
                                                   all_bases=all_bases)
        except BillingError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"API client {client.name!r} created with scopes: {', '.join(client.scopes)}")
        self.stdout.write("Token (shown only now; store it safely):")
        self.stdout.write(token)
        if sub is not None:
            self.stdout.write(f"Webhook {sub.url} subscribed; signing secret:")
            self.stdout.write(sub.secret)
