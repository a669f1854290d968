"""Docker HEALTHCHECK: exit 0 when GET /healthz answers 200 (the slim image has no curl)."""

import os
import sys
import urllib.request

url = f"http://127.0.0.1:{os.environ.get('KERNPUNT_PORT', '8000')}/healthz"
try:
    with urllib.request.urlopen(url, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy"
    print(f"unhealthy: {url}: {exc}")
    sys.exit(1)
