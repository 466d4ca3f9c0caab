"""Stripe's webhook: public, authenticated by the signature the provider checks."""

import logging

from django.db import OperationalError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import providers
from billing.services.checkout import webhook_event_handle

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe → us. Bad signature: 400 and nothing changed; lock timeout or Stripe unreachable: 503 (retry)."""
    provider = providers.get_provider(providers.STRIPE)
    try:
        event = provider.webhook_parse(body=request.body, headers=request.headers)
    except providers.WebhookRejected as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    try:
        result = webhook_event_handle(provider=provider, event=event)
    except OperationalError:
        log.warning("stripe webhook %s: lock timeout, asking Stripe to retry", event["id"])
        return JsonResponse({"error": "busy, retry"}, status=503)
    except providers.ProviderUnavailable:
        log.warning("stripe webhook %s: could not re-read the object", event["id"], exc_info=True)
        return JsonResponse({"error": "upstream unavailable, retry"}, status=503)
    return JsonResponse({"received": True, "result": result})


stripe_webhook.public = True
