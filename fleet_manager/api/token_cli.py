"""`wcs token create --role R --name N`: make an API token and print it once."""

from __future__ import annotations

import argparse
import sys

from fleet_manager.api.tokens import ROLES, issue_token
from fleet_manager.store import StoreOpenError
from fleet_manager.store.open import add_database_option, open_store

EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("token", help="manage API tokens")
    actions = parser.add_subparsers(dest="token_action", metavar="ACTION")
    create = actions.add_parser("create", help="create a token and print it once")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", required=True, help="who or what uses the token")
    create.add_argument("--data-dir", default="data", help="data directory (default: data)")
    add_database_option(create)
    create.set_defaults(func=create_token)
    parser.set_defaults(func=lambda _args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_BAD_INPUT


def create_token(args: argparse.Namespace) -> int:
    try:
        store = open_store(args.data_dir, args.database, make_data_dir=False)
    except StoreOpenError as exc:
        print(f"wcs token create: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        issued = issue_token(store, args.role, args.name)
    except ValueError as exc:
        print(f"wcs token create: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        store.close()
    print(issued.token)
    print(
        f"token {issued.record.id} for {issued.record.name!r} (role {issued.record.role});"
        " store it now, it is not shown again",
        file=sys.stderr,
    )
    return 0
