# Front-end packages come from npm (package-lock.json), never pasted into the repository.
FROM node:20-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_STATIC_MANIFEST=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
COPY --from=assets /app/node_modules/chart.js/dist /app/node_modules/chart.js/dist
COPY --from=assets /app/node_modules/htmx.org/dist /app/node_modules/htmx.org/dist
RUN DJANGO_SECRET_KEY=build-only PII_ENCRYPTION_KEYS=ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE= PII_HASH_KEY=build \
    python manage.py collectstatic --noinput
RUN useradd --system --uid 1000 yeongye && chown -R yeongye /app
USER yeongye
EXPOSE 8000
