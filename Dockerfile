# Image for docker-compose.yml: the pinned environment and this project, run as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DO_NOT_TRACK=1 CREDIT_HOME=/opt/credit-platform
WORKDIR /opt/credit-platform

COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
    && useradd --create-home --uid 50000 credit \
    && mkdir -p /opt/airflow /opt/credit-platform/.local/docs/gx /opt/credit-platform/.local/gx \
       /opt/credit-platform/data/inbox /opt/credit-platform/data/archive /opt/credit-platform/data/outbox \
    && chown -R credit /opt/airflow /opt/credit-platform
USER credit
