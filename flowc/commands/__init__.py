"""``flowc`` subcommands, one module each: ``add_arguments(parser) -> handler`` (the form
``flowc.cli.SUBCOMMANDS`` takes) and ``run(args)`` returning the exit code."""
