"""The worked example: a small network whose schedule and earned value are worked out by
hand in tests/plan/test_worked_example.py."""

WORKED = {
    "start": "2027-02-01",  # a Monday
    "calendar": {"workdays": ["mon", "tue", "wed", "thu", "fri"], "holidays": ["2027-02-15"]},
    "work_packages": [
        {"key": "1.1", "name": "Requirements", "owner": "sam.okafor@example.com",
         "duration_days": 5, "budget": 5000, "effort": {"analyst": 5}},
        {"key": "1.2", "name": "Design", "owner": "sam.okafor@example.com",
         "duration_days": 3, "depends_on": ["1.1"], "budget": 6000,
         "effort": {"architect": 3}},
        {"key": "1.3", "name": "Data model", "owner": "priya.natarajan@example.com",
         "duration_days": 4, "depends_on": ["1.1"], "budget": 8000,
         "effort": {"analyst": 2, "developer": 6}},
        {"key": "2.1", "name": "Vendor kick-off", "owner": "priya.natarajan@example.com",
         "duration_days": 2, "depends_on": ["1.1"], "budget": 2000,
         "start_no_earlier_than": "2027-02-13"},  # a Saturday before the holiday
        {"key": "2.2", "name": "Build", "owner": "lee.park@example.com",
         "duration_days": 4, "depends_on": ["1.2", "1.3"], "budget": 4000,
         "effort": {"developer": 8}},
        {"key": "3.1", "name": "Test", "owner": "lee.park@example.com",
         "duration_days": 3, "depends_on": ["2.1", "2.2"], "budget": 3000,
         "effort": {"tester": 3}},
        {"key": "3.2", "name": "Go-live", "owner": "dana.reyes@example.com",
         "duration_days": 0, "depends_on": ["3.1"], "budget": 1000},
    ],
    "milestones": [
        {"name": "Design done", "after": ["1.2", "1.3"]},
        {"name": "Portal live", "after": ["3.2"]},
    ],
}  # fmt: skip
