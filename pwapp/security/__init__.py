"""Password hashing, password policy, tokens and throttles: no database, no Reflex."""
