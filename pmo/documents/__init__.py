"""Every document pmo-flows writes, and only here: what each one shows (the dossier a
project's templates receive, the portfolio audit report), its charts, Markdown to Word, and
the versions on disk and in the store.

It presents what the other packages compute (gates, control, audit) and may use them all;
nothing below it imports it. Templates are rendered through `pmo.templating`.
"""
