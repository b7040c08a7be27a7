"""The PMO's audit, from evidence only: each project's checklist answered from the store's
record, gates bypassed from outside found in Prefect's run history, the portfolio's KPIs,
the ledger verified against the head the last audit kept.

Uses gates (what counts as a decision), the store and the process library; its report is
written by `pmo.documents`.
"""
