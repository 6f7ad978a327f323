"""carbonhub: a GraphQL data hub for carbon-inclusive (碳普惠) programmes."""

__version__ = "0.1.0"
