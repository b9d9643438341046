"""AI features behind one :class:`~api.ai.provider.AiProvider` interface: a local provider and a remote adapter."""
