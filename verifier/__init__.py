"""The verifier: credential and presentation verification (built in issues #3 and #6)."""

__all__: list[str] = []
