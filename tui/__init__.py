"""xtrarestore console and command line."""
