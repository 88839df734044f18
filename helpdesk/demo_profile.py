"""The demo provider's shape as plain data: its plans and the rhythm of its requests.

The demo loader (helpdesk.demo) writes a year of history with it, and the queue simulation
(queues.simulation) replays load with the same shape; neither needs the other.
"""

# Relative request volume per weekday (Monday first): weekend activity, a Monday dip.
WEEKDAY_WEIGHTS = [0.78, 1.0, 1.0, 0.97, 0.95, 1.08, 1.12]
# Per hour of the day, Moscow time: quiet night, peaks before (11-12) and after (14-16)
# lunch, a dip at lunch, and a late-evening rise (21-23).
HOUR_WEIGHTS = [
    1.2, 0.8, 0.5, 0.4, 0.4, 0.5, 0.8, 1.5, 2.8, 4.2, 5.4, 6.2,
    5.9, 4.4, 5.6, 6.0, 5.5, 4.6, 3.8, 3.6, 4.2, 5.0, 5.2, 3.0,
]  # fmt: skip

# The kinds are accounts.Plan.Kind's values.
SUPPORT_LEVEL, ADMIN_PACKAGE = "support_level", "admin_package"
PLANS = [
    # code, name, kind, level, price, tasks, extra task price, response hours, share of customers
    ("self-service", "Self-service", SUPPORT_LEVEL, 0, 0, None, None, None, 0.55),
    ("standard", "Standard", SUPPORT_LEVEL, 1, 0, None, None, 24, 0.28),
    ("business", "Business", SUPPORT_LEVEL, 2, 3500, None, None, 4, 0.13),
    ("enterprise", "Enterprise", SUPPORT_LEVEL, 3, 25000, None, None, 1, 0.04),
    ("admin-basic", "Basic administration", ADMIN_PACKAGE, 1, 250, 5, 150, 24, 0.08),
    ("admin-premium", "Premium administration", ADMIN_PACKAGE, 2, 2000, 10, 150, 5, 0.01),
]
