"""Reading and answering a webhook request: the body read against a size limit (a sender hanging
up mid-upload is one log line, not a traceback), its timestamp header in any of the forms CRMs send,
and the short JSON error answer. Kept apart from the routes so the app module reads as the flow:
verify, de-duplicate, enqueue."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse


class TooLarge(Exception):
    pass


class Aborted(Exception):
    """The sender hung up mid-upload: nothing to answer, one log line, no traceback."""


def bad(reason: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


def first_problem(exc: Exception) -> str:
    """The first problem, named by field (ValidationError) or as JSON's own message."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(map(str, first['loc'])) or 'body'}: {first['msg']}"[:200]
    return str(exc).splitlines()[0][:200]


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge
            chunks.append(chunk)
    except ClientDisconnect:
        raise Aborted from None
    return b"".join(chunks)


def timestamp_seconds(value: str) -> float | None:
    """Unix seconds or milliseconds, or ISO 8601 (Zendesk sends ISO 8601)."""
    try:
        number = float(value)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return number / 1000 if number > 1e11 else number
