# Production image: gunicorn web, Celery worker and Celery beat all run from this one image
# (docker-compose.yml picks the command). Debian bookworm, like the development machines.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint's libraries (libharfbuzz-subset0 keeps PDF rendering fast), fonts with æøå, gettext
# for compilemessages, and the PostgreSQL client for `manage.py dbshell`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-dejavu-extra \
      gettext postgresql-client \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 app
WORKDIR /app

# Dependencies only (from pyproject.toml), so code changes do not reinstall them. The code itself
# runs from /app (BASE_DIR must be /app for templates, static files and translations), so the
# project is not installed into site-packages.
COPY pyproject.toml README.md ./
RUN pip install . && pip uninstall -y kundefaktura

COPY . .
RUN DEBUG=false SECRET_KEY=build-only-not-secret ALLOWED_HOSTS=localhost \
      python manage.py compilemessages -l nb --ignore=.venv --ignore=var -v 0 \
 && DEBUG=false SECRET_KEY=build-only-not-secret ALLOWED_HOSTS=localhost \
      python manage.py collectstatic --noinput -v 0 \
 && mkdir -p var/media var/mail var/beat \
 && chown -R app:app var

USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["gunicorn", "kundefaktura.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*"]
