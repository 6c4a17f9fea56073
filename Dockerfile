# One image for every service process: `oppworker worker`, `oppworker beat`, `oppworker webhooks`
# (and `oppworker run` for one-off passes). Configuration comes from the environment; secrets from
# the environment or files in /run/secrets (compose/Kubernetes secrets, read by pydantic-settings).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OPPWORKER_OUTPUT_DIR=/var/lib/oppworker

WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY connectors ./connectors
COPY playbooks ./playbooks
COPY worker ./worker
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/oppworker --create-home oppworker

USER oppworker
EXPOSE 8000 9808
CMD ["oppworker", "--help"]
