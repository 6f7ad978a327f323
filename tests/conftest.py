"""Test configuration: fixture modules are registered here, never star-imported."""

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.actors",
    "tests.fixtures.graphql",
    "tests.fixtures.accounts",
]
