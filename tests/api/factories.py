from api.keys import SCOPES, key_create


def make_key(*, name: str = "Integration", scopes: list[str] | None = None):
    """(ApiKey, raw key): key_create is the only way a key is made, so tests use it too."""
    return key_create(name=name, scopes=list(SCOPES) if scopes is None else scopes)
