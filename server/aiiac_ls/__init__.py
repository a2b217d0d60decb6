"""aiiac-ls: security linter and language server for AI-serving infrastructure code."""

__version__ = "0.1.0"
