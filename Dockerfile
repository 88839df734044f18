# One image for web, worker and beat; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=helpdesk.settings.production \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    DJANGO_MEDIA_ROOT=/data/media

WORKDIR /app
COPY pyproject.toml README.md ./
COPY . .
RUN pip install -e . \
    && DJANGO_SECRET_KEY=collectstatic-at-build-time-only-not-used-at-run-time \
       HELPDESK_SECRET_ENCRYPTION_KEYS=YnVpbGQtdGltZS1vbmx5LW5vdC11c2VkLWF0LXJ1bi0= \
       python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 --home /app helpdesk \
    && mkdir -p /data/media \
    && chown -R helpdesk /data

USER helpdesk
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
# X-Forwarded-For/-Proto are believed only from HELPDESK_TRUSTED_PROXIES (addresses or networks
# of the TLS proxy in front; the settings refuse "*"), the same variable Django validates.
CMD ["sh", "-c", "exec uvicorn helpdesk.asgi:application --host 0.0.0.0 --port 8000 --workers 2 --proxy-headers --forwarded-allow-ips \"${HELPDESK_TRUSTED_PROXIES:-127.0.0.1}\""]
