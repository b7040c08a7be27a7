"""Monitoring and controlling a stage: the project manager's status updates, checked; earned
value and RAG against the stage's tolerances; status reports and who receives them.

Uses the store, mail and templating; knows nothing of gates (an exception gate is held by
the flow, through `pmo.gates`).
"""
