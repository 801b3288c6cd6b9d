"""The `kith` command: serve, user add, invite create."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

from kith import config as config_mod
from kith.config import Config, ConfigError


def _base_config(args: argparse.Namespace) -> Config:
    """kith.toml in the data dir, with flags given on the command line on top."""
    data_dir = Path(args.data_dir).resolve()
    flags = Config(data_dir=data_dir)
    if getattr(args, "server_name", None):
        flags = replace(flags, server_name=args.server_name)
    if getattr(args, "listen", None):
        host, port = config_mod.parse_listen(args.listen)
        flags = replace(flags, listen_host=host, listen_port=port)
    if getattr(args, "registration", None):
        flags = config_mod.with_registration(flags, args.registration)
    if getattr(args, "rate_limit", None):
        flags = replace(flags, rate_limit=args.rate_limit == "on")
    loaded = config_mod.load(data_dir, defaults=flags)
    if getattr(args, "server_name", None):
        loaded = replace(loaded, server_name=args.server_name)
    if getattr(args, "listen", None):
        loaded = replace(loaded, listen_host=flags.listen_host, listen_port=flags.listen_port)
    if getattr(args, "registration", None):
        loaded = replace(loaded, registration=flags.registration)
    if getattr(args, "rate_limit", None):
        loaded = replace(loaded, rate_limit=flags.rate_limit)
    if getattr(args, "legacy_media", False):
        loaded = replace(loaded, media_legacy=True)
    return loaded


def _cmd_serve(args: argparse.Namespace) -> int:
    from kith.app import build_app
    from kith.server import serve

    config = _base_config(args)
    app = build_app(config)
    print(f"Kith {config.server_name} listening on http://{config.listen_host}:{config.listen_port}"
          f" (data in {config.data_dir}, registration {config.registration})", flush=True)
    serve(app)
    return 0


def _cmd_user_add(args: argparse.Namespace) -> int:
    from kith.app import build_app
    from kith.errors import MatrixError

    config = _base_config(args)
    password = args.password
    if password is None:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"Password for {args.name}: ")
            if password != getpass.getpass("Repeat password: "):
                print("Passwords differ.", file=sys.stderr)
                return 1
    if not password:
        print("A password is required.", file=sys.stderr)
        return 1
    app = build_app(config)
    try:
        user_id = asyncio.run(
            app.accounts.register(args.name.lower(), password, is_admin=args.admin, issue_token=False)
        )
    except MatrixError as err:
        print(f"Could not add {args.name}: {err.message}", file=sys.stderr)
        return 1
    finally:
        app.db.close()
    print(f"Created {user_id}{' (admin)' if args.admin else ''}.")
    return 0


_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str) -> int:
    """'30m', '12h', '7d', '2w' -> seconds."""
    found = _DURATION.match(value.strip())
    if not found:
        raise argparse.ArgumentTypeError("duration must look like 30m, 12h, 7d or 2w")
    return int(found.group(1)) * _UNIT_S[found.group(2)]


def _cmd_invite_create(args: argparse.Namespace) -> int:
    from kith.app import build_app
    from kith.auth.tokens import new_registration_token

    config = _base_config(args)
    app = build_app(config)
    token = new_registration_token()
    expiry = int((time.time() + args.expires) * 1000) if args.expires else None
    try:
        asyncio.run(app.accounts.store.create_registration_token(token, args.uses, expiry))
    finally:
        app.db.close()
    print(token)
    print(f"Invite link: {config.base_url}/#/invite/{token}", file=sys.stderr)
    if config.registration != "token":
        print("Note: registration is not set to \"token\" in kith.toml; start the server with"
              " --registration token for this token to work.", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kith", description="Kith Matrix homeserver")
    parser.add_argument("--data-dir", default="./kith-data", help="data directory (default ./kith-data)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--data-dir", default=argparse.SUPPRESS)
    serve.add_argument("--server-name", help="server name (default localhost)")
    serve.add_argument("--listen", help="HOST:PORT (default 127.0.0.1:8008)")
    serve.add_argument("--registration", choices=config_mod.REGISTRATION_MODES)
    serve.add_argument("--rate-limit", choices=("on", "off"))
    serve.add_argument("--legacy-media", action="store_true",
                       help="serve the deprecated unauthenticated media downloads ([media] legacy)")
    serve.set_defaults(func=_cmd_serve)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_cmd", required=True)
    add = user.add_parser("add", help="create a user")
    add.add_argument("name", help="the localpart, e.g. alice")
    add.add_argument("--admin", action="store_true")
    add.add_argument("--password", help="password (prompted for if omitted)")
    add.add_argument("--data-dir", default=argparse.SUPPRESS)
    add.set_defaults(func=_cmd_user_add)

    invite = sub.add_parser("invite", help="registration tokens").add_subparsers(
        dest="invite_cmd", required=True)
    create = invite.add_parser("create", help="create a registration token")
    create.add_argument("--uses", type=int, default=None, help="how many sign-ups (default unlimited)")
    create.add_argument("--expires", type=parse_duration, default=None, help="e.g. 7d")
    create.add_argument("--data-dir", default=argparse.SUPPRESS)
    create.set_defaults(func=_cmd_invite_create)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
