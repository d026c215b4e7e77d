"""Staff accounts, departments, roles and permissions, qualifications, sessions and API tokens."""
