"""Stage gates: who may answer and with which one-time code, what the answers add up to
(quorum, kill/hold/recycle), the mail approvers get, reminders, SLA and timeout policy,
the events other systems hang on, and the criteria scorecard.

Uses control (an exception gate's go sets new tolerances), the store, mail and templating.
"""
