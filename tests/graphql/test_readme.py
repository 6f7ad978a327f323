"""Every GraphQL example in the README runs without errors (the README stays true)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLES = re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_a_readme_example_runs(gql, world, example):
    query = example.replace('"e_demo01"', f'"{world.employer}"')
    result = gql(query, {"person": world.haidian[0]} if "$person" in query else None)
    assert result.errors == []
