"""Agent-assist for financial contact centers: the real-time engine, the compliance guard and the API."""
