"""requests-oauthlib against a running grantd, as a client application would use it.

OAuth2Session(scope=["read", "write"]) with the password grant sends no `scope`, and
refuses ("Scope has changed") a token response whose scope is not read and write. Then,
once the short-lived access token has expired, a call to the protected resource refreshes
it automatically. Prints what happened as one JSON object for the Rust test to check.

Usage: requests_oauthlib_flow.py BASE CLIENT_ID CLIENT_SECRET USERNAME PASSWORD
Exit 3 when requests-oauthlib is missing (.ci/run installs it).
"""

import json
import sys
import time

try:
    from oauthlib.oauth2 import LegacyApplicationClient
    from requests.auth import HTTPBasicAuth
    from requests_oauthlib import OAuth2Session
except ImportError as e:
    print(f"requests-oauthlib is not installed ({e}): pip install requests-oauthlib", file=sys.stderr)
    sys.exit(3)

base, client_id, client_secret, username, password = sys.argv[1:6]
token_url = base + "/oauth/token"

# What the library put in each token request, as it sent it.
sent = {"fetch": None, "refresh": None}


def on_fetch(url, headers, request_kwargs):
    sent["fetch"] = dict(request_kwargs.get("data") or {})
    return url, headers, request_kwargs


def on_refresh(url, headers, body):
    sent["refresh"] = body
    return url, headers, body


updates = []
session = OAuth2Session(
    client=LegacyApplicationClient(client_id=client_id),
    scope=["read", "write"],
    auto_refresh_url=token_url,
    token_updater=updates.append,
)
session.register_compliance_hook("access_token_request", on_fetch)
session.register_compliance_hook("refresh_token_request", on_refresh)

# Raises "Scope has changed" if the response's scope is not read and write.
first = session.fetch_token(
    token_url,
    username=username,
    password=password,
    auth=HTTPBasicAuth(client_id, client_secret),
)

# Let the access token expire (the client is registered with a 2 s lifetime).
time.sleep(max(0.0, first["expires_at"] - time.time()) + 1.0)
me = session.get(base + "/api/me", client_id=client_id, client_secret=client_secret)

print(
    json.dumps(
        {
            "fetch_body": sent["fetch"],
            "first_scope": first["scope"],
            "first_refresh_token": first["refresh_token"],
            "refresh_body_has_refresh_token": sent["refresh"] is not None
            and "refresh_token=" in sent["refresh"],
            "updates": len(updates),
            "refreshed_scope": updates[0]["scope"] if updates else None,
            "refreshed_refresh_token": updates[0].get("refresh_token") if updates else None,
            "me_status": me.status_code,
            "me": me.json() if me.status_code == 200 else me.text,
        }
    )
)
