"""pmo-flows, the application: one package per capability, layered so that imports only
run downwards (each package may use those listed after it, never one before it):

- `cli`: the `pmo` command; commands call into the packages below and hold no logic.
- `runtime`: the embedded default (a local Prefect server, the deployments served), starting
  and answering lifecycle runs, the demo. It starts the Prefect flows of `flows/`.
- `documents`: every document written: what it shows, its charts, Word, its versions.
- `audit`: the PMO's audit: checklists from evidence, bypassed gates, KPIs, run history.
- `gates`: stage gates: who may answer, codes, quorum, their mail, SLA, events, criteria.
- `methodology`: the process library applied to projects: a project's lifecycle (tailored,
  repeated stages expanded, pinned), where it goes next, library versions, migrations.
- `control`: monitoring and controlling: status updates, earned value, RAG, status reports.
- `mail`, `templating`: the one way to send a message and to render a template.
- `store`: the SQL store (SQLAlchemy, Alembic migrations) and its audit ledger.
- `brief`, `limits`, `settings`, `errors`, `files`: what everything uses (`limits`: the most
  a person may put into each kind of field).

`tests/test_layout.py` holds this order and fails on an import that runs upwards.
"""
