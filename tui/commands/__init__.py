"""One module per `xtrarestore` subcommand."""
