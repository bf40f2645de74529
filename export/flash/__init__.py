"""Flashing: put signed bundles on boards over SSH or onto local roots, one or a fleet
(:mod:`.flash`, :mod:`.fleet`, :mod:`.transport`; ``specks flash`` in :mod:`.cli`).

The host side only copies and asks; the device's ``specks device install``
(``firmware_py.device``) verifies, self-tests, switches and rolls back.
"""
