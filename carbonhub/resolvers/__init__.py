"""GraphQL resolvers: thin adapters from arguments to domain services, and DataLoaders."""
