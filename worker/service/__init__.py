"""The service: passes as a Celery task graph (thin tasks over worker/pipeline/ steps), with the
Redis pieces that make it safe on many workers: the pass lock, the stash, the barriers, the watch,
the shared rate limiter, retries, beat and observability."""
