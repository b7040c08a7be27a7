"""The portfolio: every open project ranked against the strategy, the funding line drawn
against the budget envelope, and the people the approved plans need against the capacity
per role and month (`process_library/portfolio.yaml`)."""
