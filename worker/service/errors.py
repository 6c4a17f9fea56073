"""The one error a pass step raises on purpose."""


class PassFailed(Exception):
    """A pass failed for a reason retrying cannot fix; the message says what to do."""
