"""Development tools (the WeChat simulator): never mounted or started in production."""
