"""The built-in connectors, registered through the ``carbonhub.connectors`` entry points.

Each is a plugin like any third-party one: it imports only the connector contract
(:mod:`carbonhub.connectors.base`, ``http``, ``records``, ``signing``), never the hub's models,
database, ledger or consent code. ``bikeshare``, ``takeaway``, ``logistics`` and ``transit``
read the providers whose APIs :mod:`carbonhub.connectors.simulators` simulates (see its API.md).
"""
