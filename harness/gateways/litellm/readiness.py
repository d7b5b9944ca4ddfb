"""When a booting LiteLLM proxy is ready: `/health/readiness` answers 200 with its database connected.

LiteLLM binds its port only after its imports, and answers readiness before Prisma has
connected; admin calls made before `db == "connected"` fail. Both launchers (local and Docker)
wait on this probe.
"""

from __future__ import annotations

import httpx

READINESS_PATH = "/health/readiness"


def probe_readiness(client: httpx.Client, base_url: str) -> tuple[bool, str]:
    """(ready, what was seen): ready = `/health/readiness` answers 200 with the database connected.

    What was seen reads as the state of a boot in progress ("port not open yet"), since it is
    printed while the proxy starts; only a timeout turns it into an error.
    """
    try:
        response = client.get(f"{base_url}{READINESS_PATH}")
    except httpx.ConnectError:
        return False, "port not open yet"  # the proxy binds its port only after its imports
    except httpx.TimeoutException:
        return False, "port open, no answer yet"
    except httpx.HTTPError as error:
        return False, f"no answer yet ({type(error).__name__})"
    if response.status_code != 200:
        return False, f"readiness answers HTTP {response.status_code}"
    try:
        document = response.json()
    except ValueError:
        return False, "readiness answer is not JSON"
    db = document.get("db") if isinstance(document, dict) else None
    if db == "connected":
        return True, "database connected"
    return False, f"database not connected yet (db={db})"
