"""Payment providers: WeChat Pay (API v3). Bank transfers are recorded in services/orders."""
