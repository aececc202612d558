"""Programs that prepare data for gan_cli, run as `python -m gan_cli.tools.<name>`."""
