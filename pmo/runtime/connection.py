"""How every part of pmo-flows reaches Prefect's API: its address and its credentials, from
the environment, in one place.

- `PREFECT_API_URL`: the API; when unset, the server `pmo up` runs (`PMO_PORT`).
- `PREFECT_API_AUTH_STRING`: `user:password`, for a server that requires basic
  authentication (a server is given it as `PREFECT_SERVER_API_AUTH_STRING`; `pmo up --auth`
  and `PMO_SERVER_AUTH=true` give the servers we start the same string).

The CLI, the demo and the audit talk to Prefect inside `prefect_api()`; the processes we
start (the served runner, and through it every `python -m prefect.engine` run it starts,
which Prefect hands its settings) get `client_environment()`. Prefect's clients then send
the credentials with every request, their event and log clients included. A worker on
another machine reads the same two variables itself. Anything added later that talks to
Prefect (a resumer, the approval web app) goes through these two as well.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from prefect import get_client
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

from pmo.errors import PmoInputError, ServiceUnavailable
from pmo.settings import get_settings

AUTH_VARIABLE = "PREFECT_API_AUTH_STRING"
SERVER_AUTH_VARIABLE = "PREFECT_SERVER_API_AUTH_STRING"
MIN_PASSWORD_CHARS = 12


class ServerUnreachable(ServiceUnavailable):
    """The Prefect API did not answer."""


class AccessRefused(ServiceUnavailable):
    """The Prefect API refused our credentials, or asked for some we do not have."""


def api_url() -> str:
    """Prefect's configured API, or the local server `pmo up` runs."""
    return PREFECT_API_URL.value() or get_settings().default_api_url


def auth_string() -> str | None:
    """The credentials to send (`user:password`), from the environment or Prefect's profile."""
    return PREFECT_API_AUTH_STRING.value() or None


def server_auth_string() -> str:
    """The credentials a server we start is to require: those our clients send, so that
    one variable configures both ends. Refused when unset or weak."""
    credentials = auth_string() or ""
    user, colon, password = credentials.partition(":")
    if not (user and colon and len(password) >= MIN_PASSWORD_CHARS):
        raise PmoInputError(
            AUTH_VARIABLE,
            "a Prefect server that requires authentication needs it set to user:password, "
            f"with a password of at least {MIN_PASSWORD_CHARS} characters",
        )
    return credentials


def client_environment(url: str) -> dict[str, str]:
    """The variables a child process needs to talk to the API at `url` as we do."""
    environment = {"PREFECT_API_URL": url}
    if credentials := auth_string():
        environment[AUTH_VARIABLE] = credentials
    return environment


@contextmanager
def prefect_api(url: str | None = None) -> Iterator[str]:
    """Talk to Prefect's API (the configured one unless `url` is given) with our credentials.

    On entry one request checks that the API answers and takes the credentials, so a
    command fails in one line (exit 1) before it changes anything.
    """
    url = url or api_url()
    updates = {PREFECT_API_URL: url}
    if credentials := auth_string():
        updates[PREFECT_API_AUTH_STRING] = credentials
    with temporary_settings(updates=updates):
        try:
            with get_client(sync_client=True) as client:
                client.api_version()  # any route but /health needs the credentials
            yield url
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ServerUnreachable(
                f"cannot reach the Prefect API at {url} ({exc}); start it with `pmo up` "
                "or set PREFECT_API_URL"
            ) from None
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code not in (401, 403):
                raise
            raise AccessRefused(_refusal(url, credentials)) from None


def _refusal(url: str, credentials: str | None) -> str:
    if credentials:
        return (
            f"the Prefect API at {url} refused the credentials in {AUTH_VARIABLE}; "
            f"give them as the server's {SERVER_AUTH_VARIABLE}"
        )
    return (
        f"the Prefect API at {url} requires authentication; set {AUTH_VARIABLE} to the "
        f"user:password its server was given"
    )
