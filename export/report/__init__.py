"""``specks report``: a device's stats log, pulled back to the host, as plots and a summary.

Host side, beside flashing (:mod:`export.flash`): ``export`` is the one package that deals with
what crosses between host and device, bundles on the way out and, here, the telemetry a board
wrote on the way back. It needs matplotlib (the ``host`` extra), which a device never installs;
the stats log itself is read with the device's own reader (:mod:`firmware_py.telemetry`).
"""
