"""The Django app of the backend integration tests: the product document's models and one per type."""
