"""The demo accounts `make run` prints; `load_demo` creates them with the password "demo"."""

DEMO_PASSWORD = "demo"  # noqa: S105 - demo data only, printed by `make run`

DEMO_LOGINS = [
    ("customer", "customer of eight years, VIP, Business support, control panel /panel/"),
    ("newcustomer", "customer since last month, self-service plan, /panel/"),
    ("agent", "first line (customer care), agent workspace /desk/"),
    ("consultant", "technical consultants, /desk/"),
    ("sysadmin", "administrators, /desk/"),
    ("finance", "finance department, /desk/"),
    ("sales", "sales department, /desk/"),
    ("manager", "support manager, manager area /manage/"),
    ("quality", "quality reviewer, /manage/"),
    ("admin", "administrator, Django admin /admin/"),
]
