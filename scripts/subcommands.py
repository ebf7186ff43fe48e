"""The command line of the scripts made of subcommands (emulator.py,
rehearse.py, sam_local.py): `script.py NAME [OPTION…]` runs the function
registered as NAME with the parsed options. Standard library only: each of
those scripts runs on another Python (the emulator's, SAM CLI's)."""

import argparse


class Subcommands:
    def __init__(self, doc):
        """`doc`: the script's docstring, whose first line describes it."""
        self.parser = argparse.ArgumentParser(description=doc.splitlines()[0])
        self._commands = self.parser.add_subparsers(required=True)

    def add(self, name, run, **options):
        """The subcommand NAME, which calls run(args); `options` go to
        argparse's add_parser (help=…). Returns its parser, for its options."""
        command = self._commands.add_parser(name, **options)
        command.set_defaults(run=run)
        return command

    def run(self):
        args = self.parser.parse_args()
        args.run(args)
