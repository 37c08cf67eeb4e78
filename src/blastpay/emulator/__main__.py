import sys

from blastpay.emulator.server import serve_main

raise SystemExit(serve_main(sys.argv[1:]))
