"""Worker processes that end with the process that started them.

A notebook kernel that dies without closing its process pool (killed, or exiting because the run that started it
was killed) would leave the pool's workers waiting for work forever. `exit_with_parent` is a pool initializer: each
worker checks once a second that its parent is still the process that started it, and exits when it is not.
"""

from __future__ import annotations

import os
import threading


def exit_with_parent(period: float = 1.0) -> None:
    parent = os.getppid()

    def watch() -> None:
        while not threading.Event().wait(period):
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
