"""Every test runs with agentd's user folders (config, policy, trace key) in a temporary place:
the suite never reads or writes the real user's."""

from __future__ import annotations

import os
import tempfile

_USER = tempfile.mkdtemp(prefix="agentd-tests-user-")
os.environ.setdefault("AGENTD_CONFIG_DIR", os.path.join(_USER, "config"))
os.environ.setdefault("AGENTD_STATE_DIR", os.path.join(_USER, "state"))
