"""How every part of pmo-flows reaches Prefect's API: its address and its credentials, from
the environment, in one place.

- `PREFECT_API_URL`: the API; when unset, the server `pmo up` runs (`PMO_PORT`).
- `PREFECT_API_AUTH_STRING`: `user:password`, for a server that requires basic
  authentication (a server is given it as `PREFECT_SERVER_API_AUTH_STRING`; `pmo up --auth`
  and `PMO_SERVER_AUTH=true` give the servers we start the same string).

The demo and the audit talk to Prefect inside `prefect_api()`, through Prefect's clients.
`pmo approve` and `pmo status` need three plain calls (`rest_api()`: read a run, set its
state, post events) and a person waits for them: they do not import Prefect at all (its
import alone takes about 1.5 s), so the two variables are read here as Prefect reads them
when Prefect is not loaded. The processes we
start (the served runner, and through it every `python -m prefect.engine` run it starts,
which Prefect hands its settings) get `client_environment()`. Prefect's clients then send
the credentials with every request, their event and log clients included. A worker on
another machine reads the same two variables itself. Anything added later that talks to
Prefect (a resumer, the approval web app) goes through these two as well.
"""

from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from pmo.errors import PmoInputError, ServiceUnavailable
from pmo.settings import get_settings, prefect_setting

URL_VARIABLE = "PREFECT_API_URL"
AUTH_VARIABLE = "PREFECT_API_AUTH_STRING"
SERVER_AUTH_VARIABLE = "PREFECT_SERVER_API_AUTH_STRING"
MIN_PASSWORD_CHARS = 12


class ServerUnreachable(ServiceUnavailable):
    """The Prefect API did not answer."""


class AccessRefused(ServiceUnavailable):
    """The Prefect API refused our credentials, or asked for some we do not have."""


def api_url() -> str:
    """Prefect's configured API, or the local server `pmo up` runs."""
    return prefect_setting(URL_VARIABLE) or get_settings().default_api_url


def auth_string() -> str | None:
    """The credentials to send (`user:password`), from the environment or Prefect's profile."""
    return prefect_setting(AUTH_VARIABLE)


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
    from prefect import get_client
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    url = url or api_url()
    updates = {PREFECT_API_URL: url}
    if credentials := auth_string():
        updates[PREFECT_API_AUTH_STRING] = credentials
    with temporary_settings(updates=updates), _refused_in_one_line(url, credentials):
        with get_client(sync_client=True) as client:
            client.api_version()  # any route but /health needs the credentials
        yield url


@contextmanager
def rest_api(url: str | None = None) -> Iterator[httpx.Client]:
    """Prefect's REST API (the configured one unless `url` is given) as a plain httpx
    client with our credentials, for the few calls a person waits for.

    Its first request checks that the API answers and takes the credentials, as
    `prefect_api()` does; a call the API refuses later raises httpx.HTTPStatusError.
    """
    url = (url or api_url()).rstrip("/")
    credentials = auth_string()
    headers = {}
    if credentials:  # sent as Prefect's clients send it: the whole string, base64
        headers["Authorization"] = f"Basic {b64encode(credentials.encode()).decode()}"
    elif api_key := prefect_setting("PREFECT_API_KEY"):  # Prefect Cloud
        headers["Authorization"] = f"Bearer {api_key}"
    with (
        _refused_in_one_line(url, credentials),
        httpx.Client(
            base_url=url, headers=headers, timeout=30, event_hooks={"response": [_raise_for_status]}
        ) as client,
    ):
        client.get("/admin/version")  # any route but /health needs the credentials
        yield client


@contextmanager
def _refused_in_one_line(url: str, credentials: str | None) -> Iterator[None]:
    """An API that does not answer, or refuses our credentials, as one line for a person."""
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise ServerUnreachable(
            f"cannot reach the Prefect API at {url} ({exc}); start it with `pmo up` "
            "or set PREFECT_API_URL"
        ) from None
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code not in (401, 403):
            raise
        raise AccessRefused(_refusal(url, credentials)) from None


def _raise_for_status(response: httpx.Response) -> None:
    if response.is_error:
        response.read()
        response.raise_for_status()


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
