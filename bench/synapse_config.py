"""Generate and adjust a Synapse config for the benchmark.

Runs under bench/.venv-synapse (it needs Synapse itself and PyYAML, both there):

    bench/.venv-synapse/bin/python bench/synapse_config.py DIR PORT

Writes DIR/homeserver.yaml with Synapse's own --generate-config, then rewrites
it: SQLite in DIR, one plain-HTTP listener on 127.0.0.1:PORT serving only the
client API, open registration, no rate limits, no presence, no key servers,
and a log level of WARNING (Kith writes no access log either).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

_HUGE = {"per_second": 1_000_000, "burst_count": 1_000_000}

# Every rc_* section Synapse knows of that a local client could run into.
# Unknown keys are ignored by Synapse, so listing one more is harmless.
_RATE_LIMITS = {
    "rc_message": _HUGE,
    "rc_registration": _HUGE,
    "rc_registration_token_validity": _HUGE,
    "rc_login": {"address": _HUGE, "account": _HUGE, "failed_attempts": _HUGE},
    "rc_joins": {"local": _HUGE, "remote": _HUGE},
    "rc_joins_per_room": _HUGE,
    "rc_invites": {"per_room": _HUGE, "per_user": _HUGE, "per_issuer": _HUGE},
    "rc_3pid_validation": _HUGE,
    "rc_admin_redaction": _HUGE,
    "rc_third_party_invite": _HUGE,
    "rc_federation": {"window_size": 1000, "sleep_limit": 1_000_000, "sleep_delay": 0,
                      "reject_limit": 1_000_000, "concurrent": 1_000_000},
    "rc_media_create": _HUGE,
    "rc_presence": {"per_user": _HUGE},
    "rc_delayed_event_mgmt": _HUGE,
    "rc_reports": _HUGE,
    "rc_room_creation": _HUGE,
    "rc_send_to_device": _HUGE,
    "rc_key_requests": _HUGE,
}


def main() -> int:
    data_dir = Path(sys.argv[1]).resolve()
    port = int(sys.argv[2])
    data_dir.mkdir(parents=True, exist_ok=True)
    config_path = data_dir / "homeserver.yaml"
    subprocess.run(
        [sys.executable, "-m", "synapse.app.homeserver", "--server-name", "localhost",
         "--config-path", str(config_path), "--data-directory", str(data_dir),
         "--generate-config", "--report-stats=no"],
        check=True, cwd=data_dir, stdout=subprocess.DEVNULL,
    )
    config = yaml.safe_load(config_path.read_text())
    config["listeners"] = [{
        "port": port,
        "bind_addresses": ["127.0.0.1"],
        "type": "http",
        "tls": False,
        "x_forwarded": False,
        "resources": [{"names": ["client"], "compress": False}],
    }]
    config["database"] = {"name": "sqlite3", "args": {"database": str(data_dir / "homeserver.db")}}
    config["enable_registration"] = True
    config["enable_registration_without_verification"] = True
    config["presence"] = {"enabled": False}
    config["suppress_key_server_warning"] = True
    config["trusted_key_servers"] = []
    config["report_stats"] = False
    config["url_preview_enabled"] = False
    config.update(_RATE_LIMITS)
    if "--fast-hash" in sys.argv[3:]:
        # Growth runs only: cheaper bcrypt so that creating thousands of
        # accounts does not eat the time budget (Synapse's default is 12).
        config["bcrypt_rounds"] = 4
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    log_path = Path(config["log_config"])
    log_config = yaml.safe_load(log_path.read_text())
    log_config["root"]["level"] = "WARNING"
    for logger in log_config.get("loggers", {}).values():
        logger["level"] = "WARNING"
    log_path.write_text(yaml.safe_dump(log_config, sort_keys=False))
    print(config_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
