"""The agent wallet: DIDs, encrypted keys, credentials, request presentations (not built yet; issue #5)."""

__all__: list[str] = []
