"""The approvers' pages: a gate round's review page, where an approver decides from the
link in their mail, and their inbox of every gate waiting on them.

A small ASGI app (FastAPI, Jinja2 with autoescape, no JavaScript) that `pmo up` serves
beside the deployments and `pmo web` serves alone. Opening a page changes nothing; a
decision is a POST with a CSRF token, judged and recorded by the same function as
`pmo approve` (`pmo.gates.answers.record_answer`), after which the run is woken.
"""
