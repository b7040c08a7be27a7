"""The one error the process library raises: a file of the methodology is wrong.

The library stands alone (it imports nothing of the application), so its error is its own;
the `pmo` command line treats it like any mistake a person made: one line, exit status 2.
"""


class LifecycleError(Exception):
    """A lifecycle, policy or checklist in the process library is malformed or unknown.

    `where` names the file and field (`pmbok-waterfall.yaml: stages[planning].gate`),
    `problem` says what is wrong with it, in words the PMO who wrote it understands.
    """

    def __init__(self, where: str, problem: str) -> None:
        # One line, whatever the person typed: their text may be quoted in the message.
        self.where = " ".join(str(where).split())
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{self.where}: {self.problem}" if self.where else self.problem)
