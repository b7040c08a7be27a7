"""The project's plan: work packages, schedule (CPM), earned value."""
