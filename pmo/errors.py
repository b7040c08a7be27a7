"""Errors a person can cause, each with a message written for that person.

The CLI prints `str(error)` on one line and exits with status 2; anything else
that escapes is our bug and keeps its traceback. The process library raises its own
`LifecycleError` (it stands alone), which the CLI treats the same way.
"""


class PmoInputError(Exception):
    """Something a person supplied (a file, a field, an answer) is wrong.

    `where` names the file and field (`brief.yaml: sponsor.email`), `problem` says
    what is wrong with it, in words the person who wrote it understands.
    """

    def __init__(self, where: str, problem: str) -> None:
        # One line, whatever the person typed: their text may be quoted in the message.
        self.where = " ".join(str(where).split())
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{self.where}: {self.problem}" if self.where else self.problem)


class BriefError(PmoInputError):
    """A project brief is malformed or inconsistent with its lifecycle."""


class TemplateProblem(PmoInputError):
    """A document template does not parse or refers to something that is not there."""


class ResponseRefused(PmoInputError):
    """A gate response was refused (wrong code, not an approver, gate not open...)."""


class ServiceUnavailable(Exception):
    """A service we depend on (the Prefect server, SMTP) is down or not there: not the
    person's mistake, but still one clear line for them (exit status 1)."""


class StatusRefused(PmoInputError):
    """A status update was refused: a figure out of range, a project not reporting..."""
