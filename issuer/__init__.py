"""The issuer: identities, issuance, status lists, the agent inventory (not built yet; issue #4)."""

__all__: list[str] = []
