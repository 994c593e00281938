FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_STATIC_MANIFEST=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_SECRET_KEY=build-only PII_ENCRYPTION_KEYS=ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE= PII_HASH_KEY=build \
    python manage.py collectstatic --noinput
RUN useradd --system --uid 1000 yeongye && chown -R yeongye /app
USER yeongye
EXPOSE 8000
