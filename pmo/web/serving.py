"""Serving the approvers' pages with uvicorn: alone (`pmo web`), or in a thread beside the
served deployments (`pmo up`); the access log never prints a link's token."""

import contextvars
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from pmo.web.app import create_app

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 4300
# /review/<token>..., /inbox/<token>...: the token is the approver's credential.
_TOKEN_IN_PATH = re.compile(r"/(review|inbox)/[^/?#\s\"]+")


def redact(text: str) -> str:
    """A request line or path with every link token replaced by `…`."""
    return _TOKEN_IN_PATH.sub(r"/\1/…", text)


class TokenRedactor(logging.Filter):
    """Takes the tokens out of a log record's message and arguments before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def web_server(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> uvicorn.Server:
    """A uvicorn server of the app whose logs carry no token."""
    config = uvicorn.Config(
        create_app(), host=host, port=port, proxy_headers=True, server_header=False
    )
    # uvicorn configures its loggers when the config is made: the filters go on after.
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedactor) for f in logger.filters):
            logger.addFilter(TokenRedactor())
    return uvicorn.Server(config)


def serve_web(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the pages in this thread until interrupted (`pmo web`)."""
    web_server(host, port).run()


@contextmanager
def web_in_thread(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, timeout: float = 20
) -> Iterator[str]:
    """Serve the pages from a thread of this process while the block runs; yields their
    base URL. The thread runs in a copy of this context, so the pages reach Prefect with
    the settings in force here (`prefect_api()`)."""
    server = web_server(host, port)
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(server.run,), daemon=True, name="pmo-web")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the approvers' pages did not start on {host}:{port}")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
