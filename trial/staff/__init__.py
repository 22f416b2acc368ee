"""Staff: sites, users, memberships, login and second factor."""
