"""An emulator of GeckoAuth and the GeckoForm API, shared by the tests and `make demo`."""

from tests.emulator.gecko import Drop, Fault, GeckoEmulator, Reply

__all__ = ["Drop", "Fault", "GeckoEmulator", "Reply"]
