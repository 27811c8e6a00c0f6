"""Accounts: registration (e-mail and WeChat), sign-in, passwords, phone codes and the Personal Center."""
