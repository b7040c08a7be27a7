"""Running pmo-flows on Prefect: the embedded default (a local Prefect server, the
deployments served), starting lifecycle runs and answering them through Prefect's API,
the demo and its approver bot.

The one package of `pmo/` that starts the flows of `flows/`; only the CLI uses it.
"""
