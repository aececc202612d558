"""Errors a user can cause: the CLI prints their message as one line and exits with code 2."""


class UserError(Exception):
    """Wrong input (config, paths, data, device). The message is one line telling what to do."""


class DataNotFoundError(UserError):
    """A dataset is not on disk and could not be downloaded."""
