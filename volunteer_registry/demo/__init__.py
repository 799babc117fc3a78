"""Demo data for a first look: accounts for every role, organizations in several states, volunteers."""
