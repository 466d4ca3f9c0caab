"""The current date in the company's time zone (settings.TIME_ZONE): due dates, validity and deadlines
are calendar days in Norway, not in UTC."""

import datetime as dt

from django.utils import timezone


def today() -> dt.date:
    return timezone.localdate()
