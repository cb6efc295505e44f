"""How a model runs: where its weights come from, the backend that executes it, batching and caching."""
