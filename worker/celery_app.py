"""`celery -A worker.celery_app` (compose, tests, benches): the service's app, built here on purpose."""

from worker.service.app import get_app

app = get_app()
