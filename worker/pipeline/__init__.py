"""The steps of a pass and the in-process driver: no Celery, no Redis (worker/service/ drives the
same steps on the workers)."""
