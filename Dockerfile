# The evlims demo host site as one image; docker-compose.yml runs it as web (gunicorn), worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

# WeasyPrint draws the compliance report PDFs with the system's Pango and HarfBuzz; without them a PDF
# report answers 503. The fonts give the reports their text (bookworm-slim ships none).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fontconfig fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --uid 10001 evlims
WORKDIR /app

# Dependencies first: this layer is rebuilt only when the pins change, not on every code edit.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
# Static files are collected at build time (whitenoise serves them hashed and compressed); the
# throw-away values below only let the production settings load, nothing is kept from them.
RUN pip install --no-deps -e . \
    && SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost DATABASE_URL=sqlite:////tmp/build.sqlite3 \
       python manage.py collectstatic --noinput -v 0 \
    && rm -f /tmp/build.sqlite3 \
    && mkdir -p /app/var/media \
    && chown -R evlims:evlims /app/var

USER evlims
EXPOSE 8000
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", "--threads", "4", "--access-logfile", "-"]
