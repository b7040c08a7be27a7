"""The methodology applied to projects: a project's lifecycle (tailored by tier, category
and risk, its repeated stages expanded from the brief, pinned), where a running project
goes next in it, the versions of the library, and moving a running project onto another.

Free of Prefect; the process library's lifecycles are its data.
"""
